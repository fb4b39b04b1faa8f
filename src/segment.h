/* A segment of the process heap: its header and layout, shared by heap.c (which makes and
 * unmaps segments) and purge.c (which gives their free pages back). Not installed. */
#ifndef VCMI_SEGMENT_H
#define VCMI_SEGMENT_H
#include <stdint.h>

#include "region.h"
#include "sizes.h"

/* The largest class whose chunks pair (pair.h): 2 KiB. */
#define VCMI_PAIR_K_MIN (VCMI_LMAX - 11u)

/* A segment: one OS reservation holding a region of VCMI_SEG_CHANNELS channels.
 *   [ this header | map | … | guard page | data (2 MiB aligned; a scaled segment's a colour of
 *     whole pages further, heap.c's SEG_DATA_COLOR) ]
 * The header and map never share a page with chunks; the guard page stops a linear overflow
 * from the data side reaching them. The reservation is made closed; header and map are opened
 * whole, the data by parts as classes carve (open[]). */
typedef struct vcmi_segment {
  vcm_region region; /* first: the pagemap points here, and magic tells segment from large */
  struct vcmi_segment *next;
  size_t size;       /* bytes reserved, header included */
  uint32_t aging;    /* classes whose free chunks were first seen at the last purge */
  uint32_t idle;     /* purges in a row that found it empty, a spare (heap.c, heap_purge) */
  uint32_t slot;     /* the batch a freeing thread keeps for it: its byte offset in heap.c's
                      * out[] */
  uint32_t shrink;   /* vcmi_shrink_floor's shift: 2 (powers of two), 1 (scaled classes) */
  /* Class k's chunks from its frontier (fresh) up to dirty_g[k] may hold bytes: a purge moved
   * free pages of another class there (purge.c, "donations"); all others at or above the
   * frontier read zero (of a colour class, heap.h, the first page past a cut may not: purge.c).
   * dirty_g[k] = 0: none. */
  uint32_t dirty_g[VCMI_NCLASS];
  /* Bytes of fresh chunks class k carved since the last purge (purge.c: the room a donation to
   * it may fill), at most UINT32_MAX; 0 for the classes no donation goes to. */
  uint32_t gained[VCMI_NCLASS];
  /* Constants of its xscale x, kept here so that free reads them in one load each: */
  uint64_t inv;                  /* the inverse of 1 + x mod 2^64 (vcmi_seg_find) */
  size_t cap[VCMI_NCLASS];          /* class k's capacity, (1 + x) << (VCMI_LMAX - k) */
  size_t floor[VCMI_NCLASS]; /* vcmi_shrink_floor of cap[k]: realloc's in-place test (alloc.c) */
  unsigned char *area[VCMI_NCLASS]; /* class k's first chunk */
  uint32_t carved;           /* bit k: class k has had fresh chunks (what a purge looks at) */
  /* Bytes of class k's area open (readable, writable) from area[k]; the rest of the data is
   * closed (heap.c, seg_open): an mlockall makes open pages resident, so only what a class
   * carved and a little ahead is open (docs/DESIGN.md §6). */
  uint32_t open[VCMI_NCLASS];
  uint32_t fine_k, fine_end; /* a fine segment: its one class, and the chunks it holds (0:
                              * a wide segment, whose every class holds n_channels << k) */
  int32_t group_shift; /* a compact segment (space.c, compact_at): its class's groups lie this
                        * far from where the layout puts them (purge.c); 0 in any other */
} vcmi_segment;
static inline vcmi_region *vcmi_seg_region(vcmi_segment *s) { return vcmi_region_of(&s->region); }
/* The chunks class k has in s (0: none, a fine segment of another class). */
static inline uint32_t vcmi_seg_class_end(vcmi_segment *s, unsigned k) {
  return !s->fine_end ? vcmi_seg_region(s)->n_channels << k : k == s->fine_k ? s->fine_end : 0u;
}
/* Open class k of s to at least need bytes into its area (need within the class's chunks) and
 * the entries of its chunks there: 0, or -1 if the OS refuses even need (heap.c). Owner only. */
