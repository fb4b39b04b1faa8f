/* Large blocks: above the largest class, each block is its own mapping with a power-of-two
 * capacity. The record (used, capacity) lives in a descriptor apart from the block, found
 * through the pagemap from any of the block's 2 MiB granules (so a pointer past its first
 * granule is known as an interior pointer, not a foreign one). Growth within the capacity is a
 * metadata update (the program touches the new pages); growth past it remaps the page tables
 * (in place when the address space after the block is free), never copying bytes. Freed
 * blocks are cached for reuse (best fit, or a smaller one grown by remap); calloc clears only
 * the part of a reused block that may have been written. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "costs.h"
#include "large.h"
#include "meta.h"
#include "misuse.h"
#include "options.h"
#include "os.h"


#define LARGE_MIN ((size_t)512 << 10)
/* The cache keeps freed blocks mapped for reuse: at most CACHE_MAX_BYTES of their possibly
 * written pages (dense blocks more: cache_wide), no more than 16x the live blocks' capacity, and no more than the live blocks'
 * high-water less what is live plus CACHE_OVER (live_taken; a block past a bound has its pages
 * dropped before it is cached: it then costs address space only), and CACHE_MAX_SPAN of
 * address space. */
#define CACHE_MAX_BYTES vcmi_opt_bytes(VCMI_OPT_LARGE_CACHE_MB)
#define CACHE_MAX_SPAN (CACHE_MAX_BYTES * (sizeof(void *) == 8 ? 8u : 1u))
#define CACHE_MAX_BLOCK ((size_t)32 << 20)
#define SHRINK_PURGE ((size_t)1 << 20) /* drop the tail pages when a shrink frees this much */

static vcmi_lock large_lock;
static vcmi_large *desc_free, *cache;
static size_t cache_bytes, cache_span; /* cached: sum of page_up(dirty), sum of cap */
static size_t live_cap;                /* sum of the live blocks' cap */
/* Sum of the live blocks' written extents when allocated (taken), and its high-water: the cache
 * keeps no more than the difference (plus CACHE_OVER), so the large blocks, live and cached,
 * hold little more than the live ones ever needed at once. */
static size_t live_taken, live_taken_max;
/* 8 MiB at the default: a page kept costs its clearing by memset (~1 us), one dropped a first
 * touch again (14-18 us on a paravirtualised guest): s4 docs/BENCHMARKS.md. */
#define CACHE_OVER (CACHE_MAX_BYTES / 8u)
/* Whether a freed block's pages are kept while no block is live. A program done with its big
 * buffers keeps none of their pages (r2: sqlite's read buffers), but one that works in rounds
 * frees its last big buffer at a round's end and takes it again in the next (r1: a set's 2 MiB
 * table, 512 faults a round). Learned: set when a block dropped with none live (idle 1) is
 * taken again; cleared when a block kept with none live (idle 2) is still untaken at the next
 * free with none live. The high-water bound (live_taken) still holds. Under large_lock. */
static int idle_keep;
static vcmi_large live_list = {0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, &live_list, &live_list}; /* large_lock */
/* Whether the last calloc'd block freed had 7/8 or more of its used pages resident: the program
 * wrote or read it all. The next calloc then populates its unwritten pages (up to
 * CACHE_MAX_BYTES) in one call: a read of a zero page and the write after it are two faults a
 * page (s4). A sparse user of calloc (a big table touched here and there) shows as sparse and
 * keeps lazy zero pages. Until a calloc'd block is freed (calloc_freed), each calloc measures
 * the one calloc'd before it, if still live (calloc_last): a program that callocs its arrays
 * first and frees them last is known too (s4's first eight blocks took two faults a page). The
 * first calloc stays lazy. Pages populated count as touched: a block populated whole measures
 * dense whatever the program did with it, but one bigger than CACHE_MAX_BYTES (a big sparse
 * table calloc'd after dense blocks) is measured whole and shows sparse. A freed block known
 * dense also keeps the pages that fit in the cache (cache_put). Relaxed: a hint. */
static int calloc_dense, calloc_freed;
static vcmi_large *calloc_last; /* large_lock; NULL once freed */
/* A growth by copy (std::vector's doubling): the program allocates a block 1.5x to 2x the
 * size of the last one allocated, still live and written all over (the growth factors of
 * vectors: a bigger block is less likely a copy, and its populated head more likely waste),
 * copies that one into it and frees it. The new block's first old-size bytes, the copy's target, are populated at once (one
 * call, not a fault a page); at the old one's free its pages are dropped (cached, they stayed
 * resident while the program filled the new one: x1 1.48x glibc's peak) and a quarter as many
 * are populated right past the copy, what an appending program writes next (more is zeroed for
 * nothing when it stops short: x2 1.03x the CPU with half): the free lowers the RSS, which stays
 * below the copy's peak. The last two large blocks allocated, while live (large_lock): */
static vcmi_large *last_alloc, *prev_alloc;
static int grown_from(size_t n, size_t old) { return n / 3u >= old / 2u && n / 2u <= old; }
/* The new block such a free populates, outside large_lock (set under it; one at a time: a
 * second free that would populate skips its hint). Its pages stay where they are until the
 * populate is done: a thread that would unmap or move them waits (wait_populated), else
 * MADV_POPULATE_WRITE could fault in whatever was mapped there meanwhile (test_large_populate_race). */
static vcmi_large *populating;

/* Under large_lock: wait until b is no longer populated (giving the lock meanwhile). b is
 * not live, or not last_alloc: it is not chosen again. */
static void wait_populated(const vcmi_large *b) {
  if (__atomic_load_n(&populating, __ATOMIC_ACQUIRE) != b) return;
  vcmi_lock_give(&large_lock);
  while (__atomic_load_n(&populating, __ATOMIC_ACQUIRE) == b) vcmi_os_yield();
  vcmi_lock_take(&large_lock);
}

