/* The region core: the seed's vector malloc over caller memory. No OS, no libc beyond the
 * memcpy/memset a C compiler requires even freestanding.
 *
 * Two layouts of one core (docs/DESIGN.md §1-§3, §6):
 *  - caller regions (vcm_region_init): chunks split and merge as buddies inside max-sized
 *    blocks; the map is a 16-bit slot per 16-byte granule plus a free bitmap with summaries,
 *    laid BEFORE the data, so no chunk's overflow reaches it;
 *  - segments of the process heap (vcmi_region_setup): the seed's fixed class areas with an
 *    4-byte entry per chunk and free lists (region.h), which heap.h's fast paths know.
 *
 * Invariants of a caller region (checked by vcm_region_check):
 *  B1 the data is a sequence of chunks, each of class k aligned to its capacity max >> k,
 *     tiling every block; a chunk's first slot is a head (H, order k, L if live), every other
 *     slot of the data has H clear.
 *  B2 a free chunk's head slot is H | k << 9 | c: c = 0 and its bit in class k's bitmap is
 *     set, or c >= 1 and it is reserved (B5); no other level-0 bit is set; a free chunk's
 *     buddy is never a free chunk of its class (a freed chunk whose buddy is free merges at
 *     once), so a free aligned span is always one free chunk or inside one.
 *  B3 summary bit i of level l+1 is set iff word i of level l is not zero; nfree[k] counts
 *     class k's bits; avail bit k iff nfree[k] > 0; no free chunk of class k lies below
 *     first[k].
 *  B4 used <= capacity for every live chunk; live[k] and live_cap equal the map's sums.
 *  B5 class k's reserve holds ncache[k] <= rsv distinct chunk numbers, each a free chunk of
 *     class k whose head's c is its position + 1; cmask bit k iff ncache[k] > 0.
 *
 * Invariants of a segment (fixed layout):
 *  I1 every chunk of class k with class-number g < fresh[k] is exactly one of: LIVE, on the
 *     free list of class k, or REMOTE; chunks with g >= fresh[k] were never handed out and
 *     their map entries are never read.
 *  I2 free lists hold class-numbers < fresh[k], each once, state neither LIVE nor REMOTE.
 *  I3 used <= capacity for every LIVE chunk; live[k] equals the LIVE and REMOTE chunks.
 */
#include "region.h"

#define VCMI_ALIGN 16u

/* Build option VCM_VALGRIND: tell memcheck that chunks are heap blocks of their used size
 * (the slack and free chunks are inaccessible), for programs that use the region API. */
#ifdef VCM_VALGRIND /* a memcheck memory pool per disc, named by its data address */
#include <valgrind/memcheck.h>
#define VG_INIT(disc, size, d, n) /* data [d, d + n) inaccessible but for chunks */         \
  do {                                                                                       \
    if (VALGRIND_MEMPOOL_EXISTS(d)) VALGRIND_DESTROY_MEMPOOL(d); /* re-init of a disc */     \
    VALGRIND_CREATE_MEMPOOL(d, 0, 0);                                                        \
    VALGRIND_MAKE_MEM_UNDEFINED(disc, size);                                                 \
    VALGRIND_MAKE_MEM_NOACCESS(d, n);                                                        \
  } while (0)
#define VG_ALLOC(r, p, n) VALGRIND_MEMPOOL_ALLOC((r)->data, p, n)
#define VG_FREE(r, p) VALGRIND_MEMPOOL_FREE((r)->data, p)
#define VG_RESIZE(r, p, from, to)                                                            \
  do {                                                                                       \
    VALGRIND_MEMPOOL_CHANGE((r)->data, p, p, to);                                            \
    if ((to) > (from)) VALGRIND_MAKE_MEM_UNDEFINED((p) + (from), (to) - (from));             \
    else VALGRIND_MAKE_MEM_NOACCESS((p) + (to), (from) - (to));                              \
  } while (0)
#else
#define VG_INIT(disc, size, d, n) ((void)0)
#define VG_ALLOC(r, p, n) ((void)0)
#define VG_FREE(r, p) ((void)0)
#define VG_RESIZE(r, p, from, to) ((void)0)
#endif

_Static_assert(sizeof(vcmi_entry) == 4, "a segment's map entry is one word");
_Static_assert(sizeof(vcmi_region) <= sizeof(vcm_region), "vcm_region storage too small");
_Static_assert(_Alignof(vcmi_region) <= _Alignof(vcm_region), "vcm_region misaligned");
_Static_assert(VCM_CLASS_MAX - 1 <= VCMI_USED_MASK, "used field holds the largest class");
_Static_assert(VCM_MAX_CLASSES <= 32, "order field of a slot is 5 bits");

#define log2_floor vcmi_log2
/* The fast paths (a reserve push or pop) inline into the API; the bitmap's paths stay out of
 * line so they do not weigh on the fast paths' registers. */
#define HOT static inline __attribute__((always_inline))
#define COLD static __attribute__((noinline))
static int is_pow2(size_t x) { return x && !(x & (x - 1)); }

static vcm_status check_geometry(const vcm_geometry *g, unsigned *lmin, unsigned *lmax) {
  size_t mn = g ? g->size_min : VCM_DEFAULT_MIN, mx = g ? g->size_max : VCM_DEFAULT_MAX;
  if (g && g->grow_factor != 2) return VCM_E_FACTOR;
  if (!is_pow2(mn) || !is_pow2(mx)) return VCM_E_POW2;
  if (mx < mn) return VCM_E_ORDER;
  if (mn < 16) return VCM_E_MIN;
  if (mx > VCM_CLASS_MAX) return VCM_E_MAX;
  *lmin = log2_floor(mn);
  *lmax = log2_floor(mx);
  return VCM_OK;
}

/* ---- The split/merge map of a caller region: sizes ---------------------------------------
 * [ slots: 2 B per 16-byte granule | bitmap level 0 | level 1 | … | top word ] [ gap ] [ data ]
 * Level 0 has one bit per possible chunk, class-major: chunk i of class k is bit
 * nblocks * (2^k - 1) + i. Bit i of level l+1 summarises word i of level l. */
#define GRANULE_LOG2 4u

/* Bytes of the map for nblocks blocks of 2^lmax bytes and nclass classes; fills the level
 * offsets if lvl != NULL. */
static size_t map_size(size_t nblocks, unsigned nclass, unsigned lmax, uint32_t *lvl,
                       uint32_t *lvln, uint32_t *depth) {
  size_t slots = (nblocks << (lmax - GRANULE_LOG2)) * sizeof(uint16_t);
  size_t n = nblocks * (((size_t)1 << nclass) - 1u), words = 0;
  unsigned l = 0;
  slots = (slots + 7u) & ~(size_t)7u; /* the bitmap is 8-byte aligned */
  for (;; l++) {
    size_t w = (n + 63u) >> 6;
    if (lvl) {
      lvl[l] = (uint32_t)words; /* < 2^32: the plan caps the chunks (VCM_E_TOO_MANY) */
      lvln[l] = (uint32_t)n;
    }
    words += w;
    if (w == 1) break;
    n = w;
  }
  if (depth) *depth = l + 1u;
  return slots + words * sizeof(uint64_t);
}

