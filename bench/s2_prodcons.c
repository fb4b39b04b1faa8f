/* s2: producer/consumer. One thread allocates and fills objects of
 * 16..1024 B and passes them through a bounded single-producer/single-consumer
 * ring; the other thread checks and frees them (every free is cross-thread).
 * 5M objects at full scale.
 * `s2 SCALE pin` runs the producer on CPU 0 and the consumer on CPU 1. Unpinned, the
 * scheduler decides: on one CPU the ring fills and drains whole (2 x 5M / 4096 = 2,441
 * yields), on two the threads meet at every object and the waiting one spins on sched_yield
 * (10^4 to 10^6 yields), which doubles the time and the CPU of every allocator alike: a
 * single run's time says more about where its threads ran than about the allocator. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "common.h"

#define RING 4096 /* power of two */

static void *ring[RING];
static _Atomic size_t head, tail; /* head: next to write; tail: next to read */
static size_t nobj;
static int pin; /* the `pin` variant */

/* Run this thread on CPU c alone (the `pin` variant). */
static void pin_to(int c) {
  if (!pin) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(c, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
    bench_fail("cannot run a thread on CPU %d (pin needs CPUs 0 and 1)", c);
}

/* Object layout: 8-byte sequence number, 4-byte size, then fill bytes. */
static void *producer(void *arg) {
  (void)arg;
  pin_to(0);
  rng_t r = {21};
  for (size_t i = 0; i < nobj; i++) {
    uint32_t n = (uint32_t)rng_range(&r, 16, 1024);
    uint8_t *p = xmalloc(n);
    uint64_t seq = i;
    memcpy(p, &seq, 8);
    memcpy(p + 8, &n, 4);
    memset(p + 12, (int)(i & 0xFF), n - 12);
    size_t h = atomic_load_explicit(&head, memory_order_relaxed);
    while (h - atomic_load_explicit(&tail, memory_order_acquire) == RING) sched_yield();
    ring[h % RING] = p;
    atomic_store_explicit(&head, h + 1, memory_order_release);
  }
  return NULL;
}

static void *consumer(void *arg) {
  size_t *bad = arg;
  pin_to(1);
  for (size_t i = 0; i < nobj; i++) {
    size_t t = atomic_load_explicit(&tail, memory_order_relaxed);
    while (atomic_load_explicit(&head, memory_order_acquire) == t) sched_yield();
    uint8_t *p = ring[t % RING];
    atomic_store_explicit(&tail, t + 1, memory_order_release);
    uint64_t seq;
    uint32_t n;
    memcpy(&seq, p, 8);
    memcpy(&n, p + 8, 4);
    if (seq != i || n < 16 || n > 1024 || p[12] != (uint8_t)i || p[n - 1] != (uint8_t)i)
      (*bad)++;
    free(p);
  }
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_init_variant("s2", argc, argv, "pin", &pin);
  nobj = scaled(5000000, scale, 10000);
  size_t bad = 0;
  pthread_t tp, tc;
  if (pthread_create(&tc, NULL, consumer, &bad) || pthread_create(&tp, NULL, producer, NULL))
    bench_fail("pthread_create failed");
  pthread_join(tp, NULL);
  pthread_join(tc, NULL);
  if (bad) bench_fail("%zu objects corrupted", bad);
  bench_result(2 * nobj, 0);
  return 0;
}