static void unlink_live(vcmi_large *b) {
  b->prev->next = b->next;
  b->next->prev = b->prev;
}

/* Make b the head of a list: its link first, then the head (a release store, which the
 * compiler may not hoist above the link). A fork from a signal handler that interrupted this
 * leaves the child a list with or without b, never b with a stale link: the list heads are
 * read in the child as they were (the lock is kept, meta.h), and a cached block's stale link
 * into the live list made the child's cache walk loop for ever (tst-mallocfork2). */
static void push(vcmi_large **head, vcmi_large *b) {
  b->next = *head;
  __atomic_store_n(head, b, __ATOMIC_RELEASE);
}

static size_t page_up(size_t n) {
  size_t page = vcmi_os_page();
  return (n + page - 1u) & ~(page - 1u);
}

/* Capacity for n bytes: the next power of two, at least LARGE_MIN; n's pages where that is
 * over 1/64 of RLIMIT_AS (which counts a mapping whole: 20 blocks of 5-25 MiB in turn, at
 * their powers of two, filled `ulimit -v` of 600 MB where glibc's held them), or past a
 * quarter of the address space (on 32-bit every block over 1 GiB, which failed); 0 past
 * PTRDIFF_MAX (glibc's bound: a difference of pointers into the block must fit). The limit is
 * the one last read (vcmi_os_space_limit_last: at each new segment and each refusal here), not
 * asked at every block (a system call). cap_for's fast path is a leaf; cap_slow the rest (no
 * limit read yet, or one set, or n huge). */
static __attribute__((noinline, cold)) size_t cap_slow(size_t n, size_t c) {
  if (n > (size_t)PTRDIFF_MAX) return 0;
  if (n > ((size_t)1 << (sizeof(size_t) * 8 - 2))) return page_up(n);
  size_t lim = __atomic_load_n(&vcmi_os_space_limit_last, __ATOMIC_RELAXED);
  if (!lim) lim = vcmi_os_space_limit();
  return c <= lim / 64u || lim == SIZE_MAX ? c : page_up(n);
}
static inline size_t cap_for(size_t n) {
  size_t lim = __atomic_load_n(&vcmi_os_space_limit_last, __ATOMIC_RELAXED);
  if (n <= LARGE_MIN) return lim == SIZE_MAX ? LARGE_MIN : cap_slow(n, LARGE_MIN);
  if (n > ((size_t)1 << (sizeof(size_t) * 8 - 2))) return cap_slow(n, 0);
  size_t c = (size_t)(2ull << (63 - __builtin_clzll(n - 1u)));
  return lim == SIZE_MAX ? c : cap_slow(n, c);
}

static vcmi_large *desc_get(void) {
  vcmi_large *d = desc_free;
  if (d) {
    desc_free = d->next;
    return d;
  }
  return vcmi_meta_alloc(sizeof *d);
}

/* Whether the program touched (wrote or read) 7/8 or more of the pages of [p, p + n). */
static int dense_at(const unsigned char *p, size_t n) {
  size_t pages = page_up(n) / vcmi_os_page(), res = vcmi_os_resident_pages(p, n);
  return pages && res != (size_t)-1 && res >= pages - pages / 8u;
}

/* Whether malloc'd block b (at p, used bytes, allocated at born), whose free would drop it or
 * whose successor copies it, was written all over: then it keeps the
 * pages that fit, as a dense calloc'd block does (the malloc-large pattern: blocks filled, then
 * freed). Measured only if it lived long enough to have been written at WRITE_MAX bytes a ns:
 * its age on the coarse clock less a tick (reads a tick apart may be a moment apart: s7's
 * blocks, which live ~70 us, were measured each time one crossed a tick). A measure of a 16
 * MiB block costs ~8 us, more than its drop, and s7 touches three pages a block. Not
 * measured: dropped but for its first page, as it may have touched few pages of its written
 * extent, and a kept part would gather more at each reuse. */
#define WRITE_MAX 32u /* bytes a ns: faster than a thread fills memory */
/* The last block measured by written(): dense (1) or not (0); a hint for one too young to be
 * measured (cache_put). Relaxed. */
static int last_dense;
/* 1 if b was written all over, 0 if not, -1 if too young to tell (not measured). */
static int written(const unsigned char *p, size_t used, uint64_t born) {
  uint64_t age = vcmi_os_coarse_ns() - born, tick = vcmi_os_coarse_tick();
  if (age < tick || age - tick < used / WRITE_MAX) return -1;
  int d = dense_at(p, used);
  __atomic_store_n(&last_dense, d, __ATOMIC_RELAXED);
  return d;
}
static int written_all(const unsigned char *p, size_t used, uint64_t born) {
  return written(p, used, born) > 0;
}

/* Before any calloc'd block is freed: measure the last one calloc'd, if it is still live. Its
 * range may be freed meanwhile by another thread: then the measure fails or reads another
 * block's pages (a hint either way). */
static void measure_last(void) {
  const unsigned char *p = NULL;
  size_t n = 0;
  vcmi_lock_take(&large_lock);
  if (calloc_last) {
    p = calloc_last->p;
    n = __atomic_load_n(&calloc_last->used, __ATOMIC_RELAXED);
  }
  vcmi_lock_give(&large_lock);
  if (n) __atomic_store_n(&calloc_dense, dense_at(p, n), __ATOMIC_RELAXED);
}

/* Huge pages where they cost less (docs/DESIGN.md §6). A huge page is one fault, not 512, but
 * its memory may be cold: a guest whose host takes back the free memory it reports (this one)
 * backs a fresh 2 MiB block anew, populated at 4.8 ms a MiB against 0.27-0.57 ms for small
 * pages, where a huge page freed a moment before takes 0.10-0.14 ms (g4 run after other
 * allocators: 0.60-1.10 s with huge pages always, glibc 0.30-0.35). So each populate of a MiB
 * or more is timed and its cost per MiB averaged for its kind, small pages way 0 and huge
 * pages way 1 of a choice by cost (costs.h: a try of huge pages is one huge page). */