vcm_status vcm_region_plan(size_t disc_size, const vcm_geometry *geometry, vcm_plan *out) {
  unsigned lmin = 0, lmax = 0;
  if (!out) return VCM_E_NULL;
  vcm_status s = check_geometry(geometry, &lmin, &lmax);
  if (s != VCM_OK) return s;
  size_t max = (size_t)1 << lmax, nclass = lmax - lmin + 1u;
  /* A channel is nclass blocks of max bytes and a map share: the map of one channel rounded
   * up to whole blocks (one max for the seed's geometry: 1016 of 1024 bytes). */
  size_t share = (map_size(nclass, (unsigned)nclass, lmax, 0, 0, 0) + max - 1u) & ~(max - 1u);
  out->n_classes = nclass;
  out->channel_factor = nclass + share / max;
  out->channel_size = out->channel_factor * max;
  out->chunks_per_channel = ((size_t)1 << nclass) - 1u;
  out->map_entry_bytes = sizeof(uint16_t);
  size_t n = disc_size / out->channel_size;
  /* Class-numbers are 32-bit: the smallest class has n * nclass << (nclass-1) chunks. */
  size_t cap = (size_t)0xFFFFFFFFu / ((size_t)nclass << nclass);
  if (n > cap) return VCM_E_TOO_MANY;
  while (n && map_size(n * nclass, (unsigned)nclass, lmax, 0, 0, 0) > n * share) n--;
  out->n_channels = n;
  out->data_bytes = n * nclass * max;
  out->map_bytes = n ? map_size(n * nclass, (unsigned)nclass, lmax, 0, 0, 0) : 0;
  out->slack_bytes = disc_size - out->data_bytes - out->map_bytes;
  return n ? VCM_OK : VCM_E_SMALL;
}

/* The head common to both layouts: geometry, data, handler; everything else zero. */
static void setup_head(vcmi_region *r, void *data, uint32_t n_channels, unsigned lmin,
                       unsigned lmax) {
  VCMI_ASSERT(data && n_channels > 0 && lmin <= lmax && lmax < 8 * sizeof(size_t) &&
              lmax - lmin < VCM_MAX_CLASSES);
  unsigned char *z = (unsigned char *)r;
  for (size_t i = 0; i < sizeof *r; i++) z[i] = 0;
  r->magic = VCMI_MAGIC;
  r->lmin = (uint8_t)lmin;
  r->lmax = (uint8_t)lmax;
  r->nclass = (uint8_t)(lmax - lmin + 1u);
  r->n_channels = n_channels;
  r->data = (unsigned char *)data;
  r->stride = (size_t)n_channels << lmax;
  r->stride_log2 = is_pow2(r->stride) ? (uint8_t)log2_floor(r->stride) : 0;
  r->handler = vcmi_misuse_default;
}

/* A segment: the fixed layout's entry map, free lists empty, every class fresh. */
void vcmi_region_setup(vcmi_region *r, void *data, void *map, uint32_t n_channels,
                       unsigned lmin, unsigned lmax) {
  VCMI_ASSERT(map != NULL);
  setup_head(r, data, n_channels, lmin, lmax);
  r->map = (vcmi_entry *)map;
  r->avail = (r->nclass == 32 ? 0u : (1u << r->nclass)) - 1u;
  for (unsigned k = 0; k < r->nclass; k++)
    r->mapk[k] = r->map + (size_t)n_channels * (((size_t)1 << k) - 1u);
  for (unsigned k = 0; k < VCM_MAX_CLASSES; k++) r->free_head[k] = VCMI_NONE;
  r->remote_head = VCMI_NONE;
}

void vcm_region_set_handler(vcm_region *rr, vcm_misuse_fn fn, void *ctx) {
  vcmi_region *r = vcmi_region_of(rr);
  r->handler = fn ? fn : vcmi_misuse_default;
  r->handler_ctx = fn ? ctx : 0;
}

void vcmi_misuse(vcmi_region *r, const void *p, vcmi_why why) {
  r->handler(r->handler_ctx, p, vcmi_why_text(why));
}

/* ---- The split/merge map: slots ------------------------------------------------------------
 * Head slot of a live chunk: bit 15 H, bit 14 L, bits 9..13 class k, bits 0..8 used bits
 * 0..8. A chunk of >= 512 bytes keeps used bits 9..23 in its 2nd slot, >= 2^24 bytes bits
 * 24..38 in its 3rd (those slots have H clear). Any other slot of the data: H clear.
 * Head slot of a free chunk: H, class k, bits 0..8 = 0 if it is in the bitmap, else c >= 1:
 * it waits unmerged in class k's reserve at position c - 1 (B5). */
#define SLOT_H 0x8000u
#define SLOT_L 0x4000u
#define SLOT_K(s) (((unsigned)(s) >> 9) & 31u)
#define SLOT_POS 0x1FFu
#define FREE_HEAD(k) ((uint16_t)(SLOT_H | (unsigned)(k) << 9))
#define IS_FREE(s, k) (((s) & ~SLOT_POS) == FREE_HEAD(k)) /* in the bitmap or a reserve */
#define NOT_FOUND ((size_t)-1)
#define CORRUPT ((size_t)-2)

static size_t cap_of(const vcmi_region *r, unsigned k) { return (size_t)1 << (r->lmax - k); }
static unsigned gshift(const vcmi_region *r, unsigned k) { /* granules per chunk, log2 */
  return r->lmax - k - GRANULE_LOG2;
}
static size_t bit_base(const vcmi_region *r, unsigned k) {
  return (size_t)r->nblocks * (((size_t)1 << k) - 1u);
}
static int bit_get(const vcmi_region *r, size_t b) {
  return (int)((r->bits[b >> 6] >> (b & 63u)) & 1u);
}

static size_t used_of(const vcmi_region *r, size_t h, size_t cap) {
  const uint16_t *s = r->slot + h;
  size_t u = s[0] & 0x1FFu;
  if (cap >= 512u) u |= (size_t)(s[1] & 0x7FFFu) << 9;
  if (cap >= ((size_t)1 << 24)) u |= (size_t)(s[2] & 0x7FFFu) << 24;
  return u < cap ? u : cap; /* a forged value never makes a copy longer than the chunk */
}
static void set_used(vcmi_region *r, size_t h, size_t cap, size_t n) {
  uint16_t *s = r->slot + h;
  s[0] = (uint16_t)((s[0] & ~0x1FFu) | (n & 0x1FFu));
  if (cap >= 512u) s[1] = (uint16_t)((n >> 9) & 0x7FFFu);
  if (cap >= ((size_t)1 << 24)) s[2] = (uint16_t)((n >> 24) & 0x7FFFu);
}

