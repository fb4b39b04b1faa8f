/* Thread heaps: each thread allocates from segments it owns, without locks. Here: the class
 * tables, a heap's segments (made, pooled when empty, unmapped) and classes, malloc's slow path
 * (free chunks, parked pair halves, loans, fresh chunks; an abandoned heap's segments adopted
 * before a new segment is made), the purges, and free's slow path. A chunk freed by another
 * thread goes, in a batch of that thread's, on its segment's remote list (remote.c); the owner
 * collects the lists when it runs short and at its purges. A heap's life (taken at a thread's
 * first allocation, given up at its exit to the next thread that starts or runs short, a dead
 * thread's reclaimed), malloc_trim, fork and the walks of all heaps are heaps.c's.
 *
 * Lock order: heaps_lock, then large_lock (large.c), then meta_lock (meta.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "heap.h"
#include "large.h"
#include "remote.h"
#include "pair.h"
#include "purge.h"
#include "options.h"
#include "os.h"
#include "space.h"


vcmi_lock vcmi_heaps_lock;
vcmi_heap *vcmi_heaps_abandoned, *vcmi_heaps_spare; /* heap.h */

#define PURGE_BYTES vcmi_opt_bytes(VCMI_OPT_PURGE_MB) /* most freed between purges */
#define PURGE_MIN (PURGE_BYTES < ((size_t)1 << 20) ? PURGE_BYTES : ((size_t)1 << 20))
/* The least interval of a heap that does not hold a burst (docs/DESIGN.md §6: at 1 MiB, s3's
 * small heaps called the OS twice as often and re-faulted what they dropped, RSS the same). */
#define PURGE_STEADY (PURGE_BYTES < ((size_t)2 << 20) ? PURGE_BYTES : ((size_t)2 << 20))
/* A heap of at most this footprint purges every 2 * PURGE_STEADY: at PURGE_STEADY it turns its
 * free chunks over twice an interval, and s3's (1 MiB each) re-faulted half of what they dropped
 * (a 4 MiB floor for every heap: s4 +0.5 MiB, g6 +120 KiB peak). */
#define PURGE_SMALL ((size_t)2 << 20)
/* Bytes freed since the last purge. */
#define FREED(h) ((size_t)((ptrdiff_t)(h)->purge_at - (h)->credit))

/* Segment geometry, fixed for the process (see docs/DESIGN.md §6). */
#define SEG_DATA_BYTES ((size_t)VCMI_NCLASS * VCMI_SEG_CHANNELS * VCMI_SMALL_MAX)
/* Reserved bytes of a segment of xscale x: whole units of the segment map (meta.h). */
#define SEG_SIZE(x)                                                                          \
  ((VCMI_SEG_DATA_OFF + (1u + (size_t)(x)) * SEG_DATA_BYTES + VCMI_SEGMAP_UNIT - 1u) &              \
   ~(VCMI_SEGMAP_UNIT - 1u))
_Static_assert(SEG_SIZE(6) / VCMI_SEGMAP_UNIT <= VCMI_SEGMAP_MAX, "the segment map holds it");
/* A scaled segment's data starts 0 to SEG_DATA_COLOR - 1 bytes (whole pages) past the granule,
 * turned by a hash of the segment (seg_create). Every class area starts at a multiple of 8 MiB
 * and a class's live chunks are its lowest ones (carved upwards, reused last in first out), so
 * without it the low chunks of every class of every segment fell in the same sets of an L2
 * (a 2 MiB 16-way one indexes by the address mod 128 KiB): callgrind's L2-sized misses in s3
 * 552-588 K (2 runs) -> 160-240 K (5 runs; tcmalloc 123 K; docs/BENCHMARKS.md). Power-of-two
 * segments stay where they are: their chunks are aligned to their capacity (aligned
 * allocations). */
#define SEG_DATA_COLOR ((size_t)128 << 10)
#define SEG_ROOM(x) (SEG_SIZE(x) - VCMI_SEG_DATA_OFF - (1u + (size_t)(x)) * SEG_DATA_BYTES)
_Static_assert(SEG_ROOM(2) >= SEG_DATA_COLOR && SEG_ROOM(4) >= SEG_DATA_COLOR &&
                   SEG_ROOM(6) >= SEG_DATA_COLOR,
               "a scaled segment's reservation holds its data's colour");

/* Heap class t -> its capacity, region class and xscale (generated from the rule in heap.h:
 * capacity c = (1 + x) << (VCMI_LMAX - k) with 1 + x odd). */
#define C(k, x) {(uint32_t)((1u + (x)) << (VCMI_LMAX - (k))), (k), (x), 0}
vcmi_tclass_t vcmi_tclass[VCMI_NCLS] = {
    C(14, 0), C(13, 0), C(14, 2), C(12, 0), C(14, 4), C(13, 2), C(14, 6), C(11, 0), C(13, 4),
    C(12, 2), C(13, 6), C(10, 0), C(12, 4), C(11, 2), C(12, 6), C(9, 0), C(11, 4), C(10, 2),
    C(11, 6), C(8, 0), C(13, 32), C(12, 16), C(13, 34), C(11, 8), C(10, 4), C(9, 2), C(10, 6),
    C(14, 128), C(12, 32), C(11, 16), C(12, 34), C(10, 8), C(9, 4), C(8, 2), C(9, 6), C(13, 128),
    C(11, 32), C(10, 16), C(11, 34), C(9, 8), C(8, 4), C(7, 2), C(8, 6), C(12, 128), C(7, 4),
    C(6, 2), C(7, 6), C(11, 128), C(6, 4), C(5, 2), C(6, 6), C(10, 128), C(5, 4), C(4, 2), C(5, 6), C(2, 0),
    C(4, 4), C(3, 2), C(4, 6), C(1, 0), C(3, 4), C(2, 2), C(3, 6), C(0, 0),
    /* the powers of two of the colour classes, 2^11 .. 2^15 (not malloc's) */
    C(7, 0), C(6, 0), C(5, 0), C(4, 0), C(3, 0)};
#undef C
/* Between 1 and 8 KiB: n in (2^l, 2^(l+1)] with u = 2^(l-5) and n - 1 in [32u + m*u, 32u + (m+1)*u)
 * takes the first class of 33u, 34u, 35u, 36u, 40u, 48u, 56u, 64u at or above (33 + m)u. */
const uint8_t vcmi_band_idx[32] = {
    0, 1, 2, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7};

/* vcmi_tight_class_calc(2^j) for j >= 4, or for a colour class its power of two (from
 * VCMI_NTIGHT on); global_init (heaps.c) verifies it in test builds. */
const uint8_t vcmi_pow2_class_t[VCMI_LMAX + 1u] = {0,  0,  0,  0,  0,  1,  3,  7,  11, 15,
                                                   19, 64, 65, 66, 67, 68, 55, 59, 63};
/* vcmi_tight_class_calc(16 * i); global_init (heaps.c) verifies it in test builds. */
const uint8_t vcmi_tight_table[VCMI_TIGHT_TABLE_MAX / 16u + 1u] = {
    0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13, 14,
    14, 14, 14, 15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17,
    18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, 19};

_Static_assert(sizeof(vcmi_segment) <= VCMI_PAGE, "segment header fits its page");

#define reg vcmi_seg_region
#define class_end vcmi_seg_class_end

/* A fine segment (xscale over VCMI_XSCALE_WIDE) holds one class k, and reserves only the start
 * of its area: the layout stays positional (data is where the power-of-two layout scaled by
 * 1 + x would start, so class k's area begins right after the header and map), and the
 * reservation is a few units, not (1 + x) * 120 MiB (docs/DESIGN.md §6). */
