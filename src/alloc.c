/* The process API: vcm_malloc and friends. Blocks up to VCMI_SMALL_MAX come from the calling
 * thread's heap (heap.c); bigger ones are large blocks (large.c). A pointer is classified by the
 * segment map, then the pagemap: a segment, a large block, or nothing (foreign). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "chunk.h"
#include "heap.h"
#include "pair.h"
#include "large.h"
#include "misuse.h"
#include "options.h"
#include "os.h"

void vcm_debug_fail_os(long n) { vcmi_os_fail_at(n); }

/* What p belongs to: 1 a segment region (*r), 2 a large block (*b), 0 nothing. Segments are
 * in the segment map, large blocks in the pagemap (meta.h). */
static inline int classify(const void *p, vcmi_region **r, vcmi_large **b) {
  unsigned d = vcmi_segmap_dist(p);
  if (VCMI_LIKELY(d != 0)) {
    *r = vcmi_region_of(&((vcmi_segment *)vcmi_segmap_base(p, d))->region);
    return 1;
  }
  return (*b = vcmi_pagemap_get(p)) != NULL ? 2 : 0;
}

static void *oom(void) {
  errno = ENOMEM;
  return NULL;
}

/* malloc past the free-list pop: the slow path of a class, the first allocation of a thread,
 * a large block; errno on failure. */
static __attribute__((noinline)) void *malloc_slow(size_t n) {
  void *p = n <= VCMI_SMALL_MAX ? vcmi_small_alloc(n, n) : vcmi_large_alloc(n, 0, 0);
  return p ? p : oom();
}

/* The fast path is the pop alone; everything else is a tail call (no frame here). The pop
 * is written out in each branch: a bin pointer joined from two would be computed first (an
 * add), where the direct bin is read at the heap plus the size's offset. */
void *vcm_malloc(size_t n) {
  vcmi_heap *h = vcmi_tls_heap; /* no heap: vcmi_no_heap, whose lists are all empty */
  unsigned char *rk;
  uint32_t g;
  if (VCMI_LIKELY(n <= VCMI_TIGHT_TABLE_MAX)) { /* one range test for the common sizes */
    size_t i = (n + 15u) >> 4;
    g = VCMI_BIN_WORD(rk = h->direct[i].rk, free_head);
    if (VCMI_LIKELY(g != VCMI_NONE)) return vcmi_bin_take(h, 1, i, rk, g, n); /* not NULL */
  } else if (n <= VCMI_SMALL_MAX) {
    unsigned t = vcmi_mid_class(n);
    g = VCMI_BIN_WORD(rk = h->bin[t].rk, free_head);
    if (VCMI_LIKELY(g != VCMI_NONE)) return vcmi_bin_take(h, 0, t, rk, g, n);
  }
  return malloc_slow(n);
}

void vcm_free(void *p) {
  vcmi_region *r;
  vcmi_large *b;
  switch (classify(p, &r, &b)) { /* NULL is in no segment nor block: tested only there */
  case 1: vcmi_seg_free(r, p); return;
  case 2: vcmi_large_free(b, p); return;
  default:
    if (p) vcmi_process_misuse(p, VCMI_WHY_FOREIGN);
  }
}

#define CALLOC_TEST_MIN ((size_t)64 << 10) /* below this, clearing beats finding out */
_Static_assert(((size_t)1 << VCMI_COLOUR_LMAX) * 129u / 128u < CALLOC_TEST_MIN &&
                   VCMI_FIT_MAX < CALLOC_TEST_MIN,
               "no colour nor fitted class here: their PURGED chunks may hold bytes (purge.c)");

/* A chunk of n bytes (CALLOC_TEST_MIN <= n <= VCMI_SMALL_MAX) reading zero, not cleared when
 * its pages already read zero: the free-list head if a purge dropped its pages (PURGED), or
 * the chunk at the class's fresh frontier (never handed out, or its pages dropped when a purge
 * lowered the frontier), recognised by its address, unless a purge moved pages there (the
 * segment's dirty_g[k]). */
