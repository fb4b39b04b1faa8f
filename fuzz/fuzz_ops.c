/* Operation fuzzer for vcm: the input bytes are a program of allocator operations, run on a
 * caller region (vcm_region_*) and on the process heap (vcm_*), each checked against a model.
 *
 * The model knows, for every live block: its address, used bytes, capacity and an id whose
 * byte pattern fills the block. After every operation it checks the region's invariants
 * (vcm_region_check), its counters (vcm_region_stats_get) and that the handler was not
 * called; every 32 operations and at the end, vcm_check(NULL). Region predictions are exact:
 * the model counts live chunks per class, so it knows which class an allocation lands in and
 * when the region is full. Process predictions are exact too (classes 16 B … 256 KiB; large
 * blocks a power of two >= 512 KiB, or a cached block of up to 4 times that), except while
 * OS failures are injected. Process operations include frees, resizes and allocations from
 * other threads, a fork whose child must find the heap intact, and misuse that must reach
 * the handler once, with the pointer. Any divergence traps (__builtin_trap) so that
 * libFuzzer, or the replay program, reports it.
 *
 * Builds two ways (see fuzz/run.sh): with libFuzzer (clang, vcm's sources compiled in, without
 * src/override.c so that ASan keeps its malloc), or with gcc against build/libvcm-api.a and
 * fuzz/replay_main.c. Uses only the public API (include/vcm.h).
 *
 * fuzz/run.sh runs both with VCM_PURGE_MB=2 VCM_LARGE_CACHE_MB=16, so that purges (class
 * resets, segment unmaps) and large-cache evictions happen within a few inputs; replay a crash
 * with the same environment.
 *
 * Input format: byte 0..3 choose the region (disc 64 KiB or 1 MiB, offset, size, geometry,
 * sometimes a refused geometry first); then each operation is an opcode byte followed by the
 * bytes that operation reads (slot, sizes, variants). Reading past the end yields zeros. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vcm.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static void fail_at(int line, const char *what, const char *extra) {
  fprintf(stderr, "fuzz_ops.c:%d: model divergence: %s%s%s\n", line, what, extra ? ": " : "",
          extra ? extra : "");
  __builtin_trap();
}
#define CHECK(c)                                                                             \
  do {                                                                                       \
    if (!(c)) fail_at(__LINE__, #c, NULL);                                                   \
  } while (0)

/* ---- input ---------------------------------------------------------------------------- */

typedef struct {
  const uint8_t *d;
  size_t n, i;
} input;

static unsigned in8(input *in) { return in->i < in->n ? in->d[in->i++] : 0u; }
static unsigned in16(input *in) {
  unsigned lo = in8(in);
  return lo | in8(in) << 8;
}

static int pow2(size_t x) { return x && !(x & (x - 1)); }
static size_t lowbit(uintptr_t x) { return (size_t)(x & (~x + 1u)); }
static unsigned log2_ceil(size_t n) { /* n >= 1 */
  unsigned c = 0;
  while (((size_t)1 << c) < n) c++;
  return c;
}

/* ---- block contents ------------------------------------------------------------------- */

/* Byte i of the block with this id. Ids are never reused within a run. */
static inline unsigned char pat(uint32_t id, size_t i) {
  uint32_t x = (id + 1u) * 0x9E3779B1u ^ (uint32_t)(i >> 8) * 0x85EBCA6Bu;
  return (unsigned char)((x >> 24) ^ i);
}

enum { FILL, VERIFY, ZERO };

/* The tracked bytes of [from, to): all of the first 64 KiB, then the first 8 bytes of each
 * 4 KiB page (large blocks move by remapping whole pages: one sample per page finds a lost or
 * stale page without writing megabytes per operation). */
#if defined(__clang__) && __clang_major__ >= 13
/* Not traced by libFuzzer: comparing every byte through its hooks made span most of the run
 * time, and the bytes are no coverage worth having. */
__attribute__((no_sanitize("coverage")))
#endif
static int span(unsigned char *p, uint32_t id, size_t from, size_t to, int mode) {
  size_t i = from;
  while (i < to) {
    size_t end;
    if (i < 65536) {
      end = to < 65536 ? to : 65536;
    } else {
      size_t pg = i & ~(size_t)4095;
      if (i >= pg + 8) {
        i = pg + 4096;
        continue;
      }
      end = pg + 8 < to ? pg + 8 : to;
    }
    switch (mode) {
    case FILL:
      for (; i < end; i++) p[i] = pat(id, i);
      break;
    case VERIFY:
      for (; i < end; i++)
        if (p[i] != pat(id, i)) return 0;
      break;
    default:
      for (; i < end; i++)
        if (p[i]) return 0;
    }
  }
  return 1;
}

static uint32_t next_id;

/* ---- misuse handlers ------------------------------------------------------------------ */

typedef struct {
  int calls;
  const void *ptr;
  const char *reason;
} misuse_log;
static misuse_log proc_log, reg_log;

static void on_misuse(void *ctx, const void *ptr, const char *reason) {
  misuse_log *m = ctx;
  m->calls++;
  m->ptr = ptr;
  m->reason = reason;
}

/* Exactly one report, for p, and (if want is set) a reason starting with want. */
static void expect_misuse(misuse_log *m, const void *p, const char *want, int line) {
  if (m->calls != 1) fail_at(line, "misuse reported once", m->calls ? "more" : "none");
  if (m->ptr != p) fail_at(line, "misuse reported for the pointer", m->reason);
  if (!m->reason) fail_at(line, "misuse has a reason", NULL);
  if (want && strncmp(m->reason, want, strlen(want)) != 0) fail_at(line, want, m->reason);
  m->calls = 0;
}
#define EXPECT_MISUSE(m, p, want) expect_misuse(m, p, want, __LINE__)

/* ======================================================================================== */
/* The region                                                                               */

#define DISC_SMALL (64 * KiB)
#define DISC_BIG MiB
#define DISC_PAD 8192
static _Alignas(65536) unsigned char disc_small[DISC_SMALL + DISC_PAD];
static _Alignas(65536) unsigned char disc_big[DISC_BIG + DISC_PAD];

#define R_NAMED 64    /* slots an operation names */
#define R_SLOTS 4096  /* plus bulk slots (fill/drain) */
#define R_STALE 16

typedef struct {
  unsigned char *p; /* NULL: slot empty */
  size_t used;
  unsigned lcap; /* log2 capacity */
  uint32_t id;
} rblk;

