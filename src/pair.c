/* Buddy pairs (docs/DESIGN.md §6, "Pairs"). Class k's chunks g and g + 1 (g even) lie side by
 * side, 2 cap[k] aligned: together they are a chunk of the next class up. Vectors leave a class
 * for the next in random order, so the chunks they leave are spread over the class's pages,
 * next to chunks that stay; no later arrival into the class reuses them (all came before). An
 * upper chunk (g + 1) that grows out of its class while its lower buddy is live is HELD (PARKED),
 * off the free list; when the buddy grows out too it takes the pair in place, a MERGED chunk of
 * twice the capacity, the upper entry still HELD (ABSORBED). So a page of a small class keeps
 * serving the vectors that leave it. A lower chunk leaving first is freed as before: parked,
 * its buddy would have to move down into it, no copy saved, and a wave of vectors leaving a
 * class in address order (g6) then kept its pages while the next class carved fresh ones
 * (+1.5 MiB at g6's peak, for 2.2 MiB less at g3's).
 * Each class lists its pairs with a HELD half, linked through that half's entry; a purge
 * sweeps the list. A held half whose lower buddy is live and single again (freed and handed
 * out anew) is simply PARKED: that buddy may grow into it. Free buddies serve as well: a lower
 * chunk grows into its free upper one, a MERGED pair into the free pair above (a QUAD), and a
 * growing realloc whose class would carve takes two free buddies of the class below as one
 * MERGED chunk (vcmi_pair_take), both taken off their free list (an append into 2 KiB, four of
 * 512 bytes as a QUAD); an upper 2 KiB chunk growing
 * out moves down into the pair with its free lower buddy (vcmi_pair_slide). In the classes of a
 * page to 64 KiB only the grow into a free upper buddy (dropped too) is made; in the colour
 * classes only a malloc's take of two free buddies (pair.h, vcmi_pair_colour_here). */
#include <string.h>

#include "pair.h"
#include "purge.h"

/* loc's chunk is live and single. Its buddy's state may change under a remote free: relaxed
 * loads, as free's. */
static int single(const vcmi_entry *e) {
  return (__atomic_load_n(&e->state, __ATOMIC_RELAXED) & (VCMI_LIVE | VCMI_MERGED)) == VCMI_LIVE;
}

/* Hold the upper half g (odd) of class k, counted live already: list its pair. */
static void hold(vcmi_region *r, size_t k, uint32_t g) {
  uint32_t bit = 1u << k;
  if (!(r->paired & bit)) {
    r->paired |= bit;
    r->pairs[k] = VCMI_NONE;
  }
  /* atomic: a misused free by another thread may read it */
  __atomic_store_n(&vcmi_entry_at(r, (unsigned)k, g)->state, VCMI_HELD | r->pairs[k],
                   __ATOMIC_RELAXED);
  r->pairs[k] = g >> 1;
  r->held[k]++;
}

/* A MERGED pair's entry, not a quad (read relaxed, as single's). */
static int merged_pair(const vcmi_entry *e) {
  return (__atomic_load_n(&e->state, __ATOMIC_RELAXED) & (VCMI_LIVE | VCMI_MERGED | VCMI_QUAD)) ==
         (VCMI_LIVE | VCMI_MERGED);
}

/* Hold the lower half g (4q + 2) of a pair whose upper half is held already: not listed (the
 * upper one's entry stands for both, pair.h), counted live already. */
static void hold_lower(vcmi_region *r, size_t k, uint32_t g) {
  __atomic_store_n(&vcmi_entry_at(r, (unsigned)k, g)->state, VCMI_HELD | VCMI_NONE,
                   __ATOMIC_RELAXED);
  r->held[k]++;
}

int vcmi_pair_park(vcmi_region *r, const vcmi_loc *loc) {
  VCMI_ASSERT(vcmi_pairs_here(r, loc->k) && (loc->g & 1u));
  if (!single(loc->e) || !single(loc->e - 1)) return 0;
  hold(r, loc->k, loc->g);
  return 1;
}

/* How many pairs of the map a take looks at, from where the last stopped: 4 KiB of entries,
 * about a page fault's time, and a take is about to carve fresh chunks (a fault a page). Only
 * chunks AGED (free at a purge and not taken since: ones the class does not reuse) pair:
 * taking those freed since, g8's next rounds faulted 10-15 % more pages in. A scan that finds
 * none waits for the class's next purge (no pair is AGED before): g3 walking its free lists
 * 512 steps at every miss took 1.17x its CPU. */
#define TAKE_SCAN 512u