/* Set or clear level-0 bit b and the summaries above it: at most depth words; a summary bit
 * changes only when its word turns empty or non-empty. */
static void mark(vcmi_region *r, size_t b, int on) {
  uint64_t *w = r->bits + (b >> 6), m = (uint64_t)1 << (b & 63u), was = *w;
  r->steps++;
  *w = on ? was | m : was & ~m;
  if (VCMI_LIKELY(on ? was != 0 : *w != 0)) return;
  for (unsigned l = 1; l < r->depth; l++) {
    b >>= 6;
    w = r->bits + r->lvl[l] + (b >> 6), m = (uint64_t)1 << (b & 63u), was = *w;
    r->steps++;
    *w = on ? was | m : was & ~m;
    if (on ? was != 0 : *w != 0) return;
  }
}
/* Chunk i of class k becomes free (on) or taken. */
static void mark_chunk(vcmi_region *r, unsigned k, size_t i, int on) {
  mark(r, bit_base(r, k) + i, on);
  if (on) {
    if (i < r->first[k]) r->first[k] = (uint32_t)i;
    if (r->nfree[k]++ == 0) r->avail |= 1u << k;
  } else if (--r->nfree[k] == 0) {
    r->avail &= ~(1u << k);
  }
}

/* The first set level-0 bit in [s, end): up the summaries from s, then down. At most
 * 2 * depth words. NOT_FOUND, or CORRUPT if a summary names an empty word. */
static size_t find(vcmi_region *r, size_t s, size_t end) {
  size_t pos = s;
  unsigned l = 0;
  uint64_t m = 0;
  for (;; l++, pos = (pos >> 6) + 1u) {
    r->steps++;
    if (pos < r->lvln[l]) {
      m = r->bits[r->lvl[l] + (pos >> 6)] & (~(uint64_t)0 << (pos & 63u));
      if (m) break;
    }
    if (l + 1u >= r->depth) return NOT_FOUND;
  }
  pos = (pos & ~(size_t)63u) + (size_t)__builtin_ctzll(m);
  while (l-- > 0) {
    uint64_t w = pos < r->lvln[l + 1u] ? r->bits[r->lvl[l] + pos] : 0;
    r->steps++;
    if (!w) return CORRUPT;
    pos = pos * 64u + (size_t)__builtin_ctzll(w);
  }
  if (pos >= r->nbits) return CORRUPT;
  return pos < end ? pos : NOT_FOUND;
}

/* ---- Reserves (B5): freed chunks of class k kept unmerged, at most rsv of them, LIFO. A
 * chunk is reserved only when its buddy is not free, so it would not merge anyway; alloc and
 * free of a class that goes back and forth then skip the bitmap. A reserved chunk's head slot
 * holds its position, so taking it out of the middle (a merge or an absorb) is O(1). */
static uint32_t *reserve(vcmi_region *r, unsigned k) { /* the head's when cache is NULL */
  return (r->cache ? r->cache : r->cache_in) + (size_t)k * r->rsv;
}
/* Granule h lies in the data: a reserve on the disc may have been overwritten (an underflow
 * below the first chunk), so every entry read is bounded before its slot is. */
static int in_data(const vcmi_region *r, size_t h) {
  return h < ((size_t)r->nblocks << gshift(r, 0));
}

HOT void reserve_push(vcmi_region *r, size_t h, unsigned k) {
  unsigned n = r->ncache[k];
  reserve(r, k)[n] = (uint32_t)(h >> gshift(r, k));
  r->slot[h] = (uint16_t)(FREE_HEAD(k) | (n + 1u));
  r->ncache[k] = (uint8_t)(n + 1u);
  r->cmask |= 1u << k;
}

/* The reserved chunk h of class k, or 0 if its slot's position does not name it (forged). */
static int reserved(vcmi_region *r, size_t h, unsigned k) {
  unsigned c = r->slot[h] & SLOT_POS;
  return c >= 1u && c <= r->ncache[k] && reserve(r, k)[c - 1u] == h >> gshift(r, k);
}
static int reserved_at(vcmi_region *r, size_t h, unsigned k, unsigned c) { /* c: position+1 */
  return in_data(r, h) && r->slot[h] == (FREE_HEAD(k) | c);
}

/* Take reserved chunk h of class k out of its reserve: the last one fills its place. */
static void reserve_remove(vcmi_region *r, size_t h, unsigned k) {
  unsigned c = r->slot[h] & SLOT_POS, n = --r->ncache[k];
  uint32_t *q = reserve(r, k), last = q[n];
  size_t lh = (size_t)last << gshift(r, k);
  q[c - 1u] = last; /* a forged last entry moves unvalidated: its pop reports it */
  if (reserved_at(r, lh, k, n + 1u)) r->slot[lh] = (uint16_t)(FREE_HEAD(k) | c);
  if (!n) r->cmask &= ~(1u << k);
  r->steps++;
}

/* The most recently reserved chunk of class k (there is one), or CORRUPT if its head slot
 * does not say so (a forged map): the entry is dropped either way. */
HOT size_t reserve_pop(vcmi_region *r, unsigned k) {
  unsigned n = r->ncache[k] - 1u;
  size_t h = (size_t)reserve(r, k)[n] << gshift(r, k);
  r->ncache[k] = (uint8_t)n;
  if (!n) r->cmask &= ~(1u << k);
  return VCMI_LIKELY(reserved_at(r, h, k, n + 1u)) ? h : CORRUPT;
}

/* Free chunk h of class k, whose buddy is not free (B2), into k's reserve if it has room, else
 * into the bitmap. Steps: 1 + depth. */
static void park(vcmi_region *r, size_t h, unsigned k) {
  if (r->ncache[k] < r->rsv) {
    reserve_push(r, h, k);
    return;
  }
  r->slot[h] = FREE_HEAD(k);
  mark_chunk(r, k, h >> gshift(r, k), 1);
}

/* Chunk h of class j, just taken, cut down to class k >= j: the left piece is kept, the
 * right halves become free in the bitmap (their buddies hold the kept piece: nothing merges).
 * Steps: (k-j)*(1+depth). */
static size_t cut(vcmi_region *r, size_t h, unsigned j, unsigned k) {
  while (j < k) {
    j++;
    size_t right = h + ((size_t)1 << gshift(r, j));
    park(r, right, j);
    r->steps++;
  }
  return h;
}