#define SEG_FINE_SIZE ((size_t)(VCMI_SEG_CHANNELS == 32u ? 64 : 8) << 20)
_Static_assert(SEG_FINE_SIZE % VCMI_SEGMAP_UNIT == 0 && SEG_FINE_SIZE > VCMI_SEG_DATA_OFF,
               "a fine segment is whole units, data after its map");
_Static_assert(SEG_FINE_SIZE - VCMI_SEG_DATA_OFF <= (size_t)9 << VCMI_SEG_STRIDE_LOG2,
               "a fine segment's chunks stay in its class's area (the smallest: xscale 8)");

/* A fine segment's entries, from its header page, stay within the map (its classes are of 9 x
 * 16 bytes and more: xscale 8 and up). */
_Static_assert((SEG_FINE_SIZE - VCMI_SEG_DATA_OFF) / (((size_t)VCMI_XSCALE_WIDE + 3u) << VCMI_LMIN) *
                       sizeof(vcmi_entry) + VCMI_SEG_PAGE_MAX <=
                   VCMI_SEG_MAP_BYTES,
               "a fine segment's entries stay in its map");

static uintptr_t page_up(uintptr_t a) {
  return (a + vcmi_os_page() - 1u) & ~(uintptr_t)(vcmi_os_page() - 1u);
}

/* Open a new segment's reservation (closed) at base, header page first: resident before it is
 * touched, it tells that the process locks what it maps (mlockall MCL_FUTURE). Then the map and
 * groups open readable only (free reads an entry before it knows the chunk was handed out: the
 * OS's zero page, not resident) and the rest as it is used (seg_open): returns 1. Else all
 * opens now, header, map and groups on pages of their own, and the data: 0. The page before
 * the data stays closed (a guard). -1 if the OS refuses. */
static int seg_open_first(unsigned char *base, size_t size, size_t page, size_t doff) {
  if (vcmi_os_open(base, page, 1) != 0) return -1;
  size_t in = vcmi_os_resident_pages(base, page);
  int lazy = in != 0 && in != (size_t)-1;
  if (vcmi_os_open(base + page, doff - 2u * page, !lazy) != 0) return -1;
  if (!lazy && vcmi_os_open(base + doff, size - doff, 1) != 0) return -1;
  return lazy;
}

/* Set once a segment found the process locking what it maps (seg_open_first): a heap's
 * segments made before then, open whole, are closed again past what they carved at its next
 * purge or new segment (seg_reclose). */
static int locked_seen;
static uintptr_t page_down(uintptr_t a) { return a & ~(uintptr_t)(vcmi_os_page() - 1u); }

/* Close the parts of s's class areas that were opened whole and never carved (the chunks from
 * the frontier on, and the pages moved there, kept), with the entries and groups of those
 * chunks (readable), so that s opens as it is used from then on (seg_open): mlockall
 * (MCL_CURRENT) made them resident. Owner only (only it carves or opens). No heaps_lock: a
 * stats walk of another thread (vcm_stats_get, vcm_svg: under heaps_lock, which keeps s mapped)
 * may read entries up to a fresh[k] it loaded before a purge lowered it, past what this closes,
 * but the entries and groups closed stay readable (a new mapping over them: the zero page, so
 * such a read sees a free entry, never a fault), and no reader reads the data it closes. */
static void seg_reclose(vcmi_segment *s) {
  vcmi_region *r = reg(s);
  for (unsigned k = 0; k < VCMI_NCLASS; k++) {
    uint32_t end = class_end(s, k), g = r->fresh[k] > s->dirty_g[k] ? r->fresh[k] : s->dirty_g[k];
    size_t cap = s->cap[k], full = page_up((size_t)end * cap), keep = page_up((size_t)g * cap), gb;
    if (!end || s->open[k] < full || keep >= full) continue; /* opened by parts, or carved */
    if (vcmi_os_shut(s->area[k] + keep, full - keep, 0) != 0) continue;
    s->open[k] = (uint32_t)keep;
    uintptr_t lo = page_up((uintptr_t)vcmi_entry_at(r, k, (uint32_t)((keep + cap - 1u) / cap)));
    uintptr_t hi = page_down((uintptr_t)vcmi_entry_at(r, k, end)); /* pages of these alone */
    if (lo < hi) vcmi_os_shut((void *)lo, hi - lo, 1);
    unsigned char *groups = vcmi_purge_groups_at(s, k, &gb);
    lo = page_up((uintptr_t)groups), hi = page_down((uintptr_t)(groups + gb));
    if (!(s->carved & 1u << k) && lo < hi) vcmi_os_shut((void *)lo, hi - lo, 1); /* never written */
  }
}

/* Bytes of s's chunks carved (its footprint: what of it may be resident). */
static size_t seg_carved(vcmi_segment *s) {
  size_t n = 0;
  for (uint32_t m = s->carved; m; m &= m - 1u)
    n += (size_t)reg(s)->fresh[__builtin_ctz(m)] * s->cap[__builtin_ctz(m)];
  return n;
}

/* Empty segments left by ended threads (heaps.c, heap_give_up: fine ones) and by adoptions
 * (seg_trim), for the next heap that needs a segment of that xscale (and class, if fine:
 * seg_create): a short-lived thread's fine segments, and the first segment of a heap made for
 * a spare struct, were reserved, opened and unmapped at each thread (thread-storm: 1.18x the
 * CPU of the heap without fine classes). They keep their state (free lists, resident free
 * pages), as an adopted segment does: at most SEG_POOL_MAX, two of a kind, SEG_POOL_CARVED
 * bytes carved in all (what may stay resident). malloc_trim unmaps them
 * (vcmi_seg_pool_release). Statistics, vcm_check and pictures walk the heaps' segments, not
 * these. Under heaps_lock; their owner stays the heap that left them (a free of a stale pointer
 * into one finds no LIVE chunk: reported). */
#define SEG_POOL_MAX 32u
#define SEG_POOL_KIND 2u
#define SEG_POOL_CARVED ((size_t)1 << 20)
static vcmi_segment *seg_pool;
static uint32_t seg_pool_n;
static size_t seg_pool_carved;

/* A segment of xscale x for class k (k matters only in a fine one): the classes between the
 * powers of two live in segments whose whole layout is scaled by 1 + x (region.h), so that a
 * pointer's class is still its position. */
