/* A live chunk of a segment: its used bytes set, its size asked, and realloc within the small
 * classes (in place, into its parked buddy, or moved to another class of this thread's heap).
 * Any thread may call these for a chunk the program owns: only its map entry changes. */
#define _GNU_SOURCE
#include <string.h>

#include "chunk.h"
#include "costs.h"
#include "options.h"
#include "os.h"
#include "pair.h"
#include "purge.h"
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

/* Chunk g of class k of r, h's (its owner), about to be freed by a move that copied it: dropped
 * with the list once the listed chunks hold REMAP_PAGES pages (vcmi_seg_realloc_at, after the
 * free), or at the next such move if the list is full. Listed before its free, which may purge
 * (vcmi_moved_drop first: a purge may unmap the segment). Until the drop it may be handed out
 * again (then kept). */
/* A MERGED source (pair.h) is listed with DROP_PAIR: its upper half, HELD, goes with it. */
#define DROP_PAIR 0x800000u
#define DROP_G 0x7FFFFFu
_Static_assert(VCMI_SEG_CHANNELS << (VCMI_NCLASS - 1u) <= DROP_G, "a class-number under the flag");
static void drop_later(vcmi_heap *h, vcmi_region *r, unsigned k, uint32_t g, uint32_t state) {
  unsigned pair = (state & (VCMI_MERGED | VCMI_QUAD)) == VCMI_MERGED;
  VCMI_ASSERT(!(state & VCMI_QUAD)); /* QUADs are 2 KiB at most: never copied to be dropped */
  if (h->drop_n == VCMI_DROP_BATCH) vcmi_moved_drop(h);
  h->drop_r[h->drop_n] = r;
  h->drop_kg[h->drop_n++] = (uint32_t)k << 24 | (pair ? DROP_PAIR : 0u) | g;
  h->drop_pages += (unsigned)((vcmi_class_cap(r, k) << pair) / vcmi_os_page());
}

/* What a page of a drop of copied sources cost: an average, ns; 0: none yet (move_up). */
static uint64_t drop_ns;

_Static_assert(VCMI_DROP_BATCH < VCMI_OS_PURGE_BATCH, "room for the pad (purge.c)");
/* The batch's drop; q (NULL: none), a chunk of the batch handed out again as a move's
 * destination, not yet given to the program: dropped past its first `from` bytes (a page
 * multiple), which the move writes. */
static void drop_batch(vcmi_heap *h, const void *q, size_t from) {
  vcmi_purge_batch bt; /* its ranges only: vcmi_purge_flush pads a call spanning 3-33 pages */
  vcmi_os_range *rg = bt.r;
  size_t n = 0, page = vcmi_os_page();
  for (unsigned i = 0; i < h->drop_n; i++) {
    const vcmi_region *r = h->drop_r[i];
    unsigned k = h->drop_kg[i] >> 24;
    uint32_t g = h->drop_kg[i] & DROP_G;
    const vcmi_entry *e = vcmi_entry_at(r, k, g);
    unsigned char *c = vcmi_chunk_addr(r, k, g);
    size_t cap = vcmi_class_cap(r, k) & ~(page - 1u), at = c == q ? from : 0;
    /* handed out again (LIVE), and maybe freed by another thread since (REMOTE): kept */
    if (at < cap && (c == q || !(__atomic_load_n(&e->state, __ATOMIC_RELAXED) &
                                 (VCMI_LIVE | VCMI_REMOTE)))) {
      /* a pair's upper half, with its lower one free: HELD for nothing live, or on the list
       * (a sweep's), unless handed out again since */
      uint32_t up = h->drop_kg[i] & DROP_PAIR ? __atomic_load_n(&e[1].state, __ATOMIC_RELAXED)
                                              : VCMI_LIVE;
      rg[n++] = (vcmi_os_range){
          c + at, cap - at + (vcmi_pair_held(up) || !(up & (VCMI_LIVE | VCMI_REMOTE)) ? cap : 0)};
    }
  }
  size_t pages = h->drop_pages;
  h->drop_n = h->drop_pages = 0;
  bt.n = n;
  uint64_t t = n && pages ? vcmi_os_fine_ns() : 0;
  vcmi_purge_flush(&bt);
  if (t) vcmi_costs_avg(&drop_ns, (vcmi_os_fine_ns() - t) / pages);
}
void vcmi_moved_drop(vcmi_heap *h) { drop_batch(h, NULL, 0); }

/* q, a move's destination about to take `whole` bytes (the used ones, to a page): if the batch
 * names it (a source handed out again before its drop), its pages past those go now, with the
 * batch's. Else its old pages stayed resident past the used bytes, where a move would have
 * left none (g2: +4.4 MiB at its peak). */
static void drop_if_listed(vcmi_heap *h, const void *q, size_t whole) {
  for (unsigned i = 0; i < h->drop_n; i++) {
    unsigned k = h->drop_kg[i] >> 24;
    if (vcmi_chunk_addr(h->drop_r[i], k, h->drop_kg[i] & DROP_G) == q) {
      drop_batch(h, q, whole);
      return;
    }
  }
}