static vcmi_costs cost;

static void timed(unsigned char *p, size_t n, int huge) {
  uint64_t t = n >= ((size_t)1 << 20) ? vcmi_os_fine_ns() : 0;
  if (huge)
    vcmi_os_populate_huge(p, n);
  else
    vcmi_os_populate(p, n);
  if (t) vcmi_costs_note(&cost, (unsigned)huge, (vcmi_os_fine_ns() - t) / (n >> 20));
}

/* 2: huge pages; 1: one huge page, a try; 0: small pages. */
static int huge_pays(void) {
  unsigned w = vcmi_costs_pick(&cost, 1u, 1u);
  return w == 1u ? 2 : w == (1u | VCMI_COSTS_TRY) ? 1 : 0;
}

void vcmi_large_set_costs(uint64_t small, uint64_t huge) { vcmi_costs_set(&cost, small, huge); }

/* Huge pages for blocks that grow. A block grown by realloc in steps (populate_step) or by
 * copy (a vector's doubling) has the pages populated that the program writes next; where those
 * cover whole huge pages (2 MiB), they are populated as huge pages where those cost less
 * (above): one fault a huge page, not 512 (g4: 131k faults), and one TLB entry where the
 * program's loads of the buffer took 512.
 * Never a huge page that a small-page populate would not have filled: the range's end is
 * rounded up to a huge page only as far as populate's caller allows (lim: the bytes the program
 * asked for, or its capacity) and by no more than the length populated; else down. The mapping
 * is marked for small pages first (all of it: a mapping marked in part is two to the kernel,
 * and a remap of it whole fails), so the program's own faults never take huge pages, and
 * khugepaged never fills a sparse range. b->huge bounds where huge pages may be (a relaxed
 * atomic: a growth by copy's free populates the new block from another thread). Not for
 * calloc'd blocks (huge_ok 0): s4's callocs of random sizes look like growths by copy, and
 * huge pages cost it 1.15x the CPU (paired). Returns the end populated. */
static size_t populate(vcmi_large *b, size_t from, size_t to, size_t lim, int huge_ok) {
  size_t h = vcmi_os_huge(), a = (from + h - 1u) & ~(h - 1u), e = (to + h - 1u) & ~(h - 1u);
  if (!h || !huge_ok || vcmi_opt[VCMI_OPT_THP] || to <= from) {
    if (to > from) timed(b->p + from, to - from, 0);
    return to;
  }
  if (e > lim || e - to > to - from) e = to & ~(h - 1u);
  int pays = e > a ? huge_pays() : 0;
  if (pays == 1 && e > a + h) e = a + h;
  if (!pays) {
    timed(b->p + from, to - from, 0);
    return to;
  }
  size_t huge = __atomic_load_n(&b->huge, __ATOMIC_RELAXED);
  if (!huge) vcmi_os_small_pages(b->p, b->cap);
  while (huge < e && !__atomic_compare_exchange_n(&b->huge, &huge, e, 0, __ATOMIC_RELAXED,
                                                  __ATOMIC_RELAXED)) {
  }
  if (a > from) vcmi_os_populate(b->p + from, a - from);
  timed(b->p + a, e - a, 1);
  if (to > e) timed(b->p + e, to - e, 0);
  return e > to ? e : to;
}

/* x, rounded down to a huge page if one may hold it: a drop from there frees whole huge pages. */
static size_t huge_down(const vcmi_large *b, size_t x) {
  size_t h = vcmi_os_huge();
  return x < __atomic_load_n(&b->huge, __ATOMIC_RELAXED) ? x & ~(h - 1u) : x;
}

/* Drop the pages of b from byte from on (page-aligned) to its dirty end, keeping the page
 * tables: a reuse writes there again. Huge pages go whole (a drop of part of one splits it,
 * and the kernel keeps all of it until memory runs short): from is rounded up to a huge page
 * where one may be (callers that may drop more round it down, huge_down), and the huge pages
 * go by one plain drop (they hold no page table). b is the caller's: its program's, or neither
 * live nor cached. */
static void drop_from(vcmi_large *b, size_t from) {
  size_t end = page_up(b->dirty), huge = __atomic_load_n(&b->huge, __ATOMIC_RELAXED);
  if (from < huge) {
    size_t h = vcmi_os_huge();
    from = (from + h - 1u) & ~(h - 1u);
    if (huge > end) end = huge;
    if (huge > from) {
      vcmi_os_purge(b->p + from, huge - from);
      __atomic_store_n(&b->huge, from, __ATOMIC_RELAXED);
    }
    if (end > huge) vcmi_os_purge_keep_tables(b->p + huge, end - huge);
  } else if (end > from) {
    vcmi_os_purge_keep_tables(b->p + from, end - from);
  }
  if (b->dirty > from) b->dirty = from;
}

/* Move b's mapping, grown to cap bytes, to a place aligned to al: the new place, or NULL with
 * b unchanged. Two moves, so that a refusal unmaps nothing another thread may have mapped: the
 * growing move goes where the kernel chooses (it makes every check, of charge, limits and
 * source, before it moves), and unless that place is aligned already (the kernel aligns large
 * anonymous mappings to 2 MiB), a move of the same size, which nothing refuses but the mapping
 * count (checked before anything is unmapped), onto a reservation of ours. One growing move
 * onto the reservation could be refused after the kernel had unmapped it, and releasing it
 * then unmapped what another thread had mapped there meanwhile (test_grow_refused). The new
 * place is recorded and the old one forgotten *before* the move frees the old addresses (after
 * it, another thread's new block may be mapped there and registered, and clearing then would
 * orphan that block). */
static __attribute__((noinline, cold)) unsigned char *move_unreserved(vcmi_large *b, size_t cap,
                                                                     size_t al);
