/* Internal view of a region, shared by region.c and the process heap. Not installed. */
#ifndef VCMI_REGION_H
#define VCMI_REGION_H

#include "misuse.h"
#include "vcm.h"

#define VCMI_LIKELY(x) __builtin_expect(!!(x), 1) /* GCC and clang: the core uses builtins */
#define VCMI_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* A word another thread may change, read once by a fast path that only tests it: a plain load,
 * which the compiler folds into the test (GCC never folds an atomic load: an instruction more
 * per use), except under TSan, which must see the access as the atomic relaxed load it is on
 * every target vcm builds for (an aligned word: never torn, never cached across the call). */
#if defined(__SANITIZE_THREAD__)
#define VCMI_PEEK(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VCMI_PEEK(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#endif
#endif
#ifndef VCMI_PEEK
#define VCMI_PEEK(x) (x)
#endif

/* One map entry per chunk of a segment, 4 bytes: flags in the top five bits, and the rest
 * (27 bits) the used bytes of a LIVE chunk or the link of any other. See docs/DESIGN.md §6.
 *   bit 31 LIVE, bit 30 PURGED (free, its pages returned to the OS), bit 29 REMOTE (freed by
 *   another thread, waiting in the segment's remote list), bit 28 MARK (checker scratch), bit
 *   27 AGED (free, seen free by a purge: purge.c).
 *   LIVE: bits 0..26 used bytes (< VCM_CLASS_MAX = 2^27);
 *   free: bits 0..26 the class-number of the next free chunk of its class (VCMI_NONE ends);
 *   REMOTE: bits 0..26 the next remote-freed chunk, k << 19 | g (heap.c; its used is gone). */
/* Reserve entries of a caller region in its head, shared by its classes: they fill the union
 * with the segment-only fields on 64-bit targets (24 pointers + 48 words = 89 + 1 + 6 words).
 * A disc whose map share leaves more room before the data keeps its reserves there. */
#define VCMI_RESERVE 89u
#define VCMI_LEVELS 8 /* bitmap levels: 64^7 > any bit count a 32-bit class-number allows */

typedef struct vcmi_entry {
  uint32_t state;
} vcmi_entry;

#define VCMI_USED_MASK 0x07FFFFFFu
#define VCMI_NONE VCMI_USED_MASK /* ends a list: the link field all ones (class-numbers and map
                                  * indices stay below 2^20) */
#define VCMI_AGED 0x08000000u
#define VCMI_MARK 0x10000000u
#define VCMI_REMOTE 0x20000000u
#define VCMI_PURGED 0x40000000u
#define VCMI_LIVE 0x80000000u
/* Segments only, buddy pairs (pair.h): MERGED with LIVE is a chunk spanning class-numbers g
 * (even) and g + 1, twice the class's capacity (a remote free's store drops it); HELD (REMOTE and
 * PURGED together, which no other state has) is an upper half off the free list and counted
 * live, PARKED for its live buddy or ABSORBED in a MERGED chunk (or QUAD, below, whose g + 2 is
 * HELD too); its link is its class's next pair with a held half (g + 2's: none). */
#define VCMI_MERGED VCMI_MARK
#define VCMI_HELD (VCMI_REMOTE | VCMI_PURGED)
/* With LIVE and MERGED, QUAD (the AGED bit, which a live entry has otherwise never) is a MERGED
 * pair g = 4q grown into the pair above: four times the class's capacity, g + 1 .. g + 3 HELD. */
#define VCMI_QUAD VCMI_AGED
/* Whether e is LIVE and single (no MERGED pair, nor QUAD: those go free's slow way, which
 * frees a big pair's upper half too, pair.h), by a peek (VCMI_PEEK) at its top byte alone: one
 * signed compare with memory, no load into a register (free's fast path does not need the
 * rest). That byte is LIVE | used bits 24-26 for a single live chunk (0x80-0x87: -128 .. -121
 * signed), LIVE | MERGED | QUAD? | those bits for a pair (0x90-0x9F: -112 .. -97), and under
 * 0x80 (0 .. 127) for any other entry. */
static inline int vcmi_entry_live(const vcmi_entry *e) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const signed char *top = (const signed char *)&e->state + sizeof e->state - 1u;
#else
  const signed char *top = (const signed char *)&e->state;
#endif
  _Static_assert((VCMI_LIVE | VCMI_MERGED) >> 24 == 0x90u && VCMI_QUAD >> 24 == 0x08u &&
                     VCMI_USED_MASK >> 24 == 0x07u,
                 "a single live entry's top byte is 0x80-0x87, a pair's 0x90 or more");
  return VCMI_PEEK(*top) < (signed char)-0x70; /* under 0x90 as signed */
}
#define VCMI_MAGIC 0x76636d48u /* "vcmH", the seed's typeof_vcm_head */

/* Class k holds chunks of capacity max >> k (k = 0 is the biggest). Class k's chunks, for all
 * channels, lie in one area of `stride` = n_channels * max bytes at data + k * stride; chunk
 * number g of class k is at data + k*stride + g*(max >> k) and belongs to channel g >> k.
 * Its map entry is map[n_channels * (2^k - 1) + g]. A process segment may scale all of this
 * by an odd 1 + xscale: capacities (1 + xscale) * (max >> k), the stride likewise, for the
 * classes between the powers of two (docs/DESIGN.md §6); xscale is 0 elsewhere. */
