/* Internal interfaces of the thread heaps (heap.c; their lives, heaps.c): heaps and their
 * segments, each a region.
 * Not installed. Unless said otherwise a function needs no lock and holds none on return;
 * those that take heaps_lock take it briefly (then maybe meta_lock, the lock order). A pointer
 * that is not a live chunk start is reported (misuse.h) and the call does nothing. */
#ifndef VCMI_HEAP_H
#define VCMI_HEAP_H
#include <stddef.h>
#include <stdint.h>

#include "meta.h"
#include "region.h"
#include "segment.h"
#include "sizes.h"

/* Capacity by intent (docs/DESIGN.md §6): the heap's classes t are 16, 32, 48, 64, then four
 * per doubling (5/4, 6/4, 7/4 and 2 times a power of two) up to 256 KiB, except from 1 to 8 KiB:
 * there, eight per doubling, 2^l times 33/32, 34/32, 35/32, 36/32 and then the four (a power of
 * two plus a header, as sqlite's 1,032 and 4,368-byte blocks, wastes 3% at most, not 25%).
 * malloc and calloc take the tightest; a realloc (from NULL or growing) and an aligned
 * allocation take a power of two. Class t is region class vcmi_tclass[t].k of the segments
 * with xscale vcmi_tclass[t].x; an xscale over VCMI_XSCALE_WIDE is a fine segment's, which
 * holds that one class (heap.c).
 * Colours: malloc's class for 2^l bytes, 2 to 32 KiB, is 2^l * 129/128 (xscale
 * VCMI_XSCALE_COLOUR, segment.h), not the power of two, which realloc and aligned allocations
 * keep (classes VCMI_NTIGHT .. VCMI_NFIXED - 1). Chunks of a power of two of a page or more all
 * start at one offset in their pages, so same-sized blocks written in step (C++ containers
 * grown side by side, g7) fall in the same sets of the caches; 2^l / 128 more puts each chunk
 * 16 to 256 bytes further on in its page than the last (docs/DESIGN.md §6). */
#define VCMI_BAND_N 8u   /* classes per doubling from 1 to 8 KiB */
#define VCMI_BAND_T0 20u  /* the first class over 1 KiB */
#define VCMI_XSCALE_WIDE 6u /* xscale 0, 2, 4, 6: segments of every class */
#define VCMI_COLOUR_LMIN 11u /* colour classes: 2^11 .. 2^15 bytes */
#define VCMI_COLOUR_LMAX 15u
#define VCMI_NTIGHT (VCMI_BAND_T0 + 3u * VCMI_BAND_N + 20u)
/* the fixed classes: the tight ones, then the powers of two that a colour class stands for */
#define VCMI_NFIXED (VCMI_NTIGHT + VCMI_COLOUR_LMAX - VCMI_COLOUR_LMIN + 1u)
/* Fitted classes (docs/DESIGN.md §6): a size in (1 KiB, 8 KiB] that starts most of its class's
 * fresh batches gets a class of its own, the size rounded up to 16 bytes (1 + x odd and
 * under 512): classes VCMI_NFIXED .. VCMI_NCLS - 1, given while the process
 * runs (fit.c, vcmi_fit_note), at most VCMI_NFIT. vcmi_fit_t[(n - 1 - 1024) / 16] is the class of
 * the 16-byte bucket of n, 0 while it has none; it is set after vcmi_tclass[t] (release). */
