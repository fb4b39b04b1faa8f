/* Purging: giving a segment's free pages back to the OS, span by span, or moving them onto
 * classes that carve (donations) (docs/DESIGN.md §6).
 * Owner only (the heap's thread): it reads and relinks the class free lists. No lock. */
#define _GNU_SOURCE
#include "purge.h"

#include "os.h"

/* The ranges one heap purge drops, given to the OS together (one call where it has one:
 * scattered free chunks make thousands of ranges, and a call each cost g8 +9 % CPU).
 * x86 Linux invalidates the TLB page by page over the span of the pages a call zapped when it
 * spans up to 33 pages, else whole; on a paravirtualised guest each page is a trap to the host:
 * 1 page 46 us, 4 pages 110-160, 16 pages 490-550, 33 pages 1,310; 34 or more ~60 (one call,
 * process_madvise, median of 41). So a batch spanning 3 to 33 pages takes a pad: one page of its
 * own, written first (a fault, ~20 us here) and dropped with it, far away, so that the call
 * spans more than 33 pages and flushes once (16 pages: 490 -> 130 us; 4: 110-170 -> 100-120).
 * A batch of one or two pages flushes page by page still (a pad's fault costs as much). */
#define FLUSH_PAGES 34u /* a call spanning this many pages or more: one flush of the whole TLB */
#define PAD_FROM 3u     /* a batch spanning this many pages or more and under FLUSH_PAGES: a pad */
/* One 4 KiB page (x86's, where the 33-page rule is; no pad where pages are larger): the whole
 * .bss is resident in a process that locks its memory, and a 64 KiB array aligned to 64 KiB
 * grew a locked process by 252 KiB (test_mlockall). */
static _Alignas(VCMI_PAGE) unsigned char pad_page[VCMI_PAGE];

void vcmi_purge_flush(vcmi_purge_batch *b) {
  size_t page = vcmi_os_page();
  if (b->n && b->n < VCMI_OS_PURGE_BATCH && page <= sizeof pad_page) {
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (size_t i = 0; i < b->n; i++) {
      uintptr_t a = (uintptr_t)b->r[i].p, e = a + b->r[i].size;
      lo = a < lo ? a : lo, hi = e > hi ? e : hi;
    }
    if (hi - lo >= PAD_FROM * page && hi - lo < FLUSH_PAGES * page) {
      __atomic_store_n(pad_page, 1, __ATOMIC_RELAXED); /* present: the call zaps it */
      b->r[b->n++] = (vcmi_os_range){pad_page, page};
    }
  }
  if (b->n) vcmi_os_purge_ranges(b->r, b->n);
  b->n = 0;
}

static void batch_add(vcmi_purge_batch *b, void *p, size_t size) {
  size_t page = vcmi_os_page();
  while (b->cur < b->n_to && !((uintptr_t)p & (page - 1u))) {
    struct vcmi_donee *d = &b->to[b->cur];
    size_t m = (size < d->room ? size : d->room) & ~(page - 1u);
    if (m < VCMI_DONATE_MIN) {
      if (d->room >= VCMI_DONATE_MIN) break; /* a short range: dropped */
      b->cur++;                              /* a full target: the next */
      continue;
    }
    /* one move costs a call whatever its length (~6 us here), a fault costs 2-4 us a page */
    if (vcmi_os_move(p, d->dst, m) != 0) {
      b->cur = b->n_to; /* refused: drop as usual from now on */
      break;
    }
    d->dst += m, d->room -= m, d->moved += m;
    if (!(size -= m)) return;
    p = (unsigned char *)p + m;
  }
  if (b->n == VCMI_OS_PURGE_BATCH) vcmi_purge_flush(b);
  b->r[b->n++] = (vcmi_os_range){p, size};
}

/* Drop the whole pages inside [p, p + n). */
void vcmi_purge_inside(vcmi_purge_batch *bt, void *p, size_t n) {
  uintptr_t page = vcmi_os_page();
  uintptr_t a = ((uintptr_t)p + page - 1u) & ~(page - 1u);
  uintptr_t b = ((uintptr_t)p + n) & ~(page - 1u);
  if (b > a) batch_add(bt, (void *)a, b - a);
}

/* Donations (docs/DESIGN.md §6): a wave of vectors leaves one class for the next, and the
 * purge drops the runs of free pages it leaves while the class it enters faults as many fresh
 * pages in, one fault each. Instead the purge moves a run of VCMI_DONATE_MIN or more (one call
 * whatever its length) onto the frontiers of the classes that carved fresh chunks (donate_to),
 * at most as many bytes as each carved in the last interval. Those chunks then hold bytes: the
 * segment records them (dirty_g[k]), as calloc takes frontier chunks for zero (alloc.c). */
static uintptr_t page_up(uintptr_t a) {
  return (a + vcmi_os_page() - 1u) & ~(uintptr_t)(vcmi_os_page() - 1u);
}
/* The first chunk of class k in s at or after address a (inside its area). */
static uint32_t chunk_from(vcmi_segment *s, unsigned k, uintptr_t a) {
  return (uint32_t)((a - (uintptr_t)s->area[k] + s->cap[k] - 1u) / s->cap[k]);
}
/* The pages moved onto class k's frontier in s and not carved go, unless keep (the class carved
 * again: it may be donated to again, and they count against its room); the chunks sharing a
 * page with a carved one stay marked. */
static void undonate(vcmi_segment *s, unsigned k, vcmi_purge_batch *bt, int keep) {
  vcmi_region *r = vcmi_seg_region(s);
  uint32_t f = r->fresh[k];
  if (s->dirty_g[k] <= f) {
    s->dirty_g[k] = 0;
  } else if (!keep) {
    uintptr_t a = page_up((uintptr_t)vcmi_chunk_addr(r, k, f));
    uint32_t c = chunk_from(s, k, a); /* the chunk straddling a stays dirty below a */
    /* dirty_g == c: [a, c's start) went at the last such drop, and nothing was moved since
     * (a move sets it past c): dropped again at every purge, one page of a class of chunks over
     * a page (g7: 5,312 bytes, 150 purges), a call of its own where nothing else went */
    if (s->dirty_g[k] > c)
      vcmi_purge_inside(bt, (void *)a, (uintptr_t)vcmi_chunk_addr(r, k, s->dirty_g[k]) - a);
    s->dirty_g[k] = c > f ? c : 0;
  }
}
/* Set bt's donation targets: the class that carved last, then those that carved the most fresh
 * bytes since the last purge (VCMI_DONATE_TARGETS in all: several kinds of vectors and strings
 * grow side by side, each through its own classes; the last is where a wave is going, a class
 * that carved more may be one it left), each taking up to what it carved then (the same again
 * is likely; what it does not carve goes at the next purge). Every class's count starts again. */
