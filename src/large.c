/* Large blocks: above the largest class, each block is its own mapping with a power-of-two
 * capacity. The record (used, capacity) lives in a descriptor apart from the block, found
 * through the pagemap from any of the block's 2 MiB granules (so a pointer past its first
 * granule is known as an interior pointer, not a foreign one). Growth within the capacity is a
 * metadata update (the program touches the new pages); growth past it remaps the page tables
 * (in place when the address space after the block is free), never copying bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "large.h"
#include "meta.h"
#include "misuse.h"
#include "options.h"
#include "os.h"


#define LARGE_MIN ((size_t)512 << 10)
#define CACHE_MAX_BYTES ((size_t)vcmi_opt[VCMI_OPT_LARGE_CACHE_MB] << 20) /* kept for reuse */
#define CACHE_MAX_BLOCK ((size_t)32 << 20)
#define SHRINK_PURGE ((size_t)1 << 20) /* drop the tail pages when a shrink frees this much */

static vcmi_lock large_lock;
static vcmi_large *desc_free, *cache;
static size_t cache_bytes;
static vcmi_large live_list = {0, 0, NULL, 0, 0, &live_list, &live_list}; /* under large_lock */

static void unlink_live(vcmi_large *b) {
  b->prev->next = b->next;
  b->next->prev = b->prev;
}

static size_t page_up(size_t n) {
  size_t page = vcmi_os_page();
  return (n + page - 1u) & ~(page - 1u);
}

/* Capacity for n bytes: the next power of two, at least LARGE_MIN; 0 if that overflows. */
static size_t cap_for(size_t n) {
  if (n > ((size_t)1 << (sizeof(size_t) * 8 - 2))) return 0;
  size_t c = LARGE_MIN;
  while (c < n) c <<= 1;
  return c;
}

static vcmi_large *desc_get(void) {
  vcmi_large *d = desc_free;
  if (d) {
    desc_free = d->next;
    return d;
  }
  return vcmi_meta_alloc(sizeof *d);
}

void *vcmi_large_alloc(size_t n, size_t align, int zero) {
  size_t cap = cap_for(n);
  size_t al = align > VCMI_GRANULE ? align : VCMI_GRANULE;
  if (!cap) {
    errno = ENOMEM;
    return NULL;
  }
  vcmi_lock_take(&large_lock);
  /* Reuse the smallest cached block with room (up to 4x the capacity asked: a bigger one only
   * gives the block more room to grow in place), suitably aligned; its pages are resident. */
  vcmi_large *d = NULL, **best = NULL;
  for (vcmi_large **link = &cache; *link; link = &(*link)->next) {
    vcmi_large *c = *link;
    if (c->cap >= cap && c->cap <= 4 * cap && ((uintptr_t)c->p & (al - 1u)) == 0 &&
        (!best || c->cap < (*best)->cap))
      best = link;
  }
  if (best) {
    d = *best;
    *best = d->next;
    cache_bytes -= d->cap;
  }
  if (!d) {
    vcmi_lock_give(&large_lock);
    unsigned char *p = vcmi_os_reserve(cap, al);
    if (!p) return NULL;
    if (cap >= VCMI_GRANULE && vcmi_opt[VCMI_OPT_THP]) vcmi_os_hugepage(p, cap);
    vcmi_lock_take(&large_lock);
    d = desc_get();
    if (!d || vcmi_pagemap_set(p, cap, d) != 0) {
      if (d) {
        vcmi_pagemap_set(p, cap, NULL); /* what was set before the map ran out */
        d->next = desc_free;
        desc_free = d;
      }
      vcmi_lock_give(&large_lock);
      vcmi_os_release(p, cap);
      errno = ENOMEM;
      return NULL;
    }
    d->p = p;
    d->cap = cap;
    d->fresh = 1;
  }
  d->used = n;
  __atomic_store_n(&d->magic, VCMI_LARGE_MAGIC, __ATOMIC_RELEASE);
  d->next = live_list.next;
  d->prev = &live_list;
  live_list.next->prev = d;
  live_list.next = d;
  vcmi_lock_give(&large_lock);
  if (zero && !d->fresh) memset(d->p, 0, n);
  d->fresh = 0;
  return d->p;
}

/* p is the start of the live block b, or report (freeing: a double free; else a use). */
static int check(vcmi_large *b, const void *p, int freeing) {
  if (b->p != p) {
    vcmi_process_misuse(p, VCMI_WHY_INTERIOR_LARGE);
    return -1;
  }
  if (__atomic_load_n(&b->magic, __ATOMIC_ACQUIRE) != VCMI_LARGE_MAGIC) {
    vcmi_process_misuse(p, freeing ? VCMI_WHY_DOUBLE_FREE_LARGE : VCMI_WHY_USE_AFTER_FREE_LARGE);
    return -1;
  }
  return 0;
}