int vcmi_seg_open(vcmi_segment *s, unsigned k, size_t need);

/* The xscale of the colour classes (heap.h): fine segments of 2^l * 129/128-byte chunks. */
#define VCMI_XSCALE_COLOUR 128u

/* A segment's layout (docs/DESIGN.md §6): the header page, then the map, then the purge's span
 * groups (purge.h), a guard page, and the data from VCMI_GRANULE on. */
/* Class k owns the entries from map + n_channels * (2^k - 1) + k pads (vcmi_seg_map_own) to
 * class k + 1's; its own start a colour further in (seg_create, vcmi_seg_colour). Without
 * colours every class of a page of entries and more started at page offset 0, all in the same
 * few sets of the L1 cache (its index is the page offset), and each free reads its chunk's
 * entry (callgrind, s3 at 0.3: 73 % of the allocator's L1 misses were such conflicts). A pad
 * is a 4 KiB page of entries, so no other class's entries share such a class's pages (with
 * 4 KiB pages): a class cut to nothing drops its first page too.
 * A colour is VCMI_SEG_COLOUR_STEP cache lines a class, the smallest chunks' (k = 14) first,
 * plus a hue of the segment under the step: the classes of a segment start on distinct lines,
 * and the classes whose entries fill a page soonest (a data page of 16-byte chunks has 256)
 * start nearest its beginning, so that a colour seldom pushes a class's entries onto a second
 * page (class k keeps one map page up to (4,096 - its colour) / 4 chunks: 960 of 16 B, 720 of
 * 128 B; with colours of 0 to 39 lines by a hash, a class of 700 chunks spilled one time in
 * two: s6, 4 pages a heap). */
#define VCMI_SEG_COLOUR_STEP 5u
/* The classes whose whole entries fit the map's first page together, with neither pad nor
 * colour (k <= 4: chunks of 16 KiB x (1 + x) and over, at most 512 entries; k <= 7 with 4
 * channels): a wide segment lays theirs out as the core does (region.c), class k's
 * 128 * 2^k bytes into that page (segment.h's skew), so that the classes of a segment's
 * large chunks keep one map page between them, not one each (r2: sqlite's 16 to 256 KiB
 * buffers, 5 such pages in its main segment). Their pages are never dropped: no page of that
 * one is a class's alone (purge.c). Few chunks a class: no colour is worth a page. */
#define VCMI_SEG_MAP_SHARED(k) ((VCMI_SEG_MAP_SKEW << ((k) + 1u)) <= 4096u)
/* Class k's colour in bytes (hue < VCMI_SEG_COLOUR_STEP): under 64 lines, within its pad. */
static inline size_t vcmi_seg_colour(unsigned k, unsigned hue) {
  return ((VCMI_NCLASS - 1u - k) * VCMI_SEG_COLOUR_STEP + hue) % 64u * 64u;
}
#define VCMI_SEG_MAP_PAD ((size_t)4096u / sizeof(vcmi_entry)) /* entries */
_Static_assert(64u * 64u <= VCMI_SEG_MAP_PAD * sizeof(vcmi_entry), "a colour stays in its pad");
#define VCMI_SEG_MAP_BYTES                                                                   \
  ((size_t)VCMI_SEG_CHANNELS * (((size_t)1 << VCMI_NCLASS) - 1u) * sizeof(vcmi_entry) +      \
   (size_t)VCMI_NCLASS * VCMI_SEG_MAP_PAD * sizeof(vcmi_entry))
#define VCMI_SEG_PAGE_MAX ((size_t)64 << 10) /* the largest OS page the layout leaves room for */
/* The map starts this far into the page after the header, so that class k's entries (at
 * 128 (2^k - 1) bytes into the map) start at 128 * 2^k: on a page boundary for every class
 * with a page of entries or more. A class's first batch then touches one map page, not the
 * tail of its neighbour's page too (a segment using one class: 3 resident pages, not 4). */
#define VCMI_SEG_MAP_SKEW ((size_t)VCMI_SEG_CHANNELS * sizeof(vcmi_entry))