static void donate_to(vcmi_segment *segs, const vcmi_segment *last_s, unsigned last_k, int check,
                      vcmi_purge_batch *bt) {
  size_t key[VCMI_DONATE_TARGETS]; /* the order: room, the last carving class first */
  bt->n_to = bt->cur = 0;
  for (vcmi_segment *s = segs; s; s = s->next)
    for (uint32_t m = s->carved; m; m &= m - 1u) {
      unsigned k = (unsigned)__builtin_ctz(m);
      size_t room = s->gained[k];
      s->gained[k] = 0;
      if (check || room < VCMI_DONATE_MIN) continue;
      /* the class carving last goes on (a wave enters it): up to twice its interval's, as its
       * sources' runs come after their wait, in bulk, and what passed the room was dropped
       * while it faulted as much in (x4: 892 KiB dropped next to a 132 KiB room) */
      if (s == last_s && k == last_k) room = vcmi_sat_mul(room, VCMI_DONATE_AHEAD);
      vcmi_region *r = vcmi_seg_region(s);
      uintptr_t lo = page_up((uintptr_t)vcmi_chunk_addr(r, k, r->fresh[k]));
      uintptr_t end = (uintptr_t)vcmi_chunk_addr(r, k, vcmi_seg_class_end(s, k)); /* fine: its reservation */
      if (s->dirty_g[k] > r->fresh[k]) { /* moved in before, not carved yet */
        uintptr_t d = page_up((uintptr_t)vcmi_chunk_addr(r, k, s->dirty_g[k]));
        if (d - lo >= room) continue;
        room -= d - lo, lo = d;
      }
      if (lo >= end) continue;
      room = (room < end - lo ? room : end - lo) & ~(size_t)(vcmi_os_page() - 1u);
      /* open: the room, and the chunk its end falls in (undonate drops up to that chunk's end) */
      size_t at = lo - (uintptr_t)s->area[k], need = at + room + s->cap[k];
      if (need > end - (uintptr_t)s->area[k]) need = end - (uintptr_t)s->area[k];
      if (need > s->open[k] && vcmi_seg_open(s, k, need) != 0) /* what is open, less a chunk */
        room = s->open[k] < at + s->cap[k] ? 0u
               : (s->open[k] - at - s->cap[k]) & ~(size_t)(vcmi_os_page() - 1u);
      if (room < VCMI_DONATE_MIN) continue;
      size_t my = s == last_s && k == last_k ? SIZE_MAX : room;
      unsigned i = bt->n_to < VCMI_DONATE_TARGETS ? bt->n_to++ : VCMI_DONATE_TARGETS;
      for (; i > 0 && key[i - 1u] < my; i--) /* insert, the first key highest */
        if (i < VCMI_DONATE_TARGETS)
          bt->to[i] = bt->to[i - 1u], key[i] = key[i - 1u];
      if (i < VCMI_DONATE_TARGETS) {
        bt->to[i] = (struct vcmi_donee){(unsigned char *)lo, room, 0, s, k};
        key[i] = my;
      }
    }
}


/* Moved pages not carved stay only for a class carving enough to be donated to again
 * (donate_to): kept for a class whatever it carved, they stayed until another class carved
 * (test_donation_ends). */
void vcmi_donate_plan(vcmi_segment *segs, const vcmi_segment *last_s, unsigned last_k,
                     int check, vcmi_purge_batch *bt) {
  for (vcmi_segment *s = segs; s; s = s->next)
    for (uint32_t m = s->carved; m; m &= m - 1u) {
      unsigned k = (unsigned)__builtin_ctz(m);
      if (s->dirty_g[k]) undonate(s, k, bt, s->gained[k] >= VCMI_DONATE_MIN);
    }
  donate_to(segs, last_s, last_k, check, bt);
}

void vcmi_donate_settle(const vcmi_purge_batch *bt) {
  for (unsigned i = 0; i < bt->n_to; i++) {
    const struct vcmi_donee *d = &bt->to[i];
    if (d->moved) d->s->dirty_g[d->k] = chunk_from(d->s, d->k, (uintptr_t)d->dst);
  }
}

/* Purging works on spans: one OS page of a class area (or one chunk, for the classes above;
 * pages up to 64 KiB). A span whose chunks were all free at two purges in a row goes back to
 * the OS; chunks that were free at one purge are AGED (a flag of a free entry,
 * region.h), and any allocation clears it. Page-sized spans drop the free chunks between
 * live ones too (vectors that stopped growing in a class the others grew through: g8's
 * resident pages holding no live chunk were 57 of its 132 MiB with 64 KiB spans). At the top
 * of a class area such spans are cut off the class (fresh goes down, the map pages go too):
 * what the class gives up any class can take in pages. */
#define SPAN_LOG2_MIN 12u
#define SPAN_LOG2_MAX 16u
#define SPANS_MAX VCMI_PURGE_SPANS_MAX /* spans per class area */
_Static_assert(SPAN_LOG2_MIN == 12u, "purge.h counts spans of 4 KiB");
#define AGED VCMI_AGED
/* How long a free span waits (docs/DESIGN.md §6), in purges of its class (those that look at
 * it). A run of SPAN_BULK bytes or more of spans all free at two purges in a row goes. A shorter
 * one goes once all free at the class's wait, SPAN_AGE << wait_log2 purges in a row (at the top
 * of the class area at two while the wait is SPAN_AGE). The wait of a class of a page and up
 * (a span is a chunk) doubles, up to SPAN_AGE << SPAN_WAIT_LOG2_MAX, at its next purge whenever
 * it takes a span again within SPAN_SOON purges of the span's drop: its free chunks are reused
 * at that distance, so such drops cost a fault a page and saved nothing (s5's aligned blocks,
 * 16-64 KiB classes whose live counts wander: 56k faults at a wait of 3, 24k at 8 for all
 * classes, but g8 then kept 89 -> 97 MiB). A class that never does so keeps the wait of 3
 * (g8's vectors that stopped growing are taken again a round later, 4-31 purges after their
 * drop); so do the classes under a page, whose pages hold several chunks of a wandering few
 * (s3's four threads learning kept 200 KiB more for 400 of 2,400 faults). The wait does not come
 * down: halved after a wait's worth of purges without an early retake, s5 kept 41k faults
 * (at the longer wait such retakes are rare, its reuse is not). */
#define SPAN_BULK ((size_t)1 << 20)
#define SPAN_AGE 3u
#define SPAN_SOON 2u
#define SPAN_WAIT_LOG2_MAX 4u
#define SPAN_TOP ((size_t)64 << 10) /* the top of a class is cut in steps of this */
_Static_assert((SPAN_AGE << SPAN_WAIT_LOG2_MAX) == VCMI_PURGE_WAIT_MAX, "purge.h's wait");

static unsigned span_log2(void) {
  unsigned l = vcmi_log2(vcmi_os_page());
  return l < SPAN_LOG2_MIN ? SPAN_LOG2_MIN : l > SPAN_LOG2_MAX ? SPAN_LOG2_MAX : l;
}

/* What a purge leaves of a class's free list, so that the next needs no walk of it: the list
 * is a chain of groups, one per span (its free chunks), the spans with resident pages first,
 * then the dropped ones (their chunks fault again), each part in address order. */
