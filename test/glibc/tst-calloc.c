/* calloc: count * size overflowing fails with ENOMEM; blocks are zero, also when they reuse
 * memory just freed dirty (small, medium, and big blocks that a malloc may keep mapped for
 * reuse); zero counts or sizes give a block free takes. */
#define _GNU_SOURCE
#include <limits.h>

#include "check.h"

static volatile size_t max = SIZE_MAX;

static int zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

int main(void) {
  errno = 0;
  CHECK(calloc(max / 2 + 1, 2) == NULL);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(calloc(max / 3 + 2, 3) == NULL);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(calloc(65537, max / 65536) == NULL);
  CHECK(errno == ENOMEM);

  size_t zeros[][2] = {{0, 0}, {0, UINT_MAX}, {UINT_MAX, 0}, {0, SIZE_MAX}, {SIZE_MAX, 0}};
  for (size_t i = 0; i < 5; i++) free(calloc(zeros[i][0], zeros[i][1]));

  /* Dirty blocks freed, then calloc'd again at the same sizes. */
  size_t sizes[] = {1, 16, 24, 100, 1000, 4096, 20000, 100000, 262144, 600000, 1 << 20, 5 << 20};
  enum { NS = sizeof sizes / sizeof *sizes };
  unsigned seed = 1;
  for (int round = 0; round < 20; round++) {
    unsigned char *p[NS];
    for (size_t i = 0; i < NS; i++) {
      seed = seed * 1103515245u + 12345u;
      size_t n = sizes[i] + (seed >> 16) % 64;
      p[i] = calloc(1, n);
      CHECK(p[i] != NULL);
      if (!p[i]) return tst_result();
      if (!zero(p[i], n)) {
        printf("calloc(1, %zu) not zero in round %d\n", n, round);
        CHECK(!"zeroed");
      }
      memset(p[i], 0xff, n);
    }
    for (size_t i = 0; i < NS; i++) free(p[i]);
  }
  /* The same by count and size. */
  unsigned char *q = malloc(3000);
  if (q) memset(q, 0x77, 3000);
  free(q);
  q = calloc(100, 30);
  CHECK(q && zero(q, 3000));
  free(q);
  return tst_result();
}
