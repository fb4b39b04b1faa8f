/* Process-wide metadata (meta.c): the spinlock, the address map (pagemap), the metadata
 * allocator, the segment map, and their fork hooks. Not installed. */
#ifndef VCMI_META_H
#define VCMI_META_H
#include <stddef.h>
#include <stdint.h>

#include "sizes.h"

/* A spinlock for rare paths (heap creation, large blocks, metadata). v is 0 when free, else
 * its holder's token (the address of a thread-local), so that fork can tell a lock held by the
 * forking thread itself: a signal handler that interrupted malloc calls fork. */
typedef struct vcmi_lock {
  uintptr_t v;
  int kept; /* fork: the forking thread held it already; written only by a holder */
} vcmi_lock;
void vcmi_lock_take(vcmi_lock *l); /* spins (yielding) until free; never fails */
static inline void vcmi_lock_give(vcmi_lock *l) { __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE); }
/* Across fork: prepare takes l, or keeps it as it is if this thread holds it (taking it would
 * spin forever); the parent gives back only what prepare took (the interrupted call gives the
 * rest when the handler returns); the child, one thread, frees l either way, so that the
 * handler may allocate in the child (on the state the interrupted call left, as glibc). */
void vcmi_lock_fork_prepare(vcmi_lock *l);
void vcmi_lock_fork_parent(vcmi_lock *l);
void vcmi_lock_fork_child(vcmi_lock *l);

/* Address map: granule -> large block descriptor, O(1): a
 * two-level radix over 48-bit addresses, 2^13 leaves of 2^14 granules (meta.c). */
#define VCMI_PAGEMAP_LEAF_BITS 14u
#define VCMI_PAGEMAP_TOP_BITS (48u - VCMI_GRANULE_SHIFT - VCMI_PAGEMAP_LEAF_BITS)
extern void **vcmi_pagemap_top[(size_t)1 << VCMI_PAGEMAP_TOP_BITS];
/* Granule 0 (NULL's: free(NULL) asks) is never mapped and is answered without reading the top
 * array: its first page holds no leaf of a process whose mappings lie above 2^44, and reading a
 * never-written page takes a frame where the kernel maps no zero page (docs/DESIGN.md §6). */
static inline void *vcmi_pagemap_get(const void *p) {
  uintptr_t g = (uintptr_t)p >> VCMI_GRANULE_SHIFT;
  if (g - 1u >= ((uintptr_t)1 << (VCMI_PAGEMAP_TOP_BITS + VCMI_PAGEMAP_LEAF_BITS)) - 1u)
    return NULL; /* granule 0, or past 48 bits */
  void **leaf = __atomic_load_n(&vcmi_pagemap_top[g >> VCMI_PAGEMAP_LEAF_BITS], __ATOMIC_ACQUIRE);
  if (!leaf) return NULL;
  return __atomic_load_n(&leaf[g & (((uintptr_t)1 << VCMI_PAGEMAP_LEAF_BITS) - 1)],
                         __ATOMIC_ACQUIRE);
}
/* Map every granule that [start, start + size) touches to desc (NULL: clear them). Takes
 * meta_lock. 0, or -1 if an address is past 48 bits, in granule 0 (never mapped, so NULL is
 * nothing of ours: free tests it only then) or a leaf cannot be mapped (out of memory: the
 * granules before it are set, the caller clears them). Clearing never fails. */
int vcmi_pagemap_set(const void *start, size_t size, void *desc);

/* Segment map: one byte per 8 MiB unit of the address space below 2^47 on x86-64 (where the
 * kernel maps nothing higher unasked: vcm never asks), 2^48 on other 64-bit targets, all of
 * it on 32-bit ones: for a unit inside a segment, the units from the segment's first one, plus
 * one; 0 for anything else (a large block, nothing of ours). Segments are reserved aligned to
 * the unit and in whole units, so a unit holds at most one and nothing else, and a segment
 * (its header first) is found in one load and a subtraction. Static (16 MiB of zero pages on
 * x86-64, one touched per 32 GiB of segments; address space that `ulimit -v` counts): no test
 * for its presence, valid from the first free (of NULL). */