typedef struct span_rec {
  uint16_t head, tail; /* a group's first and last chunk, less its span's first (rec_head) */
  uint16_t cnt;        /* its chunks (0: no group) */
  uint16_t full;       /* the class's purges (mod 2^16) when it was last found all free, or,
                        * once dropped (gone), when it was dropped */
} span_rec;
/* A class's groups in two parts. Its head, in the segment's header page (after the header,
 * which every free reads: resident while the segment is in use), holds its counters, the bits
 * of spans 0..63 and the records of the first HEAD_SPANS spans; the rest lie after the map,
 * per class on a page boundary. So a class using up to HEAD_SPANS (12) spans (48 KiB of 16-byte
 * chunks) keeps no page of groups of its own: a thread using 4 scales and 20 classes (s3) kept
 * 19 such pages. A record is 8 bytes (chunks within its span: under 2^16 of them, as an OS page
 * is at most VCMI_SEG_PAGE_MAX), so that the header page has room for 12 a class before the
 * host's first entries (segment.h, VCMI_SEG_HOST_OFF; 16 before them), where 12-byte ones
 * (chunk numbers) fitted 10 (s6's 64-byte class, 11 spans, kept a page of its own in each of 8
 * threads). The records of the next spans (HEAD_SPANS to gap_end) lie in the class's colour in
 * a wide segment: the bytes of its own first map page before its first entry (segment.h),
 * which no entry uses and which is resident whenever the class has a span (its first entries
 * are on that page; a cut to nothing drops it, its records all zeroed first, and zero reads as
 * no group); the host's in its gap in the header page. A colour of c lines holds 8 c records:
 * s6's 128-byte class (21 spans, a colour of 15-19 lines) and s3's 1 KiB class (30-34) keep no
 * page of their own; the host's gap holds 16 (s6's 112-byte class: 17-21 spans). A fine
 * segment's class has no colour: past 12 spans its records take a page. */
#define HEAD_OFF ((sizeof(vcmi_segment) + 7u) & ~(size_t)7u) /* shares a line with area[]: owner's */
/* a class's share of the page, less 32 bytes of counters (24 before the records, 8 after) */
#define HEAD_SPANS ((((VCMI_SEG_HOST_OFF - HEAD_OFF) / VCMI_NCLASS & ~(size_t)7u) - 32u) / sizeof(span_rec))
typedef struct span_head {
  uint16_t purges;   /* purges that looked at the class (mod 2^16, as span_rec.full) */
  uint8_t own;       /* 1: the part after the map was written (else it is not read: zeros) */
  uint8_t refaults;  /* dropped spans taken from since the last one (at most 255 counted) */
  uint16_t burst, burst_end; /* the first and last purge of the burst the heap holds */
  uint64_t w0[2];    /* word 0 of has and of gone (below) */
  span_rec r[HEAD_SPANS];
  uint8_t wait_log2; /* a short run's spans go once all free at SPAN_AGE << wait_log2 purges */
  uint8_t soon;      /* 1: a span dropped within SPAN_SOON purges was taken since the last */
  uint32_t chain;    /* chunks in the groups (the chain) the last purge left */
} span_head;
typedef struct span_own {
  uint64_t has[SPANS_MAX / 64u];  /* bit i: span i has a group (word 0 in the head) */
  uint64_t gone[SPANS_MAX / 64u]; /* bit i: span i dropped, none of it taken since (likewise) */
  span_rec r[SPANS_MAX];          /* r[i] for i >= HEAD_SPANS (the first are in the head) */
} span_own;
typedef struct span_groups {
  span_head *h;
  span_own *own;
  span_rec *gap;    /* the records of spans HEAD_SPANS .. gap_end - 1 (in the class's colour) */
  uint32_t gap_end;
  vcmi_region *r; /* the segment's region, and the class: */
  unsigned k;
  uint32_t nw;    /* words of span bits in use (the spans below the class's frontier) */
  int relink;     /* this purge relinks the whole chain at its end (chain_in, _out: nothing) */
  unsigned pl;    /* the class's chunks per span, as a shift (vcmi_purge_span_log2) */
} span_groups;
#define SEG_GROUPS_OFF (VCMI_SEG_PAGE_MAX + VCMI_SEG_MAP_SKEW + VCMI_SEG_MAP_BYTES) /* aligned */
#define SEG_GROUP_BYTES ((sizeof(span_own) + VCMI_PAGE - 1u) & ~(VCMI_PAGE - 1u))
_Static_assert(SEG_GROUPS_OFF + VCMI_NCLASS * SEG_GROUP_BYTES + VCMI_SEG_PAGE_MAX <=
                   VCMI_SEG_DATA_OFF,
               "the groups fit between the map and the guard page");
_Static_assert(HEAD_SPANS >= 8u && HEAD_SPANS <= 64u &&
                   HEAD_OFF + VCMI_NCLASS * sizeof(span_head) <= VCMI_SEG_HOST_OFF,
               "the heads fit the header page, after the header and before the host's entries");
_Static_assert(SPANS_MAX % 64u == 0 && SPANS_MAX <= 65536u, "span numbers fit 16 bits");
_Static_assert(VCMI_SEG_PAGE_MAX >> VCMI_LMIN <= 65536u, "a chunk's place in its span fits 16 bits");
/* A fine segment's one class takes the first head: the rest of the page holds its first map
 * entries (vcmi_purge_fine_map_off). */