#define VCMI_NFIT 8u
#define VCMI_NCLS (VCMI_NFIXED + VCMI_NFIT)
#define VCMI_FIT_MIN 1024u
#define VCMI_FIT_MAX 8192u
typedef struct vcmi_tclass_t {
  uint32_t cap;       /* its capacity */
  uint32_t k, x;      /* region class k of the segments of xscale x */
  uint32_t pad;       /* 16 bytes: an index is a shift */
} vcmi_tclass_t;
/* past VCMI_NFIXED: slot t written once, by the thread whose count of vcmi_fit_given took it */
extern vcmi_tclass_t vcmi_tclass[VCMI_NCLS];
extern uint8_t vcmi_fit_t[(VCMI_FIT_MAX - VCMI_FIT_MIN) / 16u];
extern uint32_t vcmi_fit_given; /* fitted classes given, at most VCMI_NFIT (fit.c) */
extern const uint8_t vcmi_band_idx[32];
static inline unsigned vcmi_tight_class_calc(size_t n) {
  VCMI_ASSERT(n <= VCMI_SMALL_MAX);
  if (n <= 64) return n <= 16 ? 0u : (unsigned)((n + 15u) >> 4) - 1u;
  unsigned l = vcmi_log2(n - 1u); /* n in (2^l, 2^(l+1)], l >= 6 */
  if (l < 10u) return 4u + (l - 6u) * 4u + ((unsigned)((n - 1u) >> (l - 2u)) & 3u);
  if (l < 13u)
    return VCMI_BAND_T0 + (l - 10u) * VCMI_BAND_N + vcmi_band_idx[((n - 1u) >> (l - 5u)) & 31u];
  return VCMI_BAND_T0 + 3u * VCMI_BAND_N + (l - 13u) * 4u + ((unsigned)((n - 1u) >> (l - 2u)) & 3u);
}
/* vcmi_tight_class_calc(16 * i) for i <= 64: every n in (16(i-1), 16i] has that class, since
 * class bounds up to 1 KiB are multiples of 16. */
#define VCMI_TIGHT_TABLE_MAX 1024u
extern const uint8_t vcmi_tight_table[VCMI_TIGHT_TABLE_MAX / 16u + 1u];
/* Class t carved a fresh batch of `carved` bytes for a request of n bytes: n may be given a
 * fitted class (fit.c). Any thread, no lock. */
void vcmi_fit_note(unsigned t, size_t n, size_t carved);
/* The tightest class for 1 KiB < n <= VCMI_SMALL_MAX: n's fitted class if it has one. */
static inline unsigned vcmi_mid_class(size_t n) {
  if (n <= VCMI_FIT_MAX) {
    unsigned f = __atomic_load_n(&vcmi_fit_t[(n - 1u - VCMI_FIT_MIN) >> 4], __ATOMIC_ACQUIRE);
    if (f) return f;
  }
  return vcmi_tight_class_calc(n);
}
static inline unsigned vcmi_tight_class(size_t n) {
  return n <= VCMI_TIGHT_TABLE_MAX ? vcmi_tight_table[(n + 15u) >> 4] : vcmi_mid_class(n);
}
/* vcmi_pow2_class_t[j]: the power-of-two class of 2^j bytes (j = 4 .. VCMI_LMAX). */
extern const uint8_t vcmi_pow2_class_t[VCMI_LMAX + 1u];
static inline unsigned vcmi_pow2_class(size_t n) {
  return n <= 16 ? 0u : vcmi_pow2_class_t[vcmi_log2(n - 1u) + 1u];
}

/* What malloc touches of class t's current region r = cur[t] (region class k), so that it
 * needs neither k nor r: one base for the free-list head and live count (r's arrays of 32-bit
 * words, at rk + their offsets), the map entries, the first chunk and the capacity. */
typedef struct vcmi_bin {
  unsigned char *rk;   /* (unsigned char *)r + 4 k */
  vcmi_entry *map;     /* r->mapk[k] */
  unsigned char *area; /* the segment's area[k] (NULL for the empty dummy region) */
  size_t cap;          /* the segment's cap[k] (0 likewise) */
} vcmi_bin;
/* Class k's 32-bit word of r's array field, from rk. */
#define VCMI_BIN_WORD(rk, field) (*(uint32_t *)(void *)((rk) + offsetof(vcmi_region, field)))

#define VCMI_SEG_INDEX 16u /* segments a heap's index holds (vcmi_heap) */
/* A thread heap: the segments one thread allocates from. Only its thread touches it, except
 * remote_pending (any thread sets it) and the lists under heaps_lock. */