static unsigned char *move_mapping(vcmi_large *b, size_t cap, size_t al) {
  unsigned char *hole = vcmi_os_reserve(cap, al), *t;
  if (!hole) return move_unreserved(b, cap, al);
  if (vcmi_pagemap_set(hole, cap, b) != 0) {
    vcmi_pagemap_set(hole, cap, NULL); /* what was set before the map ran out */
    vcmi_os_release(hole, cap);
    return NULL;
  }
  vcmi_pagemap_set(b->p, b->cap, NULL);
  if (!(t = vcmi_os_remap(b->p, b->cap, cap, 1, NULL))) {
    vcmi_pagemap_set(b->p, b->cap, b); /* still mapped: its addresses and leaves are b's */
    vcmi_pagemap_set(hole, cap, NULL);
    vcmi_os_release(hole, cap);
    return NULL;
  }
  if (!((uintptr_t)t & (al - 1u))) { /* aligned: the granules it starts are nobody else's */
    if (vcmi_pagemap_set(t, cap, b) == 0) {
      vcmi_pagemap_set(hole, cap, NULL);
      vcmi_os_release(hole, cap);
      return t;
    }
    vcmi_pagemap_set(t, cap, NULL);
  }
  if (vcmi_os_remap(t, cap, cap, 1, hole)) return hole;
  /* Not expected: refused before the kernel unmapped the hole (the mapping count at its limit:
   * the hole is ours as it was), or after (an allocation of the kernel's own failing). The
   * bytes are copied: onto the hole if it is ours (as it was, or mapped again here: nothing else
   * mapped there since the unmap); else onto a new reservation, as the hole may be another
   * thread's mapping now (it stays as it is, with the pagemap entries that thread set if it is a
   * block of ours; a hole still ours is address space lost); else back where they were, and the
   * growth fails. Copied onto the hole whatever was there, they overwrote that thread's
   * mapping, or faulted on the hole's unmapped rest (test_grow_refused). */
  int ours = vcmi_os_refused_early() || vcmi_os_refill(hole, cap) == 0;
  unsigned char *dst = ours ? hole : vcmi_os_reserve(cap, al);
  if (dst && vcmi_pagemap_set(dst, cap, b) != 0) { /* the hole's again: unmapped, it was free */
    vcmi_pagemap_set(dst, cap, NULL); /* a new place: what was set before the map ran out */
    vcmi_os_release(dst, cap);
    dst = NULL;
  }
  if (!dst && vcmi_os_refill(b->p, b->cap) == 0) { /* b's old place, if still free */
    b->huge = 0;
    memcpy(b->p, t, b->used);
    vcmi_os_release(t, cap);
    vcmi_pagemap_set(b->p, b->cap, b); /* its leaves exist: cannot fail */
    return NULL;
  }
  if (!dst) vcmi_assert_fail("no place left for a large block the OS refused to move", __FILE__,
                             __LINE__);
  b->huge = 0; /* a new mapping, not marked for small pages */
  memcpy(dst, t, b->used);
  vcmi_os_release(t, cap);
  return dst;
}

/* move_mapping without the reservation the OS refused (RLIMIT_AS: the old place and a new one
 * at once are over the limit; a move alone charges only its growth). One growing move where
 * the kernel chooses, so that no address of another thread's is ever unmapped and a refused
 * move leaves b as it was; by al more than cap rounded to al, so that an aligned cap bytes lie
 * within. The kernel keeps a moved mapping's offset to 2 MiB when the size is a multiple (Linux
 * 6.x): then no byte is copied; else the used bytes are moved down to the aligned start. What
 * lies outside goes back. Cold: only under a limit. (A vector grown by 1 MiB a step failed at
 * 242 MiB under `ulimit -v` of 500 MB; test_as_large.) */
static unsigned char *move_unreserved(vcmi_large *b, size_t cap, size_t al) {
  size_t size = ((cap + al - 1u) & ~(al - 1u)) + al;
  if (size < cap) return NULL;
  vcmi_pagemap_set(b->p, b->cap, NULL); /* forgotten before the old addresses are free */
  unsigned char *t = vcmi_os_remap(b->p, b->cap, size, 1, NULL);
  if (!t) {
    vcmi_pagemap_set(b->p, b->cap, b); /* still mapped: its leaves exist */
    return NULL;
  }
  unsigned char *a = (unsigned char *)(((uintptr_t)t + al - 1u) & ~(uintptr_t)(al - 1u));
  if (a > t) {
    memmove(a, t, b->used); /* the pages past used hold nothing the block keeps */
    vcmi_os_release(t, (size_t)(a - t));
  }
  vcmi_os_release(a + cap, (size_t)(t + size - (a + cap)));
  /* The old place is gone: the block must be found at a. The 2 MiB and more just given back
   * leave room for a leaf of the map; a granule past the first left without one reads as
   * foreign (a misuse report less exact), as after a growth in place. */
  if (vcmi_pagemap_set(a, cap, b) != 0 && vcmi_pagemap_get(a) != b)
    vcmi_assert_fail("no map entry for a large block the OS moved", __FILE__, __LINE__);
  return a;
}

/* Grow b's mapping to cap bytes, its start aligned to al: in place when the address space
 * after it is free, else moved (move_mapping). No byte is copied (but in move_mapping's
 * unexpected case). 0, or -1 (errno ENOMEM) with b unchanged. b is the caller's to change
 * (its program's, or out of the cache). */