static span_groups groups_of(vcmi_segment *s, unsigned k) {
  unsigned char *b = (unsigned char *)s;
  vcmi_region *r = vcmi_seg_region(s);
  /* a wide segment's class with a colour (segment.h): the bytes from its own start to its
   * first entry (none for a fine segment's class, whose entries start in the header page, nor
   * for the classes sharing the map's first page) */
  span_rec *gap = (span_rec *)(void *)vcmi_seg_map_own(r, k);
  size_t colour = s->fine_end || VCMI_SEG_MAP_SHARED(k)
                      ? 0u : (size_t)((unsigned char *)r->mapk[k] - (unsigned char *)gap);
  return (span_groups){(span_head *)(void *)(b + HEAD_OFF) + (s->fine_end ? 0u : k),
                       (span_own *)vcmi_purge_groups_at(s, k, &(size_t){0}),
                       gap, (uint32_t)(HEAD_SPANS + colour / sizeof(span_rec)),
                       r, k, 0, 0, vcmi_purge_span_log2(s, k)};
}
size_t vcmi_purge_fine_map_off(void) {
  return (HEAD_OFF + sizeof(span_head) + 63u) & ~(size_t)63u; /* a line of their own */
}
size_t vcmi_purge_group_bytes(void) { return SEG_GROUP_BYTES; }
void *vcmi_purge_groups_at(vcmi_segment *s, unsigned k, size_t *bytes) {
  *bytes = SEG_GROUP_BYTES;
  return (unsigned char *)s + SEG_GROUPS_OFF + k * SEG_GROUP_BYTES + s->group_shift;
}
/* Span i's record (one after the map is read only once the head's own flag is set). */
static inline span_rec *rec(const span_groups *G, uint32_t i) {
  if (VCMI_LIKELY(i < HEAD_SPANS)) return &G->h->r[i];
  return i < G->gap_end ? G->gap + (i - HEAD_SPANS) : &G->own->r[i];
}
/* Span i's group's first and last chunk; set them (g in span i). */
static inline uint32_t rec_head(const span_groups *G, uint32_t i) {
  return i << G->pl | rec(G, i)->head;
}
static inline uint32_t rec_tail(const span_groups *G, uint32_t i) {
  return i << G->pl | rec(G, i)->tail;
}
static inline uint16_t rec_off(const span_groups *G, uint32_t i, uint32_t g) {
  VCMI_ASSERT(g >> G->pl == i);
  return (uint16_t)(g - (i << G->pl));
}
/* Word w of the has (gone = 0) or gone (gone = 1) bits. */
static uint64_t *word(const span_groups *G, int gone, uint32_t w) {
  return w ? (gone ? G->own->gone : G->own->has) + w : &G->h->w0[gone];
}
static uint64_t bits(const span_groups *G, int gone, uint32_t w) {
  return w && !G->h->own ? 0 : *word(G, gone, w);
}
static inline int get_bit(const span_groups *G, int gone, uint32_t i) {
  return bits(G, gone, i >> 6) >> (i & 63u) & 1u;
}
static inline void set_bit(const span_groups *G, int gone, uint32_t i, int on) {
  uint64_t bit = (uint64_t)1 << (i & 63u);
  if (i >> 6 && !G->h->own) {
    if (!on) return; /* zero already */
    G->h->own = 1;
  }
  uint64_t *w = word(G, gone, i >> 6);
  *w = on ? *w | bit : *w & ~bit;
}
static void set_cnt(span_groups *G, uint32_t i, uint32_t c) {
  rec(G, i)->cnt = (uint16_t)c;
  set_bit(G, 0, i, c != 0);
  if (!c) set_bit(G, 1, i, 0);
}
/* The groups' order on the list: the resident spans, then the gone ones, each in address
 * order. Part p's bits of word w (p = 0: resident, 1: gone); a visit costs the groups and a
 * bit per span, not a step per span (page-sized spans: 2,048 per class area), and no list of
 * them is built (a purge visits them twice: 15 % of s3's purge instructions built the list). */
static inline uint64_t part_bits(const span_groups *G, int p, uint32_t w) {
  uint64_t gone = bits(G, 1, w);
  return bits(G, 0, w) & (p ? gone : ~gone);
}

/* The chain is kept linked as its groups change (a group in, out, or from one part to the
 * other), so a purge costs the groups that changed, not all of them: relinking every group
 * at every purge was half of g7's purge instructions. A group's neighbours on the chain are
 * found in the bits: the group before span i of part p (NO_SPAN: i would be first) and the
 * one after (NO_SPAN: i would be last); i's own bits are not read. */
#define NO_SPAN SPANS_MAX
static uint32_t group_before(const span_groups *G, int p, uint32_t i) {
  for (;; p = 0, i = G->nw * 64u) { /* before the first gone group: the last resident one */
    uint32_t w = i >> 6;
    uint64_t x = i & 63u ? part_bits(G, p, w) & (((uint64_t)1 << (i & 63u)) - 1u) : 0;
    while (!x && w > 0) x = part_bits(G, p, --w);
    if (x) return w * 64u + 63u - (unsigned)__builtin_clzll(x);
    if (!p) return NO_SPAN;
  }
}
static uint32_t group_after(const span_groups *G, int p, uint32_t i) {
  for (uint32_t from = i + 1u;; p = 1, from = 0) { /* after the last resident: the first gone */
    for (uint32_t w = from >> 6; w < G->nw; w++) {
      uint64_t x = part_bits(G, p, w) & (w == from >> 6 ? ~(uint64_t)0 << (from & 63u) : ~(uint64_t)0);
      if (x) return w * 64u + (unsigned)__builtin_ctzll(x);
    }
    if (p) return NO_SPAN;
  }
}
/* The chain goes from group a (NO_SPAN: the list's head) to chunk g. */
static void link_from(const span_groups *G, uint32_t a, uint32_t g) {
  if (a == NO_SPAN)
    G->r->free_head[G->k] = g;
  else
    vcmi_set_link(vcmi_entry_at(G->r, G->k, rec_tail(G, a)), g);
}
static uint32_t head_of(const span_groups *G, uint32_t a) {
  return a == NO_SPAN ? VCMI_NONE : rec_head(G, a);
}
/* Span i's group, of part p (its record and bits set), onto the chain at its place. */
static void chain_in(const span_groups *G, int p, uint32_t i) {
  if (G->relink) return;
  vcmi_set_link(vcmi_entry_at(G->r, G->k, rec_tail(G, i)), head_of(G, group_after(G, p, i)));
  link_from(G, group_before(G, p, i), rec_head(G, i));
}
/* Span i's group, of part p, off the chain. */
static void chain_out(const span_groups *G, int p, uint32_t i) {
  if (G->relink) return;
  link_from(G, group_before(G, p, i), head_of(G, group_after(G, p, i)));
}

/* Between purges the free list is a stack (pushes and pops at its head only) and a purge marks
 * every chunk on it, so it reads [chunks freed since the last purge, unmarked] + [the tail of
 * the chain of groups the last purge left, all marked]: the `rest` chunks of that tail are the
 * last groups whole and the end of one, which starts at b; the chain's first chunk - rest were
 * taken. The groups taken are walked from the chain's head, in its order, so a purge costs the
 * groups taken since the last, not all of them (walking every group from the tail was a third of
 * g7's purge instructions). Returns 0, or -1 if the list is not so (then every group is
 * emptied, and the caller groups the whole list as new). */
static int groups_taken(span_groups *G, uint32_t nspan, uint32_t rest, uint32_t b,
                        unsigned per_log2) {
  uint32_t taken = G->h->chain - rest;
  if (rest > G->h->chain) goto broken;
  for (int p = 0; p < 2 && taken; p++) /* the list's order: resident groups, then gone ones */
    for (uint32_t w = 0; w < (nspan + 63u) / 64u && taken; w++)
      for (uint64_t x = part_bits(G, p, w); x && taken; x &= x - 1u) { /* only bit i changes */
        uint32_t i = w * 64u + (unsigned)__builtin_ctzll(x), c = rec(G, i)->cnt;
        if (get_bit(G, 1, i)) { /* a dropped span reused: soon after its drop? */
          G->h->refaults += G->h->refaults < 255u;
          G->h->soon |= !per_log2 && (uint16_t)(G->h->purges - rec(G, i)->full) <= SPAN_SOON;
        }
        if (c <= taken) {
          taken -= c;
          set_cnt(G, i, 0);
          continue;
        }
        if (b >> per_log2 != i) goto broken;
        /* the group the stack's head is in: its first `taken` chunks were taken; it is first on
         * the list, so among the resident groups (all before it were taken) */
        set_cnt(G, i, c - taken);
        set_bit(G, 1, i, 0);
        rec(G, i)->head = rec_off(G, i, b), taken = 0;
      }
  if (taken == 0) return 0;
broken:
  for (unsigned w = 0; w < SPANS_MAX / 64u; w++) {
    if (!bits(G, 0, w) && !bits(G, 1, w)) continue; /* untouched pages stay so */
    for (uint64_t x = bits(G, 0, w); x; x &= x - 1u)
      rec(G, w * 64u + (unsigned)__builtin_ctzll(x))->cnt = 0;
    *word(G, 0, w) = *word(G, 1, w) = 0;
  }
  return -1;
}

