/* s1: small-object churn. 100,000 live objects of 8..512 B (3/4 of them
 * <= 64 B); each op frees a random one (checking its fill) and allocates a
 * new one (filled with its tag byte). 10M ops = 20M malloc/free calls at full
 * scale.
 * `s1 SCALE age` (not in the table): the same run, and at its end the reuse age of the chunks
 * malloc handed out (operations since that address was freed; "fresh": never freed before),
 * as a histogram: which order the allocator reuses freed chunks in (docs/BENCHMARKS.md). */
#include "common.h"

#define LIVE 100000

/* The age variant's table of freed addresses: open addressing, the address as its key, the
 * operation that freed it as its value (0: empty). Full: no more addresses noted. */
static uintptr_t *age_key;
static uint64_t *age_op;
static size_t age_mask, age_used;
static size_t age_slot(uintptr_t a) {
  size_t h = (size_t)((a * 0x9E3779B97F4A7C15ull) >> 20) & age_mask;
  while (age_key[h] && age_key[h] != a) h = (h + 1) & age_mask;
  return h;
}
static void age_freed(const void *p, uint64_t op) {
  size_t h = age_slot((uintptr_t)p);
  if (!age_key[h]) {
    if (2 * age_used >= age_mask) return;
    age_used++;
    age_key[h] = (uintptr_t)p;
  }
  age_op[h] = op;
}
static uint64_t age_hist[8]; /* <= 1, 10, 100, 1k, 10k, 100k, more; [7]: fresh */
static void age_taken(const void *p, uint64_t op) {
  size_t h = age_slot((uintptr_t)p);
  if (!age_key[h] || !age_op[h]) {
    age_hist[7]++;
    return;
  }
  uint64_t age = op - age_op[h];
  unsigned b = 0;
  for (uint64_t lim = 1; b < 6 && age > lim; lim *= 10) b++;
  age_hist[b]++;
  age_op[h] = 0;
}

static size_t pick_size(rng_t *r) {
  return rng_below(r, 4) ? rng_range(r, 8, 64) : rng_range(r, 65, 512);
}

static void fill(uint8_t *p, size_t n, uint64_t tag) {
  memset(p, (int)(tag & 0xFF), n);
  memcpy(p, &tag, 8);
}
static int ok(const uint8_t *p, size_t n, uint64_t tag) {
  uint64_t t;
  memcpy(&t, p, 8);
  if (n == 8) return t == tag;
  return t == tag && p[n - 1] == (uint8_t)tag && p[8 + (n - 8) / 2] == (uint8_t)tag;
}

int main(int argc, char **argv) {
  int variant = 0;
  double scale = bench_init_variant("s1", argc, argv, "age", &variant);
  size_t live = scaled(LIVE, scale, 1000), nops = scaled(10000000, scale, 20000);
  if (variant) {
    size_t n = 1;
    while (n < 4 * live) n *= 2;
    age_key = xmalloc(n * sizeof *age_key);
    age_op = xmalloc(n * sizeof *age_op);
    memset(age_key, 0, n * sizeof *age_key);
    age_mask = n - 1;
  }
  rng_t r = {11};
  uint8_t **p = xmalloc(live * sizeof *p);
  uint32_t *sz = xmalloc(live * sizeof *sz);
  uint64_t *tags = xmalloc(live * sizeof *tags), tag = 0;
  for (size_t i = 0; i < live; i++) {
    sz[i] = (uint32_t)pick_size(&r);
    p[i] = xmalloc(sz[i]);
    tags[i] = ++tag * 0x100 + i % 251;
    fill(p[i], sz[i], tags[i]);
  }
  for (size_t op = 0; op < nops; op++) {
    size_t i = rng_below(&r, live);
    if (!ok(p[i], sz[i], tags[i])) bench_fail("object %zu corrupted", i);
    if (variant) age_freed(p[i], op + 1);
    free(p[i]);
    sz[i] = (uint32_t)pick_size(&r);
    p[i] = xmalloc(sz[i]);
    if (variant) age_taken(p[i], op + 1);
    tags[i] = ++tag * 0x100 + op % 251;
    fill(p[i], sz[i], tags[i]);
  }
  for (size_t i = 0; i < live; i++) {
    if (!ok(p[i], sz[i], tags[i])) bench_fail("object %zu corrupted", i);
    free(p[i]);
  }
  free(p);
  free(sz);
  free(tags);
  if (variant) {
    static const char *const name[8] = {"le1", "le10", "le100", "le1k", "le10k", "le100k", "more", "fresh"};
    printf("age");
    for (int b = 0; b < 8; b++) printf(" %s=%.1f%%", name[b], 100.0 * (double)age_hist[b] / (double)nops);
    printf("\n");
    free(age_key);
    free(age_op);
  }
  bench_result(2 * nops, 0);
  return 0;
}
