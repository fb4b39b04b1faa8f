/* Internal interface of remote frees (remote.c): a chunk freed by a thread other than its
 * segment's owner, batched by the freeing thread and pushed on the segment's remote list, and
 * the owner's collection of those lists. Also the reports of a segment chunk that is not live
 * and check mode's slack test, shared with the owner's paths. Not installed. No lock taken.
 * (The free's entry point, vcmi_seg_free_remote, is declared in heap.h, whose inline free
 * calls it.) */
#ifndef VCMI_REMOTE_H
#define VCMI_REMOTE_H
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

/* Once, at the heaps' first use (heaps.c, under heaps_lock): the key whose destructor pushes a
 * thread's batches at its exit. */
void vcmi_remote_init(void);
/* Segment s of xscale x: the byte offset of its batch slot in a freeing thread's slots
 * (vcmi_segment.slot). */
uint32_t vcmi_remote_slot(const vcmi_segment *s, unsigned x);
/* Push this thread's batches (its purges, its exit): a batch waits a purge interval at most. */
void vcmi_remote_flush(void);
/* This thread exits (one of its key destructors runs): its batches are pushed, and its later
 * remote frees (later destructors') go one by one. A batch started in the last round of key
 * destructors would set the batch key, whose destructor no round then calls: its chunks stayed
 * REMOTE for good. So the heap's destructor (heaps.c) ends batching too, and a thread keeps its
 * batches outside itself, for the reclaims below when neither destructor runs. */
void vcmi_remote_exit(void);
/* Push the batches of threads that had no heap when they first batched and are gone without
 * pushing them (their first batch came in the last round of key destructors): a few such
 * threads checked per call (a system call each). Any thread: a trim, a heap's taking. */
void vcmi_remote_reclaim(void);
/* Push the batches of h's thread tid, gone without giving h up (its heap taken in the last round
 * of key destructors: heaps.c's reclaim_dead found it). The caller holds h, listed nowhere. */
void vcmi_remote_reclaim_heap(const void *h, long tid);
/* Take back every chunk other threads freed into h's segments, flagged or not. Owner only. */
void vcmi_remote_collect(vcmi_heap *h);
/* The same if h is flagged (a push onto an empty list of one of its segments) or all: every
 * segment's list, flagged or not (a purge: a push that flagged the heap the segment had before
 * an adoption waits at most a purge interval). */
static inline void vcmi_heap_collect(vcmi_heap *h, int all) {
  if (all || __atomic_load_n(&h->remote_pending, __ATOMIC_RELAXED)) vcmi_remote_collect(h);
}

/* Report p, at entry e, as no live chunk (why), or as inside a merged chunk (pair.h). */
void vcmi_report_not_live(vcmi_region *r, const void *p, const vcmi_entry *e, vcmi_why why);
/* Check mode: 1 if the n bytes at p are all VCMI_CHECK_FILL. */
int vcmi_all_fill(const unsigned char *p, size_t n);
/* Check mode: report an overflow if the live chunk's slack (used to capacity) is not all fill. */
void vcmi_check_slack(vcmi_region *r, const vcmi_loc *loc, const unsigned char *p);
#endif
