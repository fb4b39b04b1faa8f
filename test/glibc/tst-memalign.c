/* memalign: an impossible size fails with ENOMEM, an alignment above SIZE_MAX / 2 + 1 with
 * EINVAL; a power-of-two alignment is honoured (1 to 16 MiB, sizes 0 to past it); another
 * alignment is rounded up to a power of two. */
#define _GNU_SOURCE
#include <malloc.h>

#include "check.h"

static volatile size_t max = SIZE_MAX;

int main(void) {
  errno = 0;
  CHECK(memalign(sizeof(void *), max) == NULL);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(memalign(4096, max - 4096) == NULL);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(memalign(max / 2 + 2, 16) == NULL);
  CHECK(errno == EINVAL || errno == ENOMEM);
  tst_alignments(memalign, 1);
  size_t odd[] = {3, 24, 100, 4097, 100000};
  for (int i = 0; i < 5; i++) {
    void *p = memalign(odd[i], 100);
    size_t pow = 1;
    while (pow < odd[i]) pow <<= 1;
    CHECK(p != NULL && (uintptr_t)p % pow == 0);
    free(p);
  }
  return tst_result();
}
