/* s4: calloc of large zeroed blocks, 64 KiB..16 MiB (log-uniform), 8 live at
 * a time. Each block is checked to be all zero, then dirtied (one word per
 * 4 KiB page) before it is freed, so memory an allocator reuses must really
 * be zeroed again. 400 callocs at full scale. */
#include "common.h"

#define LIVE 8

static int all_zero(const uint64_t *w, size_t nwords) {
  uint64_t acc = 0;
  for (size_t i = 0; i < nwords; i++) acc |= w[i];
  return acc == 0;
}

int main(int argc, char **argv) {
  double scale = bench_init("s4", argc, argv);
  size_t n = scaled(400, scale, 16);
  rng_t r = {41};
  uint64_t *live[LIVE] = {0};
  for (size_t i = 0; i < n; i++) {
    size_t k = i % LIVE;
    free(live[k]);
    size_t bytes = rng_logu(&r, 64 << 10, 16 << 20) & ~(size_t)7;
    /* Alternate (count, size) shapes of the same byte total. */
    uint64_t *p = (i & 1) ? calloc(bytes / 8, 8) : calloc(1, bytes);
    if (!p) bench_fail("calloc(%zu) returned NULL", bytes);
    if (!all_zero(p, bytes / 8)) bench_fail("calloc block %zu (%zu B) not zeroed", i, bytes);
    for (size_t w = 0; w < bytes / 8; w += 512) p[w] = pat64(i, w) | 1;
    p[bytes / 8 - 1] = 1;
    live[k] = p;
  }
  for (size_t k = 0; k < LIVE; k++) free(live[k]);
  bench_result(n, 0);
  return 0;
}
