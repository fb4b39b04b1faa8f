/* posix_memalign: an alignment that is not a power of two times sizeof(void *) is EINVAL, an
 * impossible size ENOMEM, the result pointer untouched on failure; every alignment from
 * sizeof(void *) to 16 MiB is honoured, for sizes 0 to past the alignment. */
#define _GNU_SOURCE

#include "check.h"

static volatile size_t max = SIZE_MAX;

static void *by_posix_memalign(size_t align, size_t n) {
  void *p = NULL;
  int r = posix_memalign(&p, align, n);
  CHECK(r == 0 || p == NULL);
  return r == 0 ? p : NULL;
}

int main(void) {
  void *p = (void *)&p, *keep = p;
  CHECK(posix_memalign(&p, 0, 16) == EINVAL);
  CHECK(posix_memalign(&p, sizeof(void *) / 2, 16) == EINVAL);
  CHECK(posix_memalign(&p, 3 * sizeof(void *), 16) == EINVAL);
  CHECK(posix_memalign(&p, 4097, 16) == EINVAL);
  CHECK(posix_memalign(&p, sizeof(void *), max) == ENOMEM);
  CHECK(posix_memalign(&p, 4096, max - 4096) == ENOMEM);
  CHECK(posix_memalign(&p, max / 2 + 1, 1) == ENOMEM);
  CHECK(p == keep);
  tst_alignments(by_posix_memalign, sizeof(void *));
  return tst_result();
}
