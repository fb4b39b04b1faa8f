/* realloc: NULL acts as malloc; an impossible size fails with ENOMEM and leaves the block
 * whole; growing and shrinking keep the contents (small and large blocks, across the size
 * where a malloc switches to mapping blocks); size 0 frees; and a successful realloc leaves
 * errno as it was, also when it must move a big block because the address space after it is
 * taken (a malloc that tries to grow in place first must not leave that attempt's ENOMEM). */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "check.h"

static int filled(const unsigned char *p, size_t n, unsigned char v) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != v) return 0;
  return 1;
}

static volatile size_t max = SIZE_MAX; /* (hidden from the compiler's size warnings) */

int main(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  unsigned char *p = realloc(NULL, 100);
  CHECK(p != NULL);
  if (!p) return tst_result();
  memset(p, 0xab, 100);

  errno = 0;
  CHECK(realloc(p, max) == NULL);
  CHECK(errno == ENOMEM);
  CHECK(realloc(p, max - page) == NULL);
  CHECK(filled(p, 100, 0xab));

  /* Grow through small, medium and large sizes and back down; contents kept. */
  size_t sizes[] = {200, 5000, 70000, 300000, 1 << 20, 5 << 20, 40 << 20, 3 << 20, 100000, 3000, 50};
  size_t have = 100;
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    size_t n = sizes[i], keep = n < have ? n : have;
    errno = EDOM;
    unsigned char *q = realloc(p, n);
    CHECK(q != NULL);
    if (!q) break;
    CHECK(errno == EDOM);
    CHECK(filled(q, keep, 0xab));
    memset(q, 0xab, n);
    p = q;
    have = n;
  }
  errno = EDOM;
  CHECK(realloc(p, 0) == NULL); /* frees, as glibc */
  CHECK(errno == EDOM);

  /* A big block that cannot grow in place: the page after its mapping is taken. */
  p = malloc(1 << 20);
  CHECK(p != NULL);
  char *s, *e;
  if (p && tst_mapping(p, &s, &e) == 0) {
    memset(p, 0x5a, 1 << 20);
    void *nb = mmap(e, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    errno = EDOM;
    unsigned char *q = realloc(p, 8 << 20);
    int err = errno;
    CHECK(q != NULL);
    CHECK(err == EDOM);
    if (err != EDOM) printf("errno after a realloc that moved: %s\n", strerror(err));
    if (q) {
      CHECK(filled(q, 1 << 20, 0x5a));
      p = q;
    }
    if (nb != MAP_FAILED) munmap(nb, page);
  }
  free(p);
  return tst_result();
}