void vcmi_large_free(vcmi_large *b, void *p) {
  if (check(b, p, 1) != 0) return;
  vcmi_lock_take(&large_lock);
  if (b->magic != VCMI_LARGE_MAGIC) { /* lost a race with another free of p */
    vcmi_lock_give(&large_lock);
    vcmi_process_misuse(p, VCMI_WHY_DOUBLE_FREE_LARGE);
    return;
  }
  __atomic_store_n(&b->magic, 0u, __ATOMIC_RELEASE);
  unlink_live(b);
  if (b->cap <= CACHE_MAX_BLOCK && cache_bytes + b->cap <= CACHE_MAX_BYTES) {
    /* Kept mapped (its pagemap entry too: a double free still finds it, not live). */
    b->next = cache;
    cache = b;
    cache_bytes += b->cap;
    vcmi_lock_give(&large_lock);
    return;
  }
  size_t cap = b->cap; /* b may be reused as soon as the lock is given */
  vcmi_pagemap_set(b->p, cap, NULL);
  b->next = desc_free;
  desc_free = b;
  vcmi_lock_give(&large_lock);
  vcmi_os_release(p, cap);
}

/* used and cap change only by the thread that owns the block (the program's); stats read them
 * relaxed, under large_lock, as a snapshot. */
static void set_used(vcmi_large *b, size_t n) { __atomic_store_n(&b->used, n, __ATOMIC_RELAXED); }

void *vcmi_large_realloc(vcmi_large *b, void *p, size_t n) {
  if (check(b, p, 0) != 0) return NULL;
  if (n > VCMI_SMALL_MAX && n <= b->cap / 4) { /* a quarter or less: move down */
    void *q = vcmi_large_alloc(n, 0, 0);
    if (q) {
      memcpy(q, p, n < b->used ? n : b->used);
      vcmi_large_free(b, p);
      return q;
    }
  }
  if (n <= b->cap) {
    /* Shrinking gives the pages beyond the new end back. */
    if (n < b->used && page_up(b->used) - page_up(n) >= SHRINK_PURGE)
      vcmi_os_purge(b->p + page_up(n), page_up(b->used) - page_up(n));
    set_used(b, n);
    return p;
  }
  size_t cap = cap_for(n);
  if (!cap) {
    errno = ENOMEM;
    return NULL;
  }
  unsigned char *q = vcmi_os_remap(b->p, b->cap, cap, NULL);
  if (q) {
    /* Grown in place: the new granules are the block's too. If the map cannot grow, a pointer
     * into them reads as foreign (a misuse report less exact), nothing worse. */
    (void)vcmi_pagemap_set(q, cap, b);
  } else {
    /* No room after the block: record the new place, and forget the old one *before* the
     * move frees its addresses (after it, another thread's new block may be mapped there and
     * registered, and clearing then would orphan that block). */
    unsigned char *hole = vcmi_os_reserve(cap, VCMI_GRANULE);
    if (!hole) return NULL;
    if (vcmi_pagemap_set(hole, cap, b) == 0) {
      vcmi_pagemap_set(b->p, b->cap, NULL);
      if (!(q = vcmi_os_remap(b->p, b->cap, cap, hole))) {
        /* Still mapped: nobody else can have its addresses; its leaves exist. */
        vcmi_pagemap_set(b->p, b->cap, b);
        vcmi_pagemap_set(hole, cap, NULL);
      }
    } else {
      vcmi_pagemap_set(hole, cap, NULL); /* what was set before the map ran out */
    }
    if (!q) {
      vcmi_os_release(hole, cap);
      errno = ENOMEM;
      return NULL;
    }
  }
  if (cap >= VCMI_GRANULE && vcmi_opt[VCMI_OPT_THP]) vcmi_os_hugepage(q, cap);
  vcmi_lock_take(&large_lock);
  b->p = q;
  b->cap = cap;
  b->used = n;
  vcmi_lock_give(&large_lock);
  return q;
}

int vcmi_large_used(vcmi_large *b, const void *p, size_t *used) {
  if (check(b, p, 0) != 0) return -1;
  *used = __atomic_load_n(&b->used, __ATOMIC_RELAXED);
  return 0;
}

int vcmi_large_expand(vcmi_large *b, void *p, size_t n) {
  if (check(b, p, 0) != 0 || n > b->cap) return -1;
  set_used(b, n);
  return 0;
}

size_t vcmi_large_size(vcmi_large *b, const void *p, int capacity, int claim) {
  if (check(b, p, 0) != 0) return 0;
  if (claim) set_used(b, b->cap);
  return capacity ? b->cap : b->used;
}

void vcmi_large_stats(size_t *count, size_t *cap, size_t *used, size_t *cached) {
  *count = *cap = *used = 0;
  vcmi_lock_take(&large_lock);
  for (vcmi_large *b = live_list.next; b != &live_list; b = b->next) {
    (*count)++;
    *cap += b->cap;
    *used += __atomic_load_n(&b->used, __ATOMIC_RELAXED);
  }
  *cached = cache_bytes;
  vcmi_lock_give(&large_lock);
}

void vcmi_large_each(void (*fn)(void *ctx, const void *p, size_t used, size_t cap, int cached),
                     void *ctx) {
  vcmi_lock_take(&large_lock);
  for (vcmi_large *b = live_list.next; b != &live_list; b = b->next)
    fn(ctx, b->p, __atomic_load_n(&b->used, __ATOMIC_RELAXED), b->cap, 0);
  for (vcmi_large *b = cache; b; b = b->next) fn(ctx, b->p, 0, b->cap, 1);
  vcmi_lock_give(&large_lock);
}

void vcmi_large_fork_prepare(void) { vcmi_lock_fork_prepare(&large_lock); }
void vcmi_large_fork_parent(void) { vcmi_lock_fork_parent(&large_lock); }
void vcmi_large_fork_child(void) { vcmi_lock_fork_child(&large_lock); }