static void *calloc_mid(size_t n) {
  vcmi_heap *h = vcmi_tls_heap;
  unsigned t = vcmi_tight_class(n), k = vcmi_tclass[t].k;
  if (h->check) return NULL; /* vcmi_no_heap's check is set */
  vcmi_region *r = h->cur[t];
  uint32_t g = r->free_head[k], f = r->fresh[k];
  void *p;
  int clean;
  if (g != VCMI_NONE) {
    clean = (r->mapk[k][g].state & VCMI_PURGED) != 0;
    p = vcmi_heap_pop(h, t, n); /* chunk g */
  } else { /* r's fresh chunk, found before the slow path, whose purge may unmap r */
    uintptr_t at = (uintptr_t)r->data +
                   (((size_t)k << VCMI_SEG_STRIDE_LOG2) + ((size_t)f << (VCMI_LMAX - k))) *
                       (1u + r->xscale);
    p = vcmi_heap_alloc_slow(h, t, n, 0);
    const vcmi_segment *s = (const vcmi_segment *)(const void *)r; /* read only if p is in it */
    clean = (uintptr_t)p == at && s->dirty_g[k] <= f; /* not moved in */
  }
  if (p && !clean) memset(p, 0, n);
  return p; /* NULL: the caller's fallback reports */
}

void *vcm_calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return oom();
  size_t n = count * size;
  if (n > VCMI_SMALL_MAX) {
    void *p = vcmi_large_alloc(n, 0, 1);
    return p ? p : oom();
  }
  void *p = NULL;
  if (n >= CALLOC_TEST_MIN && (p = calloc_mid(n))) return p;
  p = vcm_malloc(n);
  if (p) memset(p, 0, n);
  return p;
}

/* A realloc moving p (used bytes) to q, a block of the other kind: copy and count; the caller
 * frees p through its known kind (no second pagemap lookup). */
static void move(void *q, const void *p, size_t used, size_t n) {
  size_t keep = used < n ? used : n;
  memcpy(q, p, keep);
  vcmi_heap_count_move(keep);
}

/* p, a chunk of the segment region r, grows past the small classes. */
static void *small_to_large(vcmi_region *r, void *p, size_t n) {
  size_t used;
  void *q;
  if (vcmi_seg_used(r, p, &used) != 0 || !(q = vcmi_large_alloc(n, 0, 0))) return NULL;
  move(q, p, used, n);
  vcmi_seg_free(r, p);
  return q;
}

/* p, the large block b, resized to a small class's size: moved if one has a chunk, else in
 * place; in place also if it grows within its capacity above a quarter of it (an aligned
 * block of few bytes), as realloc's fast path keeps a step under VCMI_LARGE_STEP_MIN. Past
 * its capacity (a block of n's pages, its power of two refused) it moves to n's power of two. */
static void *large_to_small(vcmi_large *b, void *p, size_t n) {
  size_t used, cap;
  void *q;
  if (vcmi_large_used(b, p, &used) != 0) return NULL;
  cap = __atomic_load_n(&b->cap, __ATOMIC_RELAXED);
  if (n >= used && n <= cap && n > cap / 4) return vcmi_large_realloc(b, p, n);
  /* a growth past the capacity takes a power of two, as a chunk's does; a shrink, malloc's */
  if (!(q = n > cap ? vcmi_small_alloc_pow2(n, n) : vcmi_small_alloc(n, n)))
    return vcmi_large_realloc(b, p, n);
  move(q, p, used, n);
  vcmi_large_free(b, p);
  return q;
}

/* vcm_realloc past its in-place fast paths (kind 1: p is a chunk of r; 2: the large block b).
 * Out of line, so that the fast paths save no registers. */
