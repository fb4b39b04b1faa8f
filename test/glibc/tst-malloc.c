/* malloc basics: sizes no object can have fail with ENOMEM (and realloc then keeps the
 * block); malloc(0) gives a unique pointer that free takes; blocks of many sizes are aligned
 * for any type, writable to their full size and do not overlap. */
#define _GNU_SOURCE
#include <stddef.h>

#include "check.h"

static volatile size_t max = SIZE_MAX; /* (hidden from the compiler's size warnings) */

int main(void) {
  size_t bad[] = {max, max - 511, (size_t)PTRDIFF_MAX + 1, max / 2 + 2};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    errno = 0;
    CHECK(malloc(bad[i]) == NULL);
    CHECK(errno == ENOMEM);
  }
  char *p = malloc(10);
  CHECK(p != NULL);
  if (!p) return tst_result();
  memcpy(p, "123456789", 10);
  errno = 0;
  CHECK(realloc(p, max - 255) == NULL);
  CHECK(errno == ENOMEM);
  CHECK(memcmp(p, "123456789", 10) == 0);
  free(p);

  void *z1 = malloc(0), *z2 = malloc(0);
  CHECK(z1 != NULL && z2 != NULL && z1 != z2);
  free(z1);
  free(z2);

  enum { N = 200 };
  unsigned char *b[N];
  size_t len[N];
  for (int i = 0; i < N; i++) {
    len[i] = (size_t)(i * 7919 % 20011) + (i % 10 == 0 ? (size_t)1 << 20 : 0);
    b[i] = malloc(len[i]);
    CHECK(b[i] != NULL);
    if (!b[i]) return tst_result();
    CHECK((uintptr_t)b[i] % _Alignof(max_align_t) == 0);
    memset(b[i], i, len[i]);
  }
  for (int i = 0; i < N; i++)
    for (size_t j = 0; j < len[i]; j++)
      if (b[i][j] != (unsigned char)i) {
        CHECK(!"block contents overwritten (overlap)");
        break;
      }
  for (int i = 0; i < N; i++) free(b[i]);
  return tst_result();
}
