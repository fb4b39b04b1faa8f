/* s1: small-object churn. 100,000 live objects of 8..512 B (3/4 of them
 * <= 64 B); each op frees a random one (checking its fill) and allocates a
 * new one (filled with its tag byte). 10M ops = 20M malloc/free calls at full
 * scale.
 * `s1 SCALE age` (not in the table): the same run, and at its end the reuse age of the chunks
 * malloc handed out (operations since that address was freed; "fresh": never freed before),
 * as a histogram: which order the allocator reuses freed chunks in (docs/BENCHMARKS.md).
 * `s1 SCALE trace FILE` (not in the table): the same run, writing every address malloc gave an
 * object to FILE; `s1 SCALE replay FILE` runs the same program on those addresses, translated
 * into one anonymous mapping of their span (every offset kept, so the same L1 sets and TLB
 * sets), with no malloc or free of an object: the program's own time on that allocator's
 * placement. Both print the loop's time: trace's less replay's is the allocator's calls. */
#include <sys/mman.h>
#include <time.h>

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

/* trace and replay: the objects' addresses in order, in a mapping of their own (no malloc that
 * would change the placement traced); replay: object j is at trace[j] + trace_delta. */
static uintptr_t *trace;
static size_t trace_n, trace_cap;
static uintptr_t trace_delta;
static void *trace_map(size_t bytes) {
  void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (m == MAP_FAILED) bench_fail("mmap of %zu bytes failed", bytes);
  return m;
}
static void trace_load(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) bench_fail("cannot read %s", path);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  trace = trace_map(trace_cap * sizeof *trace);
  trace_n = fread(trace, sizeof *trace, trace_cap, f);
  fclose(f);
  if (trace_n != trace_cap) bench_fail("%s: %zu addresses, %zu wanted", path, trace_n, trace_cap);
  for (size_t j = 0; j < trace_n; j++) {
    if (trace[j] < lo) lo = trace[j];
    if (trace[j] > hi) hi = trace[j];
  }
  const uintptr_t two_mib = (uintptr_t)2 << 20;
  lo &= ~(two_mib - 1);
  size_t span = hi - lo + two_mib + 4096; /* past the last object's start: 512 B at most */
  if (span > ((size_t)256 << 30)) bench_fail("%s: addresses span %zu bytes", path, span);
  /* the mapping aligned to 2 MiB, so an address keeps its offset in its 2 MiB */
  uintptr_t m = (uintptr_t)trace_map(span + two_mib);
  m = (m + two_mib - 1) & ~(two_mib - 1);
  trace_delta = m - lo;
  trace_n = 0;
}
static uint8_t *object_new(int variant, size_t n) {
  if (variant == 3) return (uint8_t *)(trace[trace_n++] + trace_delta);
  uint8_t *p = xmalloc(n);
  if (variant == 2) trace[trace_n++] = (uintptr_t)p;
  return p;
}
static void object_free(int variant, void *p) {
  if (variant != 3) free(p);
}
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
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
  double scale = bench_init_variant("s1", argc, argv, "age trace replay", &variant);
  size_t live = scaled(LIVE, scale, 1000), nops = scaled(10000000, scale, 20000);
  const char *path = argc > 3 ? argv[3] : "s1.trace";
  if (variant >= 2) {
    trace_cap = live + nops;
    if (variant == 2)
      trace = trace_map(trace_cap * sizeof *trace);
    else
      trace_load(path);
  }
  if (variant == 1) {
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
    p[i] = object_new(variant, sz[i]);
    tags[i] = ++tag * 0x100 + i % 251;
    fill(p[i], sz[i], tags[i]);
  }
  double t0 = now();
  for (size_t op = 0; op < nops; op++) {
    size_t i = rng_below(&r, live);
    if (!ok(p[i], sz[i], tags[i])) bench_fail("object %zu corrupted", i);
    if (variant == 1) age_freed(p[i], op + 1);
    object_free(variant, p[i]);
    sz[i] = (uint32_t)pick_size(&r);
    p[i] = object_new(variant, sz[i]);
    if (variant == 1) age_taken(p[i], op + 1);
    tags[i] = ++tag * 0x100 + op % 251;
    fill(p[i], sz[i], tags[i]);
  }
  double loop = now() - t0;
  for (size_t i = 0; i < live; i++) {
    if (!ok(p[i], sz[i], tags[i])) bench_fail("object %zu corrupted", i);
    object_free(variant, p[i]);
  }
  if (variant == 2) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(trace, sizeof *trace, trace_n, f) != trace_n || fclose(f) != 0)
      bench_fail("cannot write %s", path);
  }
  if (variant >= 2) printf("loop %.4f s\n", loop);
  free(p);
  free(sz);
  free(tags);
  if (variant == 1) {
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