vcmi_segment *vcmi_seg_create(vcmi_heap *h, unsigned x, unsigned k) {
  int fine = x > VCMI_XSCALE_WIDE;
  if (__atomic_load_n(&seg_pool_n, __ATOMIC_RELAXED)) {
    vcmi_segment *s = NULL;
    vcmi_lock_take(&vcmi_heaps_lock);
    for (vcmi_segment **l = &seg_pool; *l; l = &(*l)->next)
      if (reg(*l)->xscale == x && (!(*l)->fine_end || (*l)->fine_k == k)) {
        s = *l;
        *l = s->next;
        seg_pool_carved -= seg_carved(s);
        __atomic_store_n(&seg_pool_n, seg_pool_n - 1u, __ATOMIC_RELAXED);
        __atomic_store_n(&reg(s)->owner, (void *)h, __ATOMIC_RELAXED);
        s->idle = 0;
        s->next = h->segs;
        h->segs = s;
        h->seg_n = 0;
        break;
      }
    vcmi_lock_give(&vcmi_heaps_lock);
    if (s) return s;
  }
  size_t size = fine ? SEG_FINE_SIZE : SEG_SIZE(x), doff = VCMI_SEG_DATA_OFF, group_at = 0;
  int saved = errno;
  unsigned char *base = (size = vcmi_space_fit(size, fine, h->tid)) != 0
                            ? vcmi_os_reserve_closed(size, VCMI_SEGMAP_UNIT)
                            : NULL;
  if (!base && (x || !(base = vcmi_space_reserve_narrow(k, &size, &doff, &group_at)))) return NULL;
  errno = saved; /* a refusal served */
  fine |= size < SEG_SIZE(x); /* a narrow one */
  size_t page = vcmi_os_page() < VCMI_SEG_PAGE_MAX ? vcmi_os_page() : VCMI_SEG_PAGE_MAX;
  int lazy = seg_open_first(base, size, page, doff);
  if (lazy < 0) {
    vcmi_os_release(base, size);
    return NULL;
  }
  if (lazy) { /* the process locks what it maps: what h's segments opened ahead goes */
    vcmi_os_moves_locked(); /* a move would unlock the mapping it leaves */
    __atomic_store_n(&locked_seen, 1, __ATOMIC_RELAXED);
    for (vcmi_segment *t = h->segs; t; t = t->next) seg_reclose(t);
  }
  vcmi_segment *s = (vcmi_segment *)(void *)base;
  vcmi_region *r = reg(s);
  size_t stride = ((size_t)1 << VCMI_SEG_STRIDE_LOG2) * (1u + x);
  /* a fine segment's data: k strides below its class's area, address space never touched */
  uintptr_t data = (uintptr_t)base + doff - (fine ? k * stride : 0u);
  if (x && !fine) /* its colour (SEG_DATA_COLOR) */
    data += (size_t)(((uint64_t)(uintptr_t)base * 0x9E3779B97F4A7C15u) >> 40) %
            (SEG_DATA_COLOR / page) * page;
  vcmi_region_setup(r, (void *)data, base + page + VCMI_SEG_HOST_SPAN + VCMI_SEG_MAP_SKEW,
                    VCMI_SEG_CHANNELS, VCMI_LMIN, VCMI_LMAX);
  r->xscale = (uint16_t)x;
  r->paired = 0; /* the union's avail, set by vcmi_region_setup */
  /* colours (segment.h): VCMI_SEG_COLOUR_STEP lines apart for the classes of a segment, the
   * smallest chunks' nearest the page start, all 15 distinct, turned by a hash of the segment */
  unsigned hue = (unsigned)(((uintptr_t)base * 0x9E3779B97F4A7C15u) >> 58) % VCMI_SEG_COLOUR_STEP;
  for (unsigned j = 0; j < VCMI_NCLASS; j++) /* (vcmi_region_setup laid out the shared ones) */
    if (!VCMI_SEG_MAP_SHARED(j) || fine)
      r->mapk[j] = vcmi_seg_map_own(r, j) +
                   (j == VCMI_SEG_HOST_K ? VCMI_SEG_HOST_GAP : vcmi_seg_colour(j, hue)) /
                       sizeof(vcmi_entry); /* the host's: its gap, in the header page */
  /* a fine segment's one class: its entries from the header page on (purge.h), so that a
   * class of a few chunks (s6's 3,096-byte batches: 16 a thread) keeps no map page */
  if (fine) r->mapk[k] = (vcmi_entry *)(void *)(base + vcmi_purge_fine_map_off());
  s->slot = vcmi_remote_slot(s, x); /* its batch slot in a freeing thread's */
  /* (1 + x) * inv = 1 mod 2^64 (Newton's iteration doubles the correct low bits: 3, 6, ... 96) */
  s->inv = 1u + x;
  for (int i = 0; i < 5; i++) s->inv *= 2u - (1u + x) * s->inv;
  VCMI_ASSERT(s->inv * (1u + x) == 1u);
  r->stride = stride;
  for (unsigned j = 0; j < VCMI_NCLASS; j++) {
    s->cap[j] = vcmi_class_cap(r, j);
    s->area[j] = vcmi_chunk_addr(r, j, 0);
  }
  s->fine_k = k;
  if (group_at) vcmi_space_compact_setup(s, k, doff, group_at);
  s->fine_end = fine ? (uint32_t)((size - doff) / s->cap[k]) : 0u;
  uint32_t spans = VCMI_PURGE_SPANS_MAX << vcmi_purge_span_log2(s, k); /* purge.h */
  if (s->fine_end > spans) s->fine_end = spans;
  if (s->fine_end > r->n_channels << k) s->fine_end = r->n_channels << k; /* a narrow one's area */
  for (unsigned j = 0; j < VCMI_NCLASS && !lazy; j++)
    s->open[j] = (uint32_t)(class_end(s, j) * s->cap[j]);
  if (x) r->stride_log2 = 0;
  s->shrink = x ? 1u : 2u;
  /* check mode: the capacity, so that no realloc takes the in-place fast path (alloc.c) */
  for (unsigned j = 0; j < VCMI_NCLASS; j++)
    s->floor[j] = vcmi_opt[VCMI_OPT_CHECK] ? s->cap[j] : s->cap[j] >> s->shrink;
  r->handler = vcmi_process_report;
  r->owner = h;
  s->size = size;
  if (vcmi_segmap_set(base, s->size, 1) != 0) {
    vcmi_os_release(base, s->size);
    return NULL;
  }
  vcmi_lock_take(&vcmi_heaps_lock); /* segment lists change under heaps_lock, for readers */
  s->next = h->segs;
  h->segs = s;
  h->seg_n = 0;
  vcmi_lock_give(&vcmi_heaps_lock);
  return s;
}

static void seg_destroy(vcmi_segment *s) {
  vcmi_segmap_set(s, s->size, 0);
  vcmi_os_release(s, s->size);
}

/* (heap.h) */
int vcmi_seg_pool_release(void) {
  vcmi_lock_take(&vcmi_heaps_lock);
  vcmi_segment *pool = seg_pool;
  seg_pool = NULL;
  seg_pool_carved = 0;
  __atomic_store_n(&seg_pool_n, 0u, __ATOMIC_RELAXED);
  vcmi_lock_give(&vcmi_heaps_lock);
  int any = pool != NULL;
  while (pool) {
    vcmi_segment *s = pool;
    pool = s->next;
    seg_destroy(s);
  }
  return any;
}

/* VCM_CHECK=1: every chunk on a free list is filled with VCMI_CHECK_FILL, and a live chunk's slack
 * (used to capacity) holds it too. Allocation verifies a reused chunk is still all fill (a
 * write after free), free and realloc verify the slack (an overflow past the used size). To
 * keep the fast paths unchanged, a checking heap's cur[] all point at empty_region, whose free
 * lists are empty, and its purge_at is 0: every allocation and free takes the slow path. */
static vcmi_region empty_region = {.free_head = {[0 ... VCM_MAX_CLASSES - 1] = VCMI_NONE}};

/* The heap of a thread without one (before its first allocation, or after its exit gave it
 * up): every class points at empty_region, so malloc's pop fails without a test of the heap
 * and the slow path takes a real one; no segment is its owner, so a free goes the remote way;
 * check keeps calloc and realloc off their fast paths. Never written (all threads share it). */
vcmi_heap vcmi_no_heap = {
    .direct = {[0 ... VCMI_TIGHT_TABLE_MAX / 16u] = {.rk = (unsigned char *)&empty_region}},
    .bin = {[0 ... VCMI_NCLS - 1] = {.rk = (unsigned char *)&empty_region}},
    .cur = {[0 ... VCMI_NCLS - 1] = &empty_region},
    .check = 1};
__thread vcmi_heap *vcmi_tls_heap __attribute__((tls_model("initial-exec"))) = &vcmi_no_heap;
__thread size_t vcmi_tls_inplace __attribute__((tls_model("initial-exec")));

