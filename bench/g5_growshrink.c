/* g5: vectors that grow, shrink and regrow. 2,000 vectors, each op picks one
 * at random and reallocs it to an exact new size: grow by up to +100% (70%),
 * shrink to 30..95% (27%) or collapse to 1..64 B (3%). Sizes stay <= 64 KiB.
 * 300k ops at full scale. Byte j of vector i is always pat8(i, j), so kept
 * bytes are checkable. `g5 SCALE floor`: a dry run of the same schedule finds
 * each vector's largest size; each is then malloc'ed once at that size. */
#include "common.h"

#define MAXLEN ((size_t)64 << 10)

/* The resize schedule from rng state r: len[] from the starting sizes to the
 * final ones; peak[i] gets the largest size of vector i. dry: sizes only. */
static void resize_all(uint8_t **p, size_t *len, size_t *peak, size_t nv, size_t nops,
                       rng_t r, int dry) {
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
    len[i] = n;
    if (n > peak[i]) peak[i] = n;
    if (dry) continue;
    p[i] = grow_step(p[i], old, n, peak[i]);
    size_t keep = old < n ? old : n;
    if (p[i][0] != pat8(i, 0) || p[i][keep - 1] != pat8(i, keep - 1))
      bench_fail("vector %zu: kept bytes lost", i);
    if (n > old) pat_fill(p[i], i, old, n);
  }
}

int main(int argc, char **argv) {
  double scale = bench_init_variant("g5", argc, argv, "floor", &bench_floor);
  size_t nv = 2000, nops = scaled(300000, scale, 2000);
  rng_t r = {5};
  uint8_t **p = calloc(nv, sizeof *p);
  size_t *len = calloc(nv, sizeof *len), *len0 = calloc(nv, sizeof *len0);
  size_t *peak = calloc(nv, sizeof *peak);
  if (!p || !len || !len0 || !peak) bench_fail("calloc failed");
  for (size_t i = 0; i < nv; i++) peak[i] = len0[i] = len[i] = rng_range(&r, 1, 256);
  if (bench_floor) {
    resize_all(p, len, peak, nv, nops, r, 1);
    memcpy(len, len0, nv * sizeof *len);
  }
  for (size_t i = 0; i < nv; i++) {
    p[i] = grow_step(NULL, 0, len[i], peak[i]);
    pat_fill(p[i], i, 0, len[i]);
  }
  resize_all(p, len, peak, nv, nops, r, 0);
  for (size_t i = 0; i < nv; i++) {
    if (!pat_ok(p[i], i, 0, len[i])) bench_fail("vector %zu corrupted", i);
    free(p[i]);
  }
  free(p);
  free(len);
  free(len0);
  free(peak);
  bench_result(nops, 1);
  return 0;
}
