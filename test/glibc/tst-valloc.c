/* valloc: page-aligned blocks for sizes 0 to several pages, writable; an impossible size
 * fails with ENOMEM. */
#define _GNU_SOURCE

#include "check.h"

static volatile size_t max = SIZE_MAX;

int main(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  errno = 0;
  CHECK(valloc(max) == NULL);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(valloc(max - page) == NULL);
  CHECK(errno == ENOMEM);
  size_t sizes[] = {0, 1, 100, page - 1, page, page + 1, 5 * page + 3, 100 * page, 1000 * page};
  void *keep[9];
  for (int i = 0; i < 9; i++) {
    keep[i] = valloc(sizes[i]);
    CHECK(keep[i] != NULL && (uintptr_t)keep[i] % page == 0);
    if (keep[i]) memset(keep[i], i, sizes[i]);
  }
  for (int i = 0; i < 9; i++) free(keep[i]);
  return tst_result();
}
