/* Internal interface of buddy pairs (pair.c): the free half of a small chunk's pair serving the
 * next class up, in place (docs/DESIGN.md §6, "Pairs"). Not installed. Owner only (the thread
 * whose heap holds the segment; others' chunks are never paired); no lock. */
#ifndef VCMI_PAIR_H
#define VCMI_PAIR_H
#include "heap.h"

/* The classes that pair fully (park, slide, take, QUAD): power-of-two chunks under a page (a
 * pair fills at most one), the only ones whose free chunks share pages with live ones. Those
 * up to VCMI_GROW_CAP_MAX grow into a free buddy only (below). */
#define VCMI_PAIR_CAP_MAX ((size_t)2 << 10)
_Static_assert(((size_t)1 << (VCMI_LMAX - VCMI_PAIR_K_MIN)) == VCMI_PAIR_CAP_MAX &&
                   VCMI_NCLASS - VCMI_PAIR_K_MIN <= VCMI_LEVELS,
               "a take's cursor and mark for each class that pairs (region.h)");

/* Takes (vcmi_pair_take, for a growing realloc) serve only classes whose halves are 1 KiB or
 * less, and MERGED pairs grow into QUADs only in classes of 512 B or less (docs/DESIGN.md §6,
 * "Pairs"): a chunk a take gives cannot grow into a buddy of its class, as a fresh one of it
 * could, but a QUAD makes up for it; with QUADs of 1 and 2 KiB classes too, g8's second round
 * took 17 % more page faults (63.0k vs 54.0k). QUADs are taken only from the 512 B class, for
 * appends into 2 KiB (g3: 267 taken, 0.4 MiB less at its peak); from every class of 512 B or
 * less, g3 kept 0.7 MiB less but moved 669 reallocs more (81 KB more copied). */
#define VCMI_TAKE_K_MIN (VCMI_LMAX - 10u)
#define VCMI_QUAD_CAP_MAX ((size_t)512)
/* Appends into 4 KiB also take a whole free page (a span, purge.h) of the 1 or 2 KiB class as
 * one chunk, a QUAD or a MERGED pair: a chunk of a page grows in place no further than a fresh
 * 4 KiB one (which does not pair). g3 at its peak 0.6 MiB less (pages its strings of 2 KiB left
 * while the 4 KiB class carved); in place and copied unchanged on g2, g3, g5, g6. */
#define VCMI_TAKE_CAP_MAX ((size_t)4 << 10)
_Static_assert(VCMI_TAKE_K_MIN >= VCMI_PAIR_K_MIN && VCMI_QUAD_CAP_MAX <= VCMI_PAIR_CAP_MAX,
               "takes and QUADs only where classes pair");

/* A live chunk's capacity from its state: twice its class's if MERGED, four times if QUAD. */
static inline size_t vcmi_seg_cap(const vcmi_region *r, size_t k, uint32_t state) {
  return ((const vcmi_segment *)(const void *)r)->cap[k]
         << ((state / VCMI_MERGED & 1u) + (state / VCMI_QUAD & 1u));
}
static inline int vcmi_pair_held(uint32_t state) {
  return (state & VCMI_HELD) == VCMI_HELD;
}
/* A buddy's state (read relaxed: another thread's free may change it) lets a chunk grow into
 * it: HELD, or free and not dropped (pair.c, vcmi_pair_grow). The owner's only (tested first,
 * vcmi_pairs_here): it writes the entries of free chunks with plain stores. */
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

/* Colour pairs: two free buddies of a colour class (heap.h: 2^l * 129/128 bytes, a fine
 * segment's one class) lie where a chunk of 2^(l+1)'s colour class would, at the same offsets in
 * their pages: a malloc of that class whose own list is empty takes them as one MERGED chunk
 * (vcmi_pair_take_head) once the class below carves no more. C++'s containers leave each colour
 * class for the next in a wave (new block, copy, free): the pages a wave leaves serve the next
 * size where they are, as glibc's coalesced blocks do, not dropped while the class above faults
 * fresh ones in (docs/DESIGN.md §6, "Pairs"). Such a pair is freed as the big classes' are
 * (vcmi_pair_leave); nothing else of pairs is done there (no grow, park, slide, take, QUAD).
 * The owner's own segment, outside check mode, as vcmi_pairs_here. */
static inline int vcmi_pair_colour_here(const vcmi_region *r) {
  const vcmi_heap *h = vcmi_tls_heap;
  return r->xscale == VCMI_XSCALE_COLOUR &&
         __atomic_load_n((vcmi_heap *const *)&r->owner, __ATOMIC_RELAXED) == h && !h->check;
}

/* Classes of a page up to VCMI_GROW_CAP_MAX (each chunk whole pages) pair only one way: a live
 * lower chunk grows into its free upper buddy, resident or dropped, as one MERGED chunk
 * (vcmi_pair_grow): its own pages stay, nothing is copied, where a move to the class above
 * established fresh or dropped pages for the destination and later dropped the source's. No
 * parking, slide, take or QUAD there. */
