/* g2: 10,000 vectors grown round-robin by small steps (1..64 B plus up to
 * 1/8 of the current size) up to log-uniform targets in [16 B, 256 KiB].
 * `g2 SCALE floor`: each vector malloc'ed once at its target, same writes. */
#include "common.h"

typedef struct {
  uint8_t *p;
  size_t len, target;
} vec_t;

int main(int argc, char **argv) {
  double scale = bench_init_variant("g2", argc, argv, "floor", &bench_floor);
  size_t nv = scaled(10000, scale, 20);
  rng_t r = {2};
  vec_t *v = calloc(nv, sizeof *v);
  size_t *active = xmalloc(nv * sizeof *active);
  if (!v) bench_fail("calloc failed");
  for (size_t i = 0; i < nv; i++) {
    v[i].target = rng_logu(&r, 16, 256 << 10);
    active[i] = i;
  }
  size_t nactive = nv, ops = 0;
  while (nactive) {
    for (size_t k = 0; k < nactive;) {
      vec_t *x = &v[active[k]];
      size_t step = rng_range(&r, 1, 64 + x->len / 8);
      size_t n = x->len + step > x->target ? x->target : x->len + step;
      x->p = grow_step(x->p, x->len, n, x->target);
      if (x->len && x->p[x->len - 1] != pat8(active[k], x->len - 1))
        bench_fail("vector %zu: last byte lost", active[k]);
      pat_fill(x->p, active[k], x->len, n);
      x->len = n;
      ops++;
      if (n == x->target)
        active[k] = active[--nactive]; /* done: drop from the round */
      else
        k++;
    }
  }
  for (size_t i = 0; i < nv; i++) {
    if (!pat_ok(v[i].p, i, 0, v[i].len)) bench_fail("vector %zu corrupted", i);
    free(v[i].p);
  }
  free(v);
  free(active);
  bench_result(ops, 1);
  return 0;
}