static struct {
  vcm_region r;
  unsigned char *data;
  size_t data_bytes, stride, nch, natural;
  unsigned lmin, lmax;
  size_t total[32], live[32]; /* chunks in / live chunks of the class of capacity 2^c */
  size_t live_n, live_used, live_cap;
  rblk b[R_SLOTS];
  size_t nbulk; /* b[R_NAMED .. R_NAMED + nbulk) are live */
  unsigned char occ[DISC_BIG / 16]; /* 16-byte granules of data inside a live chunk */
  const void *stale[R_STALE];
  unsigned nstale;
} R;

static size_t rmax(void) { return (size_t)1 << R.lmax; }
static unsigned r_class(size_t n) {
  unsigned c = n ? log2_ceil(n) : 0;
  return c < R.lmin ? R.lmin : c;
}
/* Class an allocation of n bytes must land in: the smallest that fits and has a chunk free;
 * -1: the allocation must fail. */
static int r_fit_from(unsigned c) {
  for (; c <= R.lmax; c++)
    if (R.live[c] < R.total[c]) return (int)c;
  return -1;
}
static int r_fit(size_t n) { return n > rmax() ? -1 : r_fit_from(r_class(n)); }

static void r_occ(unsigned char *p, size_t cap, int on) {
  size_t g0 = (size_t)(p - R.data) / 16, g1 = g0 + cap / 16;
  for (size_t g = g0; g < g1; g++) {
    if (on) CHECK(!R.occ[g]); /* no overlap with any live chunk */
    R.occ[g] = (unsigned char)on;
  }
}

static int r_is_occupied(const void *p) {
  uintptr_t a = (uintptr_t)p, d = (uintptr_t)R.data;
  return a >= d && a < d + R.data_bytes && R.occ[(a - d) / 16];
}

/* A chunk the region just handed out: check where it is, record it. */
static void r_take(rblk *b, unsigned char *p, size_t n, unsigned lcap, uint32_t id) {
  size_t cap = (size_t)1 << lcap;
  CHECK(p != NULL);
  CHECK(p >= R.data && p + cap <= R.data + R.data_bytes);
  size_t off = (size_t)(p - R.data), k = R.lmax - lcap;
  CHECK(off / R.stride == k); /* in its class's area */
  size_t in = off - k * R.stride;
  CHECK((in & (cap - 1)) == 0);
  size_t al = cap < R.natural ? cap : R.natural;
  CHECK(((uintptr_t)p & (al - 1)) == 0);
  CHECK(vcm_region_channel_of(&R.r, p) == (long)((in >> lcap) >> k));
  CHECK((size_t)vcm_region_channel_of(&R.r, p) < R.nch);
  r_occ(p, cap, 1);
  CHECK(vcm_region_capacity(&R.r, p) == cap);
  CHECK(vcm_region_used(&R.r, p) == n);
  b->p = p;
  b->used = n;
  b->lcap = lcap;
  b->id = id;
  R.live[lcap]++;
  R.live_n++;
  R.live_used += n;
  R.live_cap += cap;
}

static void r_forget(rblk *b) {
  r_occ(b->p, (size_t)1 << b->lcap, 0);
  R.live[b->lcap]--;
  R.live_n--;
  R.live_used -= b->used;
  R.live_cap -= (size_t)1 << b->lcap;
  R.stale[R.nstale++ % R_STALE] = b->p;
  b->p = NULL;
}

static void r_set_used(rblk *b, size_t n) {
  R.live_used = R.live_used - b->used + n;
  b->used = n;
}

static void r_verify(rblk *b) {
  CHECK(span(b->p, b->id, 0, b->used, VERIFY));
  CHECK(vcm_region_used(&R.r, b->p) == b->used);
  CHECK(vcm_region_capacity(&R.r, b->p) == (size_t)1 << b->lcap);
}

static void r_free(rblk *b) {
  r_verify(b);
  vcm_region_free(&R.r, b->p);
  r_forget(b);
}

/* After every operation: invariants, counters, no stray report. */
static void r_check(void) {
  const char *why = NULL;
  if (vcm_region_check(&R.r, &why) != 0) fail_at(__LINE__, "vcm_region_check", why);
  CHECK(reg_log.calls == 0);
  vcm_region_stats st;
  vcm_region_stats_get(&R.r, &st);
  CHECK(st.live_chunks == R.live_n);
  CHECK(st.live_capacity == R.live_cap);
  CHECK(st.live_used == R.live_used);
  CHECK(st.peak_capacity >= st.live_capacity);
  CHECK(st.n_channels == R.nch && st.n_classes == R.lmax - R.lmin + 1u);
  for (unsigned c = R.lmin; c <= R.lmax; c++) {
    CHECK(st.class_size[c - R.lmin] == (size_t)1 << c);
    CHECK(st.class_live[c - R.lmin] == R.live[c]);
    CHECK(st.class_total[c - R.lmin] == R.total[c]);
  }
}

/* Sizes for the region: tiny, class boundaries +-, anywhere in a class, or too big. */
static size_t r_size(input *in) {
  unsigned a = in8(in), b = in8(in);
  unsigned e = b % (R.lmax + 1u);
  size_t s = (size_t)1 << e;
  switch (a >> 6) {
  case 0: return a & 63;
  case 1: return (a & 8) ? s + (a & 7) : (s > (a & 7) ? s - (a & 7) : 0);
  case 2: return s - ((s * in8(in)) >> 8);
  default:
    if ((a & 63) >= 60) return rmax() + 1 + b; /* beyond the largest class */
    return ((size_t)(a & 63) << 8 | b) % (rmax() + 1);
  }
}

/* Geometry and disc from the first bytes; sometimes a refused configuration is tried first. */
static void r_refused(input *in, unsigned char *disc, size_t size) {
  vcm_geometry g = {16, 1024, 2};
  vcm_status want;
  void *d = disc;
  vcm_region scratch;
  switch (in8(in) % 9) {
  case 0: g.size_min = 8; want = VCM_E_MIN; break;
  case 1: g.size_min = 48; want = VCM_E_POW2; break;
  case 2: g.size_max = 1000; want = VCM_E_POW2; break;
  case 3: g.size_min = 64; g.size_max = 32; want = VCM_E_ORDER; break;
  case 4: g.grow_factor = 3; want = VCM_E_FACTOR; break;
  case 5: g.size_max = VCM_CLASS_MAX * 2; want = VCM_E_MAX; break;
  case 6: d = disc + 8; want = VCM_E_ALIGN; break;
  case 7: d = NULL; want = VCM_E_NULL; break;
  default: size = 1000; want = VCM_E_SMALL; break; /* less than one 8 KiB channel */
  }
  CHECK(vcm_region_init(&scratch, d, size, &g) == want);
  CHECK(vcm_strerror(want) != NULL);
  vcm_plan plan;
  if (want != VCM_E_ALIGN && want != VCM_E_NULL) CHECK(vcm_region_plan(size, &g, &plan) == want);
  CHECK(vcm_region_plan(size, &g, NULL) == VCM_E_NULL);
  /* A plan too big for 32-bit map indices. */
  vcm_geometry tiny = {16, 32, 2};
  CHECK(vcm_region_plan((size_t)1 << 40, &tiny, &plan) ==
        (sizeof(size_t) > 4 ? VCM_E_TOO_MANY : VCM_OK));
}