/* A free chunk of class k or the nearest bigger class, split down to class k (the right
 * halves stay free); returns its first granule, NOT_FOUND, or CORRUPT. A whole block is cut
 * from class k's own area first (blocks k*n .. k*n+n-1: the seed's layout), so a fresh region
 * fills as the seed's channels. Steps: 4*depth + (k-j)*(1+depth). */
COLD size_t split_take(vcmi_region *r, unsigned k) {
  uint32_t have = r->avail & ((2u << k) - 1u), kept = r->cmask & ((2u << k) - 1u);
  if (kept > have) { /* a reserved chunk is the smallest that fits (or the bitmap has none) */
    unsigned j = log2_floor(kept);
    size_t h = reserve_pop(r, j);
    r->steps++;
    return h == CORRUPT ? h : cut(r, h, j, k);
  }
  if (!have) return NOT_FOUND;
  unsigned j = log2_floor(have); /* the highest index is the smallest capacity */
  size_t base = bit_base(r, j), end = base + ((size_t)r->nblocks << j), i = NOT_FOUND;
  if (j == 0) /* a whole block: from class k's area on, else the first */
    i = find(r, base + (size_t)k * r->n_channels, end);
  if (i == NOT_FOUND) { /* the first by address, from the hint (nothing free below it) */
    i = find(r, base + r->first[j], end);
    if (i < CORRUPT) r->first[j] = (uint32_t)(i - base);
  }
  if (i >= CORRUPT) return CORRUPT; /* nfree said the class had one */
  i -= base;
  size_t h = i << gshift(r, j);
  if (r->slot[h] != FREE_HEAD(j)) return CORRUPT;
  mark_chunk(r, j, i, 0);
  return cut(r, h, j, k);
}

/* Free chunk h of class k (its head IS_FREE) is valid: marked in the bitmap or named by its
 * reserve position. */
static int free_ok(vcmi_region *r, size_t h, unsigned k) {
  return (r->slot[h] & SLOT_POS) ? reserved(r, h, k)
                                 : bit_get(r, bit_base(r, k) + (h >> gshift(r, k)));
}

/* Take the valid free chunk h of class k out of the bitmap or its reserve; 0 if forged. */
static int take_free(vcmi_region *r, size_t h, unsigned k) {
  if (!free_ok(r, h, k)) return 0;
  if (r->slot[h] & SLOT_POS) reserve_remove(r, h, k);
  else mark_chunk(r, k, h >> gshift(r, k), 0);
  return 1;
}

/* Chunk h of class k (live or just taken) becomes free and merges with its free buddies.
 * Steps: (k)*(1+depth) + depth. */
COLD void merge_free(vcmi_region *r, size_t h, unsigned k) {
  for (; k > 0; k--) {
    size_t sz = (size_t)1 << gshift(r, k), b = h ^ sz;
    r->steps++;
    if (!IS_FREE(r->slot[b], k)) break;
    if (!take_free(r, b, k)) { /* a forged head: keep it out of the merge */
      vcmi_misuse(r, r->data + (b << GRANULE_LOG2), VCMI_WHY_CORRUPT);
      break;
    }
    r->slot[h | sz] = 0; /* the right half's head goes */
    h &= ~sz;
  }
  park(r, h, k);
}

/* Grow live chunk h of class k to class t < k in place by absorbing its right buddies, all of
 * which must be free and whole. 0 if they are not (nothing changes). Steps: 2*(k-t)*(1+depth). */
static int absorb(vcmi_region *r, size_t h, unsigned k, unsigned t) {
  if (h & (((size_t)1 << gshift(r, t)) - 1u)) return 0; /* not the left piece up to class t */
  for (unsigned j = k; j > t; j--) {
    size_t b = h + ((size_t)1 << gshift(r, j));
    r->steps++;
    if (!IS_FREE(r->slot[b], j) || !free_ok(r, b, j)) return 0;
  }
  for (unsigned j = k; j > t; j--) {
    size_t b = h + ((size_t)1 << gshift(r, j));
    (void)take_free(r, b, j); /* checked above */
    r->slot[b] = 0;
  }
  r->slot[h] = (uint16_t)((r->slot[h] & ~(31u << 9)) | t << 9);
  r->live[k]--;
  r->live[t]++;
  if (r->live[t] > r->peak[t]) r->peak[t] = r->live[t];
  return 1;
}

/* Shrink live chunk h of class k to class t > k in place: the right halves become free (their
 * buddies are the chunk itself, so nothing merges). Steps: (t-k)*(1+depth). */
static void shrink(vcmi_region *r, size_t h, unsigned k, unsigned t) {
  for (unsigned j = k + 1u; j <= t; j++) {
    size_t b = h + ((size_t)1 << gshift(r, j));
    r->slot[b] = FREE_HEAD(j);
    mark_chunk(r, j, b >> gshift(r, j), 1);
    r->steps++;
  }
  r->slot[h] = (uint16_t)((r->slot[h] & ~(31u << 9)) | t << 9);
  r->live[k]--;
  r->live[t]++;
  if (r->live[t] > r->peak[t]) r->peak[t] = r->live[t];
}

/* The chunk holding granule x: down the buddy tree of x's block, at most nclass slots.
 * CORRUPT if the slots do not form a tree. */
static size_t containing(const vcmi_region *r, size_t x, unsigned *k) {
  size_t a = x >> gshift(r, 0) << gshift(r, 0);
  for (unsigned j = 0; j < r->nclass; j++) {
    uint16_t s = r->slot[a];
    if (!(s & SLOT_H) || SLOT_K(s) < j || SLOT_K(s) >= r->nclass) return CORRUPT;
    if (SLOT_K(s) == j) {
      *k = j;
      return a;
    }
    size_t half = (size_t)1 << gshift(r, j + 1u);
    if (x >= a + half) a += half;
  }
  return CORRUPT;
}

/* The steps bound (docs/DESIGN.md §3): a moving realloc is the longest operation. */
static size_t steps_bound(const vcmi_region *r) {
  size_t d = r->depth, k = r->nclass;
  return k /* absorb fails */ + 5u * d + k * (1u + d) /* take */ + k * (1u + d) + d /* free */;
}

/* ---- Caller regions: the API --------------------------------------------------------------- */

