/* mallinfo2 and mallinfo, as glibc's manual defines their fields: arena = uordblks + fordblks
 * (the heap's memory, in use and free); uordblks rises by at least the bytes malloc'ed and
 * falls when they are freed, also those of another thread; keepcost (what malloc_trim could
 * release) is free space; a big block (4 MiB, over any mmap threshold) counts in hblks and
 * hblkhd, not in uordblks; mallinfo's fields are mallinfo2's as int. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>

#include "check.h"

enum { N = 20000, SIZE = 100 };
static char *blk[N];

static void check_sums(const struct mallinfo2 *m) {
  CHECK(m->arena == m->uordblks + m->fordblks);
  CHECK(m->keepcost <= m->fordblks);
  CHECK(m->usmblks == 0);
}

static void *build(void *arg) {
  (void)arg;
  for (int i = 0; i < N; i++)
    if ((blk[i] = malloc(SIZE))) memset(blk[i], 1, SIZE);
  return NULL;
}

int main(void) {
  struct mallinfo2 m0 = mallinfo2(), m1, m2, m3;
  check_sums(&m0);
  build(NULL);
  m1 = mallinfo2();
  check_sums(&m1);
  CHECK(m1.uordblks >= m0.uordblks + (size_t)N * SIZE);
  CHECK(m1.arena >= (size_t)N * SIZE);
  for (int i = 0; i < N; i++) free(blk[i]);
  m2 = mallinfo2();
  check_sums(&m2);
  /* a malloc may keep a few freed blocks in a cache it counts as in use (glibc's tcache) */
  CHECK(m2.uordblks + (size_t)(N - 100) * SIZE <= m1.uordblks);
  CHECK(m2.fordblks >= (size_t)(N - 100) * SIZE);
  if (m2.uordblks + (size_t)(N - 100) * SIZE > m1.uordblks)
    printf("uordblks %zu after malloc, %zu after free\n", m1.uordblks, m2.uordblks);

  /* a big block: mmapped (hblks, hblkhd), not in uordblks */
  size_t big = (size_t)4 << 20;
  char *b = malloc(big);
  CHECK(b != NULL);
  if (b) memset(b, 2, big);
  m3 = mallinfo2();
  check_sums(&m3);
  CHECK(m3.hblks == m2.hblks + 1 && m3.hblkhd >= m2.hblkhd + big);
  CHECK(m3.uordblks < m2.uordblks + big);
  free(b);
  m3 = mallinfo2();
  CHECK(m3.hblks == m2.hblks && m3.hblkhd == m2.hblkhd);

  /* another thread's blocks count while they live, and not once the main thread freed them */
  pthread_t t;
  m0 = mallinfo2();
  CHECK(pthread_create(&t, NULL, build, NULL) == 0 && pthread_join(t, NULL) == 0);
  m1 = mallinfo2();
  check_sums(&m1);
  CHECK(m1.uordblks >= m0.uordblks + (size_t)N * SIZE);
  for (int i = 0; i < N; i++) free(blk[i]);
  m2 = mallinfo2();
  check_sums(&m2);
  CHECK(m2.uordblks + (size_t)(N - 100) * SIZE <= m1.uordblks);

  /* mallinfo: the same figures as int (all small here) */
  m2 = mallinfo2();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* glibc 2.33: use mallinfo2 */
  struct mallinfo mi = mallinfo();
#pragma GCC diagnostic pop
  CHECK(mi.arena == (int)m2.arena && mi.uordblks == (int)m2.uordblks);
  CHECK(mi.fordblks == (int)m2.fordblks && mi.hblks == (int)m2.hblks);
  CHECK(mi.hblkhd == (int)m2.hblkhd && mi.keepcost == (int)m2.keepcost);
  CHECK(mi.ordblks == (int)m2.ordblks);
  return tst_result();
}
