/* pvalloc: page-aligned blocks whose usable size is the request rounded up to whole pages,
 * all of it writable; an impossible size, also one that would
 * overflow when rounded up, fails with ENOMEM. */
#define _GNU_SOURCE
#include <malloc.h>

#include "check.h"

static volatile size_t max = SIZE_MAX;

int main(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  errno = 0;
  CHECK(pvalloc(max) == NULL);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(pvalloc(max - page / 2) == NULL);
  CHECK(errno == ENOMEM);
  size_t sizes[] = {0, 1, 100, page - 1, page, page + 1, 5 * page + 3, 100 * page + 1};
  for (int i = 0; i < 8; i++) {
    unsigned char *p = pvalloc(sizes[i]);
    size_t want = (sizes[i] + page - 1) / page * page;
    CHECK(p != NULL && (uintptr_t)p % page == 0);
    if (!p) continue;
    CHECK(malloc_usable_size(p) >= want);
    memset(p, 0xee, want);
    free(p);
  }
  return tst_result();
}
