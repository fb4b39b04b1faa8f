/* The operation fuzzer's region half: vcm_region_* on a caller disc against a model that
 * predicts every chunk's class exactly (fuzz/fuzz_ops.c runs the operations). */
#include "fuzz.h"

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
  size_t data_bytes, nch, natural;
  unsigned lmin, lmax;
  size_t live[32]; /* live chunks of the class of capacity 2^c */
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
/* The map's bytes (docs/DESIGN.md §2): a 2-byte slot per 16 data bytes, then the free bitmap,
 * one bit per possible chunk, with 64-ary summary levels up to one word. */
static size_t map_bytes(size_t nch, size_t K, unsigned lmax) {
  size_t slots = ((nch * K << lmax) / 16 * 2 + 7) & ~(size_t)7, bits = nch * K * (((size_t)1 << K) - 1), words = 0;
  for (;;) {
    size_t w = (bits + 63) / 64;
    words += w;
    if (w == 1) break;
    bits = w;
  }
  return slots + words * 8;
}
/* No live chunk in data bytes [from, to) (granule-aligned). */
static int r_free_span(size_t from, size_t to) {
  size_t g = from / 16, end = to / 16;
  for (; g < end && g % 8; g++)
    if (R.occ[g]) return 0;
  for (; g + 8 <= end; g += 8) {
    uint64_t w;
    memcpy(&w, R.occ + g, 8);
    if (w) return 0;
  }
  for (; g < end; g++)
    if (R.occ[g]) return 0;
  return 1;
}
/* Class an allocation of n bytes lands in: its own, if some block of that capacity, aligned
 * to it from the data start, is wholly free (buddies merge at once, so such a block is a free
 * chunk or lies in one, which splits); -1: the allocation must fail. Blocks under 8 granules
 * are tested 8 granules at a time: OR-fold each group of g occupancy bytes into its first.
 * The search starts at data offset *from (no such block lies wholly before it), and leaves
 * there the place it found: a fill, which only takes chunks, searches on from it (linear in
 * the disc, not quadratic). */
static int r_fit_from(size_t n, size_t *from) {
  if (n > rmax()) return -1;
  unsigned c = r_class(n);
  size_t cap = (size_t)1 << c, g = cap / 16, ng = R.data_bytes / 16, i = *from / 128 * 8;
  if (g < 8) {
    static const uint64_t firsts[5] = {0, 0x0101010101010101ull, 0x0001000100010001ull, 0,
                                       0x0000000100000001ull};
    for (; i + 8 <= ng; i += 8) {
      uint64_t w;
      memcpy(&w, R.occ + i, 8);
      for (size_t sh = 1; sh < g; sh <<= 1) w |= w >> (8 * sh);
      if ((w & firsts[g]) != firsts[g]) return *from = i * 16, (int)c;
    }
  }
  for (size_t o = i * 16 & ~(cap - 1); o < R.data_bytes; o += cap)
    if (r_free_span(o, o + cap)) return *from = o, (int)c;
  return -1;
}
static int r_fit(size_t n) {
  size_t from = 0;
  return r_fit_from(n, &from);
}
/* Live chunk b grows in place to n's class iff it is the left piece of that class's block
 * and the rest of the block is free (its right buddies). */
static int r_absorbs(const rblk *b, size_t n) {
  if (n > rmax() || n <= (size_t)1 << b->lcap) return 0;
  size_t c = (size_t)1 << r_class(n), o = (size_t)(b->p - R.data);
  return (o & (c - 1)) == 0 && r_free_span(o + ((size_t)1 << b->lcap), o + c);
}

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
  size_t off = (size_t)(p - R.data);
  CHECK((off & (cap - 1)) == 0); /* aligned to its capacity from the data start */
  size_t al = cap < R.natural ? cap : R.natural;
  CHECK(((uintptr_t)p & (al - 1)) == 0);
  CHECK(vcm_region_channel_of(&R.r, p) == (long)((off >> R.lmax) % R.nch)); /* block's channel */
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

