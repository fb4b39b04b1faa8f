/* A live chunk of a segment (chunk.c): used bytes, size, realloc within the small classes. */
#ifndef VCM_CHUNK_H
#define VCM_CHUNK_H

#include "heap.h"

/* Resize a chunk of a segment region within the small classes (n <= VCMI_SMALL_MAX): in place,
 * or moved to another class of this thread's heap. NULL if p is not a live chunk start
 * (reported) or no chunk is to be had (p untouched). No lock. */
void *vcmi_seg_realloc(vcmi_region *r, void *p, size_t n);
/* vcmi_seg_realloc of p, which vcmi_seg_find located at loc (not located again; a chunk that is
 * not LIVE is reported). */
void *vcmi_seg_realloc_at(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n);
/* A realloc shrinking p, a LIVE chunk of r (not MERGED) at loc whose entry reads state, to n
 * bytes (0 < n <= vcmi_shrink_floor of its capacity, which is over 16), from this thread's heap
 * (not vcmi_no_heap, not check mode): moved to the head of the smaller class's free list and p
 * freed, as vcmi_seg_realloc does, without locating p again. NULL if that list is empty (p
 * untouched: then vcmi_seg_realloc). No lock. */
void *vcmi_seg_shrink(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n, uint32_t state);
/* 0 and *used if p is a live chunk start of r, about to move out of the small classes (check
 * mode: its slack verified); else -1, reported. No lock. */
int vcmi_seg_used(vcmi_region *r, const void *p, size_t *used);
/* Set the used bytes of a live chunk to n: 0, or -1 if n exceeds its capacity or p is not a
 * live chunk start (reported). */
int vcmi_seg_expand(vcmi_region *r, void *p, size_t n);
/* Used/capacity of a live chunk; claim = 1 sets used to the capacity (malloc_usable_size:
 * the program may now write all of it, so a later move must copy all of it). 0 if p is not a
 * live chunk start (reported). */
size_t vcmi_seg_size(vcmi_region *r, const void *p, int capacity, int claim);

#endif