/* Take chunk c off class k's free list, prev before it (VCMI_NONE: the head). */
static void take_off(vcmi_region *r, unsigned k, uint32_t c, uint32_t prev) {
  vcmi_entry *map = r->mapk[k];
  uint32_t next = vcmi_link(map[c].state);
  const uint32_t marked = VCMI_AGED | VCMI_PURGED; /* in a purge's group, as a marked prev */
  if (map[c].state & marked)
    vcmi_purge_unlink((vcmi_segment *)(void *)r, k, c,
                      prev != VCMI_NONE && (map[prev].state & marked) ? prev : VCMI_NONE, next);
  if (prev == VCMI_NONE)
    r->free_head[k] = next;
  else
    vcmi_set_link(&map[prev], next);
}

/* How far from the head a grow looks for the chunk before a free upper half that no purge has
 * grouped yet (one freed since the last). */
#define GROW_WALK 32u

/* Take the free buddies lo (even) and lo + 1 of class k off its free list if each one's place
 * on it is found cheaply (vcmi_purge_prev), counted live: 1; else 0, nothing done. */
static int take_two(vcmi_region *r, unsigned k, uint32_t lo) {
  vcmi_segment *s = (vcmi_segment *)(void *)r;
  uint32_t pl, pu;
  if (vcmi_purge_prev(s, k, lo + 1u, GROW_WALK, &pu) != 0 ||
      vcmi_purge_prev(s, k, lo, GROW_WALK, &pl) != 0)
    return 0;
  if (pl == lo + 1u) { /* the upper half right before: the lower goes first */
    take_off(r, k, lo, pl);
    take_off(r, k, lo + 1u, pu);
  } else {
    take_off(r, k, lo + 1u, pu);
    take_off(r, k, lo, pl);
  }
  r->live[k] += 2u;
  return 1;
}

/* Free and not dropped, handed out (below fresh[k]): an entry a grow may take. */
static int free_here(const vcmi_region *r, unsigned k, uint32_t g, uint32_t state) {
  return g < r->fresh[k] && !(state & (VCMI_LIVE | VCMI_REMOTE | VCMI_PURGED));
}
/* Or dropped, in a class above VCMI_PAIR_CAP_MAX (its chunks are whole pages). */
static int free_grow(const vcmi_region *r, unsigned k, uint32_t g, uint32_t state) {
  return ((const vcmi_segment *)(const void *)r)->cap[k] > VCMI_PAIR_CAP_MAX
             ? g < r->fresh[k] && !(state & (VCMI_LIVE | VCMI_REMOTE))
             : free_here(r, k, g, state);
}

/* The MERGED pair at loc (g = 4q) grows to n, within four times the class: into the pair above,
 * parked for it (both halves HELD) or both free (taken off the list, then held), a QUAD. */
static void *quad_grow(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n) {
  unsigned k = (unsigned)loc->k;
  uint32_t lo = __atomic_load_n(&loc->e[2].state, __ATOMIC_RELAXED);
  uint32_t hi = __atomic_load_n(&loc->e[3].state, __ATOMIC_RELAXED);
  size_t cap = ((const vcmi_segment *)(const void *)r)->cap[k];
  if ((loc->g & 3u) || cap > VCMI_QUAD_CAP_MAX || n > 4u * cap) return NULL;
  if (!(vcmi_pair_held(lo) && vcmi_pair_held(hi))) { /* else parked for this pair */
    if (!free_here(r, k, loc->g + 3u, hi) || !free_here(r, k, loc->g + 2u, lo) ||
        !take_two(r, k, loc->g + 2u))
      return NULL;
    hold(r, k, loc->g + 3u);
    hold_lower(r, k, loc->g + 2u);
  }
  __atomic_store_n(&loc->e->state, VCMI_LIVE | VCMI_MERGED | VCMI_QUAD | (uint32_t)n,
                   __ATOMIC_RELAXED);
  vcmi_tls_heap->realloc_inplace++;
  return p;
}