vcm_status vcm_region_init(vcm_region *rr, void *disc, size_t size, const vcm_geometry *g) {
  vcm_plan plan;
  if (!rr || !disc) return VCM_E_NULL;
  if ((uintptr_t)disc % VCMI_ALIGN) return VCM_E_ALIGN;
  vcm_status s = vcm_region_plan(size, g, &plan);
  if (s != VCM_OK) return s;
  unsigned lmin = 0, lmax = 0;
  (void)check_geometry(g, &lmin, &lmax); /* valid: the plan accepted it */
  /* The map first, the data after the channels' map shares: the data keeps the disc's
   * alignment up to max, and an overflow past any chunk never reaches the map. */
  unsigned char *d = (unsigned char *)disc;
  size_t share = (plan.channel_factor - plan.n_classes) << lmax;
  vcmi_region *r = vcmi_region_of(rr);
  setup_head(r, d + plan.n_channels * share, (uint32_t)plan.n_channels, lmin, lmax);
  r->nblocks = (uint32_t)(plan.n_channels * plan.n_classes);
  r->map_bytes = map_size(r->nblocks, r->nclass, lmax, r->lvl, r->lvln, &r->depth);
  r->nbits = r->lvln[0];
  /* The reserves: in the gap the map shares leave before the data if it holds more than the
   * head's VCMI_RESERVE entries, at most 255 a class (ncache is 8-bit). */
  size_t gap = (plan.n_channels * share - r->map_bytes) / sizeof(uint32_t), per = gap / r->nclass;
  r->cache = gap > VCMI_RESERVE ? (uint32_t *)(void *)(d + r->map_bytes) : 0; /* no pointer
                                                     into the head: a vcm_region may be copied */
  if (gap <= VCMI_RESERVE) per = VCMI_RESERVE / r->nclass;
  r->rsv = (uint8_t)(per < 255u ? per : 255u);
  for (unsigned k = 0; k < VCM_MAX_CLASSES; k++) r->first[k] = UINT32_MAX; /* none free yet */
  r->slot = (uint16_t *)(void *)d;
  r->bits = (uint64_t *)(void *)(d + r->map_bytes) - (r->lvl[r->depth - 1u] + 1u);
  VG_INIT(d, size, r->data, plan.data_bytes); /* before the map is written */
  __builtin_memset(d, 0, r->map_bytes);
  /* Every block starts as one free chunk of the largest class. O(map bytes). */
  for (size_t b = 0; b < r->nblocks; b++) {
    r->slot[b << gshift(r, 0)] = FREE_HEAD(0);
    mark_chunk(r, 0, b, 1);
  }
  r->steps = 0;
  return VCM_OK;
}

HOT void end_op(vcmi_region *r) { /* the reserve's fast paths count no steps */
  if (VCMI_UNLIKELY(r->steps)) {
    if (r->steps > r->max_steps) r->max_steps = r->steps;
    r->steps = 0;
  }
}

/* A chunk of class k or bigger recording used = n, with the byte counters; NULL if none. */
COLD void *take_failed(vcmi_region *r, size_t h) {
  if (h == CORRUPT) vcmi_misuse(r, r->data, VCMI_WHY_CORRUPT);
  r->failed++;
  return 0;
}

HOT void *take(vcmi_region *r, unsigned k, size_t n) {
  size_t h = VCMI_LIKELY(r->ncache[k]) ? reserve_pop(r, k) : split_take(r, k);
  if (VCMI_UNLIKELY(h >= CORRUPT)) return take_failed(r, h);
  r->slot[h] = (uint16_t)(SLOT_H | SLOT_L | k << 9);
  set_used(r, h, cap_of(r, k), n);
  if (++r->live[k] > r->peak[k]) r->peak[k] = r->live[k];
  unsigned char *p = r->data + (h << GRANULE_LOG2);
  VG_ALLOC(r, p, n);
  r->live_cap += cap_of(r, k);
  if (r->live_cap > r->peak_cap) r->peak_cap = r->live_cap;
  return p;
}

/* A located live chunk. */
typedef struct {
  size_t h;   /* first granule */
  unsigned k; /* class */
  size_t used;
} chunk;

HOT void drop(vcmi_region *r, const chunk *c) {
  VG_FREE(r, r->data + (c->h << GRANULE_LOG2));
  r->live_cap -= cap_of(r, c->k);
  r->live[c->k]--;
  /* Reserved only if it would not merge: its buddy is not free (B5). */
  if (r->ncache[c->k] < r->rsv &&
      (c->k == 0 || !IS_FREE(r->slot[c->h ^ ((size_t)1 << gshift(r, c->k))], c->k)))
    reserve_push(r, c->h, c->k);
  else
    merge_free(r, c->h, c->k);
}

void *vcm_region_alloc(vcm_region *rr, size_t n) {
  vcmi_region *r = vcmi_region_of(rr);
  if (n > ((size_t)1 << r->lmax)) {
    r->failed++;
    return 0;
  }
  void *p = take(r, vcmi_class_of(r, n), n);
  end_op(r);
  return p;
}

void *vcm_region_calloc(vcm_region *rr, size_t count, size_t size) {
  if (size && count > (size_t)-1 / size) {
    vcmi_region_of(rr)->failed++;
    return 0;
  }
  void *p = vcm_region_alloc(rr, count * size);
  if (p) __builtin_memset(p, 0, count * size);
  return p;
}

void *vcm_region_aligned_alloc(vcm_region *rr, size_t align, size_t n) {
  vcmi_region *r = vcmi_region_of(rr);
  uintptr_t base = (uintptr_t)r->data;
  size_t natural = (size_t)(base & (~base + 1u)); /* lowest set bit of the data address */
  size_t want = n < align ? align : n;
  if (!is_pow2(align) || want > ((size_t)1 << r->lmax) || (natural && align > natural)) {
    r->failed++;
    return 0;
  }
  /* A chunk of capacity c is aligned to min(c, natural), so capacity >= align suffices;
   * used stays n, not the padded request. */
  void *p = take(r, vcmi_class_of(r, want), n);
  end_op(r);
  return p;
}

/* Locate the live chunk starting at p, or report why p is not one: outside the data:
 * foreign; inside a live chunk but not its start, or not 16-byte aligned: interior; at or in
 * a free chunk (freed, maybe merged since): double free when freeing, else use after free;
 * slots that contradict the tree: corrupted map. */
COLD void not_live(vcmi_region *r, const void *p, int freeing) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)r->data;
  vcmi_why why = freeing ? VCMI_WHY_DOUBLE_FREE : VCMI_WHY_USE_AFTER_FREE;
  if ((uintptr_t)p < (uintptr_t)r->data || off >= ((size_t)r->nblocks << r->lmax)) {
    vcmi_misuse(r, p, VCMI_WHY_FOREIGN_REGION);
    return;
  }
  size_t x = off >> GRANULE_LOG2;
  uint16_t s = r->slot[x];
  if (!(off & 15u) && (s & SLOT_H)) {
    unsigned k = SLOT_K(s);
    if (k >= r->nclass || (x & (((size_t)1 << gshift(r, k)) - 1u))) why = VCMI_WHY_CORRUPT;
  } else {
    unsigned k = 0;
    size_t h = containing(r, x, &k);
    if (h == CORRUPT) why = VCMI_WHY_CORRUPT;
    else if ((r->slot[h] & SLOT_L) || (off & 15u)) why = VCMI_WHY_INTERIOR;
  }
  vcmi_misuse(r, p, why);
}

