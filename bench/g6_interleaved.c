/* g6: many small arrays, each grown one 8-byte element at a time, all
 * interleaved (round-robin), so a neighbour always sits right after each
 * array (the mimalloc issue 153 pattern). 10,000 arrays x 256 elements at
 * full scale. `g6 SCALE floor`: each array malloc'ed once at 256 elements. */
#include "common.h"

int main(int argc, char **argv) {
  double scale = bench_init_variant("g6", argc, argv, "floor", &bench_floor);
  size_t na = scaled(10000, scale, 100), ne = 256;
  uint64_t **a = calloc(na, sizeof *a);
  if (!a) bench_fail("calloc failed");
  for (size_t e = 0; e < ne; e++) {
    for (size_t i = 0; i < na; i++) {
      a[i] = grow_step(a[i], e * 8, (e + 1) * 8, ne * 8);
      if (e && a[i][e - 1] != pat64(i, e - 1)) bench_fail("array %zu: tail lost", i);
      a[i][e] = pat64(i, e);
    }
  }
  for (size_t i = 0; i < na; i++) {
    for (size_t e = 0; e < ne; e++)
      if (a[i][e] != pat64(i, e)) bench_fail("array %zu: element %zu wrong", i, e);
    free(a[i]);
  }
  free(a);
  bench_result(na * ne, 1);
  return 0;
}