__attribute__((noinline)) static void *realloc_slow(void *p, size_t n, int kind, vcmi_region *r,
                                                    vcmi_large *b) {
  int saved = errno;
  void *q;
  if (n == 0) { /* frees (glibc) */
    if (kind == 1)
      vcmi_seg_free(r, p);
    else
      vcmi_large_free(b, p);
    return NULL;
  }
  if (kind == 1)
    q = n <= VCMI_SMALL_MAX ? vcmi_seg_realloc(r, p, n) : small_to_large(r, p, n);
  else
    q = n <= VCMI_SMALL_MAX ? large_to_small(b, p, n) : vcmi_large_realloc(b, p, n);
  if (!q) return oom();
  errno = saved; /* success: a failed attempt on the way (growing in place) leaves no trace */
  return q;
}

/* A move this small (n) is vcmi_seg_realloc_at's plain copy onto a popped chunk whenever no
 * buddy serves: no populate (a chunk of half a page or less shares its pages), no list of
 * moved sources (chunk.c), no slide (2 KiB chunks grow past this). */
#define MOVE_FAST_MAX (VCMI_PAGE / 2u)
_Static_assert(MOVE_FAST_MAX <= VCMI_PAIR_CAP_MAX, "no slide (pair.h): it grows 2 KiB chunks");

/* The buddy of loc's chunk may take part in its growth (vcmi_seg_realloc_at): an upper half
 * free or HELD that a lower chunk grows into, or a live lower half that an upper chunk leaving
 * is parked for. The owner's (h), outside check mode, in a class that pairs. */
static int buddy_serves(const vcmi_region *r, const vcmi_loc *loc) {
  if (r->xscale || ((const vcmi_segment *)(const void *)r)->cap[loc->k] > VCMI_PAIR_CAP_MAX)
    return 0;
  if (!(loc->g & 1u)) return vcmi_pair_free_or_held(loc->e + 1);
  return (__atomic_load_n(&loc->e[-1].state, __ATOMIC_RELAXED) & VCMI_LIVE) != 0;
}

/* vcm_realloc of p, a LIVE chunk of r at class k, number g, entry state s, as vcm_realloc found
 * it, to n bytes (0 < n <= VCMI_SMALL_MAX) past its in-place fast path: a vector moving to a
 * bigger class, mostly. p is not located again (realloc_slow's way located it twice more:
 * x4v). The owner's single chunk growing to MOVE_FAST_MAX or less whose buddy does not serve
 * moves by vcmi_seg_move, a pop, a copy and free's release, the chunk vcmi_seg_realloc_at would
 * take (x4v: its moves took 356 instructions each, vcmi_seg_realloc_at's general path 194 of
 * them). */
__attribute__((noinline)) static void *realloc_move(void *p, size_t n, vcmi_region *r, size_t k,
                                                    uint32_t g, uint32_t s) {
  vcmi_loc loc = {k, g, r->mapk[k] + g};
  vcmi_heap *h = vcmi_tls_heap;
  void *q;
  if (n <= MOVE_FAST_MAX && (s & ~VCMI_USED_MASK) == VCMI_LIVE &&
      VCMI_PEEK(r->owner) == (void *)h && !h->check && !buddy_serves(r, &loc)) {
    VCMI_ASSERT(n > ((const vcmi_segment *)(const void *)r)->cap[k]); /* else shrink or in place */
    if ((q = vcmi_seg_move(h, r, &loc, p, n, s, vcmi_pow2_class(n)))) return q;
  }
  int saved = errno; /* vcmi_seg_move leaves it */
  q = vcmi_seg_realloc_at(r, &loc, p, n);
  if (!q) return oom();
  errno = saved; /* as realloc_slow's */
  return q;
}

/* vcm_realloc shrinking p, a LIVE unmerged chunk of r at class k, number g, entry state s as
 * vcm_realloc read it, to n bytes, 0 < n <= a quarter (a half, scaled classes) of its capacity:
 * moved down by vcmi_seg_shrink if that capacity is over 16 (else in place), or else the slow
 * way. p is not located again (python's strings, formatted into ~155 bytes and trimmed to ~57:
 * 60,176 such reallocs in r1 at 0.2, 44 instructions each here with a second locate). */
