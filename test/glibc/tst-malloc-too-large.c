/* Sizes no object can have (above PTRDIFF_MAX, near SIZE_MAX, products that overflow) fail
 * with ENOMEM in every allocation function, and a realloc that fails keeps its block. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stddef.h>

#include "check.h"

static void *keep;

static void too_large(size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  void *p = &p;
#define FAILS(call)                                                                          \
  do {                                                                                       \
    errno = 0;                                                                               \
    void *r_ = (call);                                                                       \
    if (r_ != NULL || errno != ENOMEM) printf("size %#zx: %s\n", n, #call);                  \
    CHECK(r_ == NULL && errno == ENOMEM);                                                    \
  } while (0)
  FAILS(malloc(n));
  FAILS(calloc(1, n));
  FAILS(calloc(n, 1));
  FAILS(realloc(keep, n));
  FAILS(reallocarray(keep, 1, n));
  FAILS(reallocarray(keep, n, 1));
  FAILS(memalign(64, n));
  FAILS(aligned_alloc(4096, n));
  FAILS(valloc(n));
  FAILS(pvalloc(n));
  CHECK(posix_memalign(&p, 64, n) == ENOMEM && p == (void *)&p);
  /* Products: n / k * k + k overflows or passes PTRDIFF_MAX. */
  for (size_t k = 2; k <= page; k *= 2) {
    FAILS(calloc(n / k + 1, k));
    FAILS(reallocarray(keep, k, n / k + 1));
  }
}

int main(void) {
  keep = malloc(100);
  CHECK(keep != NULL);
  if (!keep) return tst_result();
  memset(keep, 0x21, 100);
  for (int i = 0; i < 64; i++) too_large(SIZE_MAX - ((size_t)1 << (i / 2)) * (size_t)(i % 2 + 1));
  for (size_t i = 0; i < 1000; i += 37) too_large((size_t)PTRDIFF_MAX + 1 + i);
  too_large((size_t)PTRDIFF_MAX + ((size_t)PTRDIFF_MAX >> 1));
  for (int i = 0; i < 100; i++) CHECK(((unsigned char *)keep)[i] == 0x21);
  free(keep);
  return tst_result();
}
