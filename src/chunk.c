/* A live chunk of a segment: its used bytes set, its size asked, and realloc within the small
 * classes (in place, into its parked buddy, or moved to another class of this thread's heap).
 * Any thread may call these for a chunk the program owns: only its map entry changes. */
#define _GNU_SOURCE
#include <string.h>

#include "chunk.h"
#include "options.h"
#include "os.h"
#include "pair.h"
#include "remote.h"

/* Live entry of p, or report (foreign: as vcmi_seg_locate_or_report). */
static vcmi_entry *live_or_report(vcmi_region *r, const void *p, vcmi_loc *loc,
                                  vcmi_why foreign) {
  if (vcmi_seg_locate_or_report(r, p, loc, foreign) != 0) return NULL;
  if (!(__atomic_load_n(&loc->e->state, __ATOMIC_RELAXED) & VCMI_LIVE)) {
    vcmi_report_not_live(r, p, loc->e, VCMI_WHY_USE_AFTER_FREE);
    return NULL;
  }
  return loc->e;
}

/* Record used = n. Any thread may (the program owns the chunk); only the entry changes. */
static void seg_set_used(vcmi_entry *e, size_t n) {
  uint32_t s = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
  __atomic_store_n(&e->state, (s & ~VCMI_USED_MASK) | (uint32_t)n, __ATOMIC_RELAXED);
}

int vcmi_seg_expand(vcmi_region *r, void *p, size_t n) {
  vcmi_loc loc;
  if (!live_or_report(r, p, &loc, VCMI_WHY_FOREIGN_EXPAND) ||
      n > vcmi_seg_cap(r, loc.k, loc.e->state))
    return -1;
  if (vcmi_opt[VCMI_OPT_CHECK] && n < (loc.e->state & VCMI_USED_MASK))
    memset((unsigned char *)p + n, VCMI_CHECK_FILL, vcmi_class_cap(r, loc.k) - n);
  seg_set_used(loc.e, n);
  return 0;
}

size_t vcmi_seg_size(vcmi_region *r, const void *p, int capacity, int claim) {
  vcmi_loc loc;
  if (!live_or_report(r, p, &loc, VCMI_WHY_FOREIGN_SIZE)) return 0;
  size_t cap = vcmi_seg_cap(r, loc.k, __atomic_load_n(&loc.e->state, __ATOMIC_RELAXED));
  if (claim) seg_set_used(loc.e, cap);
  return capacity ? cap : (__atomic_load_n(&loc.e->state, __ATOMIC_RELAXED) & VCMI_USED_MASK);
}

/* A vector moving keep bytes of MOVE_MIN or more between classes (or over half of a MOVE_MIN
 * chunk onto a fresh one, move_up) has its pages remapped, not copied: the destination's pages (fresh ones would fault in one by one, each fault costing
 * more than copying its page) become the source's, and the source's range reads zero, its
 * pages out of RSS. Whole pages only: chunks of MOVE_MIN and more are page multiples at
 * page-aligned places (class areas are page aligned: 2 MiB in a power-of-two segment, a colour
 * of whole pages past that in a scaled one); the check mode's fills are copied.
 * Not into large blocks: growing one by mremap needs it to be a single mapping. */
#define MOVE_MIN ((size_t)32 << 10)

/* q: a chunk bigger than p's src_cap bytes; fresh: its pages were never written (take_fresh);
 * empty: it has no resident page (fresh, or dropped by a purge). Returns the bytes copied (0:
 * remapped). Out of a chunk of MOVE_MIN, the pages move only onto a
 * fresh chunk: moved onto a free one, they replaced its resident pages, and the chunk they left,
 * reading zero, faulted in again when reused (g5's vectors, which shrink and regrow, x3 faults). */
static size_t move_up(void *q, const void *p, size_t keep, size_t src_cap, int fresh,
                      int empty) {
  if (keep < MOVE_MIN && !empty) { /* a plain copy: the page size not asked (a call) */
    memcpy(q, p, keep);
    return keep;
  }
  size_t page = vcmi_os_page(), whole = (keep + page - 1u) & ~(page - 1u);
  if ((keep >= MOVE_MIN || (fresh && src_cap >= MOVE_MIN && keep > src_cap / 2u)) &&
      whole <= src_cap && !(((uintptr_t)p | (uintptr_t)q) & (page - 1u)) &&
      !vcmi_opt[VCMI_OPT_CHECK] && vcmi_os_move((void *)(uintptr_t)p, q, whole) == 0)
    return 0;
  /* Onto an empty chunk the copy faults in each page it writes, a trap each: one call faults
   * them in first (1.05-1.24 against 1.5 us a page here). Only a page-aligned q (a class of a
   * page or more), and only the pages the copy writes, so RSS is unchanged. */
  if (empty && !((uintptr_t)q & (page - 1u))) vcmi_os_populate(q, whole);
  memcpy(q, p, keep);
  return keep;
}

/* The chunk h hands out next in class t (its free list's head) if a purge dropped its pages
 * (PURGED: a chunk of whole pages keeps none; calloc_mid reads the mark too), else NULL. */
static void *next_dropped(vcmi_heap *h, unsigned t) {
  if (h == &vcmi_no_heap) return NULL;
  const vcmi_region *r = h->cur[t];
  unsigned k = vcmi_tclass[t].k;
  uint32_t g = r->free_head[k];
  if (g == VCMI_NONE ||
      !(__atomic_load_n(&vcmi_entry_at(r, k, g)->state, __ATOMIC_RELAXED) & VCMI_PURGED))
    return NULL;
  return vcmi_chunk_addr(r, k, g);
}