void *vcmi_pair_grow(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n) {
  unsigned k = (unsigned)loc->k;
  uint32_t up = __atomic_load_n(&loc->e[1].state, __ATOMIC_RELAXED), before;
  VCMI_ASSERT(vcmi_pair_grows_here(r, k) && !(loc->g & 1u));
  if (merged_pair(loc->e)) return quad_grow(r, loc, p, n);
  if (n > 2u * ((const vcmi_segment *)(const void *)r)->cap[k] || !single(loc->e)) return NULL;
  if (!vcmi_pair_held(up)) { /* free: off its list, then held */
    if (!free_grow(r, k, loc->g + 1u, up) ||
        vcmi_purge_prev((vcmi_segment *)(void *)r, k, loc->g + 1u, GROW_WALK, &before) != 0)
      return NULL;
    take_off(r, k, loc->g + 1u, before);
    r->live[k]++;
    hold(r, k, loc->g + 1u);
  }
  __atomic_store_n(&loc->e->state, VCMI_LIVE | VCMI_MERGED | (uint32_t)n, __ATOMIC_RELAXED);
  vcmi_tls_heap->realloc_inplace++;
  return p;
}

void *vcmi_pair_slide(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n) {
  unsigned k = (unsigned)loc->k;
  size_t cap = ((const vcmi_segment *)(const void *)r)->cap[k];
  uint32_t lo = __atomic_load_n(&loc->e[-1].state, __ATOMIC_RELAXED), before;
  VCMI_ASSERT(vcmi_pair_may_slide(r, loc, n) && single(loc->e));
  if (!free_here(r, k, loc->g - 1u, lo) ||
      vcmi_purge_prev((vcmi_segment *)(void *)r, k, loc->g - 1u, GROW_WALK, &before) != 0)
    return NULL;
  size_t used = __atomic_load_n(&loc->e->state, __ATOMIC_RELAXED) & VCMI_USED_MASK;
  take_off(r, k, loc->g - 1u, before);
  r->live[k]++;
  unsigned char *q = (unsigned char *)p - cap;
  memmove(q, p, used); /* overlapping when used > cap / 2 */
  __atomic_store_n(&loc->e[-1].state, VCMI_LIVE | VCMI_MERGED | (uint32_t)n, __ATOMIC_RELAXED);
  hold(r, k, loc->g); /* counted live already */
  vcmi_heap_count_move(used);
  return q;
}

/* How far down its class's list of held halves a MERGED chunk leaving looks for its upper half
 * (held last, it is mostly near the head). */
#define LEAVE_WALK 64u

size_t vcmi_pair_leave(vcmi_region *r, const vcmi_loc *loc) {
  unsigned k = (unsigned)loc->k;
  uint32_t want = loc->g >> 1, q = r->pairs[k];
  vcmi_entry *prev = NULL; /* the held half before, NULL: the list's head */
  VCMI_ASSERT((r->xscale == 0 ? (VCMI_PAIR_LEAVE_MASK >> k & 1u) != 0 : vcmi_pair_colour_here(r)) &&
              !(loc->g & 1u));
  if (!(r->paired >> k & 1u)) q = VCMI_NONE; /* no held half: pairs[k] unset */
  for (uint32_t i = 0; i < LEAVE_WALK && q != VCMI_NONE; i++) {
    vcmi_loc up = {k, 2u * q + 1u, vcmi_entry_at(r, k, 2u * q + 1u)};
    uint32_t next = vcmi_link(up.e->state);
    if (q == want) {
      if (prev)
        __atomic_store_n(&prev->state, VCMI_HELD | next, __ATOMIC_RELAXED);
      else if ((r->pairs[k] = next) == VCMI_NONE)
        r->paired &= ~(1u << k);
      r->held[k]--;
      vcmi_release(r, &up);
      return ((const vcmi_segment *)(const void *)r)->cap[k];
    }
    prev = up.e;
    q = next;
  }
  return 0;
}

/* The span of 2^l chunks (purge.h) chunk g of class k lies in holds one in use (live, held
 * or a remote free): no purge drops it, so its free chunks serve only if taken. Pairs within a
 * span all free would cut the runs a purge drops whole (g8: +4 MiB at its peak). */
static int span_in_use(const vcmi_region *r, unsigned k, uint32_t g, unsigned l) {
  const vcmi_entry *map = r->mapk[k];
  uint32_t end = ((g >> l) + 1u) << l;
  for (uint32_t i = (g >> l) << l; i < end && i < r->fresh[k]; i++)
    if (__atomic_load_n(&map[i].state, __ATOMIC_RELAXED) & (VCMI_LIVE | VCMI_REMOTE)) return 1;
  return 0;
}

/* Take the four free chunks lo .. lo + 3 (lo = 4q) of class k off its free list as take_two
 * does, counted live: 1; else 0, nothing done (a pair taken first goes back on the list). */