static void r_setup(input *in) {
  static const size_t offs[8] = {0, 16, 32, 48, 64, 256, 4096, 4112};
  unsigned c0 = in8(in), c1 = in8(in), c2 = in8(in), c3 = in8(in);
  int big = c0 & 1;
  unsigned char *disc = (big ? disc_big : disc_small) + offs[(c0 >> 1) & 7];
  size_t size = (big ? DISC_BIG : DISC_SMALL) - (size_t)(c3 & 0x0F) * 16 * (c3 >> 4);
  memset(disc, 0xA5 ^ (int)c2, size); /* the disc need not be zeroed: give it junk */
  if (c0 & 0x80) r_refused(in, disc, size);

  unsigned lmin = 4u + (c1 & 3u);
  unsigned lmax = lmin + (c1 >> 2) % (17u - lmin); /* up to 64 KiB */
  vcm_geometry g = {(size_t)1 << lmin, (size_t)1 << lmax, 2};
  const vcm_geometry *gp = (c2 & 0x40) ? NULL : &g; /* NULL: the default 16 .. 1024 */
  if (!gp) lmin = 4, lmax = 10;
  vcm_plan plan;
  vcm_status s = vcm_region_plan(size, gp, &plan);
  size_t K = lmax - lmin + 1u, F = K + 1u, max = (size_t)1 << lmax;
  size_t n = size / (F * max);
  CHECK(s == (n ? VCM_OK : VCM_E_SMALL));
  if (s == VCM_OK) { /* the formulas of docs/DESIGN.md, "Geometry" */
    CHECK(plan.n_classes == K && plan.channel_factor == F && plan.channel_size == F * max);
    CHECK(plan.chunks_per_channel == ((size_t)1 << K) - 1u && plan.map_entry_bytes == 8);
    CHECK(plan.n_channels == n && plan.data_bytes == n * K * max);
    CHECK(plan.map_bytes == n * plan.chunks_per_channel * 8);
    CHECK(plan.data_bytes + plan.map_bytes + plan.slack_bytes == size);
    CHECK(plan.map_bytes <= n * max); /* the map share: one max per channel */
  }
  s = vcm_region_init(&R.r, disc, size, gp);
  CHECK(s == (n ? VCM_OK : VCM_E_SMALL));
  if (s != VCM_OK) { /* too small for this geometry: the default one always fits */
    lmin = 4, lmax = 10, max = 1024, K = 7;
    CHECK(vcm_region_plan(size, NULL, &plan) == VCM_OK);
    CHECK(vcm_region_init(&R.r, disc, size, NULL) == VCM_OK);
    n = plan.n_channels;
  }
  vcm_region_set_handler(&R.r, on_misuse, &reg_log);
  R.data = disc;
  R.data_bytes = plan.data_bytes;
  R.nch = n;
  R.stride = n * max;
  R.natural = lowbit((uintptr_t)disc);
  R.lmin = lmin;
  R.lmax = lmax;
  for (unsigned c = 0; c < 32; c++) {
    R.live[c] = 0;
    R.total[c] = c >= lmin && c <= lmax ? n << (lmax - c) : 0;
  }
  R.live_n = R.live_used = R.live_cap = 0;
  R.nbulk = 0;
  R.nstale = 0;
  for (size_t i = 0; i < R_SLOTS; i++) R.b[i].p = NULL;
  memset(R.occ, 0, R.data_bytes / 16);
  vcm_region_stats st;
  vcm_region_stats_get(&R.r, &st);
  CHECK(st.data_bytes == plan.data_bytes && st.map_bytes == plan.map_bytes);
  CHECK(st.region_bytes == plan.data_bytes + plan.map_bytes);
  CHECK(vcm_region_channel_of(&R.r, disc + plan.data_bytes) == -1);
  r_check();
}

static rblk *r_slot(input *in) { return &R.b[in8(in) % R_NAMED]; }

static void r_place_new(rblk *b, unsigned char *p, size_t n, int c, int zeroed) {
  if (c < 0) {
    CHECK(p == NULL);
    return;
  }
  r_take(b, p, n, (unsigned)c, next_id++);
  if (zeroed) CHECK(span(p, 0, 0, n, ZERO));
  span(p, b->id, 0, n, FILL);
}

static void r_op_alloc(input *in) {
  rblk *b = r_slot(in);
  size_t n = r_size(in);
  if (b->p) r_free(b);
  r_place_new(b, vcm_region_alloc(&R.r, n), n, r_fit(n), 0);
}

static void r_op_calloc(input *in) {
  rblk *b = r_slot(in);
  unsigned v = in8(in);
  size_t count = v & 31, size = r_size(in);
  if (b->p) r_free(b);
  if (v & 0x80) { /* count * size overflows */
    count = (SIZE_MAX >> (v & 3)) - (v >> 2 & 7);
    size = ((size_t)2 << (v & 3)) + (v >> 5 & 3);
    CHECK(vcm_region_calloc(&R.r, count, size) == NULL);
    return;
  }
  size_t n = count * size;
  r_place_new(b, vcm_region_calloc(&R.r, count, size), n, r_fit(n), 1);
}

static void r_op_aligned(input *in) {
  static const size_t odd[8] = {0, 3, 24, 48, 100, 1000, 65537, (size_t)1 << 40};
  rblk *b = r_slot(in);
  unsigned a = in8(in);
  size_t align = (a & 0x80) ? odd[a & 7] : (size_t)1 << (a % 18);
  size_t n = r_size(in);
  if (b->p) r_free(b);
  size_t want = n < align ? align : n;
  int c = -1;
  if (pow2(align) && want <= rmax() && align <= R.natural) c = r_fit(want);
  unsigned char *p = vcm_region_aligned_alloc(&R.r, align, n);
  r_place_new(b, p, n, c, 0);
  if (p) CHECK(((uintptr_t)p & (align - 1)) == 0);
}