typedef struct vcmi_region {
  uint32_t magic;
  uint8_t lmin, lmax, nclass, stride_log2; /* stride_log2 = 0: stride not a power of two */
  uint8_t rsv;                         /* caller regions: reserve slots per class (<= 255) */
  uint16_t xscale;                     /* up to 510: a fitted class's 1 + x (fit.c) */
  uint32_t n_channels;
  union {
    uint32_t avail;                  /* caller regions: bit k iff class k has a free chunk */
    uint32_t paired;                 /* segments: bit k iff pairs[k] is set (pair.h) */
  };
  unsigned char *data;
  vcmi_entry *map;
  size_t stride;
  union {
    struct { /* segments only */
      vcmi_entry *mapk[VCM_MAX_CLASSES];   /* class k's first map entry (saves a multiply) */
      uint32_t free_head[VCM_MAX_CLASSES]; /* first free class-number, VCMI_NONE if none */
      uint32_t fresh[VCM_MAX_CLASSES];     /* class-numbers >= fresh[k] were never handed out */
    };
    struct { /* caller regions only: the reserves of freed, unmerged chunks (region.c, B5) */
      uint32_t cache_in[VCMI_RESERVE];     /* the reserves when the disc has no room for them */
      uint32_t cmask;                      /* bit k iff ncache[k] > 0 */
      uint8_t ncache[VCM_MAX_CLASSES];
    };
  };
  uint32_t live[VCM_MAX_CLASSES];      /* live chunks per class */
  size_t live_cap, peak_cap;           /* caller regions only: kept by region.c's API */
  uint32_t *cache;                     /* reserves on the disc, NULL: in cache_in. Class k's:
                                        * [k*rsv .. k*rsv + ncache[k]) */
  size_t failed;
  size_t realloc_inplace, realloc_moved, bytes_copied;
  vcm_misuse_fn handler;
  void *handler_ctx;
  void *owner;                         /* process heap: the owning thread heap */
  uint32_t remote_head;                /* process heap: list of REMOTE chunks (heap.c names them) */
  /* Caller regions only: the split/merge map (region.c, docs/DESIGN.md §2). NULL slot: a
   * segment, laid out in fixed class areas (the fields above). */
  uint16_t *slot;                      /* one 16-bit slot per 16-byte granule of data */
  uint64_t *bits;                      /* free bitmap (class-major) and its 64-ary summaries */
  uint32_t nbits;                      /* level-0 bits: nblocks * (2^nclass - 1) < 2^32 */
  union {
    struct {
      uint32_t lvl[VCMI_LEVELS];       /* word offset of each level in bits */
      uint32_t lvln[VCMI_LEVELS];      /* bits in each level */
    };
    struct { /* segments: the scan of pair.c's takes, class k at k - VCMI_PAIR_K_MIN (segment.h) */
      uint32_t pair_at[VCMI_LEVELS];   /* the pair number the next take looks at first */
      uint32_t pair_dry[VCMI_LEVELS];  /* bit lg: a take of 2^lg chunks found none since a purge */
    };
  };
  union {
    uint32_t first[VCM_MAX_CLASSES];   /* class k has no free chunk below this one (a hint) */
    /* segments: class k's pairs with a HELD half, by pair number g >> 1, linked through that
     * half's entry (VCMI_NONE ends; unset while bit k of paired is 0) */
    uint32_t pairs[VCM_MAX_CLASSES];
  };
  uint32_t nblocks;                    /* max-sized blocks: n_channels * nclass */
  uint32_t depth;                      /* levels; the last one is a single word */
  union {
    uint32_t nfree[VCM_MAX_CLASSES];   /* free chunks per class */
    uint32_t held[VCM_MAX_CLASSES];    /* segments: HELD entries per class, in live[k] too
                                        * (they hold their memory; no chunk) */
  };
  uint32_t peak[VCM_MAX_CLASSES];      /* high-water of live[k] */
  size_t map_bytes;
  size_t steps, max_steps;             /* map steps of the current / the longest operation */
} vcmi_region;

/* Where a pointer falls. */
typedef struct vcmi_loc {
  size_t k;    /* class (pointer-sized: an index on the fast paths) */
  uint32_t g;  /* class-number */
  vcmi_entry *e;
} vcmi_loc;

static inline vcmi_region *vcmi_region_of(vcm_region *r) { return (vcmi_region *)(void *)r; }

