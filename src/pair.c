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
 * out anew) is simply PARKED: that buddy may grow into it. A lower chunk also grows into its
 * free upper buddy, taken off the free list. */
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

int vcmi_pair_park(vcmi_region *r, const vcmi_loc *loc) {
  VCMI_ASSERT(vcmi_pairs_here(r, loc->k) && (loc->g & 1u));
  if (!single(loc->e) || !single(loc->e - 1)) return 0;
  hold(r, loc->k, loc->g);
  return 1;
}

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

void *vcmi_pair_grow(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n) {
  unsigned k = (unsigned)loc->k;
  uint32_t up = __atomic_load_n(&loc->e[1].state, __ATOMIC_RELAXED), before;
  VCMI_ASSERT(vcmi_pairs_here(r, k) && !(loc->g & 1u));
  if (n > 2u * ((const vcmi_segment *)(const void *)r)->cap[k] || !single(loc->e)) return NULL;
  if (!vcmi_pair_held(up)) { /* free: off its list, then held */
    if (loc->g + 1u >= r->fresh[k] || (up & (VCMI_LIVE | VCMI_REMOTE | VCMI_PURGED)) ||
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

/* Class k's list: the held halves that stay (keep(lower's state)) keep their place, the
 * others go back to the free list. */
static uint32_t sweep_class(vcmi_region *r, unsigned k, int (*keep)(uint32_t lower)) {
  vcmi_entry *prev = NULL; /* the held half before, NULL: the list's head */
  uint32_t n = 0;
  for (uint32_t q = r->pairs[k]; q != VCMI_NONE;) {
    vcmi_loc up = {k, 2u * q + 1u, vcmi_entry_at(r, k, 2u * q + 1u)};
    q = vcmi_link(up.e->state);
    if (keep(__atomic_load_n(&up.e[-1].state, __ATOMIC_RELAXED))) {
      prev = up.e;
      continue;
    }
    if (prev)
      __atomic_store_n(&prev->state, VCMI_HELD | q, __ATOMIC_RELAXED);
    else
      r->pairs[k] = q;
    r->held[k]--;
    vcmi_release(r, &up);
    n++;
  }
  if (r->pairs[k] == VCMI_NONE) r->paired &= ~(1u << k);
  return n;
}

/* A held half stays while its lower buddy is live (single: PARKED; MERGED: ABSORBED) or freed
 * by another thread and not yet collected (it may be handed out again before the next sweep). */
static int in_use(uint32_t lower) { return (lower & (VCMI_LIVE | VCMI_REMOTE)) != 0; }
static int merged(uint32_t lower) { return (lower & (VCMI_LIVE | VCMI_MERGED)) == (VCMI_LIVE | VCMI_MERGED); }

uint32_t vcmi_pair_unpark(vcmi_region *r, unsigned k) { return sweep_class(r, k, merged); }

void vcmi_pair_sweep(vcmi_region *r) {
  for (uint32_t m = r->paired; m; m &= m - 1u) sweep_class(r, (unsigned)__builtin_ctz(m), in_use);
}