static int take_four(vcmi_region *r, unsigned k, uint32_t lo) {
  if (!take_two(r, k, lo + 2u)) return 0;
  if (take_two(r, k, lo)) return 1;
  for (uint32_t g = lo + 2u; g < lo + 4u; g++) { /* live since take_two: freed anew */
    vcmi_loc up = {k, g, vcmi_entry_at(r, k, g)};
    vcmi_entry_set(up.e, VCMI_LIVE);
    vcmi_release(r, &up);
  }
  return 0;
}

/* The 2^lg chunks from g of class k, taken off the free list and counted live, as one chunk
 * with used = n: MERGED (a QUAD if lg = 2), the others HELD. */
static void *taken_as_one(vcmi_region *r, unsigned k, uint32_t g, unsigned lg, size_t n) {
  __atomic_store_n(&r->mapk[k][g].state,
                   VCMI_LIVE | VCMI_MERGED | (lg == 2u ? VCMI_QUAD : 0u) | (uint32_t)n,
                   __ATOMIC_RELAXED);
  hold(r, k, g + 1u);
  if (lg == 2u) {
    hold(r, k, g + 3u);
    hold_lower(r, k, g + 2u);
  }
  return vcmi_chunk_addr(r, k, g);
}

/* How many of the chunks last freed into class k a malloc's take looks at (vcmi_pair_take_head):
 * a wave leaving the class frees them in pairs, side by side. The list is a stack between
 * purges: its unmarked head, then the groups the last purge marked. */
#define HEAD_LOOK 4u

void *vcmi_pair_take_head(vcmi_region *r, unsigned k, size_t n) {
  VCMI_ASSERT((vcmi_pairs_here(r, k) || vcmi_pair_colour_here(r)) &&
              n <= 2u * ((const vcmi_segment *)(const void *)r)->cap[k]);
  const vcmi_entry *map = r->mapk[k];
  uint32_t c = r->free_head[k], prev = VCMI_NONE;
  for (unsigned i = 0; i < HEAD_LOOK && c != VCMI_NONE; i++) {
    uint32_t st = map[c].state, b = c ^ 1u, next = vcmi_link(st);
    if (st & (VCMI_AGED | VCMI_PURGED)) break; /* free at a purge: left to the purges */
    if (free_here(r, k, b, __atomic_load_n(&map[b].state, __ATOMIC_RELAXED))) {
      if (next == b) { /* both places known (a wave frees buddies one after the other): b off
                        * first, c's prev stays valid; no walk (x4 at 0.3: -3 % instructions) */
        take_off(r, k, b, c);
        take_off(r, k, c, prev);
        r->live[k] += 2u;
        return taken_as_one(r, k, c & ~1u, 1u, n);
      }
      if (take_two(r, k, c & ~1u)) return taken_as_one(r, k, c & ~1u, 1u, n);
    }
    prev = c;
    c = next;
  }
  return NULL;
}

void *vcmi_pair_take(vcmi_region *r, unsigned k, unsigned lg, size_t n) {
  size_t cap = ((const vcmi_segment *)(const void *)r)->cap[k];
  VCMI_ASSERT(vcmi_pairs_here(r, k) && (lg == 1u || lg == 2u) && n <= cap << lg &&
              (cap << lg) <= VCMI_TAKE_CAP_MAX);
  const vcmi_entry *map = r->mapk[k];
  uint32_t units = r->fresh[k] >> lg, *at = &r->pair_at[k - VCMI_PAIR_K_MIN], w = 1u << lg;
  unsigned l = vcmi_purge_span_log2((const vcmi_segment *)(const void *)r, k);
  if (units == 0 || l < lg) return NULL;
  const uint32_t taken = VCMI_LIVE | VCMI_REMOTE | VCMI_PURGED; /* in use, held or dropped */
  uint32_t q = (*at >> (lg - 1u)) < units ? *at >> (lg - 1u) : 0, span = VCMI_NONE, used = 0;
  for (uint32_t i = 0; i < TAKE_SCAN && i < units; i++, q = q + 1u < units ? q + 1u : 0) {
    uint32_t g = q << lg, any = 0, all = VCMI_AGED;
    for (uint32_t j = 0; j < w; j++) {
      uint32_t st = __atomic_load_n(&map[g + j].state, __ATOMIC_RELAXED);
      any |= st, all &= st;
    }
    if ((any & taken) || !all) continue;
    if (g >> l != span) span = g >> l, used = span_in_use(r, k, g, l);
    if ((!used && l != lg) || !(lg == 1u ? take_two(r, k, g) : take_four(r, k, g))) continue;
    *at = (q + 1u) << (lg - 1u);
    return taken_as_one(r, k, g, lg, n);
  }
  *at = q << (lg - 1u);
  r->pair_dry[k - VCMI_PAIR_K_MIN] |= lg; /* until a purge marks chunks AGED again */
  return NULL;
}

