/* The operation fuzzer's process half: vcm_* (malloc and friends, threads, fork, injected OS
 * failures, misuse) against a model of classes and large blocks (fuzz/fuzz_ops.c runs them). */
#include "fuzz.h"

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
  /* its pair level may be any from lo to hi (src/pair.c): 0 a single chunk, 1 a MERGED pair, 2 a
   * QUAD, whose realloc fast path reads cap >> level */
  unsigned char lo, hi;
  /* its capacity is one no rule predicts, taken while the OS refused (injected): a large block
   * of just n's pages where its capacity was refused (large.c, map_fresh), for one. Its later
   * capacities and moves are not predicted either (contents, used bytes and alignment are). */
  unsigned char odd;
} pblk;

static pblk P[P_ALL]; /* P[P_SLOTS .. P_SLOTS + npbulk) are the live bulk blocks */
static unsigned npbulk;
static int forked; /* this input forked already */
static const void *pstale[P_STALE];
static unsigned npstale;
static int injecting, lenient; /* OS failures injected; a result only they explain */
/* An injected failure was seen in this process: a class whose segment the OS refused may serve
 * a malloc from its power of two's class from then on (heap.c, seg_refused_at). */
static int refused_seen;
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
/* Capacity by intent (docs/DESIGN.md §6): malloc's tight classes are 16, 32, 48, 64, then
 * 5/4, 6/4, 7/4 and 2 times each power of two, and 33/32 .. 36/32 of 1, 2 and 4 KiB; a realloc
 * from NULL or growing, a power of two. */
static size_t tight_cap(size_t n) {
  if (n <= 64) return n <= 16 ? 16 : (n + 15) / 16 * 16;
  size_t q = small_cap(n) / 8, u = q / 8; /* n in (4q, 8q] = (32u, 64u] */
  if (n > 1024 && n <= 8192 && n <= 36 * u) return (n + u - 1) / u * u; /* 33u .. 36u */
  size_t c = (n + q - 1) / q * q;
  /* a colour class: 2^l * 129/128 for 2 to 32 KiB (heap.h) */
  return c == 8 * q && c >= 2048 && c <= 32768 ? c / 128 * 129 : c;
}
/* A colour class's capacity that two buddies of the colour class below may make (heap.c: a
 * malloc's head take or scan in a colour segment): 2^l * 129/128, 4 to 32 KiB. Its realloc's
 * fast path reads the class's capacity and floor, so such a MERGED pair stays in place down
 * to a quarter of its capacity, not a half (alloc.c). */
static int colour_pair_cap(size_t c) {
  return c % 129 == 0 && pow2(c / 129 * 128) && c >= 4096 / 128 * 129 && c <= 32768 / 128 * 129;
}
static size_t malloc_cap(size_t n) { return n <= SMALL_MAX ? tight_cap(n) : large_cap(n); }
/* A malloc of 1 KiB < n <= 8 KiB may find n's class fitted (fit.c, 64-bit only): capacity n
 * rounded up to 16 B (32 B above 4,080). Fits are made once per process from what earlier
 * inputs allocated, so wherever malloc's tight class is predicted (want), the model accepts a
 * capacity that fits some request of that tight class. */
static int fitted_cap(size_t want, size_t got) {
  if (sizeof(void *) != 8 || got % 16 || got <= 1024 || got > 8192 + 31) return 0;
  for (size_t n = got - 31; n <= got; n++)
    if (n > 1024 && n <= 8192 && tight_cap(n) == want) return 1;
  return 0;
}
/* A malloc of two pages or more (n bytes asked for; vcm_reserve(NULL, n)'s too, used 0) whose
 * class has no free chunk may take a free one of a class above under twice n (heap.c, a loan;
 * docs/DESIGN.md §6 "Loans"), but not where a power of two is wanted (a realloc's, an aligned
 * block's). */
static int loan_cap(size_t want, size_t n, size_t got) {
  return n >= 8192 && want <= SMALL_MAX && (want & (want - 1)) && got > want && got < 2 * n;
}
static size_t grow_cap(size_t n) { return n <= SMALL_MAX ? small_cap(n) : large_cap(n); }