#define VCMI_DROP_BATCH 8u /* the most sources of moves listed for one drop (chunk.c) */
typedef struct vcmi_heap {
  /* bin[vcmi_tight_table[i]], copied (heap_set_cur keeps them equal): malloc of up to
   * VCMI_TIGHT_TABLE_MAX bytes reads its bin here, no pointer to it loaded first */
  vcmi_bin direct[VCMI_TIGHT_TABLE_MAX / 16u + 1u];
  vcmi_bin bin[VCMI_NCLS];       /* class t's current region, as malloc reads it */
  vcmi_region *cur[VCMI_NCLS];   /* class t allocates here first; never NULL (heap_set_cur) */
  vcmi_segment *segs;
  /* segs in list order with their xscales, for take_any's walks, which then read the header of
   * no segment of another scale: every header is 2 MiB aligned, so all of them fall in one set
   * of each cache, and r1's 16 segments missed at every walk (callgrind with a 512 KiB L2: 47
   * misses a call). seg_n: 0 to be rebuilt (any change of the list), else their number + 1,
   * or VCMI_SEG_INDEX + 2 if they are more (the list is walked). */
  vcmi_segment *seg_at[VCMI_SEG_INDEX];
  uint16_t seg_x[VCMI_SEG_INDEX]; /* a fitted class's xscale is up to 510 */
  uint32_t seg_n;
  int remote_pending;            /* a segment of ours has chunks on its remote list */
  int orphan;                    /* fork child: its thread is gone, maybe mid-operation */
  long tid;                      /* the thread using it; 0 on the abandoned or spare list */
  int check;                     /* VCM_CHECK: slack and free-fill checks (slow paths only) */
  ptrdiff_t credit;              /* purge_at - bytes freed (here and remotely) since the last
                                  * purge: a purge is due at 0 (check mode: -PURGE_BYTES) */
  size_t grown;                  /* bytes of fresh chunks carved since the last purge */
  void *fresh_clean;             /* the last chunk take_fresh handed out if its pages were never
                                  * written (no donation moved pages there): a move may remap
                                  * onto it, as no resident page of it is lost (chunk.c) */
  vcmi_segment *carve_s;         /* the class that last carved fresh chunks (segment, class), */
  uint32_t carve_k;              /* of those a donation goes to (carve_s NULL: none yet) */
  vcmi_segment *lane_s;          /* the segment whose head take served class lane_t's last */
  uint32_t lane_t;               /* slow malloc (take_any; lane_s NULL: none) */
  size_t purge_at;               /* the bytes a purge interval frees (heap_purge sets it) */
  size_t live_at;                /* bytes in live chunks at the last purge */
  int held;                      /* the last purge dropped nothing: it ended a burst of frees */
  size_t hold_live, hold_left;   /* holding a burst's chunks (hold_live != 0): until live
                                    reaches hold_live or hold_left more bytes are allocated */
  size_t hold_rss;               /* the process's resident bytes when the hold began */
  size_t realloc_inplace, realloc_moved, bytes_copied;
  struct vcmi_heap *next_all, *next_abandoned;
  /* chunks of this heap's segments that moves copied from (not remapped) and freed: their pages
   * go together, by vcmi_moved_drop (chunk.c), those still free then; drop_kg: k << 24 | g */
  vcmi_region *drop_r[VCMI_DROP_BATCH];
  uint32_t drop_kg[VCMI_DROP_BATCH];
  unsigned drop_n, drop_pages; /* listed, and their pages */
} vcmi_heap;

/* Drop the pages of the chunks h's moves copied from (drop_r) that are still free, in one
 * call (chunk.c). Before h's segments go or change hands, and before a purge. Owner only. */
void vcmi_moved_drop(vcmi_heap *h);

/* This thread's heap, &vcmi_no_heap if it has none (never NULL). */
extern __thread vcmi_heap *vcmi_tls_heap __attribute__((tls_model("initial-exec")));
/* The reallocs vcm_realloc's fast path kept in place on this thread (alloc.c), any heap or
 * none: added to realloc_inplace of the heap this thread purges (heap.c) and at its exit
 * (heaps.c); read with the caller's own heap's by vcm_stats_get. Not the heap's: that path
 * loads no heap. */
extern __thread size_t vcmi_tls_inplace __attribute__((tls_model("initial-exec")));
extern vcmi_heap vcmi_no_heap;

