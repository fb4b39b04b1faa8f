/* glibc's own names for its allocator (__libc_malloc, __libc_free, __libc_calloc,
 * __libc_realloc, __libc_memalign, __libc_valloc, __libc_pvalloc, __libc_mallinfo,
 * __libc_mallopt: exported, called directly by some hooks and old programs) are the malloc the
 * process has: a block from one family is freed by the other, and the reports agree. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>

#include "check.h"

extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
extern struct mallinfo __libc_mallinfo(void);
extern int __libc_mallopt(int, int);

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  size_t sizes[] = {1, 100, 5000, 100000, (size_t)2 << 20};
  for (int i = 0; i < 5; i++) {
    size_t n = sizes[i];
    unsigned char *p = __libc_malloc(n), *q = malloc(n);
    CHECK(p && q);
    if (!p || !q) return tst_result();
    memset(p, 1, n), memset(q, 2, n);
    CHECK(malloc_usable_size(p) >= n);
    free(p);       /* one family's block, the other's free */
    __libc_free(q);
    unsigned char *c = __libc_calloc(n, 1);
    CHECK(c && c[0] == 0 && c[n - 1] == 0);
    if (!c) continue;
    c[0] = 5;
    c = realloc(c, 2 * n);
    CHECK(c && c[0] == 5);
    c = __libc_realloc(c, 3 * n);
    CHECK(c && c[0] == 5);
    free(c);
  }
  void *a = __libc_memalign(4096, 100), *v = __libc_valloc(100), *pv = __libc_pvalloc(100);
  CHECK(a && (uintptr_t)a % 4096 == 0);
  CHECK(v && (uintptr_t)v % (uintptr_t)page == 0);
  CHECK(pv && (uintptr_t)pv % (uintptr_t)page == 0 && malloc_usable_size(pv) >= (size_t)page);
  free(a), free(v), free(pv);

  char *keep = malloc(1000);
  memset(keep, 3, 1000);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo m1 = mallinfo(), m2 = __libc_mallinfo();
#pragma GCC diagnostic pop
  CHECK(m1.arena == m2.arena && m1.uordblks == m2.uordblks && m1.fordblks == m2.fordblks);
  CHECK(m1.hblks == m2.hblks && m1.ordblks == m2.ordblks);
  free(keep);
  CHECK(mallopt(M_TRIM_THRESHOLD, 1 << 20) == 1); /* honoured by both */
  /* the same answer from both names (glibc: 1 for every parameter; vcm: whether it honours it) */
  CHECK(__libc_mallopt(M_TRIM_THRESHOLD, 8 << 20) == mallopt(M_TRIM_THRESHOLD, 8 << 20));
  CHECK(__libc_mallopt(M_MMAP_THRESHOLD, 1 << 20) == mallopt(M_MMAP_THRESHOLD, 1 << 20));
  return tst_result();
}