__attribute__((noinline)) static void *realloc_shrink(void *p, size_t n, vcmi_region *r, size_t k,
                                                      uint32_t g, uint32_t s) {
  vcmi_heap *h = vcmi_tls_heap;
  void *q = NULL;
  if (!h->check && /* check mode, or no heap: the slow way */
      ((const vcmi_segment *)(const void *)r)->cap[k] > 16u) {
    vcmi_loc loc = {k, g, r->mapk[k] + g};
    q = vcmi_seg_shrink(h, r, &loc, p, n, s);
  }
  return q ? q : realloc_slow(p, n, 1, r, NULL);
}

/* realloc(NULL, n): a vector starting, so power-of-two capacity (exact-size growth then stays
 * in place, amortised O(1)); malloc's capacity is tight (heap.h). */
static void *realloc_new(size_t n) {
  if (n > VCMI_SMALL_MAX) return vcm_malloc(n);
  void *q = vcmi_small_alloc_pow2(n, n);
  return VCMI_LIKELY(q != NULL) ? q : oom();
}

/* Realloc within the capacity is the common case of growing vectors: it is handled here
 * inline, a map lookup and one store. Moves between the kinds (small <-> large) are here too;
 * the rest goes to heap.c or large.c. */
void *vcm_realloc(void *p, size_t n) {
  vcmi_region *r;
  vcmi_large *b;
  switch (classify(p, &r, &b)) { /* NULL is in no segment nor block: tested only there */
  case 1: {
    vcmi_loc loc;
    /* unbounded find, as free's: an entry at or above fresh[k] is never LIVE */
    if (VCMI_LIKELY(vcmi_seg_find(r, p, &loc, 0) == 0)) {
      vcmi_entry *map = loc.e - loc.g; /* the entry read and written at map + g, as free's */
      VCMI_OPAQUE(map);
      uint32_t s = __atomic_load_n(&map[loc.g].state, __ATOMIC_RELAXED);
      VCMI_OPAQUE(map);
      /* a MERGED pair's is twice this (pair.h): it grows the slow way, so that every other
       * realloc reads one capacity */
      const vcmi_segment *sg = (const vcmi_segment *)(const void *)r;
      /* vcmi_shrink_floor(r, cap) < n <= cap, the floor precomputed (n = 0, which frees,
       * fails it) */
      size_t kc = loc.k + VCMI_SEG_CHANNELS_LOG2; /* the register the locate left */
      if (VCMI_LIKELY((s & VCMI_LIVE) && n <= sg->cap[kc - VCMI_SEG_CHANNELS_LOG2])) {
        VCMI_OPAQUE(kc); /* each array read at sg + kc (as free's), no address shared */
        /* check mode's floor is the capacity (heap.c): its reallocs all go the slow way. No
         * heap is loaded: a thread without one keeps p in place here too, counted in its
         * thread's counter (heap.h) */
        if (VCMI_LIKELY(n > sg->floor[kc - VCMI_SEG_CHANNELS_LOG2])) {
          __atomic_store_n(&map[loc.g].state, (s & ~VCMI_USED_MASK) | (uint32_t)n,
                           __ATOMIC_RELAXED);
          vcmi_tls_inplace++;
          return p;
        }
        /* shrinking to a quarter (half) or less: moved down, not through realloc_slow
         * (python's strings, formatted into ~150 bytes, then trimmed); a tail call with the
         * entry found, so that the path within the capacity keeps no frame */
        if (!(s & VCMI_MERGED) && n) return realloc_shrink(p, n, r, loc.k, loc.g, s);
      }
      if ((s & VCMI_LIVE) && n - 1u < VCMI_SMALL_MAX) return realloc_move(p, n, r, loc.k, loc.g, s);
    }
    return realloc_slow(p, n, 1, r, NULL);
  }
  case 2:
    if (VCMI_LIKELY(b->p == p && n <= b->cap && n >= b->used &&
                    n - b->used < VCMI_LARGE_STEP_MIN && n > b->cap / 4 &&
                    __atomic_load_n(&b->magic, __ATOMIC_RELAXED) == VCMI_LARGE_MAGIC)) {
      __atomic_store_n(&b->used, n, __ATOMIC_RELAXED); /* growth inside the capacity */
      return p;
    }
    return realloc_slow(p, n, 2, NULL, b);
  default:
    if (!p) return realloc_new(n);
    vcmi_process_misuse(p, VCMI_WHY_FOREIGN_REALLOC);
    errno = EINVAL;
    return NULL;
  }
}

