/* Randomized model test: millions of mixed operations on a region, checked against a shadow
 * model. Checked at every step: contents preserved by every move, used sizes and capacities,
 * no overlap between live chunks (an ownership map of the data area), failures only when the
 * model says no chunk could fit, and the region's own invariant checker.
 * VCM_MODEL_OPS (default 2,000,000 per geometry) and VCM_MODEL_SEED override the defaults. */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "vcm.h"

#define SLOTS 700

static _Alignas(4096) unsigned char disc[1 << 21];
static uint16_t owner[sizeof disc / 16]; /* slot + 1 owning each 16-byte unit, 0 if none */

typedef struct {
  unsigned char *p;
  size_t used, cap;
  uint8_t seed;
} slot;

static slot s[SLOTS];
static size_t live_per_class[32];
static size_t smin, smax, nclass, data_off, data_end; /* data: disc[data_off, data_end) */
static unsigned long long rng;
static long divergences;

#define EXPECT(cond, what)                                                                   \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      if (divergences++ < 10) fprintf(stderr, "divergence at op %ld: %s\n", op, what);       \
    }                                                                                        \
  } while (0)

static unsigned cls(size_t cap) { /* 0 = smallest */
  unsigned c = 0;
  while ((smin << c) < cap) c++;
  return c;
}
static int units_free(size_t from, size_t to) { /* disc offsets */
  for (size_t u = from / 16; u < to / 16; u++)
    if (owner[u]) return 0;
  return 1;
}
static size_t cap_for(size_t n) { return smin << cls(n < smin ? smin : n); }
/* Buddies merge at once, so a region can hand out capacity c iff some block of c bytes,
 * aligned to c from the data start, is wholly free. */
static int model_can_fit(size_t n) {
  if (n > smax) return 0;
  size_t c = cap_for(n);
  for (size_t o = data_off; o < data_end; o += c)
    if (units_free(o, o + c)) return 1;
  return 0;
}
/* Chunk x can grow in place to n iff it is the left piece up to n's capacity and the rest of
 * that block is free (its right buddies, whole). */
static int model_can_absorb(const slot *x, size_t n) {
  if (n > smax || n <= x->cap) return 0;
  size_t c = cap_for(n), o = (size_t)(x->p - disc);
  return (o - data_off) % c == 0 && units_free(o + x->cap, o + c);
}
static uint8_t pat(const slot *x, size_t j) { return (uint8_t)(x->seed + j * 7 + (j >> 8)); }

static void fill(slot *x, size_t from, size_t to) {
  for (size_t j = from; j < to; j++) x->p[j] = pat(x, j);
}
static int intact(const slot *x, size_t n) {
  for (size_t j = 0; j < n; j++)
    if (x->p[j] != pat(x, j)) return 0;
  return 1;
}
static int own(unsigned char *p, size_t cap, uint16_t id) { /* id 0 releases */
  size_t u0 = (size_t)(p - disc) / 16, n = cap / 16;
  int ok = 1;
  for (size_t u = u0; u < u0 + n; u++) {
    if (id && owner[u]) ok = 0;
    owner[u] = id;
  }
  return ok;
}

static size_t rand_size(void) {
  unsigned r = (unsigned)(t_rand(&rng) % 100);
  if (r < 2) return smax + 1 + (size_t)(t_rand(&rng) % 100); /* too big */
  if (r < 5) return 0;
  unsigned bits = (unsigned)(t_rand(&rng) % (unsigned)(__builtin_ctzll(smax) + 1));
  return (size_t)(t_rand(&rng) % ((1ull << bits) + 1));
}

