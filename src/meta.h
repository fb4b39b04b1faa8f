/* Process-wide metadata (meta.c): the spinlock, the address map (pagemap), the metadata
 * allocator, and their fork hooks. Not installed. */
#ifndef VCMI_META_H
#define VCMI_META_H
#include <stddef.h>
#include <stdint.h>

#include "sizes.h"

/* A spinlock for rare paths (heap creation, large blocks, metadata). */
typedef struct vcmi_lock {
  int v;
} vcmi_lock;
void vcmi_lock_take(vcmi_lock *l);
static inline void vcmi_lock_give(vcmi_lock *l) { __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE); }

/* Address map: granule -> descriptor (a segment's region or a large block), O(1): a
 * two-level radix over 48-bit addresses, 2^13 leaves of 2^14 granules (meta.c). */
#define VCMI_PAGEMAP_LEAF_BITS 14u
#define VCMI_PAGEMAP_TOP_BITS (48u - VCMI_GRANULE_SHIFT - VCMI_PAGEMAP_LEAF_BITS)
extern void **vcmi_pagemap_top[(size_t)1 << VCMI_PAGEMAP_TOP_BITS];
static inline void *vcmi_pagemap_get(const void *p) {
  uintptr_t g = (uintptr_t)p >> VCMI_GRANULE_SHIFT;
  if (g >> (VCMI_PAGEMAP_TOP_BITS + VCMI_PAGEMAP_LEAF_BITS)) return NULL;
  void **leaf = __atomic_load_n(&vcmi_pagemap_top[g >> VCMI_PAGEMAP_LEAF_BITS], __ATOMIC_ACQUIRE);
  if (!leaf) return NULL;
  return __atomic_load_n(&leaf[g & (((uintptr_t)1 << VCMI_PAGEMAP_LEAF_BITS) - 1)],
                         __ATOMIC_ACQUIRE);
}
int vcmi_pagemap_set(const void *start, size_t size, void *desc); /* -1: out of memory */

/* Small metadata objects from OS pages, never returned (heaps, large descriptors). */
void *vcmi_meta_alloc(size_t size);

void vcmi_meta_fork_prepare(void);
void vcmi_meta_fork_parent(void);
void vcmi_meta_fork_child(void);
#endif