/* Realloc sizes: absolute, or relative to the block. */
static size_t r_resize(input *in, const rblk *b) {
  unsigned v = in8(in);
  size_t cap = (size_t)1 << b->lcap;
  switch (v & 7) {
  case 0: return b->used + (v >> 3);
  case 1: return b->used * 2 + (v >> 3);
  case 2: return b->used / 2;
  case 3: return cap / 4 > 0 ? cap / 4 - (v >> 3 & 1) : 0;
  case 4: return cap;
  case 5: return cap + 1 + (v >> 3);
  default: return r_size(in);
  }
}

static void r_op_realloc(input *in) {
  rblk *b = r_slot(in);
  if (!b->p) {
    size_t n = r_size(in);
    r_place_new(b, vcm_region_realloc(&R.r, NULL, n), n, r_fit(n), 0);
    return;
  }
  size_t n = r_resize(in, b), cap = (size_t)1 << b->lcap, keep = b->used < n ? b->used : n;
  int c = -2; /* -2 in place, -1 fails, else moves to class c */
  if (n <= cap) {
    unsigned cn = r_class(n);
    if (n <= cap / 4 && cn != b->lcap && R.live[cn] < R.total[cn]) c = (int)cn;
  } else {
    c = r_fit(n);
  }
  r_verify(b);
  unsigned char *q = vcm_region_realloc(&R.r, b->p, n);
  if (c == -2) {
    CHECK(q == b->p);
    size_t old = b->used;
    r_set_used(b, n);
    CHECK(vcm_region_used(&R.r, q) == n);
    if (n > old) span(q, b->id, old, n, FILL);
  } else if (c == -1) {
    CHECK(q == NULL);
    r_verify(b); /* untouched */
  } else {
    CHECK(q != NULL && q != b->p);
    rblk nb;
    r_take(&nb, q, n, (unsigned)c, b->id); /* before the old one is forgotten: no overlap */
    r_forget(b);
    *b = nb;
    CHECK(span(q, b->id, 0, keep, VERIFY));
    span(q, b->id, keep, n, FILL);
  }
}

static void r_op_expand(input *in) {
  rblk *b = r_slot(in);
  if (!b->p) {
    CHECK(vcm_region_expand(&R.r, NULL, in8(in)) == -1);
    return;
  }
  size_t n = r_resize(in, b), cap = (size_t)1 << b->lcap, old = b->used;
  int rc = vcm_region_expand(&R.r, b->p, n);
  if (n > cap) {
    CHECK(rc == -1);
    r_verify(b);
    return;
  }
  CHECK(rc == 0);
  r_set_used(b, n);
  if (n > old) span(b->p, b->id, old, n, FILL);
  r_verify(b);
}

static void r_op_free(input *in) {
  rblk *b = r_slot(in);
  if (b->p)
    r_free(b);
  else
    vcm_region_free(&R.r, NULL);
}

static void r_op_query(input *in) {
  rblk *b = r_slot(in);
  if (b->p) r_verify(b);
}

/* Allocate n-byte chunks until the region says no (or the bulk slots run out). */
static void r_op_fill(input *in) {
  size_t n = r_size(in);
  while (R.nbulk < R_SLOTS - R_NAMED) {
    int c = r_fit(n);
    unsigned char *p = vcm_region_alloc(&R.r, n);
    if (c < 0) {
      CHECK(p == NULL);
      break;
    }
    r_place_new(&R.b[R_NAMED + R.nbulk++], p, n, c, 0);
  }
}

/* Free every step-th bulk chunk: fragments the classes. */
static void r_op_drain(input *in) {
  unsigned step = 1 + in8(in) % 4, phase = in8(in) % step;
  size_t w = 0;
  for (size_t i = 0; i < R.nbulk; i++) {
    rblk *b = &R.b[R_NAMED + i];
    if (i % step == phase)
      r_free(b);
    else
      R.b[R_NAMED + w++] = *b;
  }
  for (size_t i = w; i < R.nbulk; i++) R.b[R_NAMED + i].p = NULL;
  R.nbulk = w;
}

static void r_op_misuse(input *in) {
  static const char *DOUBLE = "double free", *FREED = "use of a freed pointer",
                    *INTERIOR = "interior pointer", *FOREIGN = "foreign pointer";
  unsigned kind = in8(in) % 10;
  rblk *b = r_slot(in);
  const void *p;
  const char *want;
  int local;
  if (kind < 5) { /* a freed pointer that is not live again */
    if (!R.nstale) return;
    p = R.stale[in8(in) % (R.nstale < R_STALE ? R.nstale : R_STALE)];
    if (r_is_occupied(p)) return;
    want = kind == 0 ? DOUBLE : FREED; /* freeing it again, or any other use */
  } else if (kind < 8) { /* inside a live chunk */
    if (!b->p) return;
    size_t cap = (size_t)1 << b->lcap;
    p = b->p + 1 + (in16(in) % (cap - 1));
    want = INTERIOR;
  } else { /* not in the region's chunks at all */
    switch (in8(in) % 4) {
    case 0: p = &local; break;
    case 1: p = R.data + R.data_bytes; break; /* the map */
    case 2: p = (const void *)((uintptr_t)R.data - 16); break;
    default: p = &R; break;
    }
    want = FOREIGN;
  }
  void *vp = (void *)(uintptr_t)p;
  switch (kind) {
  case 0: case 5: case 8: vcm_region_free(&R.r, vp); break;
  case 1: case 6: CHECK(vcm_region_realloc(&R.r, vp, 1 + in8(in)) == NULL); break;
  case 2: CHECK(vcm_region_expand(&R.r, vp, in8(in)) == -1); break;
  case 3: case 9: CHECK(vcm_region_used(&R.r, p) == 0); break;
  default: CHECK(vcm_region_capacity(&R.r, p) == 0); break;
  }
  EXPECT_MISUSE(&reg_log, p, want);
  if (b->p) r_verify(b);
}

typedef struct {
  size_t n, used;
} visit_sum;
static void on_visit(void *ctx, const void *ptr, size_t capacity, size_t used, int live) {
  visit_sum *v = ctx;
  (void)ptr;
  CHECK(used <= capacity || !live);
  if (live) {
    v->n++;
    v->used += used;
  }
}

static void r_teardown(void) {
  visit_sum v = {0, 0};
  vcm_region_visit(&R.r, on_visit, &v);
  CHECK(v.n == R.live_n && v.used == R.live_used);
  for (size_t i = 0; i < R_NAMED + R.nbulk; i++)
    if (R.b[i].p) r_free(&R.b[i]);
  R.nbulk = 0;
  r_check();
  CHECK(R.live_n == 0 && R.live_used == 0 && R.live_cap == 0);
}

/* ======================================================================================== */
/* The process heap                                                                         */

