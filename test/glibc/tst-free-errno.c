/* free keeps errno (POSIX.1-2024; GCC optimises as if it does), also when the OS call behind
 * it fails: a big block whose mapping the kernel merged with neighbours on both sides must be
 * split to be unmapped, and that fails with ENOMEM when the process has as many mappings as
 * vm.max_map_count allows. The check first makes that happen: a page is mapped on each side
 * of the block (and must merge with it), the mapping count is filled to the limit, then free
 * runs with errno set to a marker; the block must still be mapped afterwards (the munmap
 * failed: the case was reached), and errno must still be the marker. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "check.h"

#define BIG ((size_t)64 << 20) /* above any cache of freed blocks: free unmaps it */
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static size_t page;

static int merged(const void *p, const void *q) {
  char *s, *e;
  return q != MAP_FAILED && tst_mapping(p, &s, &e) == 0 && s <= (char *)q && (char *)q < e;
}

/* A block of BIG bytes whose mapping extends past it on both sides, or NULL. A free gap is
 * made and its top page mapped: the kernel puts the block's mapping just below it (mappings
 * grow down into the highest gap that fits); if the block does not reach that page, a page is
 * mapped at the block's end. Mallocs differ in their mapping flags: each try uses one set, as
 * a merge needs the same flags. */
static char *block_between_neighbours(void) {
  size_t gap = BIG + ((size_t)8 << 20);
  for (int i = 0; i < 2; i++) {
    int fl = ANON | (i ? 0 : MAP_NORESERVE);
    char *g = mmap(NULL, gap, PROT_NONE, ANON | MAP_NORESERVE, -1, 0);
    if (g == MAP_FAILED) return NULL;
    munmap(g, gap);
    char *hi = mmap(g + gap - page, page, RW, fl | MAP_FIXED_NOREPLACE, -1, 0);
    char *nb = MAP_FAILED, *lo = MAP_FAILED, *s, *e;
    char *p = malloc(BIG);
    if (p && tst_mapping(p, &s, &e) == 0) {
      memset(p, 1, page);
      if (!merged(p, hi)) nb = mmap(e, page, RW, fl | MAP_FIXED_NOREPLACE, -1, 0);
      lo = mmap(s - page, page, RW, fl | MAP_FIXED_NOREPLACE, -1, 0);
      if ((merged(p, hi) || merged(p, nb)) && merged(p, lo)) return p;
    }
    free(p);
    if (hi != MAP_FAILED) munmap(hi, page);
    if (nb != MAP_FAILED) munmap(nb, page);
    if (lo != MAP_FAILED) munmap(lo, page);
  }
  return NULL;
}

int main(void) {
  page = (size_t)sysconf(_SC_PAGESIZE);
  char *p = block_between_neighbours();
  CHECK(p != NULL);
  if (!p) return tst_result();

  /* Fill the mapping count to the limit: a large reservation changed a page at a time from its
   * end, each page's protection differing from its neighbours' (one more mapping each). */
  long limit = 65530;
  FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
  if (f) {
    if (fscanf(f, "%ld", &limit) != 1) limit = 65530;
    fclose(f);
  }
  size_t span = (size_t)(limit + 16) * page;
  char *fill = mmap(NULL, span, PROT_READ, ANON | MAP_NORESERVE, -1, 0);
  CHECK(fill != MAP_FAILED);
  if (fill == MAP_FAILED) return tst_result();
  long i = 1;
  while ((size_t)(i + 1) * page < span &&
         mprotect(fill + span - (size_t)i * page, page, i & 1 ? PROT_NONE : RW) == 0)
    i++;

  errno = EDOM;
  free(p);
  int e = errno;
  int still_mapped = msync((void *)((uintptr_t)p & ~(uintptr_t)(page - 1)), page, MS_ASYNC) == 0;
  munmap(fill, span);
  printf("%ld mappings added; after free: block %s, errno %s\n", i,
         still_mapped ? "still mapped (munmap failed)" : "unmapped",
         e == EDOM ? "kept" : strerror(e));
  CHECK(still_mapped);
  CHECK(e == EDOM);

  /* free of small blocks and of NULL keeps errno too. */
  void *q = malloc(10);
  errno = ERANGE;
  free(q);
  CHECK(errno == ERANGE);
  free(NULL);
  CHECK(errno == ERANGE);
  return tst_result();
}