void *vcm_reallocarray(void *p, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return oom();
  return vcm_realloc(p, count * size);
}

/* align is a power of two. */
static void *aligned(size_t align, size_t n) {
  if (align <= 16) return vcm_malloc(n);
  size_t want = n < align ? align : n;
  if (want <= VCMI_SMALL_MAX) { /* a power-of-two chunk is aligned to its capacity */
    void *p = vcmi_small_alloc_pow2(want, n);
    return p ? p : oom();
  }
  void *p = vcmi_large_alloc(n, align, 0);
  return p ? p : oom();
}

static int pow2(size_t a) { return a && !(a & (a - 1)); }

int vcm_posix_memalign(void **out, size_t align, size_t n) {
  if (!pow2(align) || align % sizeof(void *)) return EINVAL;
  int saved = errno;
  void *p = aligned(align, n);
  if (!p) {
    errno = saved; /* posix_memalign reports through its result, not errno */
    return ENOMEM;
  }
  *out = p;
  return 0;
}

void *vcm_aligned_alloc(size_t align, size_t n) {
  if (!pow2(align)) {
    errno = EINVAL;
    return NULL;
  }
  return aligned(align, n);
}

void *vcm_memalign(size_t align, size_t n) {
  if (!pow2(align)) { /* glibc rounds other alignments up to a power of two */
    if (align > SIZE_MAX / 2 + 1) {
      errno = EINVAL;
      return NULL;
    }
    size_t a = 1;
    while (a < align) a <<= 1;
    align = a;
  }
  return aligned(align, n);
}

void *vcm_valloc(size_t n) { return aligned(vcmi_os_page(), n); }

void *vcm_pvalloc(size_t n) {
  size_t page = vcmi_os_page();
  if (n > SIZE_MAX - page) return oom();
  return aligned(page, (n + page - 1u) & ~(page - 1u));
}

/* used (capacity = 0) or capacity of p; claim as in vcmi_seg_size. */
static size_t size_of(const void *p, int capacity, int claim) {
  vcmi_region *r;
  vcmi_large *b;
  if (!p) return 0;
  switch (classify(p, &r, &b)) {
  case 1: return vcmi_seg_size(r, p, capacity, claim);
  case 2: return vcmi_large_size(b, p, capacity, claim);
  default: vcmi_process_misuse(p, VCMI_WHY_FOREIGN_SIZE);
  }
  return 0;
}

size_t vcm_malloc_usable_size(void *p) { return size_of(p, 1, 1); }
size_t vcm_used(const void *p) { return size_of(p, 0, 0); }
size_t vcm_capacity(const void *p) { return size_of(p, 1, 0); }

/* Is size right for a block of used bytes and capacity cap? The used bytes, or up to the
 * capacity once malloc_usable_size claimed it all (used = cap, which a block requested at its
 * capacity has too: the map cannot tell them apart, so such a block accepts any size <= cap). */
static int size_fits(size_t size, size_t used, size_t cap) {
  return size == used || (used == cap && size <= cap);
}

/* free_sized past its fast path: another thread's chunk, a large block, a size claimed by
 * malloc_usable_size, misuse. */