/* Which spans of a run [a, a + n) of spans all free at the last purge go now: all of a run of
 * SPAN_BULK bytes or more (a class of freed vectors), else, while no dropped span of the class
 * was taken from since the last purge, the spans all free at the class's wait (span_old) in a
 * row (a free chunk between live ones that stays free: g8's vectors that stopped growing).
 * Returns whether one waits (the class must be looked at again). */
/* Span i was found all free at a purge of the burst the heap holds (hold: not NULL). */
static int held(const span_groups *G, uint32_t i, const size_t *hold) {
  return hold && (uint16_t)(rec(G, i)->full - G->h->burst) <=
                     (uint16_t)(G->h->burst_end - G->h->burst);
}
/* While the heap holds a burst, a span may go for `bytes` of what the hold gives up (*hold). */
static int give_up(size_t *hold, size_t bytes) {
  if (!hold || *hold < bytes) return 0;
  *hold -= bytes;
  return 1;
}
/* While the heap holds a burst, a colour class's free spans go only as the hold gives up (the
 * process grows past its resident size at the burst), not after two purges: C++'s containers
 * (new block, copy, free: g7) leave each colour class for the next in a wave every round, and
 * what a wave left was dropped within the round and faulted in again at the next (6.2-7.4k faults
 * a round after the first against glibc's 0-0.2k). Not the other classes: g8's vectors, regrown
 * by realloc in the power-of-two classes, took 8 % more faults so. */
static int colour_kept(const vcmi_region *r, const size_t *hold) {
  return hold && r->xscale == VCMI_XSCALE_COLOUR;
}
/* Span i was found all free at the class's wait of purges in a row. */
static int span_old(const span_groups *G, uint32_t i) {
  return (uint16_t)(G->h->purges - rec(G, i)->full) >= SPAN_AGE << G->h->wait_log2;
}
/* The entry of chunk g of class k where it may be another thread's live chunk, which a realloc
 * in place or a remote free rewrites (alloc.c, heap.c): read whole (relaxed; the same load), as
 * it is written (make tsan: race reports at an exit purge, and in vcmi_purge_prev). */
static uint32_t state_at(const vcmi_region *r, unsigned k, uint32_t g) {
  return __atomic_load_n(&vcmi_entry_at(r, k, g)->state, __ATOMIC_RELAXED);
}
/* Chunks g .. h of class k are free (on the free list or past the frontier). A neighbour may
 * be live (state_at). */
static int all_free(const vcmi_region *r, unsigned k, uint32_t g, uint32_t h) {
  for (; g <= h && g < r->fresh[k]; g++)
    if (state_at(r, k, g) & (VCMI_LIVE | VCMI_REMOTE)) return 0;
  return 1;
}
/* Drop the pages inside chunks a .. b - 1 of class k, free spans, and the pages at their ends
 * that they share only with free chunks (a colour class's spans are not whole pages; an
 * isolated free chunk keeps the two it shares with live neighbours). */
static void drop_chunks(const vcmi_region *r, unsigned k, uint32_t a, uint32_t b,
                        vcmi_purge_batch *bt) {
  uintptr_t page = vcmi_os_page(), base = (uintptr_t)vcmi_chunk_addr(r, k, 0);
  uintptr_t lo = (uintptr_t)vcmi_chunk_addr(r, k, a), hi = (uintptr_t)vcmi_chunk_addr(r, k, b);
  size_t cap = vcmi_class_cap(r, k);
  uintptr_t lo_page = lo & ~(page - 1u), hi_page = (hi + page - 1u) & ~(page - 1u);
  if (lo_page < lo && lo_page >= base && all_free(r, k, (uint32_t)((lo_page - base) / cap), a - 1u))
    lo = lo_page;
  if (hi_page > hi && all_free(r, k, b, (uint32_t)((hi_page - 1u - base) / cap))) hi = hi_page;
  vcmi_purge_inside(bt, (void *)lo, hi - lo);
}
static int drop_run(span_groups *G, vcmi_region *r, unsigned k, uint32_t a, uint32_t n,
                    unsigned per_log2, size_t *hold, vcmi_purge_batch *bt) {
  size_t span_bytes = ((size_t)1 << per_log2) * vcmi_class_cap(r, k);
  int bulk = (size_t)n * span_bytes >= SPAN_BULK, waiting = 0;
  int split = bt->cur < bt->n_to; /* only resident pages are worth a donation */
  for (uint32_t i = a, from = a, fresh_spans = 0; i <= a + n; i++) {
    int in = i < a + n, gone = in && get_bit(G, 1, i);
    int aged = in && !G->h->refaults && span_old(G, i);
    if (in && (gone || ((bulk || aged) && !held(G, i, hold) && !colour_kept(r, hold)) ||
               give_up(hold, span_bytes))) {
      if (!gone) { /* spans dropped before join the call, unless it may donate */
        for (uint32_t c = i << per_log2; c < (i + 1u) << per_log2; c++) {
          vcmi_entry *e = vcmi_entry_at(r, k, c);
          vcmi_entry_set(e, vcmi_link(e->state) | VCMI_PURGED);
        }
        chain_out(G, 0, i); /* to the gone part */
        set_bit(G, 1, i, 1);
        chain_in(G, 1, i);
        /* now its drop (groups_taken), set back past SPAN_SOON where the wait did not decide
         * it (a bulk run, a hold's give-up: their retakes teach the wait nothing) */
        rec(G, i)->full = (uint16_t)(G->h->purges -
                                     (!bulk && aged && !held(G, i, hold) ? 0u : SPAN_SOON + 1u));
        fresh_spans++;
      } else if (split) {
        if (fresh_spans)
          drop_chunks(r, k, from << per_log2, i << per_log2, bt);
        from = i + 1u, fresh_spans = 0;
      }
      continue;
    }
    waiting |= in;
    if (fresh_spans)
      drop_chunks(r, k, from << per_log2, i << per_log2, bt);
    from = i + 1u, fresh_spans = 0;
  }
  return waiting;
}

#ifdef VCMI_ASSERTS
/* Test builds: the list a purge leaves is its chain, group by group in the chain's order, each
 * group's chunks in its span from its head to its tail, marked, chain chunks in all. O(the
 * list). */
static void chain_check(const span_groups *G, unsigned per_log2) {
  uint32_t g = G->r->free_head[G->k], total = 0;
  for (int p = 0; p < 2; p++)
    for (uint32_t w = 0; w < G->nw; w++)
      for (uint64_t x = part_bits(G, p, w); x; x &= x - 1u) {
        uint32_t i = w * 64u + (unsigned)__builtin_ctzll(x);
        const span_rec *y = rec(G, i);
        VCMI_ASSERT(g == rec_head(G, i) && y->cnt);
        for (uint32_t c = 0; c < y->cnt; c++, g = vcmi_link(vcmi_entry_at(G->r, G->k, g)->state)) {
          uint32_t st = vcmi_entry_at(G->r, G->k, g)->state;
          VCMI_ASSERT(g >> per_log2 == i);
          VCMI_ASSERT(st & (AGED | VCMI_PURGED));
          VCMI_ASSERT(c + 1u < y->cnt || g == rec_tail(G, i));
        }
        total += y->cnt;
      }
  VCMI_ASSERT(g == VCMI_NONE && total == G->h->chain);
}
#else
#define chain_check(G, per_log2) ((void)0)
#endif