/* Class t allocates from r first: cur[t] and its bin. */
static void heap_set_cur(vcmi_heap *h, unsigned t, vcmi_region *r) {
  const vcmi_segment *s = (const vcmi_segment *)(const void *)r;
  int empty = r == &empty_region; /* a region, not a segment: no area or capacity */
  unsigned k = empty ? 0u : vcmi_tclass[t].k; /* a fitted class's may be being written */
  h->cur[t] = r;
  h->bin[t] = (vcmi_bin){(unsigned char *)r + k * sizeof(uint32_t), r->mapk[k],
                         empty ? NULL : s->area[k], empty ? 0 : s->cap[k]};
  /* malloc's copies: the 16-byte steps of (capacity of t - 1, capacity of t] (heap.h: the
   * class bounds up to 1 KiB are multiples of 16), and size 0's for t = 0 */
  if (t <= vcmi_tight_table[VCMI_TIGHT_TABLE_MAX / 16u])
    for (unsigned i = t ? vcmi_tclass[t - 1u].cap / 16u + 1u : 0u; i <= vcmi_tclass[t].cap / 16u;
         i++) {
      VCMI_ASSERT(vcmi_tight_table[i] == t);
      h->direct[i] = h->bin[t];
    }
}

/* (heap.h) */
void vcmi_seg_unlink(vcmi_heap *h, vcmi_segment **link, int pool) {
  vcmi_segment *s = *link;
  vcmi_moved_drop(h); /* it may name a chunk of s */
  size_t carved = pool ? seg_carved(s) : 0;
  vcmi_lock_take(&vcmi_heaps_lock);
  *link = s->next;
  h->seg_n = 0;
  uint32_t kind = 0;
  for (vcmi_segment *t = pool ? seg_pool : NULL; t; t = t->next)
    kind += reg(t)->xscale == reg(s)->xscale &&
            (!s->fine_end ? !t->fine_end : t->fine_end && t->fine_k == s->fine_k);
  pool = pool && kind < SEG_POOL_KIND && seg_pool_n < SEG_POOL_MAX &&
         seg_pool_carved + carved <= SEG_POOL_CARVED;
  if (pool) {
    s->next = seg_pool;
    seg_pool = s;
    seg_pool_carved += carved;
    __atomic_store_n(&seg_pool_n, seg_pool_n + 1u, __ATOMIC_RELAXED);
  }
  vcmi_lock_give(&vcmi_heaps_lock);
  for (unsigned t = 0; t < VCMI_NCLS; t++)
    if (h->cur[t] == reg(s)) heap_set_cur(h, t, &empty_region);
  if (h->carve_s == s) h->carve_s = NULL;
  if (h->lane_s == s) h->lane_s = NULL;
  if (!pool) seg_destroy(s);
}

/* (heap.h) */
void vcmi_heap_set_mode(vcmi_heap *h, vcmi_region *first) {
  vcmi_heap_end_hold(h);
  h->check = vcmi_opt[VCMI_OPT_CHECK] != 0;
  for (unsigned t = 0; t < VCMI_NCLS; t++)
    heap_set_cur(h, t, h->check || t >= VCMI_NFIXED || vcmi_tclass[t].x ? &empty_region : first);
  h->purge_at = h->check ? 0 : PURGE_MIN;
  h->credit = (ptrdiff_t)h->purge_at;
  h->carve_s = h->lane_s = NULL;
}

__thread uint32_t vcmi_heap_own_purges __attribute__((tls_model("initial-exec"))); /* heap.h */
static void heap_purge(vcmi_heap *h);

/* Move an abandoned heap's segments into h; its struct becomes a spare. */
static int adopt(vcmi_heap *h) {
  vcmi_lock_take(&vcmi_heaps_lock);
  vcmi_heap *a = vcmi_heaps_abandoned;
  if (a) {
    vcmi_heaps_abandoned = a->next_abandoned;
    vcmi_segment *last = a->segs;
    for (vcmi_segment *s = a->segs; s; s = s->next) {
      __atomic_store_n(&reg(s)->owner, (void *)h, __ATOMIC_RELAXED);
      last = s;
    }
    if (last) {
      last->next = h->segs;
      h->segs = a->segs;
    }
    a->segs = NULL;
    a->seg_n = h->seg_n = 0;
    a->carve_s = a->lane_s = NULL;
    /* its counters too, before a is a spare: another thread may take it at once */
    h->realloc_inplace += a->realloc_inplace;
    h->realloc_moved += a->realloc_moved;
    h->bytes_copied += a->bytes_copied;
    a->realloc_inplace = a->realloc_moved = a->bytes_copied = 0;
    a->drop_n = a->drop_pages = 0; /* a dead thread's (reclaim_dead): its chunks are h's now, kept resident */
    a->next_abandoned = vcmi_heaps_spare;
    vcmi_heaps_spare = a;
  }
  vcmi_lock_give(&vcmi_heaps_lock);
  if (!a) return 0;
  /* Remote frees that read the old owner flagged a, not h: collect everything once. */
  __atomic_store_n(&h->remote_pending, 1, __ATOMIC_RELAXED);
  return 1;
}

/* The empty segments a heap keeps (seg_trim, heap_purge): one per wide xscale and one per fine
 * class. A fine segment holds one class, so two of one xscale for two classes (1,056 and
 * 2,112 B: xscale 32) are not each other's spare: with a bit per xscale, s5's classes of 1-8
 * KiB, a few live chunks each, unmapped and mapped their segments 210 times at scale 0.5.
 * A set of (xscale, class) marks; two fine xscales that share a bit only unmap one more. */
typedef struct {
  uint64_t w[1u + VCMI_NCLASS]; /* [0]: bit x, a wide xscale; [1 + k]: bit x/2 mod 64, fine */
} seg_spares;
static uint64_t *spare_at(seg_spares *sp, vcmi_segment *s, uint64_t *bit) {
  unsigned x = reg(s)->xscale, fine = s->fine_end != 0;
  *bit = (uint64_t)1 << (fine ? x / 2u % 64u : x);
  return &sp->w[fine ? 1u + s->fine_k : 0u];
}
static int spare_kept(seg_spares *sp, vcmi_segment *s) {
  uint64_t bit, *w = spare_at(sp, s, &bit);
  return (*w & bit) != 0;
}
static void spare_keep(seg_spares *sp, vcmi_segment *s) {
  uint64_t bit, *w = spare_at(sp, s, &bit);
  *w |= bit;
}

/* After an adoption (its remote frees collected): of h's empty segments, one per xscale (per
 * fine class) stays (and h's first), as a purge leaves them (heap_purge), the others are
 * unmapped now. A heap that frees little purges seldom, and each adoption brought a whole
 * heap's segments, a first one (made anew for its struct, a spare, when next taken) and others
 * it may hold already: a main thread that only starts threads held 20 segments, most of them
 * empty, in thread-storm. */
static void seg_trim(vcmi_heap *h) {
  seg_spares spare = {{0}};
  for (vcmi_segment **link = &h->segs; *link;) {
    vcmi_segment *s = *link;
    int empty = vcmi_seg_empty(s);
    if (empty && s != h->segs && spare_kept(&spare, s) && !h->hold_live) {
      vcmi_seg_unlink(h, link, 1);
      continue;
    }
    if (empty) spare_keep(&spare, s);
    link = &s->next;
  }
}

/* Fresh chunks are carved a page's worth at a time (FRESH_BATCH / capacity, at least one; only
 * their map entries are written, docs/DESIGN.md §6): the first is handed out, the rest go on
 * the free list in address order, so the fast path serves them and the search of the other
 * segments below runs once per batch (check mode carves one: its free chunks must hold the
 * fill). Not 1 + x pages in a class scaled by 1 + x: the list hands out the whole batch before
 * the slow path collects remote frees again, so a heap whose chunks other threads free touched
 * every chunk it carved (s6: 3,920 -> 3,568 KiB of data pages in its eight heaps). */
#define FRESH_BATCH ((size_t)4 << 10)