/* p, moved, is freed from its entry in hand: free's fast path, its purge credit as free's, but
 * by a CAS from the state seen before the copy (a remote free of p racing the move is a double
 * free); the rest (another thread's chunk, the free that makes a purge due, that double free)
 * the slow way, which locates p again. */
static void free_moved(vcmi_region *r, const vcmi_loc *loc, void *p, uint32_t state) {
  vcmi_heap *h = vcmi_tls_heap;
  ptrdiff_t cap = (ptrdiff_t)((const vcmi_segment *)(const void *)r)->cap[loc->k];
  if (VCMI_LIKELY(VCMI_PEEK(r->owner) == (void *)h)) {
    if (VCMI_LIKELY((h->credit -= cap) >= 0 && vcmi_release_live(r, loc, state))) return;
    h->credit += cap;
  }
  vcmi_seg_free_slow(p, r);
}

void *vcmi_seg_realloc(vcmi_region *r, void *p, size_t n) {
  vcmi_loc loc;
  if (!live_or_report(r, p, &loc, VCMI_WHY_FOREIGN_REALLOC)) return NULL;
  return vcmi_seg_realloc_at(r, &loc, p, n);
}

void *vcmi_seg_realloc_at(vcmi_region *r, const vcmi_loc *at, void *p, size_t n) {
  vcmi_loc loc = *at;
  VCMI_ASSERT(n <= VCMI_SMALL_MAX);
  uint32_t state = __atomic_load_n(&loc.e->state, __ATOMIC_RELAXED);
  if (!(state & VCMI_LIVE)) { /* freed since the caller saw it */
    vcmi_report_not_live(r, p, loc.e, VCMI_WHY_USE_AFTER_FREE);
    return NULL;
  }
  size_t cap = vcmi_seg_cap(r, loc.k, state), used = state & VCMI_USED_MASK;
  void *q = NULL;
  int check = vcmi_opt[VCMI_OPT_CHECK] != 0;
  vcmi_heap *h0 = vcmi_tls_heap; /* &vcmi_no_heap (shared) is never written */
  if (h0 != &vcmi_no_heap) h0->fresh_clean = NULL; /* take_fresh sets it if q is fresh */
  if (check) vcmi_check_slack(r, &loc, p);
  /* q, if a pop's; looked for only where a chunk is a page or more (smaller ones share pages) */
  void *dropped = n > cap && n > VCMI_PAGE / 2u ? next_dropped(h0, vcmi_pow2_class(n)) : NULL;
  if (n <= cap) {
    /* Shrinking to vcmi_shrink_floor or less moves down; otherwise in place. */
    if (n <= vcmi_shrink_floor(r, cap) && cap > 16) /* keeping its intent: vector or not */
      q = r->xscale ? vcmi_small_alloc(n, n) : vcmi_small_alloc_pow2(n, n);
    if (!q) {
      if (check && n < cap) memset((unsigned char *)p + n, VCMI_CHECK_FILL, cap - n);
      seg_set_used(loc.e, n);
      if (vcmi_tls_heap != &vcmi_no_heap) vcmi_tls_heap->realloc_inplace++;
      return p;
    }
  } else if (!(loc.g & 1u) && vcmi_pairs_here(r, loc.k) && /* the owner's: before the buddy */
             vcmi_pair_free_or_held(loc.e + 1) &&
             (q = vcmi_pair_grow(r, &loc, p, n))) { /* into its buddy, parked or free (pair.h) */
    return q;
  } else if (vcmi_pair_may_slide(r, &loc, n)) { /* a free lower buddy: no fresh chunk (pair.h) */
    vcmi_heap *h = vcmi_tls_heap;
    unsigned t = vcmi_pow2_class(n);
    if (!(q = vcmi_heap_pop(h, t, n)) && !(q = vcmi_heap_alloc_slow(h, t, n, VCMI_GROW_REUSE))) {
      if ((q = vcmi_pair_slide(r, &loc, p, n))) return q;
      if (!(q = vcmi_heap_alloc_slow(h, t, n, VCMI_GROW))) return NULL;
    }
  } else if (!(q = vcmi_small_alloc_grow(n, n - used <= VCMI_SLIDE_STEP
                                                 ? VCMI_GROW | VCMI_GROW_APPEND
                                                 : VCMI_GROW))) { /* a vector's capacity */
    return NULL;
  }
  size_t keep = used < n ? used : n;
  if (n > cap) {
    int fresh = h0 != &vcmi_no_heap && q == h0->fresh_clean;
    vcmi_heap_count_move(move_up(q, p, keep, cap, fresh, fresh || q == dropped));
    if ((loc.g & 1u) && vcmi_pairs_here(r, loc.k) &&
        (__atomic_load_n(&loc.e[-1].state, __ATOMIC_RELAXED) & VCMI_LIVE) &&
        vcmi_pair_park(r, &loc))
      return q; /* an upper chunk parked for its live buddy */
  } else {
    memcpy(q, p, keep);
    vcmi_heap_count_move(keep);
  }
  free_moved(r, &loc, p, state);
  return q;
}

int vcmi_seg_used(vcmi_region *r, const void *p, size_t *used) {
  vcmi_loc loc;
  if (!live_or_report(r, p, &loc, VCMI_WHY_FOREIGN_REALLOC)) return -1;
  if (vcmi_opt[VCMI_OPT_CHECK]) vcmi_check_slack(r, &loc, p);
  *used = __atomic_load_n(&loc.e->state, __ATOMIC_RELAXED) & VCMI_USED_MASK;
  return 0;
}