/* A span of whole pages is 1 + x of them; a colour class's would be 129 pages (32 chunks of
 * 16.1 KiB), kept resident for one live chunk among them (g7: 174 MiB, not 154, when its
 * vectors that stop growing stay between those that move on). Its span is the fewest chunks
 * covering a page, and a run of them drops the pages inside it (drop_run): the pages its ends
 * share with a live neighbour stay. A fitted class's (fit.c, 1 + x up to 511) is the most
 * chunks within SPAN_WHOLE_X + 1 pages, as long as the fixed classes' spans at most: in whole
 * pages, 4,384-byte chunks freed 64 in a row between live ones were never dropped (a span of
 * 128), where 4,480's (spans of 32) went. So a PURGED chunk of a colour or fitted class may
 * not read zero, nor a chunk past a cut of its top: calloc never takes such chunks (alloc.c,
 * calloc_mid: 64 KiB and more). */
#define SPAN_WHOLE_X 34u /* the fixed classes' largest xscale: spans of 35 pages at most */
unsigned vcmi_purge_span_log2(const vcmi_segment *s, unsigned k) {
  unsigned cl = VCMI_LMAX - k, sl = span_log2(), p = 0, x = ((const vcmi_region *)(const void *)s)->xscale;
  if (cl >= sl) return 0;
  if (x <= SPAN_WHOLE_X) return sl - cl;
  if (x == VCMI_XSCALE_COLOUR)
    while ((s->cap[k] << p) < ((size_t)1 << sl)) p++;
  else
    while ((s->cap[k] << (p + 1u)) <= ((size_t)(SPAN_WHOLE_X + 1u) << sl)) p++;
  return p;
}

/* The cut of class k's spans [a, b) (chunks up to fresh): dropped, and donated unless gone
 * (dropped or moved before: they read zero). */
static void cut_run(const vcmi_region *r, unsigned k, uint32_t a, uint32_t b, unsigned per_log2,
                    int gone, vcmi_purge_batch *bt) {
  uint32_t fresh = r->fresh[k], lo = a << per_log2, hi = b << per_log2 < fresh ? b << per_log2 : fresh;
  unsigned cur = bt->cur;
  if (gone) bt->cur = bt->n_to;
  vcmi_purge_inside(bt, vcmi_chunk_addr(r, k, lo), (size_t)(hi - lo) * vcmi_class_cap(r, k));
  if (gone) bt->cur = cur;
}

/* p is right before c on class k's free list: a free chunk (below the frontier, which no
 * other free state names) linking to c. A group's recorded head and tail may have been handed
 * out since its purge (groups_taken mends them at the next): live, read by state_at. */
static int links_to(const vcmi_region *r, unsigned k, uint32_t p, uint32_t c) {
  if (p >= r->fresh[k]) return 0;
  uint32_t st = state_at(r, k, p);
  return !(st & (VCMI_LIVE | VCMI_REMOTE)) && vcmi_link(st) == c;
}
int vcmi_purge_prev(vcmi_segment *s, unsigned k, uint32_t c, uint32_t walk, uint32_t *prev) {
  vcmi_region *r = vcmi_seg_region(s);
  *prev = VCMI_NONE;
  if (r->free_head[k] == c) return 0;
  uint32_t st = state_at(r, k, c), fresh = r->fresh[k];
  if (st & (AGED | VCMI_PURGED)) { /* in its span's group, intact if its head is marked */
    span_groups groups = groups_of(s, k), *G = &groups;
    unsigned l = G->pl;
    uint32_t i = c >> l, q;
    G->nw = ((fresh - 1u) >> l) / 64u + 1u; /* c < fresh */
    if (!get_bit(G, 0, i)) return -1;
    span_rec *x = rec(G, i);
    uint32_t head = rec_head(G, i);
    uint32_t hs = head < fresh ? state_at(r, k, head) : VCMI_LIVE;
    if ((hs & (AGED | VCMI_PURGED)) && !(hs & (VCMI_LIVE | VCMI_REMOTE))) {
      if (head == c) { /* the tail of the group before, if it links here */
        uint32_t j = group_before(G, get_bit(G, 1, i), i);
        if (j != NO_SPAN && links_to(r, k, q = rec_tail(G, j), c)) return *prev = q, 0;
      } else {
        q = head;
        for (uint32_t n = x->cnt; n-- > 0 && q < fresh; q = vcmi_link(state_at(r, k, q)))
          if (links_to(r, k, q, c)) return *prev = q, 0;
      }
    }
  }
  uint32_t q = r->free_head[k]; /* freed since the last purge, or the first groups */
  for (; walk-- > 0 && q != VCMI_NONE && q < fresh; q = vcmi_link(state_at(r, k, q)))
    if (vcmi_link(state_at(r, k, q)) == c) return *prev = q, 0;
  return -1;
}

/* A pair's take (pair.c) unlinked chunk c of class k, marked, from the list: its group loses
 * it, and the chain its count. prev: the chunk before it, VCMI_NONE if c was the first marked
 * one (then its group may be the one the stack's head is in, whose first chunks were taken and
 * whose head the next purge sets: groups_taken); next: the one after. */
void vcmi_purge_unlink(vcmi_segment *s, unsigned k, uint32_t c, uint32_t prev, uint32_t next) {
  span_groups groups = groups_of(s, k), *G = &groups;
  uint32_t i = c >> G->pl;
  span_rec *x = rec(G, i);
  VCMI_ASSERT(get_bit(G, 0, i) && x->cnt > 0 && G->h->chain >= x->cnt);
  if (x->cnt == 1u || (prev == VCMI_NONE && c == rec_tail(G, i))) {
    /* none of it left on the list: the group goes, with the chunks taken from its head (the
     * purge counts those taken from the chain's head, group by group) */
    G->h->chain -= x->cnt;
    set_cnt(G, i, 0);
    return;
  }
  G->h->chain--;
  set_cnt(G, i, x->cnt - 1u);
  if (c == rec_head(G, i)) x->head = rec_off(G, i, next);
  if (c == rec_tail(G, i)) x->tail = rec_off(G, i, prev);
}

/* The chain has fewer than n groups. */
static __attribute__((noinline)) int fewer_groups(const span_groups *G, size_t n) {
  size_t c = 0;
  for (uint32_t w = 0; w < G->nw && c < n; w++) c += (size_t)__builtin_popcountll(bits(G, 0, w));
  return c < n;
}

/* Chunks freed in address order (x4's vectors, a wave leaving a class) come in runs of one
 * span: the first RUN_SAMPLE of the new ones, RUN_SAMPLE / 2 or more of them in the span of the
 * one before, say so. */