/* The largest class donated to (below): from 64 KiB vectors enter a class by a remap of their
 * own pages (MOVE_MIN; into 64 KiB onto a fresh chunk, chunk.c), which would replace pages moved
 * there (with that remap, donations up to 64 KiB: g2 93.8k -> 94.4k faults, g8 83.5k -> 85.4k;
 * to every class, g2 110.4k). Up to 4 KiB, g7 faulted 86.8k
 * times, up to 32 KiB 80.2k (its vectors of 8 and 16 KiB); g2 105.8k -> 98.6k. */
#define DONATE_CAP_MAX ((size_t)32 << 10)

/* A segment made while the process locks what it maps (seg_create) opens a class's area, its
 * map entries and its groups as the class carves (issue 11: mlockall makes every open page
 * resident, and a segment reserves 64 MiB to 1 GiB): ahead of need by as much as is open, from
 * OPEN_MIN up to OPEN_MAX, so at most OPEN_MAX of a class is resident and unused. Any other
 * segment is open whole (open[k] its whole area): one mapping for the data, as before. */
#define OPEN_MIN ((size_t)64 << 10)
#define OPEN_MAX ((size_t)1 << 20)

/* Open [lo, hi) widened to whole pages: 0 or -1. */
static int open_pages(uintptr_t lo, uintptr_t hi, int write) {
  lo &= ~(uintptr_t)(vcmi_os_page() - 1u);
  return vcmi_os_open((void *)lo, page_up(hi) - lo, write);
}

/* (segment.h) The OS refuses on vm.max_map_count: mprotect splits mappings. */
int vcmi_seg_open(vcmi_segment *s, unsigned k, size_t need) {
  vcmi_region *r = reg(s);
  size_t have = s->open[k], cap = s->cap[k], end = page_up((size_t)class_end(s, k) * cap);
  size_t ahead = have < OPEN_MIN ? OPEN_MIN : have > OPEN_MAX ? OPEN_MAX : have, gb;
  size_t want = page_up(need > have + ahead ? need : have + ahead);
  if (want > end) want = end;
  unsigned char *groups = vcmi_purge_groups_at(s, k, &gb);
  if ((!have && open_pages((uintptr_t)groups, (uintptr_t)(groups + gb), 1) != 0) ||
      open_pages((uintptr_t)vcmi_entry_at(r, k, (uint32_t)(have / cap)),
                 (uintptr_t)vcmi_entry_at(r, k, (uint32_t)((want + cap - 1u) / cap)), 1) != 0)
    return -1;
  if (vcmi_os_open(s->area[k] + have, want - have, 1) != 0) {
    want = page_up(need);
    if (vcmi_os_open(s->area[k] + have, want - have, 1) != 0) return -1;
  }
  s->open[k] = (uint32_t)want;
  return 0;
}

static void *take_fresh(vcmi_heap *h, vcmi_region *r, unsigned k, size_t n) {
  if (r == &empty_region) return NULL; /* not a segment */
  vcmi_segment *sg = (vcmi_segment *)(void *)r;
  uint32_t g = r->fresh[k], b = 1, end = class_end(sg, k);
  if (g >= end) return NULL;
  if (!h->check && FRESH_BATCH / sg->cap[k] > 1u) b = (uint32_t)(FRESH_BATCH / sg->cap[k]);
  if (b > end - g) b = end - g;
  if ((size_t)(g + b) * sg->cap[k] > sg->open[k] &&
      vcmi_seg_open(sg, k, (size_t)(g + b) * sg->cap[k]) != 0)
    return NULL;
  for (uint32_t i = g + b; --i > g;) { /* chunks g+1 .. g+b-1, the lowest first out */
    vcmi_entry *e = vcmi_entry_at(r, k, i);
    vcmi_entry_set(e, r->free_head[k]);
    r->free_head[k] = i;
  }
  __atomic_store_n(&r->fresh[k], g + b, __ATOMIC_RELAXED);
  h->grown += (size_t)b * vcmi_class_cap(r, k);
  sg->carved |= 1u << k;
  if (sg->cap[k] <= DONATE_CAP_MAX) { /* b * cap: (1 + x) * FRESH_BATCH at most, or a chunk */
    uint32_t add = (uint32_t)(b * sg->cap[k]), was = sg->gained[k];
    sg->gained[k] = was + add < was ? UINT32_MAX : was + add;
    h->carve_s = sg, h->carve_k = k;
  }
  void *p = vcmi_hand_out(r, k, g, vcmi_entry_at(r, k, g), n);
  h->fresh_clean = sg->dirty_g[k] <= g ? p : NULL;
  return p;
}

/* A chunk of heap class t from h's segments of its scale, current segment first: any free
 * chunk before any fresh one (issue 11, cause 1: fresh chunks grow the footprint while freed
 * ones wait elsewhere). */
/* r's PARKED halves of class k back on its free list, counted freed (heap_purge); how many. */
static uint32_t unpark(vcmi_heap *h, vcmi_region *r, unsigned k) {
  uint32_t n = vcmi_pair_unpark(r, k);
  h->credit -= (ptrdiff_t)((size_t)n * ((const vcmi_segment *)(const void *)r)->cap[k]);
  return n;
}

#define SEG_INDEX_OVER (VCMI_SEG_INDEX + 2u)
/* h's segment index (vcmi_heap's seg_at), rebuilt if a change of the list left it stale. */
static void seg_index(vcmi_heap *h) {
  if (h->seg_n || !h->segs) return; /* none: nothing written (vcmi_no_heap is shared) */
  uint32_t n = 0;
  for (vcmi_segment *s = h->segs; s; s = s->next, n++) {
    if (n == VCMI_SEG_INDEX) {
      h->seg_n = SEG_INDEX_OVER;
      return;
    }
    h->seg_at[n] = s;
    h->seg_x[n] = reg(s)->xscale;
  }
  h->seg_n = n + 1u;
}
/* The segment of xscale x after s (NULL: the first) in h's list, NULL past the last; *i is the
 * place in the index after s's (0 to start). seg_index first. */
static vcmi_segment *seg_of(const vcmi_heap *h, unsigned x, uint32_t *i, vcmi_segment *s) {
  if (h->seg_n == SEG_INDEX_OVER) {
    for (s = s ? s->next : h->segs; s && reg(s)->xscale != x;) s = s->next;
    return s;
  }
  for (uint32_t j = *i; j + 1u < h->seg_n; j++)
    if (h->seg_x[j] == x) {
      *i = j + 1u;
      return h->seg_at[j];
    }
  return NULL;
}
/* for each segment s of h of xscale x, in list order */
#define EACH_SEG_OF(h, x, s, i)                                                               \
  for (uint32_t i = 0; (s = seg_of(h, x, &i, s)) != NULL;)

/* A loan (docs/DESIGN.md §6, "Loans"): a malloc of BORROW_MIN bytes or more whose class has no
 * free chunk takes the resident free chunk at the head of the smallest class above whose
 * capacity is under twice n (more than half used, so a realloc to n stays: chunk.c's shrink
 * moves at half), before a fresh chunk faults pages in. A heap that frees everything and mallocs
 * other sizes (g8floor) found some classes short and others with chunks to spare: the first
 * carved while the second's stayed resident. No PURGED chunk (it faults in as a fresh one);
 * not for a power of two's class (x = 0: a realloc's and an aligned block's, its chunk aligned
 * to its capacity), nor a fitted one. Under two pages a chunk's slack is resident bytes: g7's
 * C++ vectors peaked +0.2 MiB with loans from 4 KiB, +2 MiB from 16 bytes. */