/* A vector moving keep bytes of MOVE_MIN or more between classes (or over half of a MOVE_MIN
 * chunk onto a fresh one, move_up) has its pages remapped, not copied: the destination's pages (fresh ones would fault in one by one, each fault costing
 * more than copying its page) become the source's, and the source's range reads zero, its
 * pages out of RSS. Whole pages only: chunks of MOVE_MIN and more are page multiples at
 * page-aligned places (class areas are page aligned: 2 MiB in a power-of-two segment, a colour
 * of whole pages past that in a scaled one); the check mode's fills are copied.
 * Not into large blocks: growing one by mremap needs it to be a single mapping. */
#define MOVE_MIN ((size_t)32 << 10)
/* A MERGED chunk of MOVE_MIN or more (pair.h: classes of a page and more grow into a free
 * buddy) moves both its halves' pages; no such chunk is parked for, nor a QUAD. */
_Static_assert(MOVE_MIN > 4u * VCMI_PAIR_CAP_MAX, "a moved chunk is never parked for, nor a QUAD");

/* A move of fewer than REMAP_PAGES pages from a chunk of the caller's own heap may instead be
 * copied, its source freed, then dropped with the sources of the next moves (drop_later),
 * whichever costs less here (costs.h: copying way 0, its cost a page; remapping way 1, its cost
 * a call). The kernel invalidates the TLB entries of a range of up to 33 pages one page at a
 * time, and the whole TLB past that (x86's tlb_single_page_flush_ceiling). Where each page's
 * invalidation traps to the host (a paravirtualised guest seen on 2026-11-30), a move's CPU time
 * was 333 us at 8 pages, 1,213 at 33, 96 at 34 and 133 at 128, against a copy's 5-10 us a page
 * and its share of a drop of 34 pages or more, one invalidation of the whole TLB (8 ranges of 8
 * pages: 90-260 us against 1,600-3,900 one by one). Where it does not (2026-12-03), g2's moves
 * of 8-32 pages took 10-23 us, against 3.4-5.0 us a page copied and 1.0-1.6 a page dropped
 * (remapped: g2's minor faults 132.8k -> 90.5k, peak 292.2 -> 282.2 MiB; docs/DESIGN.md §6).
 * One move in TIME_EVERY is timed (the clock is a system call, 0.3 us here), and every try.
 * Copied, the pages leave RSS as the move would take them, but for fewer than 34 pages
 * waiting (a list of 8 chunks: g2 +0.2 MiB). */
#define REMAP_PAGES 34u
#define TIME_EVERY 8u
static vcmi_costs move_cost;
static uint32_t moves;   /* moves that could go either way (the count for TIME_EVERY) */
static uint32_t remaps_timed;

/* A move of way w timed at ns a unit: no more than 4x the average counts (a move now and then
 * also counts the process's mappings or reads its locked memory: os_posix.c, 0.1-2.5 ms here),
 * and the first remap not at all (the first move always counts them). */
static void move_note(unsigned w, uint64_t ns) {
  uint64_t was = __atomic_load_n(&move_cost.ns[w], __ATOMIC_RELAXED);
  if (w == 1u && __atomic_fetch_add(&remaps_timed, 1u, __ATOMIC_RELAXED) == 0) return;
  vcmi_costs_note(&move_cost, w, was && ns > 4u * was ? 4u * was : ns);
}

void vcmi_move_set_costs(uint64_t copy, uint64_t remap) {
  vcmi_costs_set(&move_cost, copy, remap);
  __atomic_store_n(&drop_ns, 0u, __ATOMIC_RELAXED);
  __atomic_store_n(&remaps_timed, 1u, __ATOMIC_RELAXED);
}
/* A copied source of KEEP_CAP or more (16 pages and up) is not listed: freed, its pages stay
 * until a purge, and the next vector entering its class (the free list's head) is copied onto
 * them instead of onto populated ones. g2's vectors reach the 128 and 256 KiB classes in a wave
 * that keeps arriving while the first leave: minor faults 72.1k -> 66.8k at scale 0.5, peak
 * 139.8 -> 146.8 MiB (glibc 161.5). The smaller ones are listed still: g8's sources of 4-32 KiB,
 * held, raised its peak 43.7 -> 49.3 MiB (docs/DESIGN.md §6); from 64 KiB it is level. */
#define KEEP_CAP ((size_t)64 << 10)

/* q: a chunk bigger than p's src_cap bytes; fresh: its pages were never written (take_fresh);
 * empty: it has no resident page (fresh, or dropped by a purge); *later: in, p's pages may be
 * dropped later (drop_later); out, they are to be. Returns the bytes copied (0: remapped). Out
 * of a chunk of MOVE_MIN, the pages move only onto a
 * fresh chunk: moved onto a free one, they replaced its resident pages, and the chunk they left,
 * reading zero, faulted in again when reused (g5's vectors, which shrink and regrow, x3 faults). */