HOT int live_chunk(vcmi_region *r, const void *p, chunk *c, int freeing) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)r->data;
  if (VCMI_LIKELY(!(off & 15u) && off < ((size_t)r->nblocks << r->lmax))) { /* p < data wraps */
    size_t x = off >> GRANULE_LOG2;
    uint16_t s = r->slot[x];
    unsigned k = SLOT_K(s);
    if (VCMI_LIKELY((s & (SLOT_H | SLOT_L)) == (SLOT_H | SLOT_L) && k < r->nclass &&
                    !(x & (((size_t)1 << gshift(r, k)) - 1u)))) {
      c->h = x;
      c->k = k;
      c->used = used_of(r, x, cap_of(r, k));
      return 1;
    }
  }
  not_live(r, p, freeing);
  return 0;
}

void vcm_region_free(vcm_region *rr, void *p) {
  vcmi_region *r = vcmi_region_of(rr);
  chunk c;
  if (!p || !live_chunk(r, p, &c, 1)) return;
  drop(r, &c);
  end_op(r);
}

static void resize(vcmi_region *r, chunk *c, size_t n) {
  VG_RESIZE(r, r->data + (c->h << GRANULE_LOG2), c->used, n);
  set_used(r, c->h, cap_of(r, c->k), n);
  c->used = n;
}

/* Grow c in place to class t by absorbing free buddies, with the byte counters. */
static int grow(vcmi_region *r, chunk *c, unsigned t) {
  if (!absorb(r, c->h, c->k, t)) return 0;
  r->live_cap += cap_of(r, t) - cap_of(r, c->k);
  if (r->live_cap > r->peak_cap) r->peak_cap = r->live_cap;
  c->k = t;
  return 1;
}

int vcm_region_expand(vcm_region *rr, void *p, size_t n) {
  vcmi_region *r = vcmi_region_of(rr);
  chunk c;
  int rc = 0;
  if (!p || !live_chunk(r, p, &c, 0)) return -1;
  if (n > cap_of(r, c.k) && (n > ((size_t)1 << r->lmax) || !grow(r, &c, vcmi_class_of(r, n))))
    rc = -1;
  else
    resize(r, &c, n);
  end_op(r);
  return rc;
}

void *vcm_region_realloc(vcm_region *rr, void *p, size_t n) {
  vcmi_region *r = vcmi_region_of(rr);
  chunk c;
  void *q = p;
  if (!p) return vcm_region_alloc(rr, n);
  if (!live_chunk(r, p, &c, 0)) return 0;
  size_t cap = cap_of(r, c.k);
  if (n > ((size_t)1 << r->lmax)) {
    r->failed++;
    return 0;
  }
  unsigned t = vcmi_class_of(r, n);
  if (n <= cap) {
    /* Shrinking to a quarter or less gives the right halves back in place; the hysteresis
     * keeps a vector that shrinks a little and regrows in place. */
    if (n <= cap / 4 && t != c.k) {
      shrink(r, c.h, c.k, t);
      r->live_cap -= cap - cap_of(r, t);
      c.k = t;
    }
    resize(r, &c, n);
    r->realloc_inplace++;
  } else if (grow(r, &c, t)) { /* the free buddies first: no copy */
    resize(r, &c, n);
    r->realloc_inplace++;
  } else if ((q = take(r, t, n)) != 0) { /* move: copy only the used bytes */
    __builtin_memcpy(q, p, c.used);
    r->realloc_moved++;
    r->bytes_copied += c.used;
    drop(r, &c);
  }
  end_op(r);
  return q;
}

size_t vcm_region_used(vcm_region *rr, const void *p) {
  chunk c;
  return live_chunk(vcmi_region_of(rr), p, &c, 0) ? c.used : 0;
}

size_t vcm_region_capacity(vcm_region *rr, const void *p) {
  vcmi_region *r = vcmi_region_of(rr);
  chunk c;
  return live_chunk(r, p, &c, 0) ? cap_of(r, c.k) : 0;
}

/* Block b (a max-sized piece of data; (1 + xscale) * max in a scaled segment) belongs to
 * channel b mod n_channels in both layouts: class area k is blocks k*n … k*n+n-1, channel c's
 * slice of it block k*n + c. */
long vcm_region_channel_of(vcm_region *rr, const void *p) {
  vcmi_region *r = vcmi_region_of(rr);
  uintptr_t off = (uintptr_t)p - (uintptr_t)r->data;
  if ((uintptr_t)p < (uintptr_t)r->data || off >= r->stride * r->nclass) return -1;
  return (long)((off / vcmi_class_cap(r, 0)) % r->n_channels); /* block size: max, scaled */
}

/* ---- Statistics, checker and visitor (both layouts) ----------------------------------------- */

/* Caller region: the chunks in address order (B1 makes the heads a chain). */
static void walk(vcmi_region *r, void (*fn)(void *ctx, vcmi_region *r, size_t h, unsigned k),
                 void *ctx) {
  size_t end = (size_t)r->nblocks << gshift(r, 0);
  for (size_t h = 0; h < end;) {
    unsigned k = SLOT_K(r->slot[h]);
    size_t n = (size_t)1 << (r->lmax - GRANULE_LOG2 - (k < r->nclass ? k : 0));
    if (!(r->slot[h] & SLOT_H) || k >= r->nclass || (h & (n - 1u)) || h + n > end)
      return; /* corrupt: the checker says so */
    fn(ctx, r, h, k);
    h += n;
  }
}

static void stats_chunk(void *ctx, vcmi_region *r, size_t h, unsigned k) {
  vcm_region_stats *out = ctx;
  unsigned i = r->nclass - 1u - k;
  out->class_total[i]++;
  if (r->slot[h] & SLOT_L) out->class_used[i] += used_of(r, h, cap_of(r, k));
}

/* A live entry's capacity over its class's, as a shift: a segment's MERGED pair 1, QUAD 2
 * (pair.h); 0 for any other. */
static unsigned live_scale(uint32_t s) {
  return (s & VCMI_MERGED ? 1u : 0u) + (s & VCMI_MERGED && s & VCMI_QUAD ? 1u : 0u);
}

