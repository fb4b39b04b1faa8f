/* s5: aligned allocations. 4,096 live slots; each op replaces a random slot
 * with a block of 8..8192 B at a power-of-two alignment 16..64 KiB (exponent
 * uniform), by posix_memalign or aligned_alloc (size rounded up to a multiple
 * of the alignment, as C11 asks). Alignment and stamps are checked.
 * 1M ops at full scale. */
#include "common.h"

#define SLOTS 4096

int main(int argc, char **argv) {
  double scale = bench_init("s5", argc, argv);
  size_t nops = scaled(1000000, scale, 5000);
  rng_t r = {51};
  void **p = calloc(SLOTS, sizeof *p);
  size_t *sz = calloc(SLOTS, sizeof *sz);
  if (!p || !sz) bench_fail("calloc failed");
  for (size_t op = 0; op < nops + SLOTS; op++) {
    size_t i = op < SLOTS ? op : rng_below(&r, SLOTS);
    if (p[i]) {
      if (!stamp_ok(p[i], sz[i], (uint64_t)(uintptr_t)p[i] ^ i)) bench_fail("slot %zu corrupted", i);
      free(p[i]);
    }
    size_t align = (size_t)1 << rng_range(&r, 4, 16), n = rng_range(&r, 8, 8192);
    void *q = NULL;
    if (op & 1) {
      n = (n + align - 1) & ~(align - 1);
      q = aligned_alloc(align, n);
    } else if (posix_memalign(&q, align, n) != 0) {
      q = NULL;
    }
    if (!q) bench_fail("aligned allocation (%zu, %zu) failed", align, n);
    if ((uintptr_t)q & (align - 1)) bench_fail("%p not aligned to %zu", q, align);
    stamp(q, n, (uint64_t)(uintptr_t)q ^ i);
    p[i] = q;
    sz[i] = n;
  }
  for (size_t i = 0; i < SLOTS; i++) {
    if (!stamp_ok(p[i], sz[i], (uint64_t)(uintptr_t)p[i] ^ i)) bench_fail("slot %zu corrupted", i);
    free(p[i]);
  }
  free(p);
  free(sz);
  bench_result(nops, 0);
  return 0;
}