/* Allocate from class k when this thread has no heap: its first allocation, or one by a key
 * destructor after the thread gave its heap up (heaps.c). NULL if OOM (errno left to the
 * caller). Takes heaps_lock. */
void *vcmi_heap_alloc_first(unsigned k, size_t n);
/* Class k has no free chunk in h->cur[k]: collect remote frees, take a fresh chunk, try
 * other segments, adopt an abandoned heap's, or map a new segment. grow: VCMI_GROW for a
 * growing realloc, which may also take two free buddies of the class below as one chunk
 * (pair.h); a fresh allocation (0) only from a class below that carves no more, among its latest
 * frees (vcmi_pair_take_head). VCMI_GROW_REUSE: as VCMI_GROW, but NULL rather
 * than a fresh chunk (chunk.c: the caller has a place of its own then). NULL if the OS refuses
 * (errno left to the caller). h is this thread's heap. May take heaps_lock. */
#define VCMI_GROW 1
#define VCMI_GROW_REUSE 2
/* Or'ed to VCMI_GROW: the realloc grows by an append (VCMI_SLIDE_STEP or less), and may take
 * four free buddies two classes below as one QUAD (pair.h). */
#define VCMI_GROW_APPEND 4
void *vcmi_heap_alloc_slow(vcmi_heap *h, unsigned k, size_t n, int grow);
/* Segment geometry as constants: the fast paths below are vcmi_take_free and vcmi_locate of
 * region.h with the stride (VCMI_SEG_STRIDE_LOG2) and the class sizes folded in. The
 * check-mode dummy region has empty free lists, so it always falls through. */

/* Bin i of h: malloc's copy for the 16-byte step i if direct, else class i's. */
static inline const vcmi_bin *vcmi_bin_at(const vcmi_heap *h, int direct, size_t i) {
  return direct ? &h->direct[i] : &h->bin[i];
}
/* Hand out g, the head of bin i's free list (vcmi_bin_at; the caller read its rk), with used =
 * n. The empty asm makes h opaque between the reads, so that each field is read at h + the
 * bin's offset (an indexed load), not through the bin's address computed once first (GCC
 * shares the address of several uses: an add, and for bin[] an lea and a copy more). */
#define VCMI_OPAQUE(x) __asm__("" : "+r"(x))
static inline void *vcmi_bin_take(vcmi_heap *h, int direct, size_t i, unsigned char *rk,
                                  uint32_t g, size_t n) {
  VCMI_OPAQUE(h);
  vcmi_entry *map = vcmi_bin_at(h, direct, i)->map;
  VCMI_BIN_WORD(rk, free_head) = vcmi_link(map[g].state);
  VCMI_OPAQUE(map); /* the entry written at map + g too, no address computed first */
  vcmi_entry_set(&map[g], VCMI_LIVE | (uint32_t)n);
  VCMI_BIN_WORD(rk, live)++;
  VCMI_OPAQUE(h);
  const vcmi_bin *b = vcmi_bin_at(h, direct, i);
  return b->area + g * b->cap;
}
/* The head of class t's free list in h->cur[t], or NULL if it is empty (always for the
 * check-mode dummy and for vcmi_no_heap). */