#define BORROW_MIN ((size_t)2 * VCMI_PAGE)
static void *borrow(vcmi_heap *h, unsigned t, size_t n) {
  vcmi_segment *s;
  for (unsigned u = t + 1u; u < VCMI_NTIGHT && vcmi_tclass[u].cap < 2u * n; u++) {
    unsigned k = vcmi_tclass[u].k;
    s = NULL;
    EACH_SEG_OF(h, vcmi_tclass[u].x, s, i) {
      vcmi_region *r = reg(s);
      uint32_t g = r->free_head[k];
      if (g != VCMI_NONE && !(vcmi_entry_at(r, k, g)->state & VCMI_PURGED))
        return vcmi_take_free(r, k, n);
    }
  }
  return NULL;
}

/* A malloc's head take from class k of s (take_any, below), if k carves no more. */
static void *head_take(vcmi_segment *s, unsigned k, size_t n) {
  vcmi_region *r = reg(s);
  return !s->gained[k] && r->free_head[k] != VCMI_NONE &&
                 (r->xscale ? vcmi_pair_colour_here(r) : vcmi_pairs_here(r, k))
             ? vcmi_pair_take_head(r, k, n)
             : NULL;
}

static void *take_any(vcmi_heap *h, unsigned t, size_t n, int grow, vcmi_region **rp,
                      int *reused) {
  unsigned k = vcmi_tclass[t].k, x = vcmi_tclass[t].x;
  void *p;
  vcmi_segment *s = NULL;
  *reused = 1;
  if ((p = vcmi_take_free(*rp, k, n))) return p;
  /* a wave (below): the segment whose head take served t's last slow malloc serves it again
   * while it can, before the other segments' lists are looked at (x4 at 0.3: the slow path's
   * walks of the segments 11.4 M -> 3.8 M instructions) */
  if (h->lane_s && h->lane_t == t && !grow && (p = head_take(h->lane_s, k + 1u, n))) {
    if (!x) *rp = reg(h->lane_s); /* a colour pair's segment is not of class k (below) */
    return p;
  }
  seg_index(h);
  EACH_SEG_OF(h, x, s, i)
    if ((p = vcmi_take_free(reg(s), k, n))) return *rp = reg(s), p;
  /* parked pair halves before fresh chunks: a class taking chunks again reuses them */
  s = NULL;
  EACH_SEG_OF(h, x, s, i)
    if ((reg(s)->paired >> k & 1u) && unpark(h, reg(s), k) && (p = vcmi_take_free(reg(s), k, n)))
      return *rp = reg(s), p;
  if (t >= VCMI_NFIXED && !h->check) { /* fitted: the fixed class's chunks its size left free */
    unsigned t0 = vcmi_tight_class_calc(n), k0 = vcmi_tclass[t0].k, x0 = vcmi_tclass[t0].x;
    s = NULL;
    EACH_SEG_OF(h, x0, s, i) /* *rp stays: cur[t] is of t's scale */
      if ((p = vcmi_take_free(reg(s), k0, n))) return p;
  }
  if (!grow && n >= BORROW_MIN && vcmi_tclass[t].x && t < VCMI_NTIGHT && !h->check &&
      (p = borrow(h, t, n)))
    return p;
  /* two free buddies of the class below, one chunk of this class (pair.h): a page of strings
   * that left it serves those growing up to this class, no fresh page. Only for a growing
   * realloc: a fresh malloc taking them (g7's C++ vectors, new block, copy, free) kept the
   * class below carving while the one above reused its pages: 28 % more page faults (a malloc
   * takes only from a class that carves no more, below). An append into 2 KiB may take four
   * free 512-byte chunks as one QUAD (lg 2, pair.h), one into 4 KiB a whole free page of the 1
   * or 2 KiB class. */
  s = NULL;
  if (grow && x == 0 && k + 1u < VCMI_NCLASS && k + 1u >= VCMI_PAIR_K_MIN)
    EACH_SEG_OF(h, 0u, s, i)
      for (unsigned lg = 1; lg <= 2u && k + lg < VCMI_NCLASS; lg++)
        if (!(reg(s)->pair_dry[k + lg - VCMI_PAIR_K_MIN] & lg) &&
            vcmi_pairs_here(reg(s), k + lg) &&
            (s->cap[k + lg] << lg) <= VCMI_TAKE_CAP_MAX &&
            (lg == 1u ? k + 1u >= VCMI_TAKE_K_MIN || (grow & VCMI_GROW_APPEND)
                      : (grow & VCMI_GROW_APPEND) && s->cap[k + lg] >= VCMI_QUAD_CAP_MAX) &&
            (p = vcmi_pair_take(reg(s), k + lg, lg, n)))
          return *rp = reg(s), p;
  /* A malloc (C++'s vectors: new block, copy, free) takes two buddies among the latest frees of
   * the class below only once that class carves no more (nothing carved since the last purge:
   * its wave has passed, x4's 10^5 vectors leaving it together), so a class still carving is
   * never raided: its pages serve the class above where they are, resident, where the purge
   * would have moved them onto its frontier or dropped them (x4: 11,000 pages moved and 10,268
   * dropped -> 3,514 and 5,894; faults 15.2k -> 14.4k; peak -0.9 MiB). */
  s = NULL;
  if (!grow && x == 0 && k + 1u < VCMI_NCLASS && k + 1u >= VCMI_HEAD_K_MIN)
    EACH_SEG_OF(h, 0u, s, i)
      if ((p = head_take(s, k + 1u, n))) {
        h->lane_s = s, h->lane_t = t;
        return *rp = reg(s), p;
      }
  /* A colour class's malloc likewise takes two buddies of the colour class below (pair.h), in
   * that class's fine segment, among its latest frees, else anywhere (a scan); cur[t] stays
   * (that segment holds no chunk of class k). */
  s = NULL;
  if (!grow && x == VCMI_XSCALE_COLOUR)
    EACH_SEG_OF(h, x, s, i)
      if (s->fine_k == k + 1u) {
        if ((p = head_take(s, k + 1u, n))) {
          h->lane_s = s, h->lane_t = t;
          return p;
        }
        if (!s->gained[k + 1u] && vcmi_pair_colour_here(reg(s)) &&
            (p = vcmi_pair_take_colour(reg(s), k + 1u, n)))
          return p;
      }
  *reused = 0;
  if (grow == VCMI_GROW_REUSE) return NULL;
  if ((p = take_fresh(h, *rp, k, n))) return p;
  s = NULL;
  EACH_SEG_OF(h, x, s, i)
    if ((p = take_fresh(h, reg(s), k, n))) return *rp = reg(s), p;
  return NULL;
}


/* The OS refused a segment of t's scale (errno was saved before): under RLIMIT_AS, as a scaled
 * segment reserves 1 + x times a power of two's address space (python under `ulimit -v` of
 * 2.5 GB failed at its first allocations). The power of two's class serves n, its capacity n's
 * power of two, from the segments that reserve the least. NULL if t is that class, or it is
 * refused too. Out of line: not in the hot text. */
static __attribute__((noinline, cold)) void *scale_refused(vcmi_heap *h, unsigned t, size_t n,
                                                           int grow, int saved) {
  unsigned t2 = vcmi_pow2_class(n);
  void *p;
  if (!vcmi_tclass[t].x || t2 == t || !(p = vcmi_heap_alloc_slow(h, t2, n, grow))) return NULL;
  errno = saved;
  return p;
}

/* The address space vcm held (vcmi_os_stats' reserved) + 1 when class t's segment was refused,
 * 0: none. A class with a power of two to fall back on tries again only once vcm holds less:
 * each malloc of its size came to the slow path and asked the OS again (1M mallocs of 48
 * bytes under `ulimit -v`: 3.96 s against 0.07, 3.25 s of it in failed mmaps). Racy by
 * design: a lost update costs one more try. */
