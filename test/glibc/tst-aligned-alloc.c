/* aligned_alloc: every power-of-two alignment from 1 to 16 MiB is honoured for sizes 0 to past
 * the alignment; an impossible size fails with ENOMEM; an alignment that is not a power of two
 * either fails with EINVAL or (older glibc) gives a block aligned to the next power of two. */
#define _GNU_SOURCE

#include "check.h"

static volatile size_t max = SIZE_MAX;

int main(void) {
  errno = 0;
  CHECK(aligned_alloc(64, max) == NULL);
  CHECK(errno == ENOMEM);
  errno = 0;
  CHECK(aligned_alloc(4096, max - 4096) == NULL);
  CHECK(errno == ENOMEM);
  size_t odd[] = {3, 24, 4097, 100000};
  for (int i = 0; i < 4; i++) {
    errno = 0;
    void *p = aligned_alloc(odd[i], 64);
    size_t pow = 1;
    while (pow < odd[i]) pow <<= 1;
    CHECK(p ? (uintptr_t)p % pow == 0 : errno == EINVAL);
    free(p);
  }
  tst_alignments(aligned_alloc, 1);
  return tst_result();
}
