/* A thread storm: 25,000 short threads, 16 at a time, each allocating and freeing, with two
 * keys whose destructors allocate in every destructor round, the last one included (a value
 * is set again for three rounds, then only allocated and freed). Mapping count and RSS stay
 * flat: the most mappings seen up to the 20,000th thread and in the last 5,000 differ by little,
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
  /* The mappings are the segments of the heaps that exist (each three mappings): as many as
   * the threads and destructor rounds ever needed at once, a count that ratchets up with the
   * run's timing (74-600 seen: 16 threads exiting together may each borrow a heap), so a peak
   * late in a run is no leak by itself. m0 is the most seen from the 1,000th to the 20,000th
   * thread, m1 the most in the last 5,000: the ratchet has mostly settled by then, while a heap
   * or segment kept per hundred dead threads would add 150 in the last fifth alone. */
  int done = 0, m0 = 0, m1 = 0;
  long r0 = 0;
  while (done < THREADS && !tst_failed) {
    batch(&done);
    int m = tst_mappings(), last = done > THREADS - THREADS / 5;
    if (done >= THREADS / 25 && !last && m > m0) m0 = m;
    if (last && m > m1) m1 = m;
    if (!r0 && done >= THREADS / 5) r0 = tst_rss_kib();
  }
  long r1 = tst_rss_kib();
  printf("%d threads: at most %d mappings from %d to %d; at most %d in the last %d; %ld KiB "
         "resident after %d, %ld KiB at the end\n",
         done, m0, THREADS / 25, THREADS - THREADS / 5, m1, THREADS / 5, r0, THREADS / 5, r1);
  CHECK(m1 <= m0 + 128);
  CHECK(r1 <= r0 + 8192);
  return tst_result();
}