static __attribute__((noinline)) void free_sized_slow(void *p, size_t size) {
  vcmi_region *r;
  vcmi_large *b;
  vcmi_loc loc;
  switch (classify(p, &r, &b)) {
  case 1:
    if (vcmi_seg_locate(r, p, &loc) == 0) {
      uint32_t s = __atomic_load_n(&loc.e->state, __ATOMIC_RELAXED);
      if ((s & VCMI_LIVE) &&
          !size_fits(size, s & VCMI_USED_MASK, vcmi_seg_cap(r, loc.k, s))) /* scaled, paired */
        break;
    }
    vcmi_seg_free_slow(p, r); /* frees, or reports a pointer that is no live chunk */
    return;
  case 2:
    if (b->p == p && __atomic_load_n(&b->magic, __ATOMIC_ACQUIRE) == VCMI_LARGE_MAGIC &&
        !size_fits(size, __atomic_load_n(&b->used, __ATOMIC_RELAXED),
                   __atomic_load_n(&b->cap, __ATOMIC_RELAXED)))
      break;
    vcmi_large_free(b, p); /* frees, or reports a pointer that is no live block */
    return;
  default: vcmi_process_misuse(p, VCMI_WHY_FOREIGN); return;
  }
  vcmi_process_misuse(p, VCMI_WHY_FREE_SIZED);
}

/* Sized frees cost what free costs: the owner's live chunk whose used bytes are size is freed
 * inline, by the same code as free, its LIVE test a compare of the whole entry with LIVE | size. */
void vcm_free_sized(void *p, size_t size) {
  /* A size over VCMI_USED_MASK is no chunk's: the slow way. Else LIVE | size would lack LIVE
   * (2^31 to 2^32 - 1: a free entry's link, or a never-used entry's 0, freed again) or carry a
   * flag (a MERGED pair freed as one chunk). */
  if (VCMI_LIKELY(size <= VCMI_USED_MASK)) {
    size ^= VCMI_LIVE; /* the entry it wants, in size's register */
    VCMI_OPAQUE(size); /* no copy of size kept: XORed back when needed */
    unsigned d = vcmi_segmap_dist(p); /* a segment's chunk, or the slow way (no pagemap) */
    if (VCMI_LIKELY(d != 0 &&
                    vcmi_seg_free_fast(
                        vcmi_region_of(&((vcmi_segment *)vcmi_segmap_base(p, d))->region), p,
                        1, size) == 0))
      return; /* NULL is in no segment (granule 0 is never mapped) */
    size ^= VCMI_LIVE;
  }
  if (p) free_sized_slow(p, size);
}

void vcm_free_aligned_sized(void *p, size_t align, size_t size) {
  if (p && (!pow2(align) || ((uintptr_t)p & (align - 1u)))) {
    vcmi_process_misuse(p, VCMI_WHY_FREE_ALIGNED);
    return;
  }
  vcm_free_sized(p, size);
}

int vcm_expand(void *p, size_t n) {
  vcmi_region *r;
  vcmi_large *b;
  if (!p) return -1;
  switch (classify(p, &r, &b)) {
  case 1: return vcmi_seg_expand(r, p, n);
  case 2: return vcmi_large_expand(b, p, n);
  default: vcmi_process_misuse(p, VCMI_WHY_FOREIGN_EXPAND);
  }
  return -1;
}

#ifndef VCM_API_ONLY
/* The libc names of the hottest calls are these functions themselves, not a jump to them
 * (override.c has the other names; libvcm-api.a is built with VCM_API_ONLY, without any). */
#pragma GCC visibility push(default)
void *malloc(size_t n) __attribute__((alias("vcm_malloc")));
void free(void *p) __attribute__((alias("vcm_free")));
void free_sized(void *p, size_t n) __attribute__((alias("vcm_free_sized")));
void *realloc(void *p, size_t n) __attribute__((alias("vcm_realloc")));
#pragma GCC visibility pop
#endif
