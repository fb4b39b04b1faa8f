/* Shared helpers for the vcm benchmark workloads: scale argument, PRNG, data
 * patterns, realloc tracking (in-place rate, bytes copied) and the result line.
 *
 * Every workload is a standalone program: `prog [SCALE]`, SCALE a positive
 * number (1 = full size, 0.01 = smoke size). It checks its own data and prints
 * one line `result name=<w> ops=<n> check=ok ...` at the end; on a data error
 * it prints `result name=<w> check=FAIL ...` and exits 1. Header-only. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_UNUSED __attribute__((unused))

static const char *bench_name = "?";
/* Set by `prog SCALE floor` (bench_init_variant): growth workloads then malloc each vector once at
 * its final size and never realloc (grow_step), writing the same bytes in the
 * same order, so time(prog) / time(prog floor) is what growth costs. */
static int bench_floor;
static char bench_name_buf[32];

/* Report a failed check and exit non-zero. */
static BENCH_UNUSED __attribute__((noreturn, format(printf, 1, 2))) void
bench_fail(const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fprintf(stderr, "%s: ", bench_name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  printf("result name=%s check=FAIL\n", bench_name);
  exit(1);
}

/* Parse argv[1] as the scale (default 1) and the optional argv[2] as one of the
 * space-separated variant words `accepted` (setting *variant to its place, 1 for
 * the first; NULL: no variant): `floor` for the growth workloads (&bench_floor),
 * `sized` for s3. The result line's name gets the word appended. */
static BENCH_UNUSED double bench_init_variant(const char *name, int argc, char **argv,
                                             const char *accepted, int *variant) {
  bench_name = name;
  if (argc > 2) {
    size_t n = strlen(argv[2]);
    int place = 0, i = 0;
    for (const char *w = accepted; w && *w && !place; w += strcspn(w, " "), w += *w == ' ') {
      i++;
      if (n && strcspn(w, " ") == n && memcmp(w, argv[2], n) == 0) place = i;
    }
    if (place) {
      *variant = place;
    } else {
      fprintf(stderr, "%s: unknown variant %s\n", argv[0], argv[2]);
      exit(2);
    }
    snprintf(bench_name_buf, sizeof bench_name_buf, "%s%s", name, argv[2]);
    bench_name = bench_name_buf;
  }
  if (argc < 2) return 1.0;
  char *end;
  errno = 0;
  double s = strtod(argv[1], &end);
  if (errno || *end || !(s > 0) || s > 100) {
    fprintf(stderr, "usage: %s [SCALE]   (SCALE > 0, 1 = full size)\n", argv[0]);
    exit(2);
  }
  return s;
}
static BENCH_UNUSED double bench_init(const char *name, int argc, char **argv) {
  return bench_init_variant(name, argc, argv, NULL, NULL);
}

/* full * scale, at least lo. */
static BENCH_UNUSED size_t scaled(size_t full, double scale, size_t lo) {
  double v = (double)full * scale;
  return v < (double)lo ? lo : (size_t)v;
}

/* --- PRNG: splitmix64, deterministic across runs and allocators ---------- */
typedef struct { uint64_t s; } rng_t;

static inline uint64_t rng_next(rng_t *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
/* Uniform in [0, n), n > 0. */
static inline size_t rng_below(rng_t *r, size_t n) { return (size_t)(rng_next(r) % n); }
/* Uniform in [lo, hi]. */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi) {
  return lo + rng_below(r, hi - lo + 1);
}
/* Log-uniform in [lo, hi], lo >= 1. */
static BENCH_UNUSED size_t rng_logu(rng_t *r, size_t lo, size_t hi) {
  double u = (double)(rng_next(r) >> 11) / 9007199254740992.0;
  double v = exp(log((double)lo) + u * (log((double)hi) - log((double)lo)));
  size_t x = (size_t)v;
  return x < lo ? lo : x > hi ? hi : x;
}

/* --- Data patterns ------------------------------------------------------- */
/* Byte at offset off of object id: depends on both, so lost, shifted or
 * mixed-up bytes are caught. */
static inline uint8_t pat8(uint64_t id, size_t off) {
  return (uint8_t)((off ^ (off >> 8) ^ (off >> 16)) * 31u + id * 0x9Du + 1u);
}
static inline void pat_fill(uint8_t *p, uint64_t id, size_t from, size_t to) {
  for (size_t i = from; i < to; i++) p[i] = pat8(id, i);
}
/* Returns 1 when bytes [from, to) hold the pattern. */
static inline int pat_ok(const uint8_t *p, uint64_t id, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    if (p[i] != pat8(id, i)) return 0;
  return 1;
}
/* 64-bit element i of vector id. */
static inline uint64_t pat64(uint64_t id, uint64_t i) {
  return (i + 1) * 0x9E3779B97F4A7C15ull ^ (id << 40);
}

/* Stamp a tag at start, middle and end of an n-byte block (n >= 8): a cheap
 * fill for churn workloads where sizes reach tens of KiB. Stamps that would
 * overlap (n < 32) are left out. */
static inline void stamp(void *p, size_t n, uint64_t tag) {
  uint8_t *b = p;
  uint64_t t2 = ~tag, t3 = tag * 3;
  if (n >= 16) memcpy(b, &tag, 8);
  if (n >= 32) memcpy(b + ((n / 2) & ~(size_t)7), &t2, 8);
  memcpy(b + n - 8, &t3, 8);
}
static inline int stamp_ok(const void *p, size_t n, uint64_t tag) {
  const uint8_t *b = p;
  uint64_t a = tag, m = ~tag, z;
  if (n >= 16) memcpy(&a, b, 8);
  if (n >= 32) memcpy(&m, b + ((n / 2) & ~(size_t)7), 8);
  memcpy(&z, b + n - 8, 8);
  return a == tag && m == ~tag && z == tag * 3;
}

/* --- Allocation helpers -------------------------------------------------- */
static inline void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) bench_fail("malloc(%zu) returned NULL", n);
  return p;
}

/* Growth statistics: a realloc of a non-NULL block is in place when it
 * returns the old pointer; otherwise the kept bytes, min(old, new), count as
 * copied (an upper bound on what any allocator must copy). */
static struct {
  uint64_t inplace, moved, copied;
} bench_grow;

static inline void *grow_realloc(void *p, size_t old, size_t n) {
  void *q = realloc(p, n);
  if (!q) bench_fail("realloc(%zu -> %zu) returned NULL", old, n);
  if (p) {
    if (q == p) {
      bench_grow.inplace++;
    } else {
      bench_grow.moved++;
      bench_grow.copied += old < n ? old : n;
    }
  }
  return q;
}

/* One growth step of a vector from old to n bytes; final is the largest size
 * it will reach. In floor mode the first step mallocs final bytes and later
 * steps keep the block. */
static inline void *grow_step(void *p, size_t old, size_t n, size_t final) {
  if (!bench_floor) return grow_realloc(p, old, n);
  return p ? p : xmalloc(final);
}

/* --- Result line --------------------------------------------------------- */
static BENCH_UNUSED void bench_result(uint64_t ops, int growth) {
  printf("result name=%s ops=%" PRIu64 " check=ok", bench_name, ops);
  if (growth && !bench_floor) {
    uint64_t n = bench_grow.inplace + bench_grow.moved;
    printf(" reallocs=%" PRIu64 " inplace=%" PRIu64 " inplace_rate=%.4f copied=%" PRIu64,
           n, bench_grow.inplace, n ? (double)bench_grow.inplace / (double)n : 0.0,
           bench_grow.copied);
  }
  printf("\n");
}

#endif
