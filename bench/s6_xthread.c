/* s6: cross-thread free of small objects by many threads (the xmalloc-test
 * pattern). 8 threads in a ring: each allocates batches of 256 objects of
 * 16..128 B, stamps them and hands each batch to the next thread, which checks
 * and frees them, so every free is remote. A thread with 16 batches unread
 * at its successor waits (freeing what it receives) before sending more.
 * 8 x 8,000 batches (16M objects) at full scale. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "common.h"

#define THREADS 8
#define BATCH 256
#define BACKLOG 16

typedef struct batch {
  struct batch *next;
  uint64_t tag;
  uint8_t *obj[BATCH];
  uint32_t size[BATCH];
} batch_t;

static struct {
  _Atomic(batch_t *) inbox; /* a stack of batches; the owner takes all at once */
  _Atomic size_t unread;    /* batches pushed and not yet taken */
  char pad[64];
} thr[THREADS];
static size_t nbatches;
static _Atomic size_t bad;

/* Take every batch in thread id's inbox; check and free its objects. */
static size_t drain(size_t id) {
  batch_t *b = atomic_exchange(&thr[id].inbox, NULL);
  size_t got = 0;
  while (b) {
    batch_t *next = b->next;
    for (size_t i = 0; i < BATCH; i++) {
      if (!stamp_ok(b->obj[i], b->size[i], b->tag + i)) atomic_fetch_add(&bad, 1);
      free(b->obj[i]);
    }
    free(b);
    b = next;
    got++;
  }
  atomic_fetch_sub(&thr[id].unread, got);
  return got;
}

static void *worker(void *arg) {
  size_t id = (size_t)(uintptr_t)arg, to = (id + 1) % THREADS, got = 0;
  rng_t r = {60 + id};
  for (size_t n = 0; n < nbatches; n++) {
    while (atomic_load(&thr[to].unread) >= BACKLOG) {
      got += drain(id);
      sched_yield();
    }
    batch_t *b = xmalloc(sizeof *b);
    b->tag = ((uint64_t)id << 56) | ((uint64_t)n << 16);
    for (size_t i = 0; i < BATCH; i++) {
      b->size[i] = (uint32_t)rng_range(&r, 16, 128);
      b->obj[i] = xmalloc(b->size[i]);
      stamp(b->obj[i], b->size[i], b->tag + i);
    }
    atomic_fetch_add(&thr[to].unread, 1);
    b->next = atomic_load(&thr[to].inbox);
    while (!atomic_compare_exchange_weak(&thr[to].inbox, &b->next, b)) {
    }
    got += drain(id);
  }
  while (got < nbatches) { /* the predecessor's last batches */
    got += drain(id);
    if (got < nbatches) sched_yield();
  }
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_init("s6", argc, argv);
  nbatches = scaled(8000, scale, 50);
  pthread_t t[THREADS];
  for (size_t i = 0; i < THREADS; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i))
      bench_fail("pthread_create failed");
  for (size_t i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  if (atomic_load(&bad)) bench_fail("%zu objects corrupted", atomic_load(&bad));
  bench_result(2 * THREADS * nbatches * BATCH, 0);
  return 0;
}
