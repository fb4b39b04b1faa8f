/* g5: vectors that grow, shrink and regrow. 2,000 vectors, each op picks one
 * at random and reallocs it to an exact new size: grow by up to +100% (70%),
 * shrink to 30..95% (27%) or collapse to 1..64 B (3%). Sizes stay <= 64 KiB.
 * 300k ops at full scale. Byte j of vector i is always pat8(i, j), so kept
 * bytes are checkable. */
#include "common.h"

#define MAXLEN ((size_t)64 << 10)

int main(int argc, char **argv) {
  double scale = bench_init("g5", argc, argv);
  size_t nv = 2000, nops = scaled(300000, scale, 2000);
  rng_t r = {5};
  uint8_t **p = calloc(nv, sizeof *p);
  size_t *len = calloc(nv, sizeof *len);
  if (!p || !len) bench_fail("calloc failed");
  for (size_t i = 0; i < nv; i++) {
    len[i] = rng_range(&r, 1, 256);
    p[i] = grow_realloc(NULL, 0, len[i]);
    pat_fill(p[i], i, 0, len[i]);
  }
  for (size_t op = 0; op < nops; op++) {
    size_t i = rng_below(&r, nv), old = len[i], n;
    unsigned dice = (unsigned)rng_below(&r, 100);
    if (dice < 70)
      n = old + rng_range(&r, 1, old + 16);
    else if (dice < 97)
      n = old * rng_range(&r, 30, 95) / 100;
    else
      n = rng_range(&r, 1, 64);
    if (n > MAXLEN) n = MAXLEN;
    if (n < 1) n = 1;
    p[i] = grow_realloc(p[i], old, n);
    size_t keep = old < n ? old : n;
    if (p[i][0] != pat8(i, 0) || p[i][keep - 1] != pat8(i, keep - 1))
      bench_fail("vector %zu: kept bytes lost", i);
    if (n > old) pat_fill(p[i], i, old, n);
    len[i] = n;
  }
  for (size_t i = 0; i < nv; i++) {
    if (!pat_ok(p[i], i, 0, len[i])) bench_fail("vector %zu corrupted", i);
    free(p[i]);
  }
  free(p);
  free(len);
  bench_result(nops, 1);
  return 0;
}