static size_t seg_refused_at[VCMI_NCLS];
static __attribute__((noinline, cold)) vcmi_segment *seg_create_for(vcmi_heap *h, unsigned t) {
  size_t at = __atomic_load_n(&seg_refused_at[t], __ATOMIC_RELAXED);
  vcmi_os_stats os;
  if (at) {
    vcmi_os_stats_get(&os);
    if (os.reserved + 1u >= at) return NULL;
  }
  vcmi_segment *s = vcmi_seg_create(h, vcmi_tclass[t].x, vcmi_tclass[t].k);
  if (!s && vcmi_tclass[t].x) {
    vcmi_os_stats_get(&os);
    __atomic_store_n(&seg_refused_at[t], os.reserved + 1u, __ATOMIC_RELAXED);
  }
  return s;
}

void *vcmi_heap_alloc_slow(vcmi_heap *h, unsigned t, size_t n, int grow) {
  int reused;
  unsigned k = vcmi_tclass[t].k;
  vcmi_heap_collect(h, 0);
  if (VCMI_PURGE_DUE(h)) heap_purge(h); /* remote frees collected may make it due */
  vcmi_region *r = h->cur[t];
  size_t grown = h->grown;
  unsigned char *p = take_any(h, t, n, grow, &r, &reused);
  if (!p && grow == VCMI_GROW_REUSE) return NULL;
  if (!p && adopt(h)) {
    vcmi_heap_collect(h, 0);
    seg_trim(h);
    r = h->cur[t]; /* r's segment may be gone (seg_unlink resets cur[t]) */
    p = take_any(h, t, n, grow, &r, &reused);
  }
  if (!p) {
    int saved = errno;
    vcmi_segment *s = seg_create_for(h, t);
    if (!s) return scale_refused(h, t, n, grow, saved);
    r = reg(s);
    p = take_fresh(h, r, k, n);
  }
  if (!reused && h->grown > grown) vcmi_fit_note(t, n, h->grown - grown);
  if (!reused && h->held) heap_purge(h); /* growing: what a burst kept is looked at first */
  else if (!reused && FREED(h) >= PURGE_MIN && h->grown >= FREED(h))
    heap_purge(h); /* growing while freeing: what it freed is due before the interval */
  if (!h->check) {
    /* a fixed class's bin is r's already if cur[t] is r: its copies are not written again (a
     * wave of pair takes, x4, comes here for every malloc) */
    if (h->cur[t] != r || t >= VCMI_NFIXED) heap_set_cur(h, t, r);
    return p;
  }
  size_t cap = vcmi_class_cap(r, k);
  if (reused && !vcmi_all_fill(p, cap))
    vcmi_misuse(r, p, VCMI_WHY_WRITE_AFTER_FREE);
  memset(p + n, VCMI_CHECK_FILL, cap - n);
  return p;
}


/* Bytes in the heap's live chunks (remote frees collected). */
static size_t live_bytes_of(vcmi_heap *h) {
  size_t n = 0;
  for (vcmi_segment *s = h->segs; s; s = s->next)
    for (uint32_t m = s->carved; m; m &= m - 1u)
      n += (size_t)reg(s)->live[__builtin_ctz(m)] * s->cap[__builtin_ctz(m)];
  return n;
}

/* The classes of r freed into since the last purge, and whose chunk so freed is still free (a
 * class only taken from needs no look): bit k iff the head of class k's free list is unmarked,
 * since a purge marks every chunk on the list (AGED or PURGED, purge.c), a free chunk is
 * otherwise 0, and the list is a stack between purges. Read here, not kept on every free. */
static uint32_t freed_into(vcmi_segment *s) {
  const vcmi_region *r = reg(s);
  uint32_t bits = 0;
  for (uint32_t m = s->carved; m; m &= m - 1u) { /* only the classes ever carved hold chunks */
    unsigned k = (unsigned)__builtin_ctz(m);
    uint32_t g = r->free_head[k];
    if (g != VCMI_NONE && !(vcmi_entry_at(r, k, g)->state & ~VCMI_NONE)) bits |= 1u << k;
  }
  return bits;
}

/* Return memory to the OS, bounded in delay by purge_at bytes of frees (local and remote): an
 * eighth of the heap's footprint (fresh chunks) at the last purge, at least PURGE_STEADY (twice
 * that up to a footprint of PURGE_SMALL), at most
 * PURGE_BYTES, or PURGE_MIN while it carves as many bytes of fresh chunks as it frees (the
 * slow path: vectors moving up a class, whose old class's pages would wait two intervals while
 * the new class faults pages in). Spans free at two purges in a row go (purge_class). A
 * segment with nothing live is unmapped, except the heap's first and one per xscale (per fine
 * class: spare_kept), which goes only once it stayed empty, nothing freed into it, for
 * SEG_IDLE_PURGES intervals (a segment emptied by remote frees is often refilled soon: s6; a
 * fine class of a live chunk or two empties and fills again: s5), at the first at an exit or
 * malloc_trim. A class is looked at only if it was
 * freed into since the last purge (freed_into) or aged chunks then, and every carved class at
 * the purge that ends a hold (a held purge leaves a class whose list it found grouped unlooked
 * at: its burst's spans stayed resident for good where the program freed into it no more).
 * A purge that ends a burst of frees (the heap allocated under an eighth of what it freed
 * since the last purge: a container torn down, or another thread freed what this one built)
 * ages chunks but drops none, and the heap HOLDS them: a program that frees its structures at
 * the end of a phase builds them again in the next, and dropping them would cost a page fault
 * per page rebuilt. While it holds, the spans found free at the burst's purges (and at the first
 * after its last: the teardown's last frees, purge.c) go only as the process's resident bytes
 * rise past what they were at the burst (the excess is given up, largest classes first: the
 * ones a rebuild reaches last), no empty segment is unmapped, and it purges every PURGE_MIN
 * of frees (the held chunks inflate the footprint). The first fresh chunk taken after the
 * burst purges at once. The hold ends when live bytes are back to what they were before the
 * burst, or HOLD_ALLOC times the burst's bytes were allocated; what was not taken again by
 * then goes at the next purges. */
/* A rebuild allocates more than it keeps (temporaries, strings formatted then resized): r1's
 * python allocated 2.3 bytes a byte it kept, so at twice the burst its hold ended halfway
 * through the rebuild and the 64-byte class's free top (6.8 MiB) went, to be faulted in again
 * (14.9k faults; 13.0k at 4, peak the same). At 4 its second and third rounds still ended
 * their holds near their ends (4.5 bytes allocated a byte of the burst with 86 % of it rebuilt)
 * and dropped 3.7 and 2.7 MiB of free tops, faulted in again at once: 11.85k faults at 8 (6 at
 * scale 1; 8 at scale 2: 26.7k -> 22.2k), peak 37.6 -> 37.9 MiB (glibc 38.2). A program that
 * stays small after the burst gives back at 8 bursts' worth of allocation; it never holds past
 * its resident size at the burst. */
#define HOLD_ALLOC 8u
/* A heap's spare segment (heap_purge) goes after this many purges idle: at 1, s5 (scale 0.5)
 * unmapped and mapped its fine segments 210 times (a live chunk or two a class: 1,056 B, ...),
 * at 16 none after the first 20 (munmap 423 -> 39, mprotect 885 -> 121 calls, -380 faults). */
