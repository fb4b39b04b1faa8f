/* g1: one vector grown one 8-byte element at a time by exact-size realloc,
 * to 64 MiB at full scale. `g1 SCALE floor`: one malloc of 64 MiB instead. */
#include "common.h"

int main(int argc, char **argv) {
  double scale = bench_init_variant("g1", argc, argv, "floor", &bench_floor);
  size_t n = scaled((size_t)64 << 20, scale, 4096) / 8;
  uint64_t *v = NULL;
  for (size_t i = 0; i < n; i++) {
    v = grow_step(v, i * 8, (i + 1) * 8, n * 8);
    v[i] = pat64(1, i);
    if ((i & 0xFFFF) == 0xFFFF && (v[0] != pat64(1, 0) || v[i / 2] != pat64(1, i / 2)))
      bench_fail("element lost at step %zu", i);
  }
  for (size_t i = 0; i < n; i++)
    if (v[i] != pat64(1, i)) bench_fail("element %zu wrong", i);
  free(v);
  bench_result(n, 1);
  return 0;
}
