/* s7: large blocks at random (the malloc-large pattern). 24 live slots; each
 * op replaces a random slot with a new malloc of 5..25 MiB (uniform), stamped
 * at its start, middle and end (three pages touched), checked before free.
 * 200,000 ops at full scale. Measures how an allocator maps, reuses and returns
 * large blocks, not the bytes. */
#include "common.h"

#define SLOTS 24

int main(int argc, char **argv) {
  double scale = bench_init("s7", argc, argv);
  size_t nops = scaled(200000, scale, 1000);
  rng_t r = {71};
  void *p[SLOTS] = {0};
  size_t sz[SLOTS] = {0};
  uint64_t tag[SLOTS] = {0};
  for (size_t op = 0; op < nops; op++) {
    size_t i = rng_below(&r, SLOTS);
    if (p[i]) {
      if (!stamp_ok(p[i], sz[i], tag[i])) bench_fail("slot %zu corrupted", i);
      free(p[i]);
    }
    sz[i] = rng_range(&r, (size_t)5 << 20, (size_t)25 << 20);
    p[i] = xmalloc(sz[i]);
    tag[i] = op * 0x9E3779B97F4A7C15ull;
    stamp(p[i], sz[i], tag[i]);
  }
  for (size_t i = 0; i < SLOTS; i++) {
    if (p[i] && !stamp_ok(p[i], sz[i], tag[i])) bench_fail("slot %zu corrupted", i);
    free(p[i]);
  }
  bench_result(nops, 0);
  return 0;
}