void vcm_region_stats_get(vcm_region *rr, vcm_region_stats *out) {
  vcmi_region *r = vcmi_region_of(rr);
  size_t live = 0;
  for (unsigned i = 0; i < VCM_MAX_CLASSES; i++)
    out->class_size[i] = out->class_live[i] = out->class_used[i] = out->class_peak[i] =
        out->class_total[i] = 0;
  out->live_capacity = out->peak_capacity = 0;
  /* Public class index i counts up from size_min; internal k counts down from size_max. The
   * used bytes come from the map (relaxed loads: in the process heap, a snapshot). */
  for (unsigned k = 0; k < r->nclass; k++) {
    unsigned i = r->nclass - 1u - k;
    out->class_size[i] = vcmi_class_cap(r, k);
    /* a segment's held pair halves (pair.h) are no chunks, but hold their capacity. A segment
     * of another running thread changes as it is read (vcm_stats_get): each counter is read
     * once, whole, and held, read apart from live, is clamped to it (no wrapped count) */
    uint32_t n = __atomic_load_n(&r->live[k], __ATOMIC_RELAXED);
    uint32_t held = r->slot ? 0u : __atomic_load_n(&r->held[k], __ATOMIC_RELAXED);
    uint32_t chunks = n - (held < n ? held : n);
    out->class_live[i] = chunks;
    out->live_capacity += (size_t)n * vcmi_class_cap(r, k);
    live += chunks;
    if (r->slot) {
      out->class_peak[i] = r->peak[k];
      continue;
    }
    uint32_t fresh = __atomic_load_n(&r->fresh[k], __ATOMIC_RELAXED);
    out->class_peak[i] = fresh;
    out->class_total[i] = (size_t)r->n_channels << k;
    out->peak_capacity += (size_t)fresh * vcmi_class_cap(r, k);
    for (uint32_t g = 0; g < fresh; g++) {
      uint32_t st = __atomic_load_n(&vcmi_entry_at(r, k, g)->state, __ATOMIC_RELAXED);
      if (!(st & VCMI_LIVE)) { /* a remote free the owner has not collected (REMOTE, not HELD)
                                * is freed, though live[k] counts it until collected */
        if ((st & VCMI_HELD) == VCMI_REMOTE && out->class_live[i]) out->class_live[i]--, live--;
        continue;
      }
      /* a MERGED chunk is one of the class above, a QUAD of the one above that (k >= 2: pairs
       * are small), its held halves none */
      unsigned up = st & VCMI_MERGED && k && out->class_live[i] ? 1u + !!(st & VCMI_QUAD) : 0u;
      out->class_used[i + up] += st & VCMI_USED_MASK;
      out->class_live[i] -= !!up;
      out->class_live[i + up] += !!up;
    }
  }
  out->data_bytes = r->stride * r->nclass;
  if (r->slot) {
    walk(r, stats_chunk, out);
    out->map_bytes = r->map_bytes;
    out->peak_capacity = r->peak_cap; /* caller region: the exact peak */
  } else {
    out->map_bytes = (size_t)r->n_channels * (((size_t)1 << r->nclass) - 1u) * sizeof(vcmi_entry);
  }
  out->region_bytes = out->data_bytes + out->map_bytes;
  out->n_channels = r->n_channels;
  out->n_classes = r->nclass;
  out->live_chunks = live;
  out->live_used = 0;
  for (unsigned i = 0; i < r->nclass; i++) out->live_used += out->class_used[i];
  out->failed = r->failed;
  out->realloc_inplace = r->realloc_inplace;
  out->realloc_moved = r->realloc_moved;
  out->bytes_copied = r->bytes_copied;
  out->max_steps = r->max_steps;
  out->steps_bound = r->slot ? steps_bound(r) : 0;
}

#define FAIL(msg)                                                                            \
  do {                                                                                       \
    if (why) *why = msg;                                                                     \
    bad = 1;                                                                                 \
  } while (0)

/* The checker's tally of a caller region's chunks. */
typedef struct {
  const char *bad;
  size_t end, chunks, cap, nfree, live[VCM_MAX_CLASSES], free[VCM_MAX_CLASSES],
      kept[VCM_MAX_CLASSES];
} tally;

static void check_chunk(void *ctx, vcmi_region *r, size_t h, unsigned k) {
  tally *t = ctx;
  uint16_t s = r->slot[h];
  size_t n = (size_t)1 << gshift(r, k), cap = cap_of(r, k);
  int marked = bit_get(r, bit_base(r, k) + (h >> gshift(r, k)));
  if (t->bad) return;
  t->end = h + n;
  t->chunks++;
  if (h & (n - 1u)) t->bad = "chunk not aligned to its capacity";
  if (s & SLOT_L) {
    size_t u = s & 0x1FFu; /* unclamped */
    if (cap >= 512u) u |= (size_t)(r->slot[h + 1u] & 0x7FFFu) << 9;
    if (cap >= ((size_t)1 << 24)) u |= (size_t)(r->slot[h + 2u] & 0x7FFFu) << 24;
    if (u > cap) t->bad = "used exceeds capacity";
    if (marked) t->bad = "live chunk marked free";
    t->live[k]++;
    t->cap += cap;
    return;
  }
  if (!IS_FREE(s, k)) t->bad = "free head slot has stray bits";
  if (k > 0 && IS_FREE(r->slot[h ^ n], k)) t->bad = "free buddies not merged";
  if (s & SLOT_POS) { /* B5: each reserved chunk named by its position, not in the bitmap */
    if (!reserved(r, h, k)) t->bad = "reserved chunk not at its reserve position";
    if (marked) t->bad = "reserved chunk marked free";
    t->kept[k]++;
    return;
  }
  if (!marked) t->bad = "free chunk not in the bitmap";
  if ((h >> gshift(r, k)) < r->first[k]) t->bad = "free chunk below its class's search hint";
  t->free[k]++;
  t->nfree++;
}

static size_t ones(const uint64_t *w, size_t n) { /* SWAR: no libgcc popcount call */
  size_t c = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t v = w[i] - ((w[i] >> 1) & 0x5555555555555555ull);
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    c += (size_t)((((v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Full) * 0x0101010101010101ull) >> 56);
  }
  return c;
}

/* B1..B4 in O(map words + chunks): heads counted over all slots equal the chunks walked, and
 * level 0's ones equal the free chunks (each found set), so no stray head or bit exists. */