static int grow_mapping(vcmi_large *b, size_t cap, size_t al) {
  /* Not to be populated from now on (the populate's marks split the mapping, and a remap of
   * a split one fails), nor while the remap runs. */
  vcmi_lock_take(&large_lock);
  if (b == last_alloc) last_alloc = NULL;
  wait_populated(b);
  vcmi_lock_give(&large_lock);
  unsigned char *q = vcmi_os_remap(b->p, b->cap, cap, 0, NULL);
  if (q) {
    /* Grown in place: the new granules are the block's too. If the map cannot grow, a pointer
     * into them reads as foreign (a misuse report less exact), nothing worse. */
    (void)vcmi_pagemap_set(q, cap, b);
  } else {
    if (!(q = move_mapping(b, cap, al))) {
      errno = ENOMEM;
      return -1;
    }
  }
  if (cap >= VCMI_GRANULE && vcmi_opt[VCMI_OPT_THP]) vcmi_os_hugepage(q, cap);
  vcmi_lock_take(&large_lock);
  if (b->magic == VCMI_LARGE_MAGIC) live_cap += cap - b->cap;
  b->p = q;
  b->cap = cap;
  vcmi_lock_give(&large_lock);
  return 0;
}

/* Keep at most this many written bytes in a block of n used bytes: a reused block has no more
 * resident than a fresh one the program grew to its capacity (< 2n), plus a little. */
static size_t keep_max(size_t n) { return 2 * page_up(n) + SHRINK_PURGE; }

/* Is cached block c a better pick than b (NULL: none yet) for n bytes of capacity cap?
 * Written pages spare page faults, and beyond keep_max(n) they would cost memory (such a
 * block is left for a bigger request); a capacity over 4x cap is left too (a realloc to a
 * quarter of the capacity moves down: the block would not stay in place). Best: a block with room whose written part covers n
 * most tightly; then the block with room and the most written; then a smaller block with
 * written pages (grown by remap), the most written first. Among equals the smallest. */
static int better(const vcmi_large *c, const vcmi_large *b, size_t n, size_t cap) {
  if (page_up(c->dirty) > keep_max(n) || c->cap / 4 > cap) return 0;
  if (!b) return c->cap >= cap || c->dirty;
  int rank_c = c->cap < cap ? 0 : c->dirty < n ? 1 : 2;
  int rank_b = b->cap < cap ? 0 : b->dirty < n ? 1 : 2;
  if (rank_c != rank_b) return rank_c > rank_b;
  if (c->dirty != b->dirty) return rank_c == 2 ? c->dirty < b->dirty : c->dirty > b->dirty;
  return c->cap < b->cap;
}

/* Take the best cached block for n bytes (capacity cap) aligned to al (under large_lock);
 * *grow = 1: it is smaller than cap and must be grown. NULL: none. */
static vcmi_large *cache_take(size_t n, size_t cap, size_t al, int *grow) {
  vcmi_large **best = NULL;
  for (vcmi_large **link = &cache; *link; link = &(*link)->next)
    if (!((uintptr_t)(*link)->p & (al - 1u)) && better(*link, best ? *best : NULL, n, cap))
      best = link;
  if (!best) return NULL;
  vcmi_large *d = *best;
  *best = d->next;
  if (d->idle == 1) idle_keep = 1;
  d->idle = 0;
  *grow = d->cap < cap;
  cache_bytes -= page_up(d->dirty);
  cache_span -= d->cap;
  return d;
}

/* The written bytes the cache may keep of dense blocks (known written all over: a reuse
 * spares a fault a page), where CACHE_MAX_BYTES is less: half the live blocks' capacity, within
 * the high-water bound. Threads that each fill a few big blocks at a time kept more in flight
 * than the fixed bound holds (8 threads of 4 blocks of 0.5-16.5 MiB: 2,757 of 24,000 frees
 * dropped their pages, 1.2x glibc's time). Sparse blocks stay within CACHE_MAX_BYTES: their
 * kept pages would gather more at each reuse (s7). Under large_lock. */
static size_t cache_wide(size_t bound) {
  size_t half = live_cap / 2u;
  if (!CACHE_MAX_BYTES || half <= CACHE_MAX_BYTES) return 0;
  return half < bound ? half : bound;
}

/* The address space the cache may hold: CACHE_MAX_SPAN, more in proportion where dense blocks
 * may keep more than CACHE_MAX_BYTES (cache_wide). Under large_lock. */
static size_t cache_span_max(void) {
  size_t half = live_cap / 2u;
  if (!CACHE_MAX_BYTES || half <= CACHE_MAX_BYTES) return CACHE_MAX_SPAN;
  return CACHE_MAX_SPAN / CACHE_MAX_BYTES * half;
}

/* Put b in the cache, or give it back to the OS. b is neither live nor cached; dense: its
 * written pages are known resident (1), not (0), or unknown (-1: measured if it would be
 * dropped, written_all). Takes and gives large_lock. */
