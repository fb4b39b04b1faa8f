/* malloc_usable_size: 0 for NULL; at least the size asked for; every usable byte belongs to
 * the program: writing all of them harms nothing, and realloc to a larger size keeps all of
 * them (small, medium and big blocks). */
#define _GNU_SOURCE
#include <malloc.h>

#include "check.h"

int main(void) {
  CHECK(malloc_usable_size(NULL) == 0);
  size_t sizes[] = {0, 1, 7, 16, 100, 1000, 5000, 70000, 300000, 1 << 20, 3 << 20};
  enum { NS = sizeof sizes / sizeof *sizes };
  unsigned char *p[NS];
  size_t u[NS];
  for (int i = 0; i < NS; i++) {
    p[i] = malloc(sizes[i]);
    CHECK(p[i] != NULL);
    if (!p[i]) return tst_result();
    u[i] = malloc_usable_size(p[i]);
    CHECK(u[i] >= sizes[i]);
    memset(p[i], 0x40 + i, u[i]);
  }
  for (int i = 0; i < NS; i++) {
    unsigned char *q = realloc(p[i], u[i] + 4096);
    CHECK(q != NULL);
    if (!q) continue;
    for (size_t j = 0; j < u[i]; j++)
      if (q[j] != 0x40 + i) {
        printf("size %zu: usable byte %zu of %zu lost by realloc\n", sizes[i], j, u[i]);
        CHECK(!"usable bytes kept");
        break;
      }
    p[i] = q;
  }
  for (int i = 0; i < NS; i++) free(p[i]);
  return tst_result();
}