static const char *check_split(vcmi_region *r) {
  tally t = {0, 0, 0, 0, 0, {0}, {0}, {0}};
  size_t ngran = (size_t)r->nblocks << gshift(r, 0), heads = 0;
  walk(r, check_chunk, &t);
  if (t.bad) return t.bad;
  if (t.end != ngran) return "chunks do not tile the data";
  for (size_t x = 0; x < ngran;) { /* 16-bit lanes summed in blocks that cannot overflow */
    uint64_t lanes = 0;
    size_t stop = ngran - x > 4u * 16384u ? x + 4u * 16384u : ngran;
    for (; x + 4u <= stop; x += 4u) {
      uint64_t w;
      __builtin_memcpy(&w, r->slot + x, sizeof w);
      lanes += (w >> 15) & 0x0001000100010001ull;
    }
    for (; x < stop; x++) heads += r->slot[x] >> 15;
    heads += (size_t)((lanes & 0xFFFF) + ((lanes >> 16) & 0xFFFF) + ((lanes >> 32) & 0xFFFF) +
                      (lanes >> 48));
  }
  if (heads != t.chunks) return "head slot inside a chunk";
  if (ones(r->bits, (r->lvln[0] + 63u) >> 6) != t.nfree) return "bitmap marks a chunk that is not free";
  for (unsigned k = 0; k < r->nclass; k++) {
    if (t.free[k] != r->nfree[k]) return "free count differs from the bitmap";
    if (!!(r->avail & (1u << k)) != !!t.free[k]) return "class availability differs from the bitmap";
    if (t.live[k] != r->live[k]) return "live count differs from the map";
    if (t.kept[k] != r->ncache[k] || r->ncache[k] > r->rsv) return "reserve count differs from the map";
    if (!!(r->cmask & (1u << k)) != !!r->ncache[k]) return "reserve mask differs from the counts";
  }
  if (r->cmask >> r->nclass) return "reserve mask names a class the region lacks";
  for (unsigned l = 1; l < r->depth; l++) { /* B3: bit i of level l iff word i below is not 0 */
    const uint64_t *up = r->bits + r->lvl[l], *down = r->bits + r->lvl[l - 1u];
    size_t nonzero = 0;
    for (size_t i = 0; i < r->lvln[l]; i++) {
      if (!!down[i] != (int)((up[i >> 6] >> (i & 63u)) & 1u)) return "summary differs from the level below";
      nonzero += !!down[i];
    }
    if (ones(up, (r->lvln[l] + 63u) >> 6) != nonzero) return "bit past a level's end";
  }
  if (t.cap != r->live_cap) return "byte counters differ from the map";
  if (r->peak_cap < r->live_cap) return "peak below current";
  return 0;
}

int vcm_region_check(vcm_region *rr, const char **why) {
  vcmi_region *r = vcmi_region_of(rr);
  int bad = 0;
  size_t used = 0, cap = 0;
  if (r->magic != VCMI_MAGIC) {
    if (why) *why = "not a region (bad magic)";
    return -1;
  }
  if (r->slot) {
    const char *b = check_split(r);
    if (b && why) *why = b;
    return b ? -1 : 0;
  }
  for (unsigned k = 0; k < r->nclass && !bad; k++) {
    uint32_t limit = r->n_channels << k, nfree = 0, nlive = 0, nheld = 0;
    if (r->fresh[k] > limit) FAIL("fresh frontier beyond the class");
    /* I2: walk the free list marking each entry; a mark seen twice is a cycle or a repeat. */
    for (uint32_t g = r->free_head[k]; g != VCMI_NONE && !bad; g = vcmi_link(vcmi_entry_at(r, k, g)->state)) {
      vcmi_entry *e;
      if (g >= r->fresh[k]) {
        FAIL("free list names a chunk never handed out");
        break;
      }
      e = vcmi_entry_at(r, k, g);
      if (e->state & (VCMI_MARK | VCMI_LIVE | VCMI_REMOTE)) {
        FAIL(e->state & VCMI_MARK ? "free list has a cycle or a repeat"
                                  : "free list holds a live chunk");
        break;
      }
      vcmi_entry_set(e, e->state | VCMI_MARK);
      nfree++;
    }
    /* I1, I3: every handed-out chunk is live, marked free, or remote; clear the marks. In a
     * segment, another thread may turn a LIVE entry REMOTE and relink REMOTE ones (heap.c's
     * remote frees) meanwhile: each entry is read once, atomically, and only the marks this
     * walk set on free entries, which only their owner changes, are written back. */
    for (uint32_t g = 0; g < r->fresh[k]; g++) {
      vcmi_entry *e = vcmi_entry_at(r, k, g);
      uint32_t s = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
      /* a LIVE entry with the mark is a segment's MERGED pair, of twice the capacity (four
       * times: QUAD); a HELD one (REMOTE) a half inside one or parked (pair.h) */
      int kinds = !!(s & VCMI_LIVE) + !!(s & VCMI_MARK && !(s & VCMI_LIVE)) + !!(s & VCMI_REMOTE);
      if (kinds != 1 && !bad) FAIL("chunk is lost or in two states");
      if ((s & VCMI_LIVE) && (s & VCMI_USED_MASK) > vcmi_class_cap(r, k) << live_scale(s) &&
          !bad)
        FAIL("used exceeds capacity");
      nheld += (s & VCMI_HELD) == VCMI_HELD;
      if (s & (VCMI_LIVE | VCMI_REMOTE)) { /* remote chunks count until collected */
        nlive++;
        used += s & VCMI_LIVE ? s & VCMI_USED_MASK : 0;
        cap += vcmi_class_cap(r, k);
      }
      if ((s & (VCMI_LIVE | VCMI_MARK)) == VCMI_MARK) vcmi_entry_set(e, s & ~VCMI_MARK);
    }
    if (!bad && nlive != r->live[k]) FAIL("live count differs from the map");
    if (!bad && nheld != r->held[k]) FAIL("held pair halves differ from their count");
  }
  (void)used; /* segments keep no byte counters (DESIGN §6) */
  (void)cap;
  return bad ? -1 : 0;
}

/* Segments: class by class from the smallest, in address order; caller regions: address
 * order. */
typedef struct {
  vcm_visit_fn fn;
  void *ctx;
} visitor;

static void visit_chunk(void *ctx, vcmi_region *r, size_t h, unsigned k) {
  visitor *v = ctx;
  uint16_t s = r->slot[h];
  v->fn(v->ctx, r->data + (h << GRANULE_LOG2), cap_of(r, k),
                       (s & SLOT_L) ? used_of(r, h, cap_of(r, k)) : 0, !!(s & SLOT_L));
}

void vcm_region_visit(vcm_region *rr, vcm_visit_fn fn, void *ctx) {
  vcmi_region *r = vcmi_region_of(rr);
  if (r->slot) {
    visitor v = {fn, ctx};
    walk(r, visit_chunk, &v);
    return;
  }
  /* A live MERGED chunk (QUAD) spans its class-numbers g .. g + 1 (g + 3; pair.h): their held
   * halves lie inside it and are no chunks of their own, so the walk steps past them. A held half
   * no live chunk spans (PARKED beside its live buddy, or its owner freed) is reported free: no
   * live chunk uses its bytes. */
  for (unsigned k = r->nclass; k-- > 0;)
    for (uint32_t g = 0, fresh = __atomic_load_n(&r->fresh[k], __ATOMIC_RELAXED); g < fresh;) {
      uint32_t s = __atomic_load_n(&vcmi_entry_at(r, k, g)->state, __ATOMIC_RELAXED);
      unsigned up = s & VCMI_LIVE ? live_scale(s) : 0u;
      fn(ctx, vcmi_chunk_addr(r, k, g), vcmi_class_cap(r, k) << up,
         s & VCMI_LIVE ? s & VCMI_USED_MASK : 0, !!(s & VCMI_LIVE));
      g += 1u << up;
    }
}