#define P_SLOTS 48 /* slots an operation names */
#define P_BULK 64  /* plus bulk slots: many blocks of one class (a segment's class runs out) */
#define P_ALL (P_SLOTS + P_BULK)
#define P_STALE 16
#define SMALL_MAX (256 * KiB)
#define LARGE_MIN (512 * KiB)
#define GRANULE (2 * MiB)

typedef struct {
  unsigned char *p; /* NULL: empty */
  size_t used, cap;
  uint32_t id;
  int claimed; /* malloc_usable_size said the whole capacity is the program's */
} pblk;

static pblk P[P_ALL]; /* P[P_SLOTS .. P_SLOTS + npbulk) are the live bulk blocks */
static unsigned npbulk;
static int forked; /* this input forked already */
static const void *pstale[P_STALE];
static unsigned npstale;
static int injecting, lenient; /* OS failures injected; a result only they explain */
static int remote_any;         /* this input let another thread free or allocate */
static unsigned n_threads;     /* threads this input started (a few are enough: they cost) */

static size_t small_cap(size_t n) {
  size_t c = 16;
  while (c < n) c <<= 1;
  return c;
}
static size_t large_cap(size_t n) {
  size_t c = LARGE_MIN;
  while (c < n) c <<= 1;
  return c;
}
static size_t malloc_cap(size_t n) { return n <= SMALL_MAX ? small_cap(n) : large_cap(n); }

/* A new large block may be a cached one with up to 4x the capacity needed (large.c). */
static int cap_matches(size_t want, size_t got) {
  return want <= SMALL_MAX ? got == want : got >= want && got <= 4 * want;
}

#define HUGE_MIN (((size_t)1 << (sizeof(size_t) * 8 - 2)) + 1) /* no capacity for it: ENOMEM */

/* Sizes for the process heap: up to 4 MiB (large blocks), sometimes impossible. */
static size_t p_size(input *in) {
  unsigned a = in8(in), b = in8(in);
  unsigned e = b % 23u;
  size_t s = (size_t)1 << e;
  switch (a >> 6) {
  case 0: return a & 63;
  case 1: return (a & 8) ? s + (a & 7) : (s > (a & 7) ? s - (a & 7) : 0);
  case 2: return s - ((s * in8(in)) >> 8);
  default:
    if ((a & 63) == 63) return SIZE_MAX - b;
    if ((a & 63) == 62) return HUGE_MIN + b;
    return (size_t)(a & 63) << 8 | b;
  }
}

static int p_inside_live(const void *x) {
  uintptr_t a = (uintptr_t)x;
  for (int i = 0; i < P_ALL; i++)
    if (P[i].p && a >= (uintptr_t)P[i].p && a < (uintptr_t)P[i].p + P[i].cap) return 1;
  return 0;
}

/* A block just returned for slot b (which may still hold the block it replaces). */
static void p_take(pblk *b, unsigned char *p, size_t n, size_t cap, size_t align, uint32_t id) {
  CHECK(p != NULL);
  size_t c = vcm_capacity(p);
  CHECK(vcm_used(p) == n);
  CHECK(c >= n && c >= 16 && pow2(c));
  if (!cap_matches(cap, c)) {
    if (!injecting) fail_at(__LINE__, "capacity as predicted", NULL);
    lenient = 1;
  }
  /* Every small chunk is aligned to its capacity; large blocks to 2 MiB at least. */
  CHECK(((uintptr_t)p & ((c <= SMALL_MAX ? c : GRANULE) - 1)) == 0);
  if (align) CHECK(((uintptr_t)p & (align - 1)) == 0);
  for (int i = 0; i < P_ALL; i++) {
    pblk *o = &P[i];
    if (o == b || !o->p) continue;
    CHECK((uintptr_t)p + c <= (uintptr_t)o->p || (uintptr_t)o->p + o->cap <= (uintptr_t)p);
  }
  b->p = p;
  b->used = n;
  b->cap = c;
  b->id = id;
  b->claimed = 0;
}

static void p_verify(pblk *b) {
  CHECK(span(b->p, b->id, 0, b->used, VERIFY));
  CHECK(vcm_used(b->p) == b->used);
  CHECK(vcm_capacity(b->p) == b->cap);
}

static void p_forget(pblk *b) {
  pstale[npstale++ % P_STALE] = b->p;
  b->p = NULL;
}

/* NULL from an allocation that should have worked: only injected OS failures explain it. */
static void p_null(int line) {
  if (!injecting) fail_at(line, "allocation failed without an OS failure", NULL);
  if (errno != ENOMEM) fail_at(line, "errno is ENOMEM", NULL);
  lenient = 1;
}

static void p_new(pblk *b, unsigned char *p, size_t n, size_t cap, size_t align, int zeroed) {
  if (!p) {
    p_null(__LINE__);
    return;
  }
  p_take(b, p, n, cap, align, next_id++);
  if (zeroed) CHECK(span(p, 0, 0, n, ZERO));
  span(p, b->id, 0, n, FILL);
}

static void p_free(pblk *b, unsigned how) {
  p_verify(b);
  switch (how % 4) {
  case 1: vcm_free_sized(b->p, b->used); break;
  case 2: /* after malloc_usable_size, any size up to the capacity */
    vcm_free_sized(b->p, b->claimed && b->used == b->cap ? b->cap / 2 + 1 : b->used);
    break;
  case 3: {
    size_t al = lowbit((uintptr_t)b->p);
    vcm_free_aligned_sized(b->p, al > 4096 ? 4096 : al, b->used);
    break;
  }
  default: vcm_free(b->p);
  }
  p_forget(b);
}

static pblk *p_slot(input *in) { return &P[in8(in) % P_SLOTS]; }

static void p_op_malloc(input *in) {
  pblk *b = p_slot(in);
  size_t n = p_size(in);
  if (b->p) p_free(b, in8(in));
  errno = 0;
  unsigned char *p = vcm_malloc(n);
  if (n >= HUGE_MIN) {
    CHECK(p == NULL && errno == ENOMEM);
    return;
  }
  p_new(b, p, n, malloc_cap(n), 0, 0);
}

static void p_op_calloc(input *in) {
  pblk *b = p_slot(in);
  unsigned v = in8(in);
  size_t count = 1 + (v & 15), size = p_size(in);
  if (b->p) p_free(b, v >> 4);
  if (v & 0x80) { /* the product overflows */
    count = (SIZE_MAX >> (v & 3)) - (v >> 2 & 7);
    size = ((size_t)2 << (v & 3)) + (v >> 5 & 3);
  } else if (size < HUGE_MIN) {
    size /= count; /* a block of about the size drawn */
  }
  errno = 0;
  unsigned char *p = vcm_calloc(count, size);
  if (size > SIZE_MAX / count || count * size >= HUGE_MIN) {
    CHECK(p == NULL && errno == ENOMEM);
    return;
  }
  p_new(b, p, count * size, malloc_cap(count * size), 0, 1);
}