#define VCMI_GROW_CAP_MAX ((size_t)64 << 10)
_Static_assert(VCMI_GROW_CAP_MAX >= VCMI_PAIR_CAP_MAX, "every class that pairs grows so");
/* Class k of r grows into buddies (vcmi_pairs_here's conditions, up to VCMI_GROW_CAP_MAX). */
static inline int vcmi_pair_grows_here(const vcmi_region *r, size_t k) {
  const vcmi_heap *h = vcmi_tls_heap;
  return r->xscale == 0 && ((const vcmi_segment *)(const void *)r)->cap[k] <= VCMI_GROW_CAP_MAX &&
         __atomic_load_n((vcmi_heap *const *)&r->owner, __ATOMIC_RELAXED) == h && !h->check;
}
/* loc's upper buddy may take part in a grow (vcmi_pair_grow): HELD, or free and not dropped,
 * or dropped too if dropped_ok (a class above VCMI_PAIR_CAP_MAX only). */
static inline int vcmi_pair_buddy_free(const vcmi_loc *loc, int dropped_ok) {
  uint32_t s = __atomic_load_n(&loc->e[1].state, __ATOMIC_RELAXED);
  return vcmi_pair_held(s) || !(s & (VCMI_LIVE | VCMI_REMOTE | (dropped_ok ? 0u : VCMI_PURGED)));
}

/* For a class that grows into buddies (vcmi_pair_grows_here): */
/* p, the live lower chunk at loc (g even), grows to n > its capacity: if n fits the pair and its
 * buddy is HELD, or free and its place on the free list is found cheaply (vcmi_purge_prev: the
 * buddy is then taken off it and HELD), p becomes the pair's MERGED chunk, in place (counted).
 * A MERGED pair at g = 4q of a class of VCMI_QUAD_CAP_MAX or less becomes a QUAD likewise, if n
 * fits four chunks and the pair above is HELD or both its halves free. Returns p, or NULL
 * (nothing done). */
void *vcmi_pair_grow(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n);
/* The MERGED chunk at loc (g even, of a class over VCMI_PAIR_CAP_MAX that grows into buddies,
 * or of a colour class)
 * is about to be freed by its owner, or was freed by another thread and is being collected:
 * its upper half goes back to the free list now, not at the next sweep, if found within a
 * short walk of its class's list. Returns its bytes (capacity: the caller counts them freed),
 * or 0 (left HELD for the sweep). Owner only. */
size_t vcmi_pair_leave(vcmi_region *r, const vcmi_loc *loc);
/* A chunk of state (the owner's, live) at loc leaves as a MERGED pair whose upper half
 * vcmi_pair_leave frees: a pair, not a QUAD, of a class over VCMI_PAIR_CAP_MAX that grows
 * into buddies, or of a colour class (the smaller classes' pairs wait for the sweep: a
 * take's, a slide's or a parked half's). */
static inline int vcmi_pair_leaves(const vcmi_region *r, size_t k, uint32_t state) {
  return (state & (VCMI_MERGED | VCMI_QUAD)) == VCMI_MERGED &&
         (r->xscale ? vcmi_pair_colour_here(r)
                    : ((const vcmi_segment *)(const void *)r)->cap[k] > VCMI_PAIR_CAP_MAX &&
                          vcmi_pair_grows_here(r, k));
}
/* The classes whose pairs vcmi_pair_leave frees in a segment of xscale 0, capacity 2^(LMAX -
 * k) over VCMI_PAIR_CAP_MAX up to VCMI_GROW_CAP_MAX (bit k, as the region's paired). */
#define VCMI_PAIR_LEAVE_MASK                                                                 \
  ((((uint32_t)1 << VCMI_PAIR_K_MIN) - 1u) & ~(((uint32_t)1 << (VCMI_LMAX - 16u)) - 1u))
_Static_assert(VCMI_GROW_CAP_MAX == (size_t)1 << 16, "VCMI_PAIR_LEAVE_MASK's classes");
/* Slides: p, the live upper chunk at loc (g odd) of the 2 KiB class, grows by a small step (an
 * append: VCMI_SLIDE_STEP or less) to n within twice that, and its lower buddy is free (not
 * dropped): vcmi_pair_may_slide, a test of the entries. If no free chunk of the class above is
 * found either (vcmi_heap_alloc_slow's VCMI_GROW_REUSE: the class would carve),
 * vcmi_pair_slide finds the buddy's place on the list cheaply (vcmi_purge_prev) and moves p's
 * bytes down into the pair, a MERGED chunk, p's entry HELD (ABSORBED), as a take leaves them: the
 * page the string shared with its buddy serves it, not a fresh 4 KiB page (g3: the 2 KiB
 * class's free chunks at the peak 3.8 -> 2.5 MiB). Counted as a move; returns the pair's chunk,
 * or NULL (nothing done). Neither chunk grows in place again (4 KiB chunks do not pair); in the
 * smaller classes a pair grows less than a chunk of the class above (into a QUAD only at 4q):
 * g2 and g5 moved 99 and 209 reallocs more. A vector growing by larger steps (by a part of its
 * size, as g8's) mostly passes through 4 KiB: its pair, freed, is two 2 KiB chunks, and the
 * 4 KiB class carves again what it would have reused (sliding at any step, g8 took 5-8 % more
 * page faults). */