#define RUN_SAMPLE 16u
static int in_runs(const vcmi_entry *map, uint32_t g, uint32_t stop, unsigned per_log2) {
  unsigned same = 0;
  for (unsigned n = 0; n < RUN_SAMPLE && g != stop; n++) {
    uint32_t next = vcmi_link(map[g].state);
    same += next != stop && next >> per_log2 == g >> per_log2;
    g = next;
  }
  return same >= RUN_SAMPLE / 2u;
}
/* vcmi_purge_class's grouping of the new chunks g .. stop (below) for chunks in runs: each run
 * joins its group at once, its record written and the group linked once a run, not once a
 * chunk (x4: 33 -> ~12 instructions a chunk; for chunks one a span, as g7's and s5's mostly,
 * the loop below costs fewer: g7 +0.3 %, s5 +0.9 % instructions grouping all so). */
static void group_runs(span_groups *G, vcmi_entry *map, uint32_t g, uint32_t stop,
                       unsigned per_log2) {
  uint32_t per = 1u << per_log2;
  uint16_t now = G->h->purges;
  for (uint32_t i = g >> per_log2, j; g != stop; i = j) {
    span_rec *x = rec(G, i);
    if (i >= G->gap_end && !G->h->own) { /* the first record there: written before read */
      G->h->own = 1;
      x->cnt = 0;
    }
    uint32_t c = x->cnt, base = i << per_log2, head = c ? base | x->head : VCMI_NONE;
    if (!c) x->tail = (uint16_t)(g - base);
    do { /* each onto the group's front, while in span i */
      vcmi_entry *e = map + g;
      uint32_t next = vcmi_link(e->state);
      vcmi_entry_set(e, AGED | head);
      head = g, c++;
      g = next, j = g >> per_log2;
    } while (g != stop && j == i);
    int new_group = !x->cnt;
    x->head = (uint16_t)(head - base);
    x->cnt = (uint16_t)c;
    if (c == per) x->full = now;
    if (new_group) { /* onto the chain at its place */
      set_bit(G, 0, i, 1);
      chain_in(G, 0, i);
    } else if (!G->relink) { /* the group before now leads to the run */
      link_from(G, group_before(G, get_bit(G, 1, i), i), head);
    }
  }
}

/* One class of one segment: age the chunks freed since the last purge into their spans'
 * groups, drop the spans whose chunks were all free at it (if drop), keep the chain linked.
 * Its cost: the chunks freed since the last purge, the groups taken or changed since, a look
 * at the groups' counts, and the chunks of the spans dropped; never the free list's length
 * (r1's heap holds 300,000 free chunks for a while).
 * Returns whether it aged any (then the next purge must look again, frees or not). */