/* A new large block may be a cached one with up to 4x the capacity needed (large.c). */
static int cap_matches(size_t want, size_t got) {
  return want <= SMALL_MAX ? got == want : got >= want && got <= 4 * want;
}

/* Sizes no address space holds: ENOMEM. On 64-bit 2^62 + 1 (the OS refuses its pages); on 32-bit
 * 2^31 + 1 (over PTRDIFF_MAX: no capacity, large.c's cap_for): 2^30 + 1 is granted where a
 * 32-bit process has 4 GiB (a 64-bit kernel), as three inputs of the corpus found. */
#define HUGE_MIN (((size_t)1 << (sizeof(size_t) * 8 - (sizeof(size_t) > 4 ? 2 : 1))) + 1)

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
/* n: the used bytes; req: the bytes asked for (vcm_reserve's capacity, else n). */
static void p_take(pblk *b, unsigned char *p, size_t n, size_t req, size_t cap, size_t align,
                   uint32_t id) {
  CHECK(p != NULL);
  size_t c = vcm_capacity(p);
  CHECK(vcm_used(p) == n);
  CHECK(c >= n && c >= 16 && c % 16 == 0);
  int odd = !cap_matches(cap, c) && !fitted_cap(cap, c) && !loan_cap(cap, req, c) &&
            !(refused_seen && c <= SMALL_MAX && c == small_cap(req));
  if (odd && !b->odd) { /* only a refusal explains it: this operation's */
    if (!injecting) {
      char why[96];
      snprintf(why, sizeof why, "asked %zu, used %zu: capacity %zu, predicted %zu", req, n, c, cap);
      fail_at(__LINE__, "capacity as predicted", why);
    }
    lenient = 1;
  }
  /* A small chunk of power-of-two capacity is aligned to it, any other to 16; large blocks to
   * 2 MiB at least. */
  CHECK(((uintptr_t)p & ((c <= SMALL_MAX ? (pow2(c) ? c : 16) : GRANULE) - 1)) == 0);
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
  /* A chunk of a power of two from 32 B to 1 KiB that an allocation or a move down took may
   * be two free buddies of the class below taken as one MERGED pair, where that class carved
   * nothing since the last purge (heap.c, head_take): level 0 or 1, as one grown into its
   * buddy (p_levels sets a move's or a growth's levels after this). */
  b->lo = 0;
  b->hi = (pow2(c) && c >= 32 && c <= KiB) || colour_pair_cap(c);
  b->odd = (unsigned char)odd;
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

static void p_new(pblk *b, unsigned char *p, size_t n, size_t req, size_t cap, size_t align,
                  int zeroed) {
  if (!p) {
    p_null(__LINE__);
    return;
  }
  b->odd = 0; /* a new block: b held none, or one just freed */
  p_take(b, p, n, req, cap, align, next_id++);
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

void p_op_malloc(input *in) {
  pblk *b = p_slot(in);
  size_t n = p_size(in);
  if (b->p) p_free(b, in8(in));
  errno = 0;
  unsigned char *p = vcm_malloc(n);
  if (n >= HUGE_MIN) {
    CHECK(p == NULL && errno == ENOMEM);
    return;
  }
  p_new(b, p, n, n, malloc_cap(n), 0, 0);
}

void p_op_calloc(input *in) {
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
  p_new(b, p, count * size, count * size, malloc_cap(count * size), 0, 1);
}

/* The capacity realloc(b->p, n) must give b; *same: 1 stays, 0 moves, -1 either (a large block
 * grown by remapping, a small one growing into its buddy or, a MERGED pair, into the pair above
 * (if those grew out first or are free), a shrink that stays or moves as the pair level decides);
 * *lo .. *hi: the levels b may have if it grew in place. */
static size_t p_realloc_cap(const pblk *b, size_t n, int *same, unsigned *lo, unsigned *hi) {
  size_t c = b->cap, used = b->used;
  *same = 0;
  *lo = b->lo, *hi = b->hi;
  if (b->odd) { /* moved or not, any capacity (p_take) */
    *same = -1;
    return c;
  }
  if (c <= SMALL_MAX) {
    if (n <= c) { /* stays above a quarter (a power of two) or a half (another) over 2^level */
      size_t q = pow2(c) ? 4 : 2;
      if (c <= 16 || n > c / (q << b->lo)) {
        *same = 1;
        return c;
      }
      if (n > c / (q << b->hi)) *same = -1;
      return pow2(c) ? small_cap(n) : tight_cap(n);
    }
    /* a single chunk of 64 KiB or less pairs (src/pair.h, VCMI_GROW_CAP_MAX), a MERGED pair of
     * 4 KiB or less grows into the pair above: within twice c */
    unsigned l0 = 3, l1 = 0;
    for (unsigned l = b->lo; pow2(c) && n <= 2 * c && l <= b->hi && l < 2; l++)
      if (c <= (l ? 4 * KiB : 64 * KiB)) l0 = l0 < l + 1 ? l0 : l + 1, l1 = l + 1;
    if (l1) *same = -1, *lo = l0, *hi = l1;
    return grow_cap(n);
  }
  if (n <= c && n >= used && n > c / 4) { /* growth in the capacity stays (alloc.c) */
    *same = 1;
    return c;
  }
  if (n <= SMALL_MAX) return tight_cap(n);
  if (n <= c / 4) return large_cap(n);
  if (n <= c) {
    *same = 1;
    return c;
  }
  *same = -1;
  return large_cap(n);
}

/* The pair levels of b, just taken (p_take) for was (b before) grown or resized to n, where
 * p_realloc_cap predicted cap, same, lo and hi: a realloc and a reserve (a realloc keeping the
 * used bytes) alike. */
static void p_levels(pblk *b, const pblk *was, size_t n, size_t cap, int same, unsigned lo,
                     unsigned hi) {
  if (b->p == was->p && same == -1 && was->cap <= SMALL_MAX) { /* grew into its buddies */
    b->lo = (unsigned char)lo, b->hi = (unsigned char)hi;
  } else if (b->p == was->p) { /* the same chunk */
    b->lo = was->lo, b->hi = was->hi;
  } else if (n > was->cap && was->cap <= SMALL_MAX && n <= SMALL_MAX && cap >= 32 &&
             cap <= 4 * KiB) {
    /* maybe two free buddies of the class below, taken as one MERGED pair, or, for 2 and 4 KiB,
     * four free chunks of 512 bytes or 1 KiB taken as one QUAD */
    b->hi = cap >= 2 * KiB ? 2 : 1;
  }
}

/* Block b after vcm_realloc(b->p, n) returned q (n > 0, not huge). */
static void p_after_realloc(pblk *b, unsigned char *q, size_t n) {
  int same;
  unsigned lo, hi;
  size_t cap = p_realloc_cap(b, n, &same, &lo, &hi), keep = b->used < n ? b->used : n;
  if (!q) {
    p_null(__LINE__);
    p_verify(b);
    return;
  }
  if (same == 1 || (same == -1 && q == b->p && n <= b->cap)) { /* a shrink that stayed */
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
  pblk was = *b;
  p_take(b, q, n, n, cap, 0, b->id);
  p_levels(b, &was, n, cap, same, lo, hi);
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
      p_new(b, p, n, n, grow_cap(n), 0, 0);
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

void p_op_realloc(input *in) {
  pblk *b = p_slot(in);
  p_realloc_to(b, b->p ? p_resize(in, b) : p_size(in));
}

void p_op_reallocarray(input *in) {
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
    p_new(b, p, n, n, grow_cap(n), 0, 0);
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

void p_op_realloc0(input *in) { p_realloc_to(p_slot(in), 0); }

void p_op_reserve(input *in) {
  pblk *b = p_slot(in);
  size_t n = b->p ? p_resize(in, b) : p_size(in);
  errno = 0;
  if (!b->p) {
    unsigned char *p = vcm_reserve(NULL, n);
    if (n >= HUGE_MIN)
      CHECK(p == NULL && errno == ENOMEM);
    else /* a new chunk with the capacity, used 0 (include/vcm.h) */
      p_new(b, p, 0, n, malloc_cap(n), 0, 0);
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
  size_t used = b->used, cap = b->cap <= SMALL_MAX ? grow_cap(n) : large_cap(n);
  pblk was = *b;
  int same;
  unsigned lo, hi;
  (void)p_realloc_cap(b, n, &same, &lo, &hi); /* the levels a growth to n may give */
  p_take(b, q, used, n, cap, 0, b->id);
  p_levels(b, &was, n, cap, same, lo, hi); /* a pair grown in place or taken, as realloc's */
  CHECK(vcm_capacity(q) >= n);
  if (q != old) pstale[npstale++ % P_STALE] = old;
  CHECK(span(q, b->id, 0, used, VERIFY));
}

void p_op_expand(input *in) {
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

void p_op_aligned(input *in) {
  static const size_t odd[8] = {0, 3, 24, 48, 100, 4097, 12,
                                (size_t)1 << (sizeof(size_t) > 4 ? 62 : 31)};
  pblk *b = p_slot(in);
  unsigned v = in8(in), a = in8(in);
  size_t align = (a & 0x80) ? odd[a & 7] : (size_t)1 << (a % 23);
  size_t n = p_size(in);
  if (b->p) p_free(b, v >> 4);
  if (n >= HUGE_MIN) n = a; /* impossible sizes are malloc's and realloc's to try */
  /* An alignment beyond the address space: ENOMEM, whichever entry point. On 32-bit, one over
   * 1 GiB may be had or not (a 2 GiB block at 0x80000000 if nothing is mapped there): either. */
  int huge = (v & 7) < 3 && pow2(align) && align > ((size_t)1 << (sizeof(size_t) > 4 ? 46 : 30));
  int impossible = huge && sizeof(size_t) > 4, maybe = huge && sizeof(size_t) == 4;
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
      if (maybe) return;
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
  if (maybe && !p) {
    CHECK(errno == ENOMEM);
    return;
  }
  /* had: its capacity may have been refused too, as an injected failure would (a block of n's
   * pages, large.c's map_fresh): where the address space leaves 2 GiB free decides, so one run
   * in about 60 of the corpus in one process on 32-bit took capacity 4 KiB for 512 KiB */
  injecting += maybe;
  p_new(b, p, n, n, aligned_cap(align, n), align, 0);
  injecting -= maybe;
}

void p_op_free(input *in) {
  pblk *b = p_slot(in);
  unsigned how = in8(in);
  if (b->p) {
    p_free(b, how);
  } else {
    vcm_free(NULL);
    vcm_free_sized(NULL, how);
  }
}

/* malloc_trim: the free pages and cached blocks go back to the OS; every live block stays as it
 * was, and no large block stays cached. */
static void p_trim(void) {
  vcm_stats st;
  vcm_trim();
  for (int i = 0; i < P_ALL; i++)
    if (P[i].p) p_verify(&P[i]);
  vcm_stats_get(&st);
  CHECK(st.large_cached == 0);
}

/* vcm_append of k bytes to b (v: the query's byte): from a buffer, or from b's own used bytes
 * (src follows the chunk if it moves); k sometimes just past the capacity. Appending is realloc
 * to used + k where the capacity is exceeded (append.c), else expand: the model's prediction is
 * realloc's. The bytes appended are checked, then refilled with b's pattern. */
static void p_append(pblk *b, unsigned v, input *in) {
  static unsigned char want[APPEND_MAX];
  unsigned a = in8(in);
  size_t old = b->used, k = (v & 8) ? b->cap - old + (a & 31) : a;
  if (k > APPEND_MAX || old > P_MAX) k = a & 15;
  const unsigned char *src = append_src(in, v, a, b->p, old, &k, want);
  errno = 0;
  unsigned char *q = vcm_append(b->p, src, k);
  if (!q) {
    p_null(__LINE__);
    p_verify(b);
    return;
  }
  CHECK(memcmp(q + old, want, k) == 0);
  if (old + k <= b->cap) {
    CHECK(q == b->p && vcm_used(q) == old + k);
    b->used = old + k;
    b->claimed = 0;
    span(q, b->id, old, old + k, FILL);
  } else {
    p_after_realloc(b, q, old + k); /* checks [0, old), refills [old, old + k) */
  }
}

void p_op_query(input *in) {
  pblk *b = p_slot(in);
  unsigned v = in8(in);
  if (!b->p) {
    CHECK(vcm_used(NULL) == 0 && vcm_capacity(NULL) == 0 && vcm_malloc_usable_size(NULL) == 0);
    if ((v & 7) == 7) p_trim(); /* no crash-* input of the corpus comes here */
    return;
  }
  p_verify(b);
  if ((v & 6) == 6) { /* no crash-* input of the corpus comes here */
    p_append(b, v, in);
    return;
  }
  if (v & 1) { /* the program may now use the whole capacity */
    CHECK(vcm_malloc_usable_size(b->p) == b->cap);
    CHECK(vcm_used(b->p) == b->cap);
    span(b->p, b->id, b->used, b->cap, FILL);
    b->used = b->cap;
    b->claimed = 1;
  }
}

static int static_thing;

void p_op_misuse(input *in) {
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
    default: p = r_data(); break;
    }
  }
  void *vp = (void *)(uintptr_t)p;
  switch (kind) {
  case 0: case 5: case 10: vcm_free(vp); break;
  case 1: case 6: CHECK(vcm_realloc(vp, 1 + in8(in)) == NULL); break;
  case 2: CHECK(vcm_expand(vp, in8(in)) == -1); break;
  case 3: CHECK(vcm_used(p) == 0); break;
  case 4: /* or free_sized, also with a size of an entry's flags and a link (a free entry's:
            * its fast path compares the entry with LIVE ^ size, cd71fba) */
    if (in8(in) & 1u)
      vcm_free_sized(vp, (size_t)in8(in) << 24 | in16(in));
    else
      CHECK(vcm_malloc_usable_size(vp) == 0);
    break;
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

void p_op_remote(input *in) {
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
    p_new(b, j.q, n, n, malloc_cap(n), 0, 0);
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
void p_op_inject(input *in) {
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
  refused_seen |= after.os_failed > before.os_failed;
  lenient = 0;
}

/* Many blocks of one size (<= 256 KiB), or free every step-th of them: 33 live chunks of
 * 256 KiB exhaust a segment's class, so the heap adopts an exited thread's segments or maps
 * a new segment; frees then let a purge unmap the empty ones. */
void p_op_bulk(input *in) {
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
    p_new(b, vcm_malloc(n), n, n, tight_cap(n), 0, 0);
    if (!b->p) break;
    npbulk++;
  }
}

/* fork (once per input): in the child, the heap inherited must work. It checks and frees
 * some blocks, allocates, and runs vcm_check; the parent wants exit status 0. */
void p_op_fork(input *in) {
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

void p_check(void) {
  CHECK(proc_log.calls == 0);
  const char *why = NULL;
  if (vcm_check(&why) != 0) fail_at(__LINE__, "vcm_check", why);
}


/* Before an input: no stale pointers, threads or fork yet. */
void p_begin(void) {
  npstale = 0;
  remote_any = 0;
  n_threads = 0;
  forked = 0;
}

/* After an input: every block freed, the heap checked; nothing leaks. (Chunks freed by
 * another thread count as live until their owner collects them, so only inputs without such
 * frees can tell.) */
void p_end(const vcm_stats *before) {
  vcm_stats st;
  for (int i = 0; i < P_ALL; i++)
    if (P[i].p) p_free(&P[i], 0);
  npbulk = 0;
  p_check();
  vcm_stats_get(&st);
  CHECK(st.large_live == 0 && st.large_used == 0);
  if (!remote_any) CHECK(st.small_live_chunks <= before->small_live_chunks);
}