static void run(size_t disc_size, const vcm_geometry *g, long ops, long check_every) {
  vcm_region r;
  vcm_region_stats st;
  CHECK_EQ(vcm_region_init(&r, disc, disc_size, g), VCM_OK);
  vcm_region_stats_get(&r, &st);
  smin = st.class_size[0];
  nclass = st.n_classes;
  smax = st.class_size[nclass - 1];
  vcm_plan plan;
  CHECK_EQ(vcm_region_plan(disc_size, g, &plan), VCM_OK);
  data_off = plan.n_channels * (plan.channel_factor - plan.n_classes) * smax;
  data_end = data_off + plan.data_bytes;
  for (unsigned c = 0; c < nclass; c++) live_per_class[c] = 0;
  memset(s, 0, sizeof s);
  memset(owner, 0, sizeof owner);
  long before = divergences, op;
  for (op = 0; op < ops; op++) {
    uint16_t i = (uint16_t)(t_rand(&rng) % SLOTS);
    slot *x = &s[i];
    unsigned what = (unsigned)(t_rand(&rng) % 10);
    if (!x->p) {
      size_t n = rand_size();
      unsigned char *p;
      if (what < 6) {
        p = vcm_region_alloc(&r, n);
      } else if (what < 8) {
        size_t count = n ? 1 + t_rand(&rng) % 4 : 0;
        n *= count;
        p = vcm_region_calloc(&r, count, n / (count ? count : 1));
        if (p) for (size_t j = 0; j < n; j++) EXPECT(p[j] == 0, "calloc not zeroed");
      } else {
        size_t a = (size_t)16 << (t_rand(&rng) % 4);
        p = vcm_region_aligned_alloc(&r, a, n);
        if (p) EXPECT((uintptr_t)p % a == 0, "misaligned");
        if (!p) EXPECT(!model_can_fit(n < a ? a : n), "aligned alloc failed with room");
        if (!p) continue;
      }
      if (!p) {
        EXPECT(!model_can_fit(n), "alloc failed though a chunk was free");
        continue;
      }
      x->p = p;
      x->used = n;
      x->cap = vcm_region_capacity(&r, p);
      x->seed = (uint8_t)t_rand(&rng);
      EXPECT(x->cap >= n && x->cap >= smin, "capacity below request");
      EXPECT((size_t)(p - disc) % x->cap == 0, "chunk not naturally aligned");
      EXPECT(own(p, x->cap, (uint16_t)(i + 1)), "overlaps a live chunk");
      live_per_class[cls(x->cap)]++;
      fill(x, 0, n);
    } else if (what < 5) { /* realloc */
      size_t n = rand_size();
      int could = model_can_fit(n), absorbs = model_can_absorb(x, n);
      EXPECT(intact(x, x->used), "contents changed before realloc");
      unsigned char *q = vcm_region_realloc(&r, x->p, n);
      if (!q) {
        EXPECT(n > x->cap && !could && !absorbs, "realloc failed though a chunk was free");
        EXPECT(intact(x, x->used), "failed realloc changed the block");
        continue;
      }
      size_t keep = x->used < n ? x->used : n;
      if (n <= x->cap || absorbs) EXPECT(q == x->p, "realloc moved though it could stay");
      /* In place it may have shrunk (a quarter or less) or absorbed its buddies. */
      own(x->p, x->cap, 0);
      live_per_class[cls(x->cap)]--;
      x->p = q;
      x->cap = vcm_region_capacity(&r, q);
      EXPECT(x->cap >= n && (n <= smin || x->cap < 4 * n), "capacity after realloc");
      EXPECT(own(q, x->cap, (uint16_t)(i + 1)), "resized chunk overlaps a live chunk");
      live_per_class[cls(x->cap)]++;
      EXPECT(intact(x, keep), "realloc lost contents");
      x->used = n;
      fill(x, keep, n);
    } else if (what < 6) { /* expand */
      size_t n = rand_size();
      int absorbs = model_can_absorb(x, n);
      int rc = vcm_region_expand(&r, x->p, n);
      EXPECT((rc == 0) == (n <= x->cap || absorbs), "expand result");
      if (rc == 0 && absorbs) { /* grown in place over its free buddies */
        own(x->p, x->cap, 0);
        live_per_class[cls(x->cap)]--;
        x->cap = vcm_region_capacity(&r, x->p);
        EXPECT(x->cap == cap_for(n), "capacity after expand");
        EXPECT(own(x->p, x->cap, (uint16_t)(i + 1)), "expanded chunk overlaps a live chunk");
        live_per_class[cls(x->cap)]++;
      }
      if (rc == 0) {
        size_t keep = x->used < n ? x->used : n;
        x->used = n;
        fill(x, keep, n);
      }
    } else { /* free */
      EXPECT(vcm_region_used(&r, x->p) == x->used, "used size");
      EXPECT(vcm_region_capacity(&r, x->p) == x->cap, "capacity");
      EXPECT(intact(x, x->used), "contents changed before free");
      own(x->p, x->cap, 0);
      live_per_class[cls(x->cap)]--;
      vcm_region_free(&r, x->p);
      x->p = NULL;
    }
    if (op % check_every == 0) {
      const char *why = "";
      if (vcm_region_check(&r, &why) != 0) EXPECT(0, why);
    }
  }
  vcm_region_stats_get(&r, &st);
  size_t live = 0;
  for (unsigned c = 0; c < nclass; c++) {
    CHECK_EQ(st.class_live[c], live_per_class[c]);
    live += live_per_class[c];
  }
  CHECK_EQ(st.live_chunks, live);
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  CHECK_EQ(divergences - before, 0);
  printf("model: %ld ops on %zu bytes (classes %zu..%zu), checker every %ld, %ld divergences\n",
         ops, disc_size, smin, smax, check_every, divergences - before);
}

int main(void) {
  const char *e = getenv("VCM_MODEL_OPS"), *sd = getenv("VCM_MODEL_SEED");
  long ops = e ? atol(e) : 2000000;
  rng = sd ? strtoull(sd, NULL, 0) : 0x9E3779B97F4A7C15ull;
  printf("seed %llu\n", rng);
  vcm_geometry wide = {16, 65536, 2};
  run(32 * 1024, NULL, ops, 1);           /* the seed's disc: tight, fallbacks, failures */
  run(sizeof disc, NULL, ops / 2, 8);     /* 256 channels: the checker reads 256 KiB of map */
  run(sizeof disc, &wide, ops / 2, 64);   /* 16 B … 64 KiB */
  return t_report();
}
