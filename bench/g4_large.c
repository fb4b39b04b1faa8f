/* g4: one large buffer grown by realloc in 1 MiB steps to 512 MiB (full
 * scale), writing the new bytes after each step.
 * `g4 SCALE floor` is the physical floor for the same size: one malloc of the
 * final size, written in the same steps. time(g4) / time(g4 floor) is the
 * growth overhead. */
#include "common.h"

#define STEP ((size_t)1 << 20)

static void fill_words(uint64_t *w, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) w[i] = pat64(4, i);
}

int main(int argc, char **argv) {
  double scale = bench_init_variant("g4", argc, argv, "floor", &bench_floor);
  size_t total = scaled((size_t)512 << 20, scale, 4 * STEP) / STEP * STEP;
  uint64_t *w = NULL;
  size_t ops = 0;
  for (size_t n = STEP; n <= total; n += STEP) {
    w = grow_step(w, n - STEP, n, total);
    if (n > STEP && w[(n - STEP) / 8 - 1] != pat64(4, (n - STEP) / 8 - 1))
      bench_fail("tail lost at %zu bytes", n);
    fill_words(w, (n - STEP) / 8, n / 8);
    ops++;
  }
  for (size_t i = 0; i < total / 8; i++)
    if (w[i] != pat64(4, i)) bench_fail("word %zu wrong", i);
  free(w);
  bench_result(ops, 1);
  return 0;
}
