/* g3: string building. Pieces of 1..40 B are appended to randomly chosen
 * strings (exact-size realloc, NUL-terminated) until each reaches its
 * log-uniform target length in [16 B, 4 KiB]. 50,000 strings at full scale.
 * `g3 SCALE floor`: a dry run of the same schedule finds each string's final
 * length; each string is then malloc'ed once at that size, same writes. */
#include "common.h"

static inline char chr(uint64_t id, size_t off) { return (char)('a' + pat8(id, off) % 26); }

typedef struct {
  char *s;
  size_t len, target, final;
} str_t;

/* Append until every string reaches its target; dry: lengths only. Returns
 * the number of appends. */
static size_t build(str_t *v, size_t ns, rng_t r, int dry) {
  size_t *open_ = xmalloc(ns * sizeof *open_);
  for (size_t i = 0; i < ns; i++) open_[i] = i;
  size_t nopen = ns, ops = 0;
  while (nopen) {
    size_t k = rng_below(&r, nopen), id = open_[k];
    str_t *x = &v[id];
    size_t piece = rng_range(&r, 1, 40);
    if (!dry) {
      x->s = grow_step(x->s, x->len + 1, x->len + piece + 1, x->final);
      if (x->s[x->len] != 0 || (x->len && x->s[x->len - 1] != chr(id, x->len - 1)))
        bench_fail("string %zu: tail lost", id);
      for (size_t j = 0; j < piece; j++) x->s[x->len + j] = chr(id, x->len + j);
      x->s[x->len + piece] = 0;
    }
    x->len += piece;
    ops++;
    if (x->len >= x->target) open_[k] = open_[--nopen];
  }
  free(open_);
  return ops;
}

int main(int argc, char **argv) {
  double scale = bench_init_variant("g3", argc, argv, "floor", &bench_floor);
  size_t ns = scaled(50000, scale, 50);
  rng_t r = {3};
  str_t *v = calloc(ns, sizeof *v);
  if (!v) bench_fail("calloc failed");
  for (size_t i = 0; i < ns; i++) v[i].target = rng_logu(&r, 16, 4096);
  if (bench_floor) {
    build(v, ns, r, 1);
    for (size_t i = 0; i < ns; i++) v[i].final = v[i].len + 1, v[i].len = 0;
  }
  for (size_t i = 0; i < ns; i++) {
    v[i].s = grow_step(NULL, 0, 1, v[i].final);
    v[i].s[0] = 0;
  }
  size_t ops = build(v, ns, r, 0);
  for (size_t i = 0; i < ns; i++) {
    if (strlen(v[i].s) != v[i].len) bench_fail("string %zu: bad length", i);
    for (size_t j = 0; j < v[i].len; j++)
      if (v[i].s[j] != chr(i, j)) bench_fail("string %zu: byte %zu wrong", i, j);
    free(v[i].s);
  }
  free(v);
  bench_result(ops, 1);
  return 0;
}