#define SEG_IDLE_PURGES 16u
static void heap_purge(vcmi_heap *h) { vcmi_heap_purge_as(h, 0); }
/* exiting: the heap's thread ends (heaps.c, heap_give_up): drop, hold nothing, donate nothing. */
void vcmi_heap_purge_as(vcmi_heap *h, int exiting) {
  size_t foot = 0;
  vcmi_heap_own_purges++;
  vcmi_heap_inplace_flush(h);
  vcmi_moved_drop(h); /* before the purge reads the free lists, and unmaps segments */
  if (__atomic_load_n(&locked_seen, __ATOMIC_RELAXED))
    for (vcmi_segment *s = h->segs; s; s = s->next) seg_reclose(s);
  vcmi_remote_flush(); /* this thread's batches: delayed by a purge interval at most */
  vcmi_purge_batch bt;
  bt.n = bt.n_to = bt.cur = 0; /* no donation until vcmi_donate_plan */
  vcmi_heap_collect(h, 1);
  /* the held pair halves let go count as freed, as the parked ones that unpark frees (else live
   * falls by them with nothing freed, and a burst's purge read a wrapped alloc: it dropped what
   * the hold kept, r1's third round faulting 15 MiB back) */
  for (vcmi_segment *s = h->segs; s; s = s->next) /* only where a buddy may have been freed:
                                                     * g2 walked all its parked halves at each
                                                     * purge, 3 % of its CPU */
    if (reg(s)->paired) h->credit -= (ptrdiff_t)vcmi_pair_sweep(reg(s), freed_into(s));
  /* bytes allocated since the last purge = live now - live then + freed since (a heap that
   * adopted segments may wrap this: then it drops, as before) */
  size_t live = live_bytes_of(h), freed = FREED(h), alloc = live + freed - h->live_at;
  int drop = h->check || exiting || alloc >= freed / 8u;
  int after_burst = drop && h->held; /* the first purge past a burst's last (hold_tail) */
  h->held = !drop;
  bt.hold_new = !drop && !h->hold_live;
  int ended = 0;
  if (bt.hold_new) h->hold_rss = vcmi_os_resident(); /* 0 if unknown: then no hold */
  if (!drop && h->hold_rss) { /* a burst: hold (again) */
    h->hold_left = vcmi_sat_add(h->hold_live ? h->hold_left : 0, vcmi_sat_mul(HOLD_ALLOC, freed));
    h->hold_live = h->hold_live > h->live_at ? h->hold_live : h->live_at;
  } else if (h->hold_live && (live >= h->hold_live || alloc >= h->hold_left)) {
    h->hold_live = 0;
    ended = 1;
  } else if (h->hold_live) {
    h->hold_left -= alloc;
  }
  int hold = h->hold_live != 0;
  bt.hold_tail = after_burst && hold;
  size_t rss = hold && drop ? vcmi_os_resident() : 0;
  size_t give = rss > h->hold_rss ? rss - h->hold_rss : 0; /* what the hold gives up now */
  h->live_at = live;
  h->grown = 0;
  vcmi_segment **link = &h->segs;
  seg_spares spare = {{0}};
  while (*link) {
    vcmi_segment *s = *link;
    int empty = vcmi_seg_empty(s), kept = spare_kept(&spare, s);
    if (empty) spare_keep(&spare, s);
    uint32_t touched = freed_into(s);
    if (empty && s != h->segs && !hold &&
        (kept || (!touched && s->idle >= (exiting ? 1u : SEG_IDLE_PURGES)))) {
      vcmi_seg_unlink(h, link, 0);
      continue;
    }
    s->idle = !empty ? 0u : touched ? 1u : s->idle + 1u;
    /* the classes to look at (below: bit k read, then written); all at a hold's end */
    s->aging |= ended ? s->carved : touched;
    link = &s->next;
  }
  /* donations, among the segments that stay (the batch's ranges must stay mapped) */
  vcmi_donate_plan(h->segs, h->carve_s, h->carve_k, h->check || exiting, &bt);
  /* Class by class from the largest, so that what a hold gives up is the classes a rebuild
   * reaches last (vectors grow through the classes in order). */
  uint32_t look = 0; /* the classes some segment looks at (a segment's other bits stay 0) */
  for (vcmi_segment *s = h->segs; s; s = s->next) look |= s->aging &= s->carved;
  for (; look; look &= look - 1u) {
    unsigned k = (unsigned)__builtin_ctz(look);
    for (vcmi_segment *s = h->segs; s; s = s->next) {
      uint32_t bit = 1u << k;
      int aging = (s->aging & bit) && reg(s)->free_head[k] != VCMI_NONE &&
                  vcmi_purge_class(s, k, drop, hold ? &give : NULL, h->check, &bt);
      s->aging = aging ? s->aging | bit : s->aging & ~bit;
    }
  }
  for (vcmi_segment *s = h->segs; s; s = s->next) /* only the classes ever carved */
    for (uint32_t m = s->carved; m; m &= m - 1u)
      foot += (size_t)reg(s)->fresh[__builtin_ctz(m)] * s->cap[__builtin_ctz(m)];
  vcmi_purge_flush(&bt);
  vcmi_donate_settle(&bt);
  foot = hold                 ? PURGE_MIN
         : foot <= PURGE_SMALL  ? 2u * PURGE_STEADY
         : foot / 8u < PURGE_STEADY ? PURGE_STEADY
                                    : foot / 8u;
  h->purge_at = h->check ? 0 : foot > PURGE_BYTES ? PURGE_BYTES : foot;
  h->credit = (ptrdiff_t)h->purge_at;
}

/* Locate p in r or report why it is not a chunk start: foreign (the caller's words, as for a
 * pointer in no segment: alloc.c) if p is not in r's segment at all (an address past
 * 2^VCMI_SEGMAP_VA wraps to r in the segment map, meta.h). */
int vcmi_seg_locate_or_report(vcmi_region *r, const void *p, vcmi_loc *loc, vcmi_why foreign) {
  if (VCMI_LIKELY(vcmi_seg_locate(r, p, loc) == 0)) return 0;
  const vcmi_segment *s = (const vcmi_segment *)(const void *)r;
  vcmi_misuse(r, p, (uintptr_t)p - (uintptr_t)s >= s->size ? foreign : VCMI_WHY_INTERIOR);
  return -1;
}


void vcmi_seg_free_slow(void *p, vcmi_region *r) {
  vcmi_loc loc;
  if (vcmi_seg_locate_or_report(r, p, &loc, VCMI_WHY_FOREIGN) != 0) return;
  vcmi_heap *h = vcmi_tls_heap;
  if (!is_owner(r, h)) {
    vcmi_seg_free_remote(p, r, loc.e - loc.g, loc.g, loc.k + VCMI_SEG_CHANNELS_LOG2);
    return;
  }
  uint32_t s = __atomic_load_n(&loc.e->state, __ATOMIC_RELAXED);
  if (!(s & VCMI_LIVE)) {
    vcmi_report_not_live(r, p, loc.e, VCMI_WHY_DOUBLE_FREE);
    return;
  }
  if (h->check) {
    vcmi_check_slack(r, &loc, p);
    memset(p, VCMI_CHECK_FILL, vcmi_class_cap(r, loc.k));
  }
  /* due before this free, as the fast path's credit would have left it: a free that crosses
   * the line is counted here and the next one purges (one free earlier changed which spans a
   * purge found free: s5 +3 % page faults) */
  int due = VCMI_PURGE_DUE(h);
  /* a big MERGED pair (free's fast path leaves pairs here): its upper half first, so that the
   * lower one, whose buddy is free again, is handed out first (as a move's, chunk.c) */
  h->credit -= vcmi_pair_leaves(r, loc.k, s) ? (ptrdiff_t)vcmi_pair_leave(r, &loc) : 0;
  if (!vcmi_release_live(r, &loc, s)) { /* a remote free of p landed since: a double free */
    vcmi_report_not_live(r, p, loc.e, VCMI_WHY_DOUBLE_FREE);
    return;
  }
  h->credit -= (ptrdiff_t)vcmi_class_cap(r, loc.k);
  if (due) heap_purge(h);
}