static inline size_t vcmi_class_cap(const vcmi_region *r, unsigned k) {
  return (size_t)(1u + r->xscale) << (r->lmax - k);
}
static inline unsigned char *vcmi_chunk_addr(const vcmi_region *r, unsigned k, uint32_t g) {
  return r->data + (size_t)k * r->stride + (((size_t)g * (1u + r->xscale)) << (r->lmax - k));
}
static inline vcmi_entry *vcmi_entry_at(const vcmi_region *r, unsigned k, uint32_t g) {
  return r->mapk[k] + g; /* = map + n_channels * (2^k - 1) + g */
}
/* The link of a free or REMOTE entry's state s; setting one keeps the entry's flags. */
static inline uint32_t vcmi_link(uint32_t s) { return s & VCMI_NONE; }
/* An entry's owner writes it (in a segment, the thread whose heap holds it), others read it
 * too: a remote free's, a racing double free's loser, the stats. So every store is atomic
 * (relaxed: the same plain store on x86 and ARM; whole, not torn, and seen so by TSan). */
static inline void vcmi_entry_set(vcmi_entry *e, uint32_t s) {
  __atomic_store_n(&e->state, s, __ATOMIC_RELAXED);
}
static inline void vcmi_set_link(vcmi_entry *e, uint32_t g) {
  vcmi_entry_set(e, (e->state & ~VCMI_NONE) | g);
}

/* Lay out a region over separate map and data areas (the process heap keeps the map on its
 * own pages). data must hold nclass * n_channels * max bytes, map n_channels*(2^nclass-1)
 * entries; neither needs zeroing. The geometry must already be valid (VCMI_ASSERT in test
 * builds); never fails. */
void vcmi_region_setup(vcmi_region *r, void *data, void *map, uint32_t n_channels,
                       unsigned lmin, unsigned lmax);

static inline unsigned vcmi_log2(size_t x) { /* floor, x > 0 */
  return (unsigned)(63 ^ __builtin_clzll((unsigned long long)x)); /* x86: one BSR (63 - clz: 3) */
}

/* Class for n bytes (n <= max). */
static inline unsigned vcmi_class_of(const vcmi_region *r, size_t n) {
  VCMI_ASSERT(n <= ((size_t)1 << r->lmax));
  if (n <= ((size_t)1 << r->lmin)) return r->nclass - 1u;
  return r->lmax - (vcmi_log2(n - 1) + 1u); /* ceil(log2 n) */
}

/* Hand out chunk g of class k with used = n. */
static inline void *vcmi_hand_out(vcmi_region *r, unsigned k, uint32_t g, vcmi_entry *e, size_t n) {
  vcmi_entry_set(e, VCMI_LIVE | (uint32_t)n);
  r->live[k]++;
  return vcmi_chunk_addr(r, k, g);
}

/* A chunk of class k from its free list; NULL if the list is empty. */
static inline void *vcmi_take_free(vcmi_region *r, unsigned k, size_t n) {
  uint32_t g = r->free_head[k];
  if (g == VCMI_NONE) return 0;
  vcmi_entry *e = vcmi_entry_at(r, k, g);
  r->free_head[k] = vcmi_link(e->state);
  return vcmi_hand_out(r, k, g, e, n);
}

/* A never-used chunk of class k; NULL if the class is used up. fresh[k] is read by other
 * threads locating remote frees, hence the atomic store (a plain store on every target). */
static inline void *vcmi_take_fresh(vcmi_region *r, unsigned k, size_t n) {
  uint32_t g = r->fresh[k];
  if (g >= (r->n_channels << k)) return 0;
  __atomic_store_n(&r->fresh[k], g + 1u, __ATOMIC_RELAXED);
  return vcmi_hand_out(r, k, g, vcmi_entry_at(r, k, g), n);
}

/* Locate p: 0 and *out if p is the start of a chunk handed out, -1 otherwise (no handler).
 * Caller regions only (xscale 0); segments use vcmi_seg_locate (heap.h).
 * The only division is off / stride, and only when stride is not a power of two. */
static inline int vcmi_locate(const vcmi_region *r, const void *p, vcmi_loc *out) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)r->data;
  if ((uintptr_t)p < (uintptr_t)r->data || off >= r->stride * r->nclass) return -1;
  size_t k = r->stride_log2 ? off >> r->stride_log2 : off / r->stride;
  size_t in = off - k * r->stride;
  unsigned shift = r->lmax - (unsigned)k;
  if (in & (((size_t)1 << shift) - 1u)) return -1;
  uint32_t g = (uint32_t)(in >> shift);
  if (g >= __atomic_load_n(&r->fresh[k], __ATOMIC_RELAXED)) return -1;
  out->k = (unsigned)k;
  out->g = g;
  out->e = vcmi_entry_at(r, (unsigned)k, g);
  return 0;
}

/* Return a located live chunk to its class's free list (the entry must be LIVE or REMOTE). */
static inline void vcmi_release(vcmi_region *r, const vcmi_loc *loc) {
  vcmi_entry *e = loc->e;
  VCMI_ASSERT((e->state & (VCMI_LIVE | VCMI_REMOTE)) && r->live[loc->k] > 0);
  r->live[loc->k]--;
  vcmi_entry_set(e, r->free_head[loc->k]);
  r->free_head[loc->k] = loc->g;
}

/* Report misuse through the region's handler (with the reason's text, misuse.h); returns if
 * the handler returns. No lock (a region is its owner's to use). */
void vcmi_misuse(vcmi_region *r, const void *p, vcmi_why why);

#endif
