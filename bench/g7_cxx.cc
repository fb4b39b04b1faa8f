// g7: C++ containers grown by push_back: std::vector<uint64_t>, std::string
// (char by char and by pieces) and std::vector<std::string>, interleaved.
// The library's geometric growth does the resizing, so no in-place figures.
// `g7 SCALE floor`: each container reserve()s its final size first.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

static uint64_t rng_s = 7;
static uint64_t rnd() {  // splitmix64
  uint64_t z = (rng_s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static char chr(size_t id, size_t j) { return char('a' + (id * 7 + j * 13 + (j >> 5)) % 26); }
static uint64_t val(size_t id, size_t j) { return (j + 1) * 0x9E3779B97F4A7C15ull ^ (id << 40); }

static const char *wname = "g7";

static void fail(const char *what, size_t id) {
  std::fprintf(stderr, "%s: %s %zu\n", wname, what, id);
  std::printf("result name=%s check=FAIL\n", wname);
  std::exit(1);
}

int main(int argc, char **argv) {
  double scale = argc > 1 ? std::atof(argv[1]) : 1.0;
  bool floor = argc > 2 && std::string(argv[2]) == "floor";
  if (!(scale > 0) || (argc > 2 && !floor)) return 2;
  if (floor) wname = "g7floor";
  size_t n = size_t(4000 * scale) < 20 ? 20 : size_t(4000 * scale);
  size_t rounds = 4;
  uint64_t ops = 0;
  for (size_t round = 0; round < rounds; round++) {
    std::vector<std::vector<uint64_t>> vs(n);
    std::vector<std::string> ss(n);
    std::vector<std::vector<std::string>> words(n);
    std::vector<size_t> target(n);
    for (size_t i = 0; i < n; i++) target[i] = 1 + rnd() % 2000;
    for (size_t i = 0; floor && i < n; i++) {
      vs[i].reserve(target[i]);
      ss[i].reserve(target[i]);
      words[i].reserve((target[i] + 15) / 16);
    }
    for (size_t step = 0; step < 2000; step++) {
      for (size_t i = 0; i < n; i++) {
        if (step >= target[i]) continue;
        vs[i].push_back(val(i, step));
        ss[i].push_back(chr(i, step));
        if (step % 16 == 0) words[i].push_back(ss[i].substr(step / 2));
        ops += 2;
      }
    }
    for (size_t i = 0; i < n; i++) {
      if (vs[i].size() != target[i] || ss[i].size() != target[i]) fail("bad size", i);
      for (size_t j = 0; j < target[i]; j++)
        if (vs[i][j] != val(i, j) || ss[i][j] != chr(i, j)) fail("bad element in", i);
      for (size_t w = 0; w < words[i].size(); w++)
        if (words[i][w] != ss[i].substr(w * 8, w * 16 + 1 - w * 8)) fail("bad word in", i);
    }
  }
  std::printf("result name=%s ops=%llu check=ok\n", wname, (unsigned long long)ops);
  return 0;
}
