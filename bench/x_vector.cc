// x: push_back-heavy vectors, built twice: build/bench/xstd (std::vector, run under every malloc)
// and build/bench/xvcm (-DVCM_VECTOR: vcm::vector, linked with libvcm.so). Modes:
//   ints     push_back 10^7 ints into one vector
//   strings  push_back 10^7 std::string (1..15 chars: inside the string, no heap buffer)
//   structs  push_back 10^7 64-byte structs into one vector
//   rr       10^5 vectors of ints grown round robin, one element each per round, 100 rounds
// Usage: x SCALE MODE (SCALE 1 = the sizes above). Checks every element, prints a result line.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifdef VCM_VECTOR
#include "vcm.hpp"
template <class T>
using vec = vcm::vector<T>;
static const char *impl = "vcm::vector";
#else
#include <vector>
template <class T>
using vec = std::vector<T>;
static const char *impl = "std::vector";
#endif

struct rec {
  uint64_t id;
  uint64_t pad[7];
};
static_assert(sizeof(rec) == 64, "64-byte records");

static std::string name;

static int fail(size_t i) {
  std::fprintf(stderr, "%s (%s): bad element %zu\n", name.c_str(), impl, i);
  std::printf("result name=%s check=FAIL\n", name.c_str());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  double scale = std::atof(argv[1]);
  std::string mode = argv[2];
  name = "x-" + mode;
  if (!(scale > 0)) return 2;
  size_t n = (size_t)(1e7 * scale);
  if (n < 100) n = 100;
  if (mode == "ints") {
    vec<int> v;
    for (size_t i = 0; i < n; i++) v.push_back((int)(i * 2654435761u));
    for (size_t i = 0; i < n; i++)
      if (v[i] != (int)(i * 2654435761u)) return fail(i);
  } else if (mode == "strings") {
    vec<std::string> v;
    for (size_t i = 0; i < n; i++) v.push_back(std::string(1 + i % 15, char('a' + i % 26)));
    for (size_t i = 0; i < n; i++)
      if (v[i].size() != 1 + i % 15 || v[i].back() != char('a' + i % 26)) return fail(i);
  } else if (mode == "structs") {
    vec<rec> v;
    for (size_t i = 0; i < n; i++) {
      rec r;
      r.id = i;
      for (int k = 0; k < 7; k++) r.pad[k] = i + k;
      v.push_back(r);
    }
    for (size_t i = 0; i < n; i++)
      if (v[i].id != i || v[i].pad[6] != i + 6) return fail(i);
  } else if (mode == "rr") {
    size_t m = n / 100, rounds = 100;
    vec<vec<int>> vs(m);
    for (size_t r = 0; r < rounds; r++)
      for (size_t j = 0; j < m; j++) vs[j].push_back((int)(j ^ r));
    for (size_t j = 0; j < m; j++)
      for (size_t r = 0; r < rounds; r++)
        if (vs[j][r] != (int)(j ^ r)) return fail(j);
  } else {
    return 2;
  }
  std::printf("result name=%s impl=%s ops=%zu check=ok\n", name.c_str(), impl, n);
  return 0;
}