int vcmi_purge_class(vcmi_segment *s, unsigned k, int drop, size_t *hold, int check,
                     vcmi_purge_batch *bt) {
  vcmi_region *r = vcmi_seg_region(s);
  span_groups groups = groups_of(s, k), *G = &groups;
  unsigned per_log2 = G->pl;
  uint32_t fresh = r->fresh[k], nspan = ((fresh - 1u) >> per_log2) + 1u, per = 1u << per_log2;
  G->nw = (nspan + 63u) / 64u;
  uint32_t last = fresh - ((nspan - 1u) << per_log2); /* chunks in the top span */
  uint32_t g = r->free_head[k], m = 0, n = fresh - r->live[k]; /* n: the list's length */
  vcmi_entry *e;
  int waiting = 0;
  /* Fewer free chunks than the top span holds, or any other: no span is all free, so this look
   * would record nothing that goes now or at the next (a span goes once found all free). It
   * is left for a later one: the chunks freed since stay unmarked, which the next look takes
   * as new (the list stays a stack, its tail as this look would have found it). s3: 56 % of
   * the looks. The class stays looked at. */
  if (drop && !check && n < per && n < last) return 1;
  G->h->purges++;
  if (k >= VCMI_PAIR_K_MIN) r->pair_dry[k - VCMI_PAIR_K_MIN] = 0; /* chunks are AGED anew */
  vcmi_entry *map = vcmi_entry_at(r, k, 0);
  for (; g != VCMI_NONE; g = vcmi_link(e->state), m++) { /* marked AGED below, as grouped */
    e = map + g;
    if (e->state & (AGED | VCMI_PURGED)) break;
  }
  uint32_t stop = g; /* the first chunk the last purge saw */
  if (m > n || groups_taken(G, nspan, n - m, g, per_log2) != 0) {
    VCMI_ASSERT(!"the free list is a stack between purges");
    stop = VCMI_NONE; /* group it all anew: nothing goes this time */
    drop = 0;
  }
  uint32_t fed = r->free_head[k]; /* the chunks freed since, down to stop: grouped below */
  r->free_head[k] = stop;         /* the chain (its groups taken led to stop) */
  /* A group joins the chain for two searches of the bits and two links; a relink costs a link
   * a group. So with many chunks new for the groups left (s5: classes of 16-64 KiB, a few
   * chunks each, taken and freed between purges), all are relinked at the end, as before:
   * kept linked always, s5 at 0.5 took 213.0 M instructions, 198.2 M relinking always, 196.4 M
   * so; g7 2,274 M (2,285 M relinking always). The chain's chunks bound its groups; but where
   * spans hold many chunks each and the spans before are dropped, a new chunk's search goes
   * back over every word of bits (x4, 10^5 vectors grown in step: 150,000 searches of 250
   * instructions). So a relink also when the groups are fewer than 4 m: x4 438.4 -> 391.0 M
   * instructions, g7 at 0.2 444.2 -> 435.1 M. Counted for 64 new chunks or more (for a few,
   * the count cost s5 +0.6 %). The chain either way is the same. */
  G->relink = (size_t)4u * m > (size_t)n - m;
  if (!G->relink && m >= 64u) G->relink = fewer_groups(G, (size_t)4u * m);
  /* Cut the top: spans all free at the last purge from t up (the last may be partial), if
   * SPAN_BULK bytes or more, else those of them old enough to go inside (span_old; the others
   * wait inside, below), in steps of SPAN_TOP (a page at a time, the frontier went down and up
   * again: g7 +7 % page faults). */
  size_t span_bytes = (size_t)per * vcmi_class_cap(r, k);
  uint32_t q = span_bytes >= SPAN_TOP ? 1u : (uint32_t)(SPAN_TOP / span_bytes), t = nspan, t0 = t;
  uint32_t old = t; /* [old, t): the top's spans that go in a short run (given up, or old) */
  for (; drop && t0 > 0 && get_bit(G, 0, t0 - 1u) /* a group: its record was written */ &&
         rec(G, t0 - 1u)->cnt == (t0 == nspan ? last : per);
       t0--) {
    int gone = get_bit(G, 1, t0 - 1u),
        kept = !gone && (held(G, t0 - 1u, hold) || colour_kept(r, hold));
    if (kept && !give_up(hold, span_bytes)) break;
    if (old == t0 && (kept || gone || span_old(G, t0 - 1u))) old--;
  }
  /* at the first wait a short run goes at two purges as before (at 3: g6 +4 % page faults) */
  if (G->h->wait_log2 && (size_t)(t - t0) * span_bytes < SPAN_BULK) t0 = old;
  t0 = t0 % q ? t0 + (q - t0 % q) : t0;
  /* A cut may donate only its resident spans: spans dropped or moved before read zero, and
   * moved onto a frontier they would take a carving class's room from the resident runs of
   * this purge, their destination faulting in as if fresh (x4: 2 MiB of them at each of six
   * cuts). Where spans are whole pages, the cut's gone runs are dropped apart. */
  int whole = !(span_bytes & (vcmi_os_page() - 1u)) && bt->cur < bt->n_to, run_gone = -1;
  uint32_t run_hi = t; /* spans [t, run_hi) of one kind, gone or resident, not yet given */
  while (t > t0) {
    --t;
    int gone = get_bit(G, 1, t);
    if (whole && run_gone >= 0 && gone != run_gone)
      cut_run(r, k, t + 1u, run_hi, per_log2, run_gone, bt), run_hi = t + 1u;
    run_gone = gone;
    if (get_bit(G, 0, t)) chain_out(G, get_bit(G, 1, t), t);
    set_cnt(G, t, 0);
  }
  /* Inside: spans all free at the last purge and not yet dropped (check mode keeps the fill:
   * none). A run of such spans is adjacent in the class area: one call drops it (the calls,
   * not the pages, cost the time: a class of freed vectors yields hundreds of neighbouring
   * spans); spans dropped before join a run. Only spans with a group are looked at. */
  uint32_t from = 0, run = 0;
  for (unsigned w = 0; w < (t + 63u) / 64u && drop && !check; w++) {
    for (uint64_t b = bits(G, 0, w); b; b &= b - 1u) {
      uint32_t i = w * 64u + (unsigned)__builtin_ctzll(b);
      if (i >= t) break;
      if (rec(G, i)->cnt == per && run && i == from + run) {
        run++;
        continue;
      }
      if (run) waiting |= drop_run(G, r, k, from, run, per_log2, hold, bt);
      from = i, run = rec(G, i)->cnt == per;
    }
  }
  if (run) waiting |= drop_run(G, r, k, from, run, per_log2, hold, bt);
  G->h->refaults = 0;
  G->h->wait_log2 += G->h->soon && G->h->wait_log2 < SPAN_WAIT_LOG2_MAX;
  G->h->soon = 0;
  /* A purge of a burst (the first of a hold, or the hold goes on), or, in a class the burst's
   * last purge looked at, the first after it: the spans it finds all free hold the teardown's
   * last frees, made after that purge while the rebuild began (r1: ~950 of a run's 10.9k page
   * faults were such pages, dropped two purges later as free spans of a heap that allocates
   * again). */
  if (!drop || (bt->hold_tail && (uint16_t)(G->h->purges - 1u) == G->h->burst_end)) {
    if (bt->hold_new) G->h->burst = G->h->purges;
    G->h->burst_end = G->h->purges;
  }
  /* The new chunks into their groups, at the front (the earliest freed first: at their end,
   * g8 took 103.5k page faults, not 94k, pinned to a CPU); a new group onto the chain at its
   * place (a chunk just freed: its page is resident). What the loop reads of the head is read
   * once (its stores to records could alias it). Chunks in runs: group_runs. */
  uint16_t now = G->h->purges;
  span_rec *low = G->h->r;
  g = fed;
  if (per > 1u && m >= 4u * RUN_SAMPLE && in_runs(map, fed, stop, per_log2))
    group_runs(G, map, fed, stop, per_log2), g = stop;
  for (; g != stop;) {
    uint32_t i = g >> per_log2;
    e = map + g;
    uint32_t next = vcmi_link(e->state);
    span_rec *x = i < HEAD_SPANS ? low + i : rec(G, i);
    if (i >= G->gap_end && !G->h->own) { /* the first record there: written before read */
      G->h->own = 1;
      x->cnt = 0;
    }
    uint32_t c = x->cnt;
    vcmi_entry_set(e, AGED | (c ? i << per_log2 | x->head : VCMI_NONE));
    if (!c) {
      x->tail = (uint16_t)(g - (i << per_log2));
      set_bit(G, 0, i, 1);
    } else if (!G->relink) { /* the group before now leads to g */
      link_from(G, group_before(G, get_bit(G, 1, i), i), g);
    }
    x->head = (uint16_t)(g - (i << per_log2));
    x->cnt = (uint16_t)++c;
    if (c == per) x->full = now;
    if (c == 1) chain_in(G, 0, i);
    g = next;
  }
  uint32_t top = t << per_log2 < fresh ? t << per_log2 : fresh; /* new fresh */
  G->h->chain = top - r->live[k]; /* the whole list, less the spans cut off the top */
  if (G->relink) { /* the resident groups, then the gone ones */
    vcmi_entry *tail = NULL; /* the last group's tail, NULL: none yet (the list's head) */
    for (int p = 0; p < 2; p++)
      for (uint32_t w = 0; w < G->nw; w++)
        for (uint64_t x = part_bits(G, p, w); x; x &= x - 1u) {
          uint32_t i = w * 64u + (unsigned)__builtin_ctzll(x), head = rec_head(G, i);
          if (tail)
            vcmi_set_link(tail, head);
          else
            r->free_head[k] = head;
          tail = map + rec_tail(G, i);
        }
    if (tail)
      vcmi_set_link(tail, VCMI_NONE);
    else
      r->free_head[k] = VCMI_NONE;
  }
  if (top < fresh) {
    if (whole)
      cut_run(r, k, t, run_hi, per_log2, run_gone, bt);
    else
      vcmi_purge_inside(bt, vcmi_chunk_addr(r, k, top), (size_t)(fresh - top) * vcmi_class_cap(r, k));
    /* the entries' pages: from the class's own first one if nothing is left (no other
     * class's entries are there, segment.h; a fine segment's first entries are in its header
     * page, which stays, and the shared classes' in the map's first page, which stays too:
     * VCMI_SEG_MAP_SHARED), to the end of the page of its last (the entries past fresh are
     * unused): a page across a cut's bound went at no later cut */
    const vcmi_entry *own = vcmi_seg_map_own(r, k);
    uintptr_t lo = (uintptr_t)(top ? vcmi_entry_at(r, k, top) : r->mapk[k] < own ? r->mapk[k] : own);
    uintptr_t page = vcmi_os_page();
    uintptr_t hi = ((uintptr_t)vcmi_entry_at(r, k, fresh) + page - 1u) & ~(page - 1u);
    uintptr_t end = (uintptr_t)vcmi_seg_map_end(r, k);
    vcmi_purge_inside(bt, (void *)lo, (hi < end ? hi : end) - lo);
    __atomic_store_n(&r->fresh[k], top, __ATOMIC_RELAXED);
    G->nw = ((top ? top - 1u : 0u) >> per_log2) / 64u + 1u;
  }
  chain_check(G, per_log2);
  return m != 0 || waiting;
}