void *vcmi_pair_take_colour(vcmi_region *r, unsigned k, size_t n) {
  VCMI_ASSERT(vcmi_pair_colour_here(r) && k >= VCMI_PAIR_K_MIN &&
              n <= 2u * ((const vcmi_segment *)(const void *)r)->cap[k]);
  const vcmi_entry *map = r->mapk[k];
  uint32_t units = r->fresh[k] >> 1, *at = &r->pair_at[k - VCMI_PAIR_K_MIN];
  if (units == 0 || (r->pair_dry[k - VCMI_PAIR_K_MIN] & 1u)) return NULL;
  const uint32_t taken = VCMI_LIVE | VCMI_REMOTE | VCMI_PURGED; /* in use, held or dropped */
  uint32_t q = *at < units ? *at : 0;
  for (uint32_t i = 0; i < TAKE_SCAN && i < units; i++, q = q + 1u < units ? q + 1u : 0) {
    uint32_t g = q << 1;
    if (((__atomic_load_n(&map[g].state, __ATOMIC_RELAXED) |
          __atomic_load_n(&map[g + 1u].state, __ATOMIC_RELAXED)) & taken) ||
        !take_two(r, k, g))
      continue;
    *at = q + 1u;
    return taken_as_one(r, k, g, 1u, n);
  }
  *at = q;
  r->pair_dry[k - VCMI_PAIR_K_MIN] |= 1u; /* until a purge looks at the class again */
  return NULL;
}

/* Class k's list: the held halves that stay (keep(their owner's state, quad)) keep their place,
 * the others go back to the free list. A listed half g = 4q + 3 whose lower half is HELD too
 * stands for both: their owner is the MERGED pair (or QUAD) at 4q (quad = 1); any other's is
 * its lower buddy. */
static inline __attribute__((always_inline)) uint32_t
sweep_class(vcmi_region *r, unsigned k, int (*keep)(uint32_t owner, int quad)) {
  vcmi_entry *prev = NULL; /* the held half before, NULL: the list's head */
  uint32_t n = 0;
  for (uint32_t q = r->pairs[k]; q != VCMI_NONE;) {
    vcmi_loc up = {k, 2u * q + 1u, vcmi_entry_at(r, k, 2u * q + 1u)};
    q = vcmi_link(up.e->state);
    int quad = (up.g & 3u) == 3u && vcmi_pair_held(__atomic_load_n(&up.e[-1].state, __ATOMIC_RELAXED));
    if (keep(__atomic_load_n(&up.e[quad ? -3 : -1].state, __ATOMIC_RELAXED), quad)) {
      prev = up.e;
      continue;
    }
    if (prev)
      __atomic_store_n(&prev->state, VCMI_HELD | q, __ATOMIC_RELAXED);
    else
      r->pairs[k] = q;
    r->held[k] -= 1u + (uint32_t)quad;
    vcmi_release(r, &up);
    if (quad) {
      vcmi_loc lo = {k, up.g - 1u, up.e - 1};
      vcmi_release(r, &lo);
    }
    n += 1u + (uint32_t)quad;
  }
  if (r->pairs[k] == VCMI_NONE) r->paired &= ~(1u << k);
  return n;
}

/* A held half stays while its owner is live (single: PARKED; MERGED or QUAD: ABSORBED) or freed
 * by another thread and not yet collected (it may be handed out again before the next sweep). */
static int in_use(uint32_t owner, int quad) {
  (void)quad;
  return (owner & (VCMI_LIVE | VCMI_REMOTE)) != 0;
}
/* ABSORBED: inside its owner's chunk (a pair parked for a MERGED pair is not, until the QUAD). */
static int absorbed(uint32_t owner, int quad) {
  uint32_t want = VCMI_LIVE | VCMI_MERGED | (quad ? VCMI_QUAD : 0u);
  return (owner & want) == want;
}

uint32_t vcmi_pair_unpark(vcmi_region *r, unsigned k) { return sweep_class(r, k, absorbed); }

size_t vcmi_pair_sweep(vcmi_region *r, uint32_t mask) {
  size_t bytes = 0;
  for (uint32_t m = r->paired & mask; m; m &= m - 1u) {
    unsigned k = (unsigned)__builtin_ctz(m);
    bytes += (size_t)sweep_class(r, k, in_use) * ((const vcmi_segment *)(const void *)r)->cap[k];
  }
  return bytes;
}
