/* A thread storm: 25,000 short threads, 16 at a time, each allocating and freeing, with two
 * keys whose destructors allocate in every destructor round, the last one included (a value
 * is set again for three rounds, then only allocated and freed). Mapping count and RSS stay
 * flat: the most mappings seen in the first 5,000 threads and in the last differ by little,
 * and so do RSS after the first 5,000 and at the end (glibc's RSS grows by
 * about 2 MiB as it spreads threads over more arenas; a heap kept per dead thread would add
 * hundreds of MiB). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>

#include "check.h"

#define THREADS 25000
#define BATCH 16

static pthread_key_t key1, key2;
static __thread int rounds;

static void dtor(pthread_key_t k, void *v) {
  free(v);
  if (rounds++ < 6) { /* both keys: 3 rounds each set a value again */
    pthread_setspecific(k, malloc(48));
  } else {
    void *p = malloc(300 + (size_t)rounds); /* the last round still allocates */
    free(p);
  }
}
static void dtor1(void *v) { dtor(key1, v); }
static void dtor2(void *v) { dtor(key2, v); }

static void *th(void *a) {
  size_t n = (size_t)(uintptr_t)a;
  void *keep[8];
  for (int i = 0; i < 8; i++) keep[i] = malloc(n << i);
  for (int i = 0; i < 8; i++) free(keep[i]);
  pthread_setspecific(key1, malloc(24));
  pthread_setspecific(key2, malloc(4000));
  return NULL;
}

static void batch(int *done) {
  pthread_t t[BATCH];
  int n = 0;
  for (int i = 0; i < BATCH; i++, n++)
    if (pthread_create(&t[i], NULL, th, (void *)(uintptr_t)(16 + (*done + i) % 4000)) != 0) break;
  CHECK(n == BATCH);
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
  *done += BATCH;
}

int main(void) {
  free(malloc(1));
  CHECK(pthread_key_create(&key1, dtor1) == 0);
  CHECK(pthread_key_create(&key2, dtor2) == 0);
  /* The mappings move with the heaps alive at a sample (up to BATCH, each with its segments):
   * m0 is the most seen from the 1,000th to the 5,000th thread, m1 the most in the last 5,000.
   * Where segments and cached large blocks land decides which mappings merge, and which fine
   * classes (heap.c: a segment of three mappings each, made and unmapped by a thread that uses
   * one) the threads alive at a sample hold, so the most moves between runs: 74-177 seen, m1 - m0
   * from -74 to +60 in 12 runs (a mean of 0); a heap or segment kept per dead thread would add
   * thousands, one kept per hundred threads 600. */
  int done = 0, m0 = 0, m1 = 0;
  while (done < THREADS / 5) {
    batch(&done);
    if (done >= THREADS / 25 && tst_mappings() > m0) m0 = tst_mappings();
  }
  long r0 = tst_rss_kib();
  while (done < THREADS && !tst_failed) {
    batch(&done);
    if (done >= THREADS - THREADS / 5 && tst_mappings() > m1) m1 = tst_mappings();
  }
  long r1 = tst_rss_kib();
  printf("%d threads: at most %d mappings from %d to %d, %ld KiB resident then; at most %d in "
         "the last %d, %ld KiB at the end\n",
         done, m0, THREADS / 25, THREADS / 5, r0, m1, THREADS / 5, r1);
  CHECK(m1 <= m0 + 128);
  CHECK(r1 <= r0 + 8192);
  return tst_result();
}