static size_t move_up(void *q, const void *p, size_t keep, size_t src_cap, int fresh, int empty,
                      int *later) {
  int may_later = *later;
  *later = 0;
  if (keep < MOVE_MIN && !empty) { /* a plain copy: the page size not asked (a call) */
    memcpy(q, p, keep);
    return keep;
  }
  size_t page = vcmi_os_page(), whole = (keep + page - 1u) & ~(page - 1u);
  if ((keep >= MOVE_MIN || (fresh && src_cap >= MOVE_MIN && keep > src_cap / 2u)) &&
      whole <= src_cap && !(((uintptr_t)p | (uintptr_t)q) & (page - 1u)) &&
      !vcmi_opt[VCMI_OPT_CHECK]) {
    size_t pages = whole / page;
    unsigned w = 1u;
    uint64_t t = 0;
    if (may_later && pages < REMAP_PAGES) {
      w = vcmi_costs_pick(&move_cost, pages, 1u);
      if ((w & VCMI_COSTS_TRY) ||
          __atomic_add_fetch(&moves, 1u, __ATOMIC_RELAXED) % TIME_EVERY == 0)
        t = vcmi_os_fine_ns();
      w &= 1u;
    }
    if (w == 1u && vcmi_os_move((void *)(uintptr_t)p, q, whole) == 0) {
      if (t) move_note(1u, vcmi_os_fine_ns() - t);
      return 0;
    }
    if (may_later && pages < REMAP_PAGES) { /* copied, the source dropped later */
      vcmi_os_populate(q, whole); /* faults none: q may hold some pages, or none */
      memcpy(q, p, keep);
      if (t && w == 0u)
        move_note(0u, (vcmi_os_fine_ns() - t) / pages +
                          __atomic_load_n(&drop_ns, __ATOMIC_RELAXED));
      *later = 1;
      return keep;
    }
  }
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

/* The chunk h would hand out next for n bytes, in the power-of-two class, has resident pages:
 * the head of its free list in h's current segment of the class, not dropped (PURGED). A
 * chunk growing into its dropped buddy faults those pages in while these stay unused (g2: its
 * peak +0.4 MiB, when any dropped buddy served). */
static int above_resident(const vcmi_heap *h, size_t n) {
  if (h == &vcmi_no_heap) return 0;
  unsigned t = vcmi_pow2_class(n);
  const vcmi_region *r = h->cur[t];
  unsigned k = vcmi_tclass[t].k;
  uint32_t g = r->free_head[k];
  return g != VCMI_NONE &&
         !(__atomic_load_n(&vcmi_entry_at(r, k, g)->state, __ATOMIC_RELAXED) & VCMI_PURGED);
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
  } else if (!(loc.g & 1u) && vcmi_pair_grows_here(r, loc.k) && /* the owner's: before the buddy */
             vcmi_pair_buddy_free(&loc, cap > VCMI_PAIR_CAP_MAX && !above_resident(h0, n)) &&
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
  int later = 0;
  if (n > cap) {
    int fresh = h0 != &vcmi_no_heap && q == h0->fresh_clean;
    later = !check && h0 != &vcmi_no_heap && VCMI_PEEK(r->owner) == (void *)h0;
    if (h0 != &vcmi_no_heap && h0->drop_n && n > MOVE_MIN / 2u) /* q of MOVE_MIN or more */
      drop_if_listed(h0, q, (keep + vcmi_os_page() - 1u) & ~(vcmi_os_page() - 1u));
    vcmi_heap_count_move(move_up(q, p, keep, cap, fresh, fresh || q == dropped, &later));
    if ((loc.g & 1u) && vcmi_pairs_here(r, loc.k) &&
        (__atomic_load_n(&loc.e[-1].state, __ATOMIC_RELAXED) & VCMI_LIVE) &&
        vcmi_pair_park(r, &loc))
      return q; /* an upper chunk parked for its live buddy */
  } else {
    memcpy(q, p, keep);
    vcmi_heap_count_move(keep);
  }
  /* from KEEP_CAP, kept for the next arrival, if its class has another chunk live here (a wave
   * of vectors: one of them comes next; a lone vector's source would wait for a purge) */
  later = later && (cap < KEEP_CAP ||
                    r->live[loc.k] <= 1u + ((state & VCMI_MERGED) ? 1u : 0u));
  if (later) drop_later(h0, r, (unsigned)loc.k, loc.g, state);
  if (vcmi_pair_leaves(r, loc.k, state))
    h0->credit -= (ptrdiff_t)vcmi_pair_leave(r, &loc); /* the owner's (grows_here) */
  free_moved(r, &loc, p, state);
  /* freed now; a purge it made dropped the list */
  if (later && h0->drop_pages >= REMAP_PAGES) vcmi_moved_drop(h0);
  return q;
}

int vcmi_seg_used(vcmi_region *r, const void *p, size_t *used) {
  vcmi_loc loc;
  if (!live_or_report(r, p, &loc, VCMI_WHY_FOREIGN_REALLOC)) return -1;
  if (vcmi_opt[VCMI_OPT_CHECK]) vcmi_check_slack(r, &loc, p);
  *used = __atomic_load_n(&loc.e->state, __ATOMIC_RELAXED) & VCMI_USED_MASK;
  return 0;
}
