/* Internal interface of the statistics (stats.c) for glibc's reporting entry points
 * (override.c: mallinfo, mallinfo2, malloc_info). Not installed. */
#ifndef VCMI_STATS_H
#define VCMI_STATS_H
#include <stddef.h>

/* Distinct chunk capacities a heap's free chunks can have: 4 scales of 15 powers of two, the
 * fine and colour classes (heap.h), with room. */
#define VCMI_INFO_SIZES 192u
/* The small chunks of one heap or of all, in glibc's terms (docs/DESIGN.md §6). Bytes are
 * capacities. Read as vcm_stats_get reads: another running thread's heap is a mix of moments. */
typedef struct vcmi_info {
  size_t heaps;       /* heaps walked */
  size_t carved;      /* chunks carved: below their classes' frontiers (glibc's arena) */
  size_t in_use;      /* live chunks (a merged pair or quad at its whole capacity) */
  size_t free_chunks; /* carved chunks free: on a free list, or freed remotely, not collected */
  size_t top;         /* free chunks above every class's last chunk in use (what a purge cuts) */
  size_t top_own;     /* of them, the calling thread's heap's (what its malloc_trim cuts) */
  size_t reserved;    /* the segments' address space */
  size_t n_sizes;     /* free chunks by capacity, ascending: */
  struct vcmi_info_size {
    size_t cap, count;
  } size[VCMI_INFO_SIZES];
} vcmi_info;
/* Fill *out for the heap at place i of the heap list, or for all heaps if i == (size_t)-1.
 * 0 if there is no heap i. Takes the heap list lock (not while the caller holds it). O(chunks
 * carved in those heaps). */
int vcmi_info_get(size_t i, vcmi_info *out);
/* The large blocks: live ones and their mappings' bytes, cached ones and theirs. */
void vcmi_info_large(size_t *live, size_t *live_bytes, size_t *cached, size_t *cached_bytes);
#endif