#define VCMI_SEGMAP_SHIFT 23u
#define VCMI_SEGMAP_UNIT ((size_t)1 << VCMI_SEGMAP_SHIFT)
#if defined(__x86_64__)
#define VCMI_SEGMAP_VA 47u
#else
#define VCMI_SEGMAP_VA 48u
#endif
#define VCMI_SEGMAP_BITS                                                                     \
  ((sizeof(void *) > 4 ? VCMI_SEGMAP_VA : 8u * sizeof(void *)) - VCMI_SEGMAP_SHIFT)
#define VCMI_SEGMAP_MAX 254u /* units in the biggest segment (the byte holds the count + 1) */
/* The metadata's own words and the segment map in one static block: the map's first bytes
 * (unit 0's, which free(NULL) reads) share a page with the lock and the allocator's words,
 * which every process that allocates writes, so that read takes no page of its own where the
 * kernel maps no zero page (DESIGN §6). The map is read through the block (a constant
 * displacement: the same instructions as a map of its own). */
typedef struct vcmi_meta_block {
  vcmi_lock lock;                       /* meta_lock: the pagemap, the segment map, metadata */
  int segmap_used;                      /* a segment was set (under the lock) */
  int segmap_closed;                    /* the map is read-only but the pages of units set since */
  unsigned char *cur, *end;             /* the metadata allocator's block */
  unsigned char segmap[(size_t)1 << VCMI_SEGMAP_BITS] __attribute__((aligned(64)));
} vcmi_meta_block;
extern vcmi_meta_block vcmi_meta;
#define vcmi_segmap (vcmi_meta.segmap)
/* At load (lifecycle.c): make the segment map's whole pages read-only (not the first, which it
 * shares with the block's words), opened as segments are set in them. Read-only pages are the
 * OS's zero page (where the kernel maps one: DESIGN §6), so a process that locks its memory
 * (mlockall) does not make all of it resident. Nothing if a segment was set before, or where
 * the map has no page of its own (32-bit targets). Takes meta_lock. */
void vcmi_segmap_init(void);
/* Where p's unit keeps its byte: at the index after the unit's own (wrapping), so that the
 * segment is (index - byte) units from 0, no + 1 (one instruction less on every free: the copy
 * of p the index needs is an lea that adds the unit). Masked, not bounded: an address at or
 * past 2^VCMI_SEGMAP_VA (none is ours) reads the byte of the unit it wraps to, and a segment
 * found so lies 2^VCMI_SEGMAP_VA or more away from p, so every locate rejects p (the slow
 * paths report it foreign: heap.c, locate_or_report). Index 0 is the last unit's, never a segment's (vcmi_segmap_set),
 * and index 1 unit 0's, never one either: NULL is in none. */
static inline uintptr_t vcmi_segmap_idx(const void *p) {
  return (((uintptr_t)p + VCMI_SEGMAP_UNIT) >> VCMI_SEGMAP_SHIFT) &
         (((uintptr_t)1 << VCMI_SEGMAP_BITS) - 1u);
}
/* The units from the start of p's segment, plus one; 0: p is in no segment (NULL is not). */
static inline unsigned vcmi_segmap_dist(const void *p) {
  return __atomic_load_n(&vcmi_segmap[vcmi_segmap_idx(p)], __ATOMIC_RELAXED);
}
/* The segment holding p, given vcmi_segmap_dist(p) = d > 0 (wrapped like it past
 * 2^VCMI_SEGMAP_VA). */
static inline void *vcmi_segmap_base(const void *p, unsigned d) {
  return (void *)((vcmi_segmap_idx(p) - d) << VCMI_SEGMAP_SHIFT);
}
/* Record [start, start + size) as a segment (set) or nothing (clear); start aligned to the
 * unit, size a multiple of it, at most VCMI_SEGMAP_MAX units. Takes meta_lock. 0, or -1 if
 * the address is past the map or in unit 0 (so NULL is never in a segment). Clearing a
 * segment that was set never fails. */
int vcmi_segmap_set(const void *start, size_t size, int set);

/* Small metadata objects from OS pages, never returned (heaps, large descriptors): size bytes,
 * 64-byte aligned, zeroed (fresh OS pages). NULL if the OS refuses. Takes meta_lock. */
void *vcmi_meta_alloc(size_t size);

/* fork hooks (lifecycle.c): meta_lock across fork (see vcmi_lock_fork_prepare). */
void vcmi_meta_fork_prepare(void);
void vcmi_meta_fork_parent(void);
void vcmi_meta_fork_child(void);
#endif