static void cache_put(vcmi_large *b, int dense) {
  vcmi_lock_take(&large_lock);
  if (b->cap <= CACHE_MAX_BLOCK && cache_span + b->cap <= cache_span_max()) {
    /* Resident pages kept for reuse stay within 16x the live blocks' capacity (a program that
     * frees its large blocks and goes on with small ones does not keep them resident: r2), and
     * within the live blocks' high-water less what is live, plus CACHE_OVER (the large blocks,
     * live and cached, hold little more than the live ones needed at their peak); a program
     * that churns large blocks keeps enough to reuse with few faults (s4: docs/BENCHMARKS.md).
     * Past the bound a dense block keeps the pages that still fit, from its start (a reuse
     * writes from there); any other is dropped but for its first page (the one a reuse writes
     * first, if any: s7 faulted it back after each of its 14.7k drops): the pages its dirty
     * extent counts may be few (s7 writes three a block), and a kept part would gather more at
     * each reuse. A dense block may be kept past CACHE_MAX_BYTES, up to cache_wide. */
    size_t keep = live_cap < CACHE_MAX_BYTES / 16 ? 16 * live_cap : CACHE_MAX_BYTES;
    if (!live_cap) {
      for (vcmi_large *c = cache; c && idle_keep; c = c->next)
        if (c->idle == 2) idle_keep = 0; /* kept a whole idle spell for nothing */
      if (idle_keep) keep = CACHE_MAX_BYTES;
    }
    size_t bound = live_taken_max - live_taken + CACHE_OVER, wide = cache_wide(bound);
    if (keep > bound) keep = bound;
    b->idle = live_cap ? 0u : 2u;
    size_t held = cache_bytes, need = page_up(b->dirty);
    if (held + need > keep) {
      if (b->idle) b->idle = 1;
      vcmi_lock_give(&large_lock); /* b is nobody else's: measure and drop its pages unlocked */
      if (dense < 0 && wide > keep) { /* too young to measure: as the last block measured */
        dense = written(b->p, b->used, b->born);
        if (dense < 0) dense = __atomic_load_n(&last_dense, __ATOMIC_RELAXED);
      }
      if (dense > 0 && wide > keep) keep = wide;
      size_t room = keep > held ? (keep - held) & ~(vcmi_os_page() - 1u) : 0;
      if (room && dense < 0) dense = written_all(b->p, b->used, b->born);
      if (held + need > keep)
        drop_from(b, huge_down(b, dense > 0 ? room : room ? vcmi_os_page() : 0));
      vcmi_lock_take(&large_lock);
    }
    if (cache_span + b->cap <= cache_span_max()) {
      /* Kept mapped (its pagemap entry too: a double free still finds it, not live). */
      push(&cache, b);
      cache_bytes += page_up(b->dirty);
      cache_span += b->cap;
      vcmi_lock_give(&large_lock);
      return;
    }
  }
  wait_populated(b);
  unsigned char *p = b->p;
  size_t cap = b->cap; /* b may be reused as soon as the lock is given */
  vcmi_pagemap_set(p, cap, NULL);
  push(&desc_free, b);
  vcmi_lock_give(&large_lock);
  vcmi_os_release(p, cap);
}

/* Whether the OS locks new mappings as it makes them (mlockall MCL_FUTURE): it then populates
 * each one whole at once, so a block's capacity (up to twice its size) was resident and locked
 * (against RLIMIT_MEMLOCK), and its aligned reservation twice that while it was trimmed. Set
 * when a mapping's last page is resident untouched, cleared when it is not. Relaxed: a hint. */
static int maps_locked;

/* A new mapping for a block of n bytes, of capacity *cap, aligned to al; NULL (errno ENOMEM)
 * if the OS refuses even n's pages. Where the OS locks new mappings (maps_locked), or refuses
 * the capacity (RLIMIT_AS, or RLIMIT_MEMLOCK under that lock), the mapping is n's pages (one
 * at least: an aligned block of 0 bytes had none, capacity 0 at an address mapped to nothing),
 * and *cap becomes that: under the lock reserved closed (a reservation is never populated),
 * then opened over them. The first block made under the lock finds it (a mincore of a page)
 * and gives back its pages past n's at once. A block grown by realloc takes its power of two. */
static unsigned char *map_fresh(size_t n, size_t *cap, size_t al) {
  size_t page = vcmi_os_page(), need = page_up(n ? n : 1);
  int saved = errno, locked = __atomic_load_n(&maps_locked, __ATOMIC_RELAXED);
  unsigned char *p;
  if (need >= *cap) return vcmi_os_reserve(*cap, al);
  if (!locked && (p = vcmi_os_reserve(*cap, al)) != NULL) {
    if (vcmi_os_resident_pages(p + *cap - page, page) != 1) return p;
    __atomic_store_n(&maps_locked, 1, __ATOMIC_RELAXED);
    vcmi_os_release(p + need, *cap - need);
  } else if (!locked) {
    if (!(p = vcmi_os_reserve(need, al))) return NULL;
  } else {
    if (!(p = vcmi_os_reserve_closed(need, al))) return NULL;
    if (vcmi_os_open(p, need, 1) != 0) {
      vcmi_os_release(p, need);
      errno = ENOMEM;
      return NULL;
    }
    if (vcmi_os_resident_pages(p + need - page, page) == 0) /* opened unpopulated: unlocked */
      __atomic_store_n(&maps_locked, 0, __ATOMIC_RELAXED);
  }
  errno = saved;
  *cap = need;
  return p;
}

/* map_fresh refused even n's pages (RLIMIT_AS): the cached blocks' address space goes back
 * (vcmi_large_trim), and map_fresh once more if any was. errno: ENOMEM, or saved (the
 * caller's, before map_fresh) if that served. Cold: only under a limit. (20 blocks of 5-25
 * MiB in turn, under `ulimit -v` of 1 GB, failed at the 1,429th; test_as_large.) */
static __attribute__((noinline, cold)) unsigned char *map_refused(size_t n, size_t *cap,
                                                                  size_t al, int saved) {
  vcmi_os_space_limit(); /* read again: cap_for's */
  if (!__atomic_load_n(&cache_span, __ATOMIC_RELAXED)) return NULL;
  vcmi_large_trim();
  unsigned char *p = map_fresh(n, cap, al);
  if (p) errno = saved;
  return p;
}