static inline void *vcmi_heap_pop(vcmi_heap *h, unsigned t, size_t n) {
  unsigned char *rk = h->bin[t].rk;
  uint32_t g = VCMI_BIN_WORD(rk, free_head);
  return VCMI_LIKELY(g != VCMI_NONE) ? vcmi_bin_take(h, 0, t, rk, g, n) : NULL;
}
static inline void *vcmi_heap_alloc_class(vcmi_heap *h, unsigned t, size_t n) {
  void *p = vcmi_heap_pop(h, t, n);
  return VCMI_LIKELY(p != NULL) ? p : vcmi_heap_alloc_slow(h, t, n, 0);
}
static inline int is_owner(vcmi_region *r, vcmi_heap *h) {
  return h && __atomic_load_n((vcmi_heap **)&r->owner, __ATOMIC_RELAXED) == h;
}
/* A small block of class t recording used bytes, from this thread's heap. */
static inline void *vcmi_small_alloc_class(unsigned t, size_t used) {
  vcmi_heap *h = vcmi_tls_heap;
  return VCMI_LIKELY(h != &vcmi_no_heap) ? vcmi_heap_alloc_class(h, t, used)
                                         : vcmi_heap_alloc_first(t, used);
}
/* malloc's intent: the tightest class >= size. */
static inline void *vcmi_small_alloc(size_t size, size_t used) {
  return vcmi_small_alloc_class(vcmi_tight_class(size), used);
}
/* A vector's (growing realloc, aligned): a power of two >= size, aligned to itself. */
static inline void *vcmi_small_alloc_pow2(size_t size, size_t used) {
  return vcmi_small_alloc_class(vcmi_pow2_class(size), used);
}
/* A growing realloc's chunk of at least size bytes, used = size: a vector's capacity, as
 * vcmi_small_alloc_pow2, from the class's free chunks, or else maybe two free buddies of the class
 * below, or four two below (vcmi_heap_alloc_slow's grow: VCMI_GROW, maybe VCMI_GROW_APPEND). */
static inline void *vcmi_small_alloc_grow(size_t size, int grow) {
  vcmi_heap *h = vcmi_tls_heap;
  unsigned t = vcmi_pow2_class(size);
  void *p = vcmi_heap_pop(h, t, size);
  if (VCMI_LIKELY(p != NULL)) return p;
  return h != &vcmi_no_heap ? vcmi_heap_alloc_slow(h, t, size, grow)
                            : vcmi_heap_alloc_first(t, size);
}
/* vcmi_locate for a segment region: 0 and *out if p starts a chunk handed out, else -1.
 * vcmi_seg_find without the bound (0) skips the test against fresh[k]: for fast paths that
 * then require the entry LIVE, which an entry at or above fresh[k] never is (its map page is
 * new or dropped, or it was last written while its chunk was free, before a purge lowered
 * fresh[k]). */
static inline int vcmi_seg_find(const vcmi_region *r, const void *p, vcmi_loc *out, int bound) {
  /* off = scale * (an offset of the power-of-two layout), scale = 1 + xscale (odd). If off is
   * a multiple of scale, m = off * scale^-1 mod 2^64 is off / scale; if m < 2^64 / scale, then
   * m * scale = off as integers, so off is that multiple. So m below the classes' 15 * 2^23
   * bytes (m * scale < 2^64) finds the offset and rejects all else (not a multiple, below the
   * data, wrapped, past the classes) in one multiply and one bound: no division, no branch on
   * the scale (docs/DESIGN.md §6). The chunk-start test below rejects a misaligned m. */
  const vcmi_segment *s = (const vcmi_segment *)(const void *)r;
  uint64_t off = (uintptr_t)p - (uintptr_t)r->data; /* huge if p is below data */
  uint64_t m = off * s->inv;
  if (m >= ((uint64_t)VCMI_NCLASS << VCMI_SEG_STRIDE_LOG2)) return -1;
  /* m: bytes of the power-of-two layout, class areas of 2^S bytes (S = VCMI_SEG_STRIDE_LOG2 =
   * VCMI_LMAX + C, C = VCMI_SEG_CHANNELS_LOG2): m = k 2^S + a, a chunk of class k spans
   * 2^(LMAX - k) bytes. y = a << (64 - S) (k shifted out), rotated left by k + C: its low bits
   * are the class-number a >> (LMAX - k) (< 2^(C + k)), and the bytes into the chunk land at
   * bit 64 - LMAX + k and up. So one bound tests the chunk start and leaves g: a shift, a
   * rotate, no mask and no shift back (kc = k + C indexes the per-class arrays, the - C folded
   * into their displacements). */
  size_t kc = (size_t)((m + ((uint64_t)VCMI_SEG_CHANNELS_LOG2 << VCMI_SEG_STRIDE_LOG2)) >>
                       VCMI_SEG_STRIDE_LOG2);
  uint64_t y = m << (64u - VCMI_SEG_STRIDE_LOG2);
  unsigned rot = (unsigned)kc & 63u;
  uint64_t x = (y << rot) | (y >> (-rot & 63u));
  if (x >= ((uint64_t)1 << (VCMI_SEG_CHANNELS_LOG2 + VCMI_NCLASS - 1u))) return -1; /* inside a chunk */
  size_t k = kc - VCMI_SEG_CHANNELS_LOG2;
  uint32_t g = (uint32_t)x;
  if (bound && g >= __atomic_load_n(&r->fresh[k], __ATOMIC_RELAXED)) return -1;
  out->k = k;
  out->g = g;
  out->e = r->mapk[k] + g;
  return 0;
}
static inline int vcmi_seg_locate(const vcmi_region *r, const void *p, vcmi_loc *out) {
  return vcmi_seg_find(r, p, out, 1);
}
/* Free a chunk of a segment region (from the pagemap): the owner's live chunk inline, all
 * else (another thread's chunk, misuse, a purge due) in vcmi_seg_free_slow, which may purge
 * (taking heaps_lock to unlink an empty segment). p first, here and in vcmi_seg_free_remote:
 * free's p stays in the register it came in, and the segment's index is computed off a copy
 * (an lea), not p copied away first (one instruction on every free). */
