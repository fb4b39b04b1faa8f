/* A live chunk of a segment (chunk.c): used bytes, size, realloc within the small classes. */
#ifndef VCM_CHUNK_H
#define VCM_CHUNK_H

#include "heap.h"

/* Resize a chunk of a segment region within the small classes (n <= VCMI_SMALL_MAX): in place,
 * or moved to another class of this thread's heap. NULL if p is not a live chunk start
 * (reported) or no chunk is to be had (p untouched). No lock. */
void *vcmi_seg_realloc(vcmi_region *r, void *p, size_t n);
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