void *vcmi_large_alloc(size_t n, size_t align, int zero) {
  size_t cap = cap_for(n);
  size_t al = align > VCMI_GRANULE ? align : VCMI_GRANULE;
  if (!cap) {
    errno = ENOMEM;
    return NULL;
  }
  int grow;
  const unsigned char *old = NULL; /* a growth by copy's old block, if any */
  size_t old_used = 0;
  uint64_t old_born = 0;
  vcmi_lock_take(&large_lock);
  size_t last_used = last_alloc ? __atomic_load_n(&last_alloc->used, __ATOMIC_RELAXED) : 0;
  if (last_used && grown_from(n, last_used)) {
    old = last_alloc->p;
    old_used = last_used;
    old_born = last_alloc->born;
  }
  vcmi_large *d = cache_take(n, cap, al, &grow);
  vcmi_lock_give(&large_lock);
  if (d && grow && grow_mapping(d, cap, al) != 0) { /* keeps its written pages: no faults */
    cache_put(d, 0);
    d = NULL;
  }
  if (!d) {
    int saved = errno;
    unsigned char *p = map_fresh(n, &cap, al);
    if (!p && !(p = map_refused(n, &cap, al, saved))) return NULL;
    if (cap >= VCMI_GRANULE && vcmi_opt[VCMI_OPT_THP]) vcmi_os_hugepage(p, cap);
    vcmi_lock_take(&large_lock);
    d = desc_get();
    if (!d || vcmi_pagemap_set(p, cap, d) != 0) {
      if (d) {
        vcmi_pagemap_set(p, cap, NULL); /* what was set before the map ran out */
        push(&desc_free, d);
      }
      vcmi_lock_give(&large_lock);
      vcmi_os_release(p, cap);
      errno = ENOMEM;
      return NULL;
    }
    d->p = p;
    d->cap = cap;
    d->dirty = 0;
    d->huge = 0;
    d->idle = 0;
    vcmi_lock_give(&large_lock);
  }
  /* The old block may be freed meanwhile by another thread: a hint either way. */
  if (old && written_all(old, old_used, old_born))
    populate(d, 0, page_up(old_used), page_up(n), !zero);
  /* Only the written part of a reused block needs clearing; a fresh mapping reads zero. */
  if (zero && !__atomic_load_n(&calloc_freed, __ATOMIC_RELAXED)) measure_last();
  if (zero) {
    size_t clear = n < d->dirty ? n : d->dirty;
    memset(d->p, 0, clear);
    size_t from = page_up(clear), to = page_up(n);
    if (to - from > CACHE_MAX_BYTES) to = from + CACHE_MAX_BYTES; /* a misjudged calloc */
    if (to > from && __atomic_load_n(&calloc_dense, __ATOMIC_RELAXED))
      vcmi_os_populate(d->p + from, to - from);
  }
  d->zeroed = (uint32_t)zero;
  d->used = n;
  d->born = vcmi_os_coarse_ns();
  vcmi_lock_take(&large_lock);
  __atomic_store_n(&d->magic, VCMI_LARGE_MAGIC, __ATOMIC_RELEASE);
  live_cap += d->cap;
  d->taken = page_up(d->dirty > n ? d->dirty : n);
  live_taken += d->taken;
  if (live_taken > live_taken_max) live_taken_max = live_taken;
  if (zero && !__atomic_load_n(&calloc_freed, __ATOMIC_RELAXED)) calloc_last = d;
  prev_alloc = last_alloc;
  last_alloc = d;
  d->next = live_list.next;
  d->prev = &live_list;
  live_list.next->prev = d;
  __atomic_store_n(&live_list.next, d, __ATOMIC_RELEASE); /* last, as push's */
  vcmi_lock_give(&large_lock);
  return d->p;
}

/* p is the start of the live block b, or report: past its capacity (in a granule of b's, not
 * b's: a block under 2 MiB leaves the rest of its granule to other mappings) as foreign, in
 * the words of the call (foreign; VCMI_WHY_FOREIGN: a free, whose not live block is freed
 * twice), inside it as interior, else as not live. */
static int check(vcmi_large *b, const void *p, vcmi_why foreign) {
  if (b->p != p) {
    vcmi_process_misuse(p, (uintptr_t)p - (uintptr_t)b->p < b->cap ? VCMI_WHY_INTERIOR_LARGE
                                                                     : foreign);
    return -1;
  }
  if (__atomic_load_n(&b->magic, __ATOMIC_ACQUIRE) != VCMI_LARGE_MAGIC) {
    vcmi_process_misuse(p, foreign == VCMI_WHY_FOREIGN ? VCMI_WHY_DOUBLE_FREE_LARGE
                                                       : VCMI_WHY_USE_AFTER_FREE_LARGE);
    return -1;
  }
  return 0;
}

void vcmi_large_free(vcmi_large *b, void *p) {
  if (check(b, p, VCMI_WHY_FOREIGN) != 0) return;
  vcmi_lock_take(&large_lock);
  if (b->magic != VCMI_LARGE_MAGIC) { /* lost a race with another free of p */
    vcmi_lock_give(&large_lock);
    vcmi_process_misuse(p, VCMI_WHY_DOUBLE_FREE_LARGE);
    return;
  }
  __atomic_store_n(&b->magic, 0u, __ATOMIC_RELEASE);
  live_cap -= b->cap;
  live_taken -= b->taken;
  unlink_live(b);
  if (b == calloc_last) calloc_last = NULL;
  vcmi_large *grown = NULL; /* the new block, if b is a growth by copy's old one */
  size_t tail = 0, tail_len = 0, tail_lim = 0;
  int tail_huge = 0;
  size_t last_used = last_alloc ? __atomic_load_n(&last_alloc->used, __ATOMIC_RELAXED) : 0;
  if (b == prev_alloc && last_used && grown_from(last_used, b->used) &&
      !__atomic_load_n(&populating, __ATOMIC_RELAXED)) {
    size_t from = page_up(b->used), to = page_up(last_used), quarter = page_up(b->used / 4u);
    grown = last_alloc;
    tail = from;
    tail_len = to - from < quarter ? to - from : quarter;
    tail_lim = to;
    tail_huge = !last_alloc->zeroed;
    if (tail_len) __atomic_store_n(&populating, last_alloc, __ATOMIC_RELAXED);
  }
  if (b == prev_alloc) prev_alloc = NULL;
  if (b == last_alloc) last_alloc = NULL;
  vcmi_lock_give(&large_lock);
  int dense = -1;
  if (b->zeroed) { /* a calloc'd block: how much of it did the program touch? */
    dense = dense_at(b->p, b->used);
    __atomic_store_n(&calloc_dense, dense, __ATOMIC_RELAXED);
    __atomic_store_n(&calloc_freed, 1, __ATOMIC_RELAXED);
  }
  if (b->used > b->dirty) b->dirty = b->used; /* the program may have written all it used */
  /* The new block may be freed or reused meanwhile by another thread, but stays mapped where
   * it is until populating is cleared: the populate changes no byte. b keeps its first page,
   * as cache_put's drops. */
  if (tail_len && (dense >= 0 ? dense : written_all(b->p, b->used, b->born))) {
    drop_from(b, huge_down(b, vcmi_os_page()));
    populate(grown, tail, tail + tail_len, tail_lim, tail_huge);
  }
  if (tail_len) __atomic_store_n(&populating, NULL, __ATOMIC_RELEASE);
  cache_put(b, dense);
}

