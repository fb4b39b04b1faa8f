/* Internal interface of buddy pairs (pair.c): the free half of a small chunk's pair serving the
 * next class up, in place (docs/DESIGN.md §6, "Pairs"). Not installed. Owner only (the thread
 * whose heap holds the segment; others' chunks are never paired); no lock. */
#ifndef VCMI_PAIR_H
#define VCMI_PAIR_H
#include "heap.h"

/* The classes that pair: power-of-two chunks under a page (a pair fills at most one), the
 * only ones whose free chunks share pages with live ones. */
#define VCMI_PAIR_CAP_MAX ((size_t)2 << 10)

/* A live chunk's capacity from its state: twice its class's if MERGED. */
static inline size_t vcmi_seg_cap(const vcmi_region *r, size_t k, uint32_t state) {
  return ((const vcmi_segment *)(const void *)r)->cap[k] << (state / VCMI_MERGED & 1u);
}
static inline int vcmi_pair_held(uint32_t state) {
  return (state & VCMI_HELD) == VCMI_HELD;
}
/* A buddy's state (read relaxed: another thread's free may change it) lets a chunk grow into
 * it: HELD, or free and not dropped (pair.c, vcmi_pair_grow). */
static inline int vcmi_pair_free_or_held(const vcmi_entry *e) {
  uint32_t s = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
  return vcmi_pair_held(s) || !(s & (VCMI_LIVE | VCMI_REMOTE | VCMI_PURGED));
}
/* Class k of r pairs: a power-of-two class of this thread's own segment (only its owner writes
 * entries with plain stores: another thread must not read a buddy's), outside check mode (its
 * fills and slack checks know single chunks). */
static inline int vcmi_pairs_here(const vcmi_region *r, size_t k) {
  const vcmi_heap *h = vcmi_tls_heap;
  return r->xscale == 0 && ((const vcmi_segment *)(const void *)r)->cap[k] <= VCMI_PAIR_CAP_MAX &&
         __atomic_load_n((vcmi_heap *const *)&r->owner, __ATOMIC_RELAXED) == h && !h->check;
}

/* For a class that pairs (vcmi_pairs_here): */
/* p, the live lower chunk at loc (g even), grows to n > its capacity: if n fits the pair and its
 * buddy is HELD, or free and its place on the free list is found cheaply (vcmi_purge_prev: the
 * buddy is then taken off it and HELD), p becomes the pair's MERGED chunk, in place (counted).
 * Returns p, or NULL (nothing done). */
void *vcmi_pair_grow(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n);
/* The live upper chunk at loc (g odd), grown out of its class and moved (its bytes copied), is
 * HELD if its buddy is live and single: returns 1; 0: nothing done (the caller frees it). */
int vcmi_pair_park(vcmi_region *r, const vcmi_loc *loc);
/* Class k of r must carve fresh chunks: its PARKED halves go back to its free list (the
 * ABSORBED ones stay). Returns how many. O(pairs listed). */
uint32_t vcmi_pair_unpark(vcmi_region *r, unsigned k);
/* At a purge: the held halves whose buddy is neither live nor a remote free waiting go back
 * to their free lists (a PARKED one whose buddy was freed, an ABSORBED one whose MERGED chunk
 * was). O(pairs listed). */
void vcmi_pair_sweep(vcmi_region *r);

#endif