/* The host: the class of 16 x (1 + x)-byte chunks, whose entries start in a wide segment's
 * header page, at VCMI_SEG_HOST_OFF (after the span heads, purge.c) plus a gap of
 * VCMI_SEG_HOST_GAP bytes (its span records past the head's, as a colour's), and run on from
 * there into pages of their own: the map proper starts VCMI_SEG_HOST_SPAN (the host's whole
 * run) after the header page, so its extent is a page less than before (the host's pad).
 * A host of up to (4,096 - VCMI_SEG_HOST_OFF - VCMI_SEG_HOST_GAP) / 4 = 96 chunks keeps no map
 * page (s3 and s8: their 48, 80 and 112-byte classes, 36-85 chunks a thread, in segments of
 * scale 3, 5 and 7); a bigger one pays the pages it did, its first entries in the header
 * page. The gap's 16 records take a host to 28 spans without a page of groups (s6's 112-byte
 * class: 620-770 chunks, 17-21 spans). The heads before it (1,616 bytes of header, fifteen
 * heads) hold 12 records each, not 16: a class's next ones lie in its colour (purge.c). */
#define VCMI_SEG_HOST_K (VCMI_NCLASS - 1u)
#define VCMI_SEG_HOST_OFF ((size_t)3584u)
#define VCMI_SEG_HOST_GAP ((size_t)128u)
#define VCMI_SEG_HOST_SPAN (((size_t)VCMI_SEG_CHANNELS << VCMI_SEG_HOST_K) * sizeof(vcmi_entry))
_Static_assert(VCMI_SEG_HOST_OFF + VCMI_SEG_HOST_GAP < 4096u && VCMI_SEG_HOST_GAP % 8u == 0,
               "the host's first entries and its gap in the header page");
_Static_assert(VCMI_SEG_HOST_SPAN + VCMI_SEG_MAP_SKEW +
                       ((size_t)VCMI_SEG_CHANNELS << VCMI_SEG_HOST_K) * sizeof(vcmi_entry) -
                       VCMI_SEG_MAP_SKEW +
                       (size_t)VCMI_SEG_HOST_K * VCMI_SEG_MAP_PAD * sizeof(vcmi_entry) <=
                   VCMI_SEG_MAP_SKEW + VCMI_SEG_MAP_BYTES,
               "the host's run and the map proper within the map's bytes");

/* The first entry class k owns (k = VCMI_NCLASS: the map's end): the host's in the header
 * page (r is the segment's first byte), the others' in the map proper, where the host's run
 * would have been last. */
static inline vcmi_entry *vcmi_seg_map_own(const vcmi_region *r, unsigned k) {
  if (k == VCMI_SEG_HOST_K) return (vcmi_entry *)(void *)((unsigned char *)r + VCMI_SEG_HOST_OFF);
  if (k == VCMI_NCLASS) k = VCMI_SEG_HOST_K;
  return r->map + ((size_t)VCMI_SEG_CHANNELS << k) - VCMI_SEG_CHANNELS + k * VCMI_SEG_MAP_PAD;
}
/* The end of the entries class k owns: the host's, the map proper's first page; another's, the
 * next class's own start, or the map's end. */
static inline vcmi_entry *vcmi_seg_map_end(const vcmi_region *r, unsigned k) {
  if (k == VCMI_SEG_HOST_K) return r->map - VCMI_SEG_CHANNELS;
  return vcmi_seg_map_own(r, k + 1u == VCMI_SEG_HOST_K ? VCMI_NCLASS : k + 1u);
}

/* Where the data starts: past the header, the map, the groups and a guard page, 2 MiB aligned
 * (a scaled segment's data starts its colour, whole pages, past it: heap.c, seg_create). */
#define VCMI_SEG_DATA_OFF                                                                    \
  ((2u * VCMI_SEG_PAGE_MAX + VCMI_SEG_MAP_SKEW + VCMI_SEG_MAP_BYTES + VCMI_GRANULE - 1u) &     \
   ~(VCMI_GRANULE - 1u))

#endif
