/* g8: two threads grow vectors at once: each grows its own 4,000 vectors round-robin by
 * small steps (1..64 B plus up to 1/8 of the size) to log-uniform targets in [16 B, 64 KiB];
 * then each frees the vectors the other thread grew (cross-thread frees), 4 rounds, so what
 * one thread's frees give back must serve the next round. `g8 SCALE floor`: each vector
 * malloc'ed once at its target, same writes. */
#include <pthread.h>

#include "common.h"

#define ROUNDS 4

typedef struct {
  uint8_t *p;
  size_t len, target;
} vec_t;

typedef struct {
  int id;
  size_t nv;
  vec_t *v;
  uint64_t ops, inplace, moved, copied;
} worker_t;

static worker_t w[2];
static pthread_barrier_t bar;

static void grow(worker_t *me, vec_t *x, size_t n) {
  if (bench_floor) {
    if (!x->p) x->p = xmalloc(x->target);
    return;
  }
  uint8_t *q = realloc(x->p, n);
  if (!q) bench_fail("realloc(%zu -> %zu) returned NULL", x->len, n);
  if (x->p && q == x->p) me->inplace++;
  else if (x->p) me->moved++, me->copied += x->len;
  x->p = q;
}

static void *run(void *arg) {
  worker_t *me = arg;
  rng_t r = {80 + (uint64_t)me->id};
  size_t *active = xmalloc(me->nv * sizeof *active);
  for (int round = 0; round < ROUNDS; round++) {
    for (size_t i = 0; i < me->nv; i++) {
      me->v[i] = (vec_t){NULL, 0, rng_logu(&r, 16, 64 << 10)};
      active[i] = i;
    }
    size_t nactive = me->nv;
    while (nactive) {
      for (size_t k = 0; k < nactive;) {
        vec_t *x = &me->v[active[k]];
        uint64_t id = (uint64_t)me->id << 32 | active[k];
        size_t step = rng_range(&r, 1, 64 + x->len / 8);
        size_t n = x->len + step > x->target ? x->target : x->len + step;
        grow(me, x, n);
        if (x->len && x->p[x->len - 1] != pat8(id, x->len - 1))
          bench_fail("thread %d vector %zu: last byte lost", me->id, active[k]);
        pat_fill(x->p, id, x->len, n);
        x->len = n;
        me->ops++;
        if (n == x->target) active[k] = active[--nactive];
        else k++;
      }
    }
    pthread_barrier_wait(&bar);
    worker_t *other = &w[1 - me->id];
    for (size_t i = 0; i < other->nv; i++) {
      vec_t *x = &other->v[i];
      if (!pat_ok(x->p, (uint64_t)other->id << 32 | i, 0, x->len))
        bench_fail("thread %d vector %zu corrupted", other->id, i);
      free(x->p);
    }
    pthread_barrier_wait(&bar);
  }
  free(active);
  return NULL;
}

int main(int argc, char **argv) {
  double scale = bench_init_variant("g8", argc, argv, "floor", &bench_floor);
  size_t nv = scaled(4000, scale, 20);
  pthread_t t[2];
  pthread_barrier_init(&bar, NULL, 2);
  for (int i = 0; i < 2; i++) {
    w[i] = (worker_t){i, nv, calloc(nv, sizeof(vec_t)), 0, 0, 0, 0};
    if (!w[i].v) bench_fail("calloc failed");
    if (pthread_create(&t[i], NULL, run, &w[i])) bench_fail("pthread_create failed");
  }
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; i++) {
    bench_grow.inplace += w[i].inplace;
    bench_grow.moved += w[i].moved;
    bench_grow.copied += w[i].copied;
    free(w[i].v);
  }
  bench_result(w[0].ops + w[1].ops, 1);
  return 0;
}
