/* Process-wide metadata: the spinlock, the address map (pagemap) and the metadata allocator.
 * None of it ever shares a page with chunks. */
#include <string.h>

#include "meta.h"
#include "os.h"

static __thread char lock_self __attribute__((tls_model("initial-exec")));
#define SELF ((uintptr_t)&lock_self) /* this thread's token, distinct per live thread */

void vcmi_lock_take(vcmi_lock *l) {
  for (;;) {
    uintptr_t free_v = 0;
    if (__atomic_compare_exchange_n(&l->v, &free_v, SELF, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return;
    while (__atomic_load_n(&l->v, __ATOMIC_RELAXED)) vcmi_os_yield();
  }
}

void vcmi_lock_fork_prepare(vcmi_lock *l) {
  if (__atomic_load_n(&l->v, __ATOMIC_RELAXED) == SELF) {
    l->kept = 1;
    return;
  }
  vcmi_lock_take(l);
  l->kept = 0;
}
void vcmi_lock_fork_parent(vcmi_lock *l) {
  if (!l->kept) vcmi_lock_give(l);
}
void vcmi_lock_fork_child(vcmi_lock *l) { l->v = 0; }

/* Two-level radix over 48-bit addresses at 2 MiB granules: 2^13 leaves of 2^14 entries.
 * Leaves are created under meta_lock and published with release; readers load with acquire.
 * Lookups need no lock. */
#define LEAF_BITS VCMI_PAGEMAP_LEAF_BITS
#define TOP_BITS VCMI_PAGEMAP_TOP_BITS
#define top vcmi_pagemap_top
/* On pages of its own: the first is read only for granules below 2^44 (vcmi_pagemap_get). */
void **vcmi_pagemap_top[(size_t)1 << VCMI_PAGEMAP_TOP_BITS] __attribute__((aligned(4096)));
/* 64 KiB aligned: the block's words and the map's first bytes share the first page, and the
 * rest of the map has pages of its own, with any OS page up to 64 KiB. */
vcmi_meta_block vcmi_meta __attribute__((aligned(65536)));
#define meta_lock (vcmi_meta.lock)

int vcmi_pagemap_set(const void *start, size_t size, void *desc) {
  uintptr_t g0 = (uintptr_t)start >> VCMI_GRANULE_SHIFT;
  uintptr_t g1 = ((uintptr_t)start + (size ? size - 1 : 0)) >> VCMI_GRANULE_SHIFT;
  if (g1 >> (TOP_BITS + LEAF_BITS) || (g0 == 0 && desc)) return -1; /* free(NULL): nothing */
  vcmi_lock_take(&meta_lock);
  for (uintptr_t g = g0; g <= g1; g++) {
    void **leaf = top[g >> LEAF_BITS];
    if (!leaf) {
      if (!desc) continue; /* clearing: nothing mapped here */
      leaf = vcmi_os_reserve(sizeof(void *) << LEAF_BITS, VCMI_PAGE);
      if (!leaf) {
        vcmi_lock_give(&meta_lock);
        return -1;
      }
      __atomic_store_n(&top[g >> LEAF_BITS], leaf, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&leaf[g & (((uintptr_t)1 << LEAF_BITS) - 1)], desc, __ATOMIC_RELEASE);
  }
  vcmi_lock_give(&meta_lock);
  return 0;
}

#define segmap_used (vcmi_meta.segmap_used)
#define segmap_closed (vcmi_meta.segmap_closed)
/* The segment map's whole pages, [*lo, *hi): what vcmi_segmap_init closes (none: *lo >= *hi). */
static void segmap_pages(uintptr_t *lo, uintptr_t *hi) {
  uintptr_t page = vcmi_os_page();
  *lo = ((uintptr_t)vcmi_segmap + page - 1u) & ~(page - 1u);
  *hi = ((uintptr_t)vcmi_segmap + sizeof vcmi_segmap) & ~(page - 1u);
}

void vcmi_segmap_init(void) {
  uintptr_t lo, hi;
  segmap_pages(&lo, &hi);
  if (vcmi_os_page() > 65536u || hi <= lo) return; /* no page of its own */
  vcmi_lock_take(&meta_lock);
  if (!segmap_used) segmap_closed = vcmi_os_open((void *)lo, hi - lo, 0) == 0;
  vcmi_lock_give(&meta_lock);
}

int vcmi_segmap_set(const void *start, size_t size, int set) {
  uintptr_t u0 = (uintptr_t)start >> VCMI_SEGMAP_SHIFT, n = size >> VCMI_SEGMAP_SHIFT;
  /* unit u's byte is at index u + 1 (meta.h): the last unit has none (never a segment's) */
  if (u0 == 0 || n > VCMI_SEGMAP_MAX || u0 + n >= ((uintptr_t)1 << VCMI_SEGMAP_BITS) ||
      ((uintptr_t)start | size) & (VCMI_SEGMAP_UNIT - 1u))
    return -1;
  vcmi_lock_take(&meta_lock);
  if (set && segmap_closed) { /* open its units' pages (a clear finds them open) */
    uintptr_t page = vcmi_os_page(), lo = (uintptr_t)&vcmi_segmap[u0 + 1u] & ~(page - 1u);
    uintptr_t hi = ((uintptr_t)&vcmi_segmap[u0 + 1u + n] + page - 1u) & ~(page - 1u), c0, c1;
    segmap_pages(&c0, &c1); /* only closed pages: the first and last are the block's */
    lo = lo < c0 ? c0 : lo;
    hi = hi > c1 ? c1 : hi;
    if (lo < hi && vcmi_os_open((void *)lo, hi - lo, 1) != 0) {
      vcmi_lock_give(&meta_lock);
      return -1;
    }
  }
  segmap_used = 1;
  for (uintptr_t i = 0; i < n; i++)
    __atomic_store_n(&vcmi_segmap[u0 + 1u + i], set ? (unsigned char)(i + 1u) : 0,
                     __ATOMIC_RELAXED);
  vcmi_lock_give(&meta_lock);
  return 0;
}

/* Bump allocation from 1 MiB OS blocks; 64-byte aligned so heaps do not share cache lines. */
#define meta_cur (vcmi_meta.cur)
#define meta_end (vcmi_meta.end)

void *vcmi_meta_alloc(size_t size) {
  size = (size + 63u) & ~(size_t)63u;
  vcmi_lock_take(&meta_lock);
  if (!meta_cur || (size_t)(meta_end - meta_cur) < size) {
    size_t block = size > ((size_t)1 << 20) ? size : ((size_t)1 << 20);
    unsigned char *b = vcmi_os_reserve(block, VCMI_PAGE);
    if (!b) {
      vcmi_lock_give(&meta_lock);
      return NULL;
    }
    meta_cur = b;
    meta_end = b + block;
  }
  void *p = meta_cur;
  meta_cur += size;
  vcmi_lock_give(&meta_lock);
  return p;
}

void vcmi_meta_fork_prepare(void) { vcmi_lock_fork_prepare(&meta_lock); }
void vcmi_meta_fork_parent(void) { vcmi_lock_fork_parent(&meta_lock); }
void vcmi_meta_fork_child(void) { vcmi_lock_fork_child(&meta_lock); }