/* The capacity realloc(p, n) must give a block of capacity c holding used bytes; *same: 1
 * stays, 0 moves, -1 either (a large block grown by remapping). */
static size_t p_realloc_cap(size_t c, size_t used, size_t n, int *same) {
  *same = 0;
  if (c <= SMALL_MAX) {
    if (n <= c) {
      if (n <= c / 4 && small_cap(n) != c) return small_cap(n);
      *same = 1;
      return c;
    }
    return malloc_cap(n);
  }
  if (n <= c && n >= used && n > c / 4) { /* growth in the capacity stays (alloc.c) */
    *same = 1;
    return c;
  }
  if (n <= SMALL_MAX) return small_cap(n);
  if (n <= c / 4) return large_cap(n);
  if (n <= c) {
    *same = 1;
    return c;
  }
  *same = -1;
  return large_cap(n);
}

/* Block b after vcm_realloc(b->p, n) returned q (n > 0, not huge). */
static void p_after_realloc(pblk *b, unsigned char *q, size_t n) {
  int same;
  size_t cap = p_realloc_cap(b->cap, b->used, n, &same), keep = b->used < n ? b->used : n;
  if (!q) {
    p_null(__LINE__);
    p_verify(b);
    return;
  }
  if (same == 1) {
    CHECK(q == b->p);
    CHECK(vcm_capacity(q) == b->cap);
    CHECK(vcm_used(q) == n);
    size_t old = b->used;
    b->used = n;
    b->claimed = 0;
    if (n > old) span(q, b->id, old, n, FILL);
    return;
  }
  if (same == 0 && q == b->p) { /* a failed move down stays in place */
    if (!injecting) fail_at(__LINE__, "realloc moves", NULL);
    lenient = 1;
  }
  unsigned char *old = b->p;
  p_take(b, q, n, cap, 0, b->id);
  if (q != old) pstale[npstale++ % P_STALE] = old;
  CHECK(span(q, b->id, 0, keep, VERIFY));
  span(q, b->id, keep, n, FILL);
}

#define P_MAX (6 * MiB) /* blocks stay below 8 MiB of capacity: bounded RSS */

static size_t p_resize(input *in, const pblk *b) {
  unsigned v = in8(in);
  size_t n;
  switch (v & 7) {
  case 0: n = b->used + (v >> 3); break;
  case 1: n = b->used * 2 + (v >> 3); break;
  case 2: n = b->used / 2 + 1; break;
  case 3: n = b->cap / 4 > 1 ? b->cap / 4 - (v >> 3 & 1) : 1; break;
  case 4: n = b->cap; break;
  case 5: n = b->cap + 1 + (v >> 3); break;
  default: return p_size(in);
  }
  return n > P_MAX ? P_MAX - (n & 4095) : n; /* repeated doubling would grow without bound */
}

static void p_realloc_to(pblk *b, size_t n) {
  if (!b->p) {
    errno = 0;
    unsigned char *p = vcm_realloc(NULL, n);
    if (n >= HUGE_MIN)
      CHECK(p == NULL && errno == ENOMEM);
    else
      p_new(b, p, n, malloc_cap(n), 0, 0);
    return;
  }
  p_verify(b);
  if (n == 0) { /* frees, as glibc */
    CHECK(vcm_realloc(b->p, 0) == NULL);
    p_forget(b);
    return;
  }
  errno = 0;
  unsigned char *q = vcm_realloc(b->p, n);
  if (n >= HUGE_MIN) {
    CHECK(q == NULL && errno == ENOMEM);
    p_verify(b);
    return;
  }
  p_after_realloc(b, q, n);
}

static void p_op_realloc(input *in) {
  pblk *b = p_slot(in);
  p_realloc_to(b, b->p ? p_resize(in, b) : p_size(in));
}

static void p_op_reallocarray(input *in) {
  pblk *b = p_slot(in);
  unsigned v = in8(in);
  size_t count = 1 + (v & 7), n = b->p ? p_resize(in, b) : p_size(in);
  if (v & 0x80) { /* overflow: NULL, ENOMEM, block intact */
    errno = 0;
    CHECK(vcm_reallocarray(b->p, SIZE_MAX / 2 + 1 + (v >> 3 & 7), 2 + (v >> 3 & 1)) == NULL);
    CHECK(errno == ENOMEM);
    if (b->p) p_verify(b);
    return;
  }
  if (n >= HUGE_MIN) {
    p_realloc_to(b, n);
    return;
  }
  n = n / count * count;
  if (!b->p) {
    unsigned char *p = vcm_reallocarray(NULL, count, n / count);
    p_new(b, p, n, malloc_cap(n), 0, 0);
    return;
  }
  p_verify(b);
  unsigned char *q = vcm_reallocarray(b->p, count, n / count);
  if (n == 0) {
    CHECK(q == NULL);
    p_forget(b);
    return;
  }
  p_after_realloc(b, q, n);
}

static void p_op_realloc0(input *in) { p_realloc_to(p_slot(in), 0); }

static void p_op_reserve(input *in) {
  pblk *b = p_slot(in);
  size_t n = b->p ? p_resize(in, b) : p_size(in);
  errno = 0;
  if (!b->p) {
    unsigned char *p = vcm_reserve(NULL, n);
    if (n >= HUGE_MIN)
      CHECK(p == NULL && errno == ENOMEM);
    else
      p_new(b, p, n, malloc_cap(n), 0, 0);
    return;
  }
  p_verify(b);
  unsigned char *q = vcm_reserve(b->p, n);
  if (n <= b->cap) {
    CHECK(q == b->p);
    p_verify(b);
    return;
  }
  if (n >= HUGE_MIN) {
    CHECK(q == NULL && errno == ENOMEM);
    p_verify(b);
    return;
  }
  if (!q) {
    p_null(__LINE__);
    p_verify(b);
    return;
  }
  unsigned char *old = b->p;
  size_t used = b->used;
  p_take(b, q, used, b->cap <= SMALL_MAX ? malloc_cap(n) : large_cap(n), 0, b->id);
  CHECK(vcm_capacity(q) >= n);
  if (q != old) pstale[npstale++ % P_STALE] = old;
  CHECK(span(q, b->id, 0, used, VERIFY));
}

