/* Internal interface of purging (purge.c): a heap's free pages back to the OS. Not installed.
 * Owner only (the thread whose heap holds the segment); no lock taken. */
#ifndef VCMI_PURGE_H
#define VCMI_PURGE_H
#include <stddef.h>
#include <stdint.h>

#include "segment.h"
#include "os.h"

/* Byte counts that a 32-bit target can push past SIZE_MAX (a heap freeing 1 GiB between two
 * purges, a class carving 2 GiB): saturated, as a wrapped count reads as almost nothing (a hold
 * ending at once, no room to donate). */
static inline size_t vcmi_sat_mul(size_t a, size_t b) {
  size_t m;
  return __builtin_mul_overflow(a, b, &m) ? SIZE_MAX : m;
}
static inline size_t vcmi_sat_add(size_t a, size_t b) { return a + b >= a ? a + b : SIZE_MAX; }
/* The purge credit c less b bytes freed, floored at -(PTRDIFF_MAX / 2), so that FREED (heap.c)
 * still fits: a collection of more than PTRDIFF_MAX bytes of remote frees (2 GiB on 32-bit)
 * wrapped it positive, and no purge came due. */
static inline ptrdiff_t vcmi_credit_less(ptrdiff_t c, size_t b) {
  ptrdiff_t floor = -(PTRDIFF_MAX / 2);
  return c > floor && b < (size_t)(c - floor) ? c - (ptrdiff_t)b : floor;
}

#define VCMI_DONATE_MIN ((size_t)64 << 10)
#define VCMI_DONATE_AHEAD 2u /* the last carving class's room: this many intervals' carving */
#define VCMI_DONATE_TARGETS 4u /* the classes that carved the most since the last purge */

/* The ranges one heap purge drops, given to the OS together (one call where it has one:
 * scattered free chunks make thousands of ranges, and a call each cost g8 +9 % CPU). */
typedef struct vcmi_purge_batch {
  vcmi_os_range r[VCMI_OS_PURGE_BATCH];
  size_t n;
  int hold_new;     /* this purge ends a burst and begins the heap's hold (heap.c) */
  int hold_tail;    /* the first purge after a held burst's last, the hold going on: the spans
                     * it finds all free join the burst's (purge.c) */
  /* Donations: a range of VCMI_DONATE_MIN or more is first moved (vcmi_os_move) onto
   * [dst, dst + room) of to[cur], the frontier of a class carving fresh chunks, instead of
   * dropped: the class's next fresh chunks are then resident, not a fault a page. A target
   * whose room is under VCMI_DONATE_MIN gives way to the next; cur == n_to: none. */
  struct vcmi_donee {
    unsigned char *dst;
    size_t room, moved;
    vcmi_segment *s; /* class k of segment s (vcmi_donate_settle) */
    unsigned k;
  } to[VCMI_DONATE_TARGETS];
  unsigned n_to, cur;
} vcmi_purge_batch;

/* A purge's donations (purge.c) among the segments from segs on (those that stay mapped):
 * the pages moved onto a class's frontier before and not carved go into bt, unless the class
 * carved enough to be donated to again; then bt's targets are set (last_s's class last_k
 * first: the class that carved last). check: no donation. Every class's gained starts again.
 * O(segments * classes). */
void vcmi_donate_plan(vcmi_segment *segs, const vcmi_segment *last_s, unsigned last_k,
                     int check, vcmi_purge_batch *bt);
/* After bt's flush: each target records the chunks moved onto it (dirty_g). */
void vcmi_donate_settle(const vcmi_purge_batch *bt);
/* Drop (or donate) the whole pages inside [p, p + n). */
void vcmi_purge_inside(vcmi_purge_batch *bt, void *p, size_t n);
/* Hand the batch's ranges to the OS and empty it. O(ranges). */
void vcmi_purge_flush(vcmi_purge_batch *b);
/* Where a fine segment's map entries start, from its header (heap.c, seg_create): in the
 * header page, after the header and its one class's head (a class of up to 608 chunks keeps no
 * map page). */
size_t vcmi_purge_fine_map_off(void);
/* Where class k's groups after the map lie in s, and their *bytes (a segment that opens as it
 * is used, heap.c seg_open, opens them when the class first carves). */
void *vcmi_purge_groups_at(vcmi_segment *s, unsigned k, size_t *bytes);
/* A class's groups' bytes (whole pages), wherever they lie. */
size_t vcmi_purge_group_bytes(void);

/* One class k of segment s at a heap purge: age the chunks freed since the last purge, drop
 * (into bt) the spans free since the last (if drop; inside the class only if !check), cut the
 * class's top. drop == 0: the purge ends a burst (the first of a hold if bt->hold_new): the
 * spans all free now are held.
 * hold: NULL, or the heap holds a burst: its spans stay, and *hold bytes of spans all free at
 * the last purge may go besides (taken from *hold). O(chunks freed since the last purge +
 * groups + chunks dropped). Returns whether it aged any or keeps a span waiting (the next
 * purge must look at the class again, frees or not). */
int vcmi_purge_class(vcmi_segment *s, unsigned k, int drop, size_t *hold, int check,
                     vcmi_purge_batch *bt);

/* Class k's chunks per span in s (purge.c: an OS page, for a class under a page; for a
 * colour class, the fewest covering a page), as a shift. */
unsigned vcmi_purge_span_log2(const vcmi_segment *s, unsigned k);
/* The most spans a class has (of 4 KiB pages: an area of 2^23 bytes, 2^19 on 32-bit). */
#define VCMI_PURGE_SPANS_MAX (VCMI_SEG_CHANNELS << (VCMI_LMAX - 12u))
/* The most purges of its class a free span waits before it goes (purge.c: SPAN_AGE <<
 * SPAN_WAIT_LOG2_MAX, a short run; a run of 1 MiB goes at the second). */
#define VCMI_PURGE_WAIT_MAX 48u
/* The chunk before the free chunk c on class k's free list in *prev (VCMI_NONE: c is its
 * head): 0, or -1 if not found cheaply: in c's group (a purge's, intact) or as the tail of the
 * group before, else within walk steps of the head. O(chunks a span + walk). */
int vcmi_purge_prev(vcmi_segment *s, unsigned k, uint32_t c, uint32_t walk, uint32_t *prev);
/* Chunk c of class k of s, marked by a purge (AGED), was taken off the free list between prev
 * (VCMI_NONE: c was the list's first marked chunk) and next: its span's group forgets it, so
 * that the next purge finds the list as it expects. O(1). */
void vcmi_purge_unlink(vcmi_segment *s, unsigned k, uint32_t c, uint32_t prev, uint32_t next);

#endif