/* used, cap and dirty change only by the thread that owns the block (the program's); stats
 * read used and cap relaxed, under large_lock, as a snapshot. The program may have written all
 * of the old used bytes: dirty keeps them. */
static void set_used(vcmi_large *b, size_t n) {
  if (b->used > b->dirty) b->dirty = b->used;
  __atomic_store_n(&b->used, n, __ATOMIC_RELAXED);
}

/* A block grown by a step of VCMI_LARGE_STEP_MIN or more but at most a quarter of its used
 * bytes (a buffer appended to): the step's pages not written before are faulted in by one call,
 * not a fault a page (a fault costs a trap besides the page: g4's system time 0.22 -> 0.19 s).
 * The program asked for those bytes: a larger step (a capacity doubled) is left to fault as
 * written, so that what it reserves and never writes stays free. */
static void populate_step(vcmi_large *b, size_t n) {
  size_t from = page_up(b->used > b->dirty ? b->used : b->dirty), to = page_up(n);
  if (n > b->used && n - b->used <= b->used / 4u && to >= from + VCMI_LARGE_STEP_MIN)
    b->dirty = populate(b, from, to, b->cap, 1); /* populated past n: the next step's */
}

/* grow_mapping refused b's capacity for n (RLIMIT_AS): n's pages, then the same once the
 * cached blocks' address space went back. 0 (errno saved, the caller's), or -1 (ENOMEM).
 * Cold: only under a limit. (A vector grown by 1 MiB a step failed at 257 MiB under `ulimit
 * -v` of 600 MB, asking for 512; test_as_large.) */
static __attribute__((noinline, cold)) int grow_refused(vcmi_large *b, size_t n, int saved) {
  size_t need = page_up(n);
  vcmi_os_space_limit(); /* read again: cap_for's */
  if (grow_mapping(b, need, VCMI_GRANULE) != 0) {
    vcmi_large_trim();
    if (grow_mapping(b, need, VCMI_GRANULE) != 0) return -1;
  }
  errno = saved;
  return 0;
}

void *vcmi_large_realloc(vcmi_large *b, void *p, size_t n) {
  if (check(b, p, VCMI_WHY_FOREIGN_REALLOC) != 0) return NULL;
  if (n > VCMI_SMALL_MAX && n <= b->cap / 4) { /* a quarter or less: move down */
    void *q = vcmi_large_alloc(n, 0, 0);
    if (q) {
      memcpy(q, p, n < b->used ? n : b->used);
      vcmi_large_free(b, p);
      return q;
    }
  }
  if (n <= b->cap) {
    populate_step(b, n);
    /* Shrinking gives the pages beyond the new end back. */
    set_used(b, n);
    if (page_up(b->dirty) >= page_up(n) + SHRINK_PURGE) drop_from(b, page_up(n));
    return p;
  }
  size_t cap = cap_for(n);
  if (!cap) {
    errno = ENOMEM;
    return NULL;
  }
  int saved = errno;
  if (grow_mapping(b, cap, VCMI_GRANULE) != 0 && grow_refused(b, n, saved) != 0) return NULL;
  populate_step(b, n);
  set_used(b, n);
  return b->p;
}

int vcmi_large_used(vcmi_large *b, const void *p, size_t *used) {
  if (check(b, p, VCMI_WHY_FOREIGN_REALLOC) != 0) return -1;
  *used = __atomic_load_n(&b->used, __ATOMIC_RELAXED);
  return 0;
}

int vcmi_large_expand(vcmi_large *b, void *p, size_t n) {
  if (check(b, p, VCMI_WHY_FOREIGN_EXPAND) != 0 || n > b->cap) return -1;
  set_used(b, n);
  return 0;
}

size_t vcmi_large_size(vcmi_large *b, const void *p, int capacity, int claim) {
  if (check(b, p, VCMI_WHY_FOREIGN_SIZE) != 0) return 0;
  if (claim) set_used(b, b->cap);
  return capacity ? b->cap : b->used;
}

size_t vcmi_large_trim(void) {
  vcmi_lock_take(&large_lock);
  vcmi_large *b = cache;
  size_t bytes = cache_bytes;
  cache = NULL;
  idle_keep = 0; /* a program that trims wants no pages kept */
  cache_bytes = cache_span = 0;
  vcmi_lock_give(&large_lock);
  while (b) {
    vcmi_large *next = b->next;
    unsigned char *p = b->p;
    size_t cap = b->cap;
    vcmi_lock_take(&large_lock);
    wait_populated(b); /* a growth by copy's hint may be populating it (cached since) */
    vcmi_pagemap_set(p, cap, NULL);
    push(&desc_free, b); /* b may be reused once the lock is given */
    vcmi_lock_give(&large_lock);
    vcmi_os_release(p, cap);
    b = next;
  }
  return bytes;
}

void vcmi_large_stats(size_t *count, size_t *cap, size_t *used, size_t *cached) {
  *count = *cap = *used = 0;
  vcmi_lock_take(&large_lock);
  for (vcmi_large *b = live_list.next; b != &live_list; b = b->next) {
    (*count)++;
    *cap += b->cap;
    *used += __atomic_load_n(&b->used, __ATOMIC_RELAXED);
  }
  *cached = cache_span;
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
void vcmi_large_fork_child(void) {
  populating = NULL; /* its populating thread is not the child's */
  vcmi_lock_fork_child(&large_lock);
}