void vcmi_seg_free_slow(void *p, vcmi_region *r);
/* (remote.c) vcmi_seg_free_slow for a LIVE chunk of another thread's heap that vcmi_seg_find (unbounded)
 * located at entry map + g of class k (map = r->mapk[k]): the remote push, or the report of a
 * racing double free. kc = k + VCMI_SEG_CHANNELS_LOG2, the index vcmi_seg_find computes. Free's
 * fast path passes what it holds in registers, so that it computes neither k nor the entry's
 * address. */
void vcmi_seg_free_remote(void *p, vcmi_region *r, vcmi_entry *map, uint32_t g, size_t kc);
/* The inline part: 0 if p was a live chunk (with used bytes = size ^ VCMI_LIVE if sized: the
 * check of free_sized, folded away for free) and is freed, or pushed to its owner if another thread's;
 * -1: nothing done. */
static inline __attribute__((always_inline)) int vcmi_seg_free_fast(vcmi_region *r, void *p,
                                                                  int sized, size_t size) {
  vcmi_heap *h = vcmi_tls_heap;
  vcmi_loc loc;
  if (VCMI_UNLIKELY(vcmi_seg_find(r, p, &loc, 0) != 0)) return -1;
  /* LIVE first (a peek: another thread's chunk may be changing; its push CASes it again);
   * sized: the entry is size, the caller's LIVE ^ its size (LIVE and the rest exactly that
   * size; no other flag: a MERGED pair's goes the slow way; the XOR, not an OR, so that a
   * size with bit 31 set never matches a live entry; the caller passes no size over
   * VCMI_USED_MASK, whose XOR would lack LIVE and match a free entry) */
  vcmi_entry *map = loc.e - loc.g; /* r->mapk[k], the register the locate left: each use of
                                    * the entry is read at map + g (VCMI_OPAQUE, as in
                                    * vcmi_bin_take), no address computed first */
  if (VCMI_UNLIKELY(sized ? VCMI_PEEK(map[loc.g].state) != (uint32_t)size
                          : !vcmi_entry_live(&map[loc.g])))
    return -1;
  VCMI_OPAQUE(map);
  /* a segment's owner is a real heap, so a thread without one (vcmi_no_heap) fails the test */
  if (VCMI_UNLIKELY(VCMI_PEEK(r->owner) != (void *)h)) {
    vcmi_seg_free_remote(p, r, map, loc.g, loc.k + VCMI_SEG_CHANNELS_LOG2); /* no 2nd locate */
    return 0;
  }
  /* the free that makes a purge due (and all of check mode's, whose credit stays at or below
   * 0) goes the slow way */
  ptrdiff_t cap = (ptrdiff_t)((const vcmi_segment *)(const void *)r)->cap[loc.k];
  if (VCMI_UNLIKELY((h->credit -= cap) < 0)) {
    __asm__ volatile("" ::: "memory"); /* undone from memory: no copy kept on the fast path */
    h->credit += cap;
    return -1;
  }
  /* vcmi_release, its words read at r + their offsets (as vcmi_bin_take's) */
  size_t kc = loc.k + VCMI_SEG_CHANNELS_LOG2; /* the register the locate left */
  uint32_t head = r->free_head[kc - VCMI_SEG_CHANNELS_LOG2];
  VCMI_OPAQUE(kc);
  r->live[kc - VCMI_SEG_CHANNELS_LOG2]--;
  vcmi_entry_set(&map[loc.g], head);
  VCMI_OPAQUE(kc);
  r->free_head[kc - VCMI_SEG_CHANNELS_LOG2] = loc.g;
  return 0;
}
/* Always inlined: free's whole fast path is one function (GCC stopped inlining it once the
 * entry's store became atomic, c712055: a tail call, +4 instructions a free on s1). */