#define VCMI_SLIDE_STEP (VCMI_PAIR_CAP_MAX / 32u)
static inline int vcmi_pair_may_slide(const vcmi_region *r, const vcmi_loc *loc, size_t n) {
  const vcmi_segment *s = (const vcmi_segment *)(const void *)r;
  return (loc->g & 1u) && s->cap[loc->k] == VCMI_PAIR_CAP_MAX && n <= 2u * VCMI_PAIR_CAP_MAX &&
         n - (__atomic_load_n(&loc->e->state, __ATOMIC_RELAXED) & VCMI_USED_MASK) <=
             VCMI_SLIDE_STEP &&
         vcmi_pairs_here(r, loc->k) &&
         !(__atomic_load_n(&loc->e[-1].state, __ATOMIC_RELAXED) &
           (VCMI_LIVE | VCMI_REMOTE | VCMI_PURGED));
}
void *vcmi_pair_slide(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n);
/* The live upper chunk at loc (g odd), grown out of its class and moved (its bytes copied), is
 * HELD if its buddy is live and single: returns 1; 0: nothing done (the caller frees it). */
int vcmi_pair_park(vcmi_region *r, const vcmi_loc *loc);
/* A chunk of 2^lg times class k's capacity (VCMI_TAKE_CAP_MAX at most) with used = n (<= that),
 * for a growing realloc into the class lg above, which has no free chunk: lg = 1, two free
 * buddies of class k, both free since a purge (AGED) and not dropped, in a span holding a chunk in
 * use or filling a span (a page), taken off the free list as one MERGED chunk, the upper half
 * HELD; lg = 2 (an append, class k of VCMI_QUAD_CAP_MAX or more), four such chunks 4q .. 4q + 3
 * as one QUAD, the other three HELD, as quad_grow leaves them. The map is scanned from a cursor
 * (shared by both), TAKE_SCAN pairs or quads at most (pair.c); one that finds none stops takes
 * of that lg from class k until a purge marks its chunks again (bit lg of pair_dry). NULL: none
 * found. */
void *vcmi_pair_take(vcmi_region *r, unsigned k, unsigned lg, size_t n);
/* For a malloc of class k - 1 (of r's scale: a colour class's in another fine segment), which
 * has no free chunk, while class k carves no fresh chunks
 * (its wave has passed: vectors leave it for the class above): two free buddies, not dropped,
 * one among the first HEAD_LOOK chunks of class k's free list freed since the last purge (its
 * latest frees, pair.c), taken as
 * one MERGED chunk with used = n (<= twice class k's capacity), the upper half HELD, as
 * vcmi_pair_take leaves them. NULL: none there. O(HEAD_LOOK + the walks of take_two). */
void *vcmi_pair_take_head(vcmi_region *r, unsigned k, size_t n);
/* For a malloc of the colour class above class k of r (a colour class, vcmi_pair_colour_here),
 * which has no free chunk, when no head take served it, while class k carves no fresh chunks:
 * two free buddies of class k anywhere, not dropped, found by a scan of its map from a cursor
 * (TAKE_SCAN pairs at most, pair.c; one that finds none stops these takes from class k until a
 * purge looks at it again), taken as one MERGED chunk as vcmi_pair_take_head leaves them. The
 * pairs a wave's MERGED chunks leave when freed together (a container torn down) are free
 * buddies that no head take finds once a purge marked them: the next wave takes them so, not
 * fresh pages while they wait to be dropped. NULL: none found. */
void *vcmi_pair_take_colour(vcmi_region *r, unsigned k, size_t n);
/* The classes whose pairs a malloc takes so: halves of VCMI_QUAD_CAP_MAX (512 B) or less. A wave
 * of 1 KiB chunks into 2 KiB goes by the purge's donations, as before (not measured otherwise). */
#define VCMI_HEAD_K_MIN (VCMI_LMAX - 9u)
_Static_assert(((size_t)1 << (VCMI_LMAX - VCMI_HEAD_K_MIN)) == VCMI_QUAD_CAP_MAX &&
                   VCMI_HEAD_K_MIN >= VCMI_TAKE_K_MIN,
               "head takes: halves of 512 B or less");
/* Class k of r must carve fresh chunks: its PARKED halves go back to its free list (the
 * ABSORBED ones stay). Returns how many (the heap counts them freed). O(pairs listed). */
uint32_t vcmi_pair_unpark(vcmi_region *r, unsigned k);
/* At a purge: the held halves whose buddy is neither live nor a remote free waiting go back
 * to their free lists (a PARKED one whose buddy was freed, an ABSORBED one whose MERGED chunk
 * was), in the classes of mask (those freed into since the last purge: a buddy freed since is
 * on its class's list; one freed and handed out again holds its half anew). Returns their
 * bytes (capacity): frees the heap counts, as the program's own. O(pairs listed). */
size_t vcmi_pair_sweep(vcmi_region *r, uint32_t mask);

#endif