static void p_op_expand(input *in) {
  pblk *b = p_slot(in);
  if (!b->p) {
    CHECK(vcm_expand(NULL, in8(in)) == -1);
    return;
  }
  size_t n = p_resize(in, b), old = b->used;
  int rc = vcm_expand(b->p, n);
  if (n > b->cap) {
    CHECK(rc == -1);
  } else {
    CHECK(rc == 0);
    b->used = n;
    b->claimed = 0;
    if (n > old) span(b->p, b->id, old, n, FILL);
  }
  p_verify(b);
}

/* Capacity of an aligned block of n bytes (align a power of two). */
static size_t aligned_cap(size_t align, size_t n) {
  if (align <= 16) return malloc_cap(n);
  size_t want = n < align ? align : n;
  return want <= SMALL_MAX ? small_cap(want) : large_cap(n);
}

static void p_op_aligned(input *in) {
  static const size_t odd[8] = {0, 3, 24, 48, 100, 4097, 12, (size_t)1 << 62};
  pblk *b = p_slot(in);
  unsigned v = in8(in), a = in8(in);
  size_t align = (a & 0x80) ? odd[a & 7] : (size_t)1 << (a % 23);
  size_t n = p_size(in);
  if (b->p) p_free(b, v >> 4);
  if (n >= HUGE_MIN) n = a; /* impossible sizes are malloc's and realloc's to try */
  /* An alignment beyond the address space: ENOMEM, whichever entry point. */
  int impossible = (v & 7) < 3 && pow2(align) && align > ((size_t)1 << 46);
  unsigned char *p = NULL;
  errno = 0;
  switch (v & 7) {
  case 0: /* aligned_alloc */
    p = vcm_aligned_alloc(align, n);
    if (!pow2(align)) {
      CHECK(p == NULL && errno == EINVAL);
      return;
    }
    if (impossible) {
      CHECK(p == NULL && errno == ENOMEM);
      return;
    }
    break;
  case 1: { /* posix_memalign: also a multiple of sizeof(void *); errors by result only */
    void *out = (void *)&out;
    int rc = vcm_posix_memalign(&out, align, n);
    if (!pow2(align) || align % sizeof(void *)) {
      CHECK(rc == EINVAL && out == (void *)&out);
      return;
    }
    if (impossible) {
      CHECK(rc == ENOMEM && out == (void *)&out);
      return;
    }
    if (rc != 0) {
      CHECK(rc == ENOMEM && out == (void *)&out);
      if (!injecting) fail_at(__LINE__, "posix_memalign failed without an OS failure", NULL);
      lenient = 1;
      return;
    }
    p = out;
    break;
  }
  case 2: /* memalign rounds other alignments up */
    p = vcm_memalign(align, n);
    if (align > SIZE_MAX / 2 + 1) {
      CHECK(p == NULL && errno == EINVAL);
      return;
    }
    if (!pow2(align)) align = (size_t)1 << (align ? log2_ceil(align) : 0);
    if (impossible) {
      CHECK(p == NULL && errno == ENOMEM);
      return;
    }
    break;
  case 3:
    align = 4096;
    p = vcm_valloc(n);
    break;
  case 4:
    align = 4096;
    p = vcm_pvalloc(n);
    n = (n + 4095) & ~(size_t)4095;
    break;
  default: /* alignments up to 16 are plain malloc */
    align = (size_t)1 << (a % 5);
    p = vcm_aligned_alloc(align, n);
    break;
  }
  p_new(b, p, n, aligned_cap(align, n), align, 0);
}

static void p_op_free(input *in) {
  pblk *b = p_slot(in);
  unsigned how = in8(in);
  if (b->p) {
    p_free(b, how);
  } else {
    vcm_free(NULL);
    vcm_free_sized(NULL, how);
  }
}

static void p_op_query(input *in) {
  pblk *b = p_slot(in);
  unsigned v = in8(in);
  if (!b->p) {
    CHECK(vcm_used(NULL) == 0 && vcm_capacity(NULL) == 0 && vcm_malloc_usable_size(NULL) == 0);
    return;
  }
  p_verify(b);
  if (v & 1) { /* the program may now use the whole capacity */
    CHECK(vcm_malloc_usable_size(b->p) == b->cap);
    CHECK(vcm_used(b->p) == b->cap);
    span(b->p, b->id, b->used, b->cap, FILL);
    b->used = b->cap;
    b->claimed = 1;
  }
}

static int static_thing;

static void p_op_misuse(input *in) {
  unsigned kind = in8(in) % 12;
  pblk *b = p_slot(in);
  const void *p = NULL;
  int local;
  if (kind < 5) { /* a freed pointer that is not inside a live block */
    if (!npstale) return;
    p = pstale[in8(in) % (npstale < P_STALE ? npstale : P_STALE)];
    if (p_inside_live(p)) return;
  } else if (kind < 10) { /* a live block: interior pointer, or a wrong size or alignment */
    if (!b->p) return;
    p = kind < 7 ? b->p + 1 + (((size_t)in16(in) * (b->cap - 1)) >> 16) : b->p;
  } else { /* never vcm's */
    switch (in8(in) % 3) {
    case 0: p = &local; break;
    case 1: p = &static_thing; break;
    default: p = R.data; break;
    }
  }
  void *vp = (void *)(uintptr_t)p;
  switch (kind) {
  case 0: case 5: case 10: vcm_free(vp); break;
  case 1: case 6: CHECK(vcm_realloc(vp, 1 + in8(in)) == NULL); break;
  case 2: CHECK(vcm_expand(vp, in8(in)) == -1); break;
  case 3: CHECK(vcm_used(p) == 0); break;
  case 4: CHECK(vcm_malloc_usable_size(vp) == 0); break;
  case 7: vcm_free_sized(vp, b->cap + 1 + in8(in)); break;
  case 8:
    if (b->used == b->cap || b->used == 0) return;
    vcm_free_sized(vp, b->used - 1);
    break;
  case 9: vcm_free_aligned_sized(vp, lowbit((uintptr_t)p) << 1, b->used); break;
  default: CHECK(vcm_capacity(p) == 0); break;
  }
  EXPECT_MISUSE(&proc_log, p, NULL);
  if (b->p) p_verify(b); /* a misuse changes nothing */
}

/* Another thread frees, resizes or allocates: remote frees, thread heaps, adoption. */
typedef struct {
  unsigned kind;
  unsigned char *p, *q;
  size_t n;
  int rc;
} remote_job;

static void *remote_main(void *arg) {
  remote_job *j = arg;
  switch (j->kind) {
  case 0: vcm_free(j->p); break;
  case 1: j->q = vcm_realloc(j->p, j->n); break;
  case 2: j->rc = vcm_expand(j->p, j->n); break;
  default: j->q = vcm_malloc(j->n); break;
  }
  return NULL;
}