/* b's capacity changed in place to 2^lcap. */
static void r_recap(rblk *b, unsigned lcap) {
  r_occ(b->p, (size_t)1 << b->lcap, 0);
  R.live[b->lcap]--;
  R.live_cap -= (size_t)1 << b->lcap;
  b->lcap = lcap;
  r_occ(b->p, (size_t)1 << lcap, 1);
  R.live[lcap]++;
  R.live_cap += (size_t)1 << lcap;
  CHECK(vcm_region_capacity(&R.r, b->p) == (size_t)1 << lcap);
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
void r_check(void) {
  const char *why = NULL;
  static unsigned ops;
  /* The checker reads the whole map (O(disc / 8)): after every operation on the small disc,
   * every 16th on the big one (the counters below are compared every time, and teardown
   * checks). */
  if ((R.data_bytes <= DISC_SMALL || ++ops % 16 == 0) && vcm_region_check(&R.r, &why) != 0)
    fail_at(__LINE__, "vcm_region_check", why);
  CHECK(reg_log.calls == 0);
  vcm_region_stats st;
  vcm_region_stats_get(&R.r, &st);
  CHECK(st.live_chunks == R.live_n);
  CHECK(st.live_capacity == R.live_cap);
  CHECK(st.live_used == R.live_used);
  CHECK(st.peak_capacity >= st.live_capacity);
  CHECK(st.n_channels == R.nch && st.n_classes == R.lmax - R.lmin + 1u);
  size_t tiled = 0;
  for (unsigned c = R.lmin; c <= R.lmax; c++) {
    CHECK(st.class_size[c - R.lmin] == (size_t)1 << c);
    CHECK(st.class_live[c - R.lmin] == R.live[c]);
    tiled += st.class_total[c - R.lmin] << c;
  }
  CHECK(tiled == R.data_bytes); /* the chunks, live and free, tile the data */
  CHECK(st.max_steps <= st.steps_bound);
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
  CHECK(vcm_region_plan((size_t)1 << (sizeof(size_t) > 4 ? 40 : 31), &tiny, &plan) ==
        (sizeof(size_t) > 4 ? VCM_E_TOO_MANY : VCM_OK));
}

void r_setup(input *in) {
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
  size_t K = lmax - lmin + 1u, max = (size_t)1 << lmax;
  size_t share = (map_bytes(1, K, lmax) + max - 1) & ~(max - 1), F = K + share / max;
  size_t n = size / (F * max);
  while (n && map_bytes(n, K, lmax) > n * share) n--;
  CHECK(s == (n ? VCM_OK : VCM_E_SMALL));
  if (s == VCM_OK) { /* the formulas of docs/DESIGN.md, "Geometry" and "Map" */
    CHECK(plan.n_classes == K && plan.channel_factor == F && plan.channel_size == F * max);
    CHECK(plan.chunks_per_channel == ((size_t)1 << K) - 1u && plan.map_entry_bytes == 2);
    CHECK(plan.n_channels == n && plan.data_bytes == n * K * max);
    CHECK(plan.map_bytes == map_bytes(n, K, lmax));
    CHECK(plan.data_bytes + plan.map_bytes + plan.slack_bytes == size);
    CHECK(plan.map_bytes <= n * share); /* the map share: whole blocks per channel */
  }
  s = vcm_region_init(&R.r, disc, size, gp);
  CHECK(s == (n ? VCM_OK : VCM_E_SMALL));
  if (s != VCM_OK) { /* too small for this geometry: the default one always fits */
    lmin = 4, lmax = 10, max = 1024, K = 7, share = 1024;
    CHECK(vcm_region_plan(size, NULL, &plan) == VCM_OK);
    CHECK(vcm_region_init(&R.r, disc, size, NULL) == VCM_OK);
    n = plan.n_channels;
  }
  vcm_region_set_handler(&R.r, on_misuse, &reg_log);
  R.data = disc + n * share; /* the map first, in the channels' shares */
  R.data_bytes = plan.data_bytes;
  R.nch = n;
  R.natural = lowbit((uintptr_t)R.data);
  R.lmin = lmin;
  R.lmax = lmax;
  for (unsigned c = 0; c < 32; c++) R.live[c] = 0;
  R.live_n = R.live_used = R.live_cap = 0;
  R.nbulk = 0;
  R.nstale = 0;
  for (size_t i = 0; i < R_SLOTS; i++) R.b[i].p = NULL;
  memset(R.occ, 0, R.data_bytes / 16);
  vcm_region_stats st;
  vcm_region_stats_get(&R.r, &st);
  CHECK(st.data_bytes == plan.data_bytes && st.map_bytes == plan.map_bytes);
  CHECK(st.region_bytes == plan.data_bytes + plan.map_bytes);
  CHECK(vcm_region_channel_of(&R.r, R.data + plan.data_bytes) == -1);
  CHECK(vcm_region_channel_of(&R.r, R.data - 16) == -1);
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

void r_op_alloc(input *in) {
  rblk *b = r_slot(in);
  size_t n = r_size(in);
  if (b->p) r_free(b);
  r_place_new(b, vcm_region_alloc(&R.r, n), n, r_fit(n), 0);
}

void r_op_calloc(input *in) {
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

void r_op_aligned(input *in) {
  static const size_t odd[8] = {0, 3, 24, 48, 100, 1000, 65537, (size_t)1 << (sizeof(size_t) > 4 ? 40 : 31)};
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

void r_op_realloc(input *in) {
  rblk *b = r_slot(in);
  if (!b->p) {
    size_t n = r_size(in);
    r_place_new(b, vcm_region_realloc(&R.r, NULL, n), n, r_fit(n), 0);
    return;
  }
  size_t n = r_resize(in, b), cap = (size_t)1 << b->lcap, keep = b->used < n ? b->used : n;
  int c = -2; /* -2 in place, -1 fails, else moves to class c */
  unsigned lnew = b->lcap; /* in place: a quarter or less splits, growth absorbs buddies */
  if (n <= cap) {
    if (n <= cap / 4 && r_class(n) != b->lcap) lnew = r_class(n);
  } else if (r_absorbs(b, n)) {
    lnew = r_class(n);
  } else {
    c = r_fit(n);
  }
  r_verify(b);
  unsigned char *q = vcm_region_realloc(&R.r, b->p, n);
  if (c == -2) {
    CHECK(q == b->p);
    size_t old = b->used;
    r_recap(b, lnew);
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

void r_op_expand(input *in) {
  rblk *b = r_slot(in);
  if (!b->p) {
    CHECK(vcm_region_expand(&R.r, NULL, in8(in)) == -1);
    return;
  }
  size_t n = r_resize(in, b), cap = (size_t)1 << b->lcap, old = b->used;
  int absorbs = r_absorbs(b, n);
  int rc = vcm_region_expand(&R.r, b->p, n);
  if (n > cap && !absorbs) {
    CHECK(rc == -1);
    r_verify(b);
    return;
  }
  CHECK(rc == 0);
  if (absorbs) r_recap(b, r_class(n));
  r_set_used(b, n);
  if (n > old) span(b->p, b->id, old, n, FILL);
  r_verify(b);
}

void r_op_free(input *in) {
  rblk *b = r_slot(in);
  if (b->p)
    r_free(b);
  else
    vcm_region_free(&R.r, NULL);
}

/* vcm_region_append of k bytes to b, from a buffer or from b's own used bytes, or
 * vcm_region_reserve of n bytes: where the capacity is exceeded, realloc's rule (append.c):
 * the chunk absorbs its free buddies, else moves to the class that fits, else stays as it was
 * (NULL). The bytes appended are checked, then refilled with b's pattern. */
static void r_append(rblk *b, input *in) {
  static unsigned char want[APPEND_MAX];
  unsigned v = in8(in), a = in8(in);
  size_t old = b->used, cap = (size_t)1 << b->lcap;
  int reserve = (v & 32) != 0;
  size_t k = reserve ? 0 : (v & 8) ? cap - old + (a & 31) : a;
  if (k > APPEND_MAX) k = a & 15;
  const unsigned char *src = append_src(in, v, a, b->p, old, &k, want);
  size_t n = reserve ? ((v & 8) ? cap + 1 + a : a) : old + k, used = reserve ? old : n;
  int c = -2; /* -2 in place, -1 fails, else moves to class c */
  unsigned lnew = b->lcap;
  if (n > cap) {
    if (r_absorbs(b, n))
      lnew = r_class(n);
    else
      c = r_fit(n);
  }
  r_verify(b);
  errno = 0;
  unsigned char *q = reserve ? vcm_region_reserve(&R.r, b->p, n)
                             : vcm_region_append(&R.r, b->p, src, k);
  if (c == -1) {
    CHECK(q == NULL && errno == ENOMEM);
    r_verify(b); /* untouched */
    return;
  }
  if (c == -2) {
    CHECK(q == b->p);
    r_recap(b, lnew);
  } else {
    CHECK(q != NULL && q != b->p);
    rblk nb;
    r_take(&nb, q, used, (unsigned)c, b->id); /* before the old one is forgotten */
    r_forget(b);
    *b = nb;
    CHECK(span(q, b->id, 0, old, VERIFY));
  }
  CHECK(vcm_region_used(&R.r, q) == used && memcmp(q + old, want, k) == 0);
  r_set_used(b, used);
  span(q, b->id, old, used, FILL);
}

void r_op_query(input *in) {
  unsigned s = in8(in);
  rblk *b = &R.b[s % R_NAMED];
  if (!b->p) return;
  if (s >> 6 == 3) /* no crash-* input of the corpus comes here */
    r_append(b, in);
  else
    r_verify(b);
}

/* Allocate n-byte chunks until the region says no (or the bulk slots run out). */
void r_op_fill(input *in) {
  size_t n = r_size(in), from = 0;
  while (R.nbulk < R_SLOTS - R_NAMED) {
    int c = r_fit_from(n, &from);
    unsigned char *p = vcm_region_alloc(&R.r, n);
    if (c < 0) {
      CHECK(p == NULL);
      break;
    }
    r_place_new(&R.b[R_NAMED + R.nbulk++], p, n, c, 0);
  }
}

/* Free every step-th bulk chunk: fragments the classes. */
void r_op_drain(input *in) {
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

void r_op_misuse(input *in) {
  static const char *DOUBLE = "double free", *FREED = "use after free",
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

void r_teardown(void) {
  visit_sum v = {0, 0};
  vcm_region_visit(&R.r, on_visit, &v);
  CHECK(v.n == R.live_n && v.used == R.live_used);
  for (size_t i = 0; i < R_NAMED + R.nbulk; i++)
    if (R.b[i].p) r_free(&R.b[i]);
  R.nbulk = 0;
  r_check();
  CHECK(vcm_region_check(&R.r, NULL) == 0); /* all merged back: whole blocks */
  CHECK(R.live_n == 0 && R.live_used == 0 && R.live_cap == 0);
}


const void *r_data(void) { return R.data; }
