/* reallocarray: count * size overflowing fails with ENOMEM and leaves the block whole; else
 * it is realloc(p, count * size): NULL acts as malloc, contents are kept when growing and
 * shrinking. */
#define _GNU_SOURCE

#include "check.h"

static volatile size_t max = SIZE_MAX;
static int *volatile p; /* volatile: the compiler would take a failed call for a free */

int main(void) {
  errno = 0;
  CHECK(reallocarray(NULL, max / 2 + 1, 2) == NULL);
  CHECK(errno == ENOMEM);
  p = reallocarray(NULL, 10, sizeof(int));
  CHECK(p != NULL);
  if (!p) return tst_result();
  for (int i = 0; i < 10; i++) p[i] = i;
  errno = 0;
  CHECK(reallocarray(p, max / sizeof(int) + 1, sizeof(int)) == NULL);
  CHECK(errno == ENOMEM);
  CHECK(reallocarray(p, sizeof(int), max / sizeof(int) + 1) == NULL);
  for (int i = 0; i < 10; i++) CHECK(p[i] == i);
  p = reallocarray(p, 100000, sizeof(int)); /* big: 400 kB */
  CHECK(p != NULL);
  if (!p) return tst_result();
  for (int i = 0; i < 10; i++) CHECK(p[i] == i);
  for (int i = 0; i < 100000; i++) p[i] = i;
  p = reallocarray(p, 1000, sizeof(int));
  CHECK(p != NULL);
  if (!p) return tst_result();
  for (int i = 0; i < 1000; i++)
    if (p[i] != i) {
      CHECK(!"contents kept on shrinking");
      break;
    }
  free(p);
  return tst_result();
}