static void run_remote(remote_job *j) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, remote_main, j) == 0);
  CHECK(pthread_join(t, NULL) == 0);
}

static void p_op_remote(input *in) {
  pblk *b = p_slot(in);
  remote_job j = {in8(in) % 4, b->p, NULL, 0, 0};
  if (n_threads++ >= 8) return;
  remote_any = 1;
  if (!b->p || j.kind == 3) {
    size_t n = p_size(in);
    if (n >= HUGE_MIN) return;
    if (b->p) p_free(b, 0);
    j.kind = 3;
    j.n = n;
    run_remote(&j);
    p_new(b, j.q, n, malloc_cap(n), 0, 0);
    return;
  }
  p_verify(b);
  switch (j.kind) {
  case 0:
    run_remote(&j);
    p_forget(b);
    break;
  case 1:
    j.n = p_resize(in, b);
    if (j.n == 0 || j.n >= HUGE_MIN) j.n = 1;
    run_remote(&j);
    p_after_realloc(b, j.q, j.n);
    break;
  default: {
    size_t n = p_resize(in, b), old = b->used;
    j.n = n;
    run_remote(&j);
    CHECK(j.rc == (n <= b->cap ? 0 : -1));
    if (n <= b->cap) {
      b->used = n;
      b->claimed = 0;
      if (n > old) span(b->p, b->id, old, n, FILL);
    }
    p_verify(b);
  }
  }
}

/* The next operation runs with the k-th OS memory request failing. */
static void p_op_inject(input *in) {
  static void (*const ops[])(input *) = {p_op_malloc, p_op_realloc, p_op_aligned, p_op_calloc,
                                         p_op_reserve, p_op_reallocarray};
  unsigned v = in8(in);
  vcm_stats before, after;
  vcm_stats_get(&before);
  vcm_debug_fail_os(1 + (v & 3));
  injecting = 1;
  lenient = 0;
  ops[(v >> 2) % (sizeof ops / sizeof *ops)](in);
  vcm_debug_fail_os(0);
  injecting = 0;
  vcm_stats_get(&after);
  if (lenient) CHECK(after.os_failed > before.os_failed);
  lenient = 0;
}

/* Many blocks of one size (<= 256 KiB), or free every step-th of them: 33 live chunks of
 * 256 KiB exhaust a segment's class, so the heap adopts an exited thread's segments or maps
 * a new segment; frees then let a purge unmap the empty ones. */
static void p_op_bulk(input *in) {
  unsigned v = in8(in);
  if (npbulk && (v & 1)) {
    unsigned step = 1 + (v >> 1) % 3, phase = (v >> 3) % step, w = 0;
    for (unsigned i = 0; i < npbulk; i++) {
      pblk *b = &P[P_SLOTS + i];
      if (i % step == phase)
        p_free(b, v >> 5);
      else
        P[P_SLOTS + w++] = *b;
    }
    for (unsigned i = w; i < npbulk; i++) P[P_SLOTS + i].p = NULL;
    npbulk = w;
    return;
  }
  size_t n = p_size(in);
  if (n > SMALL_MAX) n = SMALL_MAX - (n & 0xFFFF);
  for (unsigned count = 1 + (v >> 1) % 48; count && npbulk < P_BULK; count--) {
    pblk *b = &P[P_SLOTS + npbulk];
    p_new(b, vcm_malloc(n), n, small_cap(n), 0, 0);
    if (!b->p) break;
    npbulk++;
  }
}

/* fork (once per input): in the child, the heap inherited must work. It checks and frees
 * some blocks, allocates, and runs vcm_check; the parent wants exit status 0. */
static void p_op_fork(input *in) {
  unsigned v = in8(in);
  if (forked++) return;
  fflush(stderr);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    const char *why = NULL;
    for (unsigned i = v % 3; i < P_ALL; i += 3)
      if (P[i].p) p_free(&P[i], v >> 2);
    unsigned char *p = vcm_malloc(100 + v);
    CHECK(p != NULL);
    span(p, 7, 0, 100 + v, FILL);
    p = vcm_realloc(p, 5000 + v);
    CHECK(p != NULL && span(p, 7, 0, 100 + v, VERIFY));
    vcm_free(p);
    if (vcm_check(&why) != 0) fail_at(__LINE__, "vcm_check in the fork child", why);
    _exit(proc_log.calls ? 4 : 0);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) CHECK(errno == EINTR);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_at(__LINE__, "fork child exits 0", NULL);
}

static void p_check(void) {
  CHECK(proc_log.calls == 0);
  const char *why = NULL;
  if (vcm_check(&why) != 0) fail_at(__LINE__, "vcm_check", why);
}

/* ======================================================================================== */

typedef void (*op_fn)(input *);
static const op_fn ops[] = {
    r_op_alloc,   r_op_alloc,   r_op_calloc,  r_op_aligned, r_op_realloc,      r_op_realloc,
    r_op_expand,  r_op_free,    r_op_free,    r_op_query,   r_op_fill,         r_op_drain,
    r_op_misuse,  p_op_malloc,  p_op_bulk,    p_op_calloc,  p_op_realloc,      p_op_realloc,
    p_op_realloc0, p_op_reallocarray, p_op_reserve, p_op_expand, p_op_aligned, p_op_free,
    p_op_fork,    p_op_query,   p_op_misuse,  p_op_remote,  p_op_inject,
};
#define N_OPS (sizeof ops / sizeof *ops)
#define MAX_OPS 3000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  input in = {data, size, 0};
  vcm_stats st0, st1;
  vcm_set_misuse_handler(on_misuse, &proc_log);
  proc_log.calls = reg_log.calls = 0;
  npstale = 0;
  remote_any = 0;
  n_threads = 0;
  forked = 0;
  vcm_stats_get(&st0);
  CHECK(st0.large_live == 0);
  r_setup(&in);
  for (unsigned n = 0; in.i < in.n && n < MAX_OPS; n++) {
    ops[in8(&in) % N_OPS](&in);
    r_check();
    CHECK(proc_log.calls == 0);
    if (n % 32 == 31) p_check();
  }
  r_teardown();
  for (int i = 0; i < P_ALL; i++)
    if (P[i].p) p_free(&P[i], 0);
  npbulk = 0;
  p_check();
  vcm_stats_get(&st1);
  CHECK(st1.large_live == 0 && st1.large_used == 0);
  /* Nothing leaks. (Chunks freed by another thread count as live until their owner
   * collects them, so only inputs without such frees can tell.) */
  if (!remote_any) CHECK(st1.small_live_chunks <= st0.small_live_chunks);
  vcm_set_misuse_handler(NULL, NULL);
  return 0;
}