static inline __attribute__((always_inline)) void vcmi_seg_free(vcmi_region *r, void *p) {
  if (VCMI_UNLIKELY(vcmi_seg_free_fast(r, p, 0, 0) != 0)) vcmi_seg_free_slow(p, r);
}
/* vcmi_release by the owner off free's fast path, by a CAS from the entry's LIVE state seen:
 * 0, nothing changed, if it is not LIVE (any more): a remote free of the same chunk (a double
 * free) turned it REMOTE since, and a plain store would put the chunk on two lists. For frees
 * whose window is wide (a realloc's copy) or rare (the slow path): free's fast path stores. */
static inline int vcmi_release_live(vcmi_region *r, const vcmi_loc *loc, uint32_t state) {
  do {
    if (!(state & VCMI_LIVE)) return 0;
  } while (!__atomic_compare_exchange_n(&loc->e->state, &state, r->free_head[loc->k], 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  r->live[loc->k]--;
  r->free_head[loc->k] = loc->g;
  return 1;
}
/* A realloc to this many bytes or fewer moves a chunk down: a quarter of a power-of-two
 * capacity (a vector shrinking a little and regrowing stays), half of a scaled one (it came
 * from malloc and never grew: a buffer trimmed to its contents). */
static inline size_t vcmi_shrink_floor(const vcmi_region *r, size_t cap) {
  return cap >> ((const vcmi_segment *)(const void *)r)->shrink; /* r->xscale ? 1 : 2 */
}
/* Count a realloc that moved keep bytes, on this thread's heap (if it has one). */
static inline void vcmi_heap_count_move(size_t keep) {
  vcmi_heap *h = vcmi_tls_heap;
  if (h != &vcmi_no_heap) {
    h->realloc_moved++;
    h->bytes_copied += keep;
  }
}
/* For chunk.c (heap.c's): VCM_CHECK=1 fills free chunks and live slack with VCMI_CHECK_FILL. */
#define VCMI_CHECK_FILL 0xA5u
/* Locate p in r (0), or report why it is not a chunk start (-1): interior, or foreign (the
 * caller's words) if p is not in r's segment. */
int vcmi_seg_locate_or_report(vcmi_region *r, const void *p, vcmi_loc *loc, vcmi_why foreign);
/* Between heap.c (a heap's segments, allocation and purges) and heaps.c (the heaps' lives:
 * taken, given up, reclaimed from a dead thread, trimmed, forked, walked). */
/* The lock of the lists of heaps, of each heap's list of segments (for the walks of other
 * threads) and of the pool of empty segments (heap.c; lock order: heap.c's top). */
extern vcmi_lock vcmi_heaps_lock;
/* Heaps no thread holds, by next_abandoned, under vcmi_heaps_lock: abandoned, with their
 * segments (given up at a thread's exit, heaps.c), for the next thread that starts (heaps.c,
 * heap_take) or runs short (heap.c, adopt); spare, structs without segments (adopted), for
 * heap_take. Defined in heap.c, whose adopt is on malloc's slow path. */
extern vcmi_heap *vcmi_heaps_abandoned, *vcmi_heaps_spare;
/* Purges this thread made (of the one heap it holds from its first allocation to its exit):
 * counted by vcmi_heap_purge_as, read at the thread's exit (heaps.c, heap_give_up), kept
 * across malloc_trim's purges of a dead thread's heap (vcmi_heap_trim). */
extern __thread uint32_t vcmi_heap_own_purges __attribute__((tls_model("initial-exec")));
/* A purge of h is due (check mode: every PURGE_BYTES, heap.c; its credit, at most 0, sends
 * every free here). Needs options.h. */
#define VCMI_PURGE_DUE(h)                                                                    \
  ((h)->credit <= ((h)->check ? -(ptrdiff_t)vcmi_opt_bytes(VCMI_OPT_PURGE_MB) : 0))
/* The in-place reallocs this thread's fast path counted (vcmi_tls_inplace), into h. */
static inline void vcmi_heap_inplace_flush(vcmi_heap *h) {
  h->realloc_inplace += vcmi_tls_inplace;
  vcmi_tls_inplace = 0;
}
/* A hold is its thread's phase (a burst it freed, kept for its rebuild): it ends with the
 * thread. Carried to the next, which never freed, it kept every empty segment mapped. */
static inline void vcmi_heap_end_hold(vcmi_heap *h) {
  h->hold_live = 0;
  h->held = 0;
}
/* Nothing live in s, nor waiting on its remote list. Owner only. */
static inline int vcmi_seg_empty(vcmi_segment *s) {
  vcmi_region *r = vcmi_seg_region(s);
  uint32_t any = 0; /* only the classes ever carved can hold a chunk */
  for (uint32_t m = s->carved; m; m &= m - 1u) any |= r->live[__builtin_ctz(m)];
  return !any && __atomic_load_n(&r->remote_head, __ATOMIC_RELAXED) == VCMI_NONE;
}
/* A segment of xscale x for class k (k matters only in a fine one), put first on h's list: an
 * empty one of its kind from the pool, else one mapped anew. NULL if the OS refuses. The
 * caller holds h. Takes heaps_lock. */
vcmi_segment *vcmi_seg_create(vcmi_heap *h, unsigned x, unsigned k);
/* Unmap the segment *link of h (empty, not h's first), taking it off h's list and classes; or,
 * pool set, put it in the pool if it has room. Owner only. Takes heaps_lock. */
void vcmi_seg_unlink(vcmi_heap *h, vcmi_segment **link, int pool);
/* Unmap the pool's empty segments (malloc_trim): 1 if it held any. Takes heaps_lock. */
int vcmi_seg_pool_release(void);
/* Set h up to allocate: malloc's power-of-two classes (the fixed ones of xscale 0) start at
 * first, its first segment's region, every other class (all in check mode, VCM_CHECK read
 * now) at the empty dummy region; its purge interval starts at the least; its hold ends. The
 * caller holds h. No lock. */
void vcmi_heap_set_mode(vcmi_heap *h, vcmi_region *first);
/* Purge h (heap.c, heap_purge: what goes back to the OS, what is held). exiting: the heap's
 * thread ends: drop, hold nothing, donate nothing. Owner only. May take heaps_lock (an empty
 * segment unmapped). */
void vcmi_heap_purge_as(vcmi_heap *h, int exiting);

/* malloc_trim's part in the calling thread's heap (heaps.c): 1 if pages went back. */
int vcmi_heap_trim(void);
/* fork hooks (lifecycle.c): prepare takes heaps_lock, parent gives it, child resets it. */
void vcmi_heap_fork_prepare(void);
void vcmi_heap_fork_parent(void);
void vcmi_heap_fork_child(void);

/* Visit every region of every heap, or every heap: fn runs under heaps_lock, so it must not
 * allocate from a new segment nor take heaps_lock; it may take large_lock or meta_lock. */
void vcmi_heap_each_region(void (*fn)(void *ctx, vcm_region *r), void *ctx);
void vcmi_heap_each_heap(void (*fn)(void *ctx, vcmi_heap *h), void *ctx);
/* vcmi_heap_each_region for the regions no other thread changes, but for remote frees (which
 * only turn LIVE entries REMOTE and relink REMOTE ones): the calling thread's heap's and those
 * of the heaps no thread holds (given up at a thread's exit, not yet adopted). */
void vcmi_heap_each_quiet_region(void (*fn)(void *ctx, vcm_region *r), void *ctx);
#endif
