/* Two ways to do one thing, the cheaper taken by what each cost here (docs/DESIGN.md §6): a
 * populate by huge or small pages (large.c), a small vector's move by copying or by remapping
 * its pages (chunk.c). What is cheap depends on the host (a fault, a TLB invalidation, fresh
 * memory: 10x apart between VMs), so each way's cost per unit is a moving average of what it
 * took; the way not measured yet is taken first, then the cheaper, and the dearer again every
 * PROBE takings times the ratio of their costs (at most RATIO_MAX), as costs move: a try costs
 * the dearer way's excess, so the further apart, the rarer. Any thread: a race on an average
 * loses a sample at most. Floor 1: includes nothing of vcm. */
#ifndef VCMI_COSTS_H
#define VCMI_COSTS_H
#include <stdint.h>

typedef struct {
  uint64_t ns[2];  /* each way's cost per unit, ns; 0: not measured yet */
  uint32_t passed; /* takings since the dearer way's last try */
} vcmi_costs;

#define VCMI_COSTS_PROBE 32u
#define VCMI_COSTS_RATIO_MAX 64u
#define VCMI_COSTS_TRY 2u /* with the way: a try (not measured, or the dearer) */

/* A moving average (3/4 old, 1/4 new) takes x; kept + 1, so 0 stays "none yet". */
static inline void vcmi_costs_avg(uint64_t *avg, uint64_t x) {
  uint64_t was = __atomic_load_n(avg, __ATOMIC_RELAXED);
  __atomic_store_n(avg, was ? (3u * was + x) / 4u + 1u : x + 1u, __ATOMIC_RELAXED);
}

/* One taking of way w cost ns a unit. */
static inline void vcmi_costs_note(vcmi_costs *c, unsigned w, uint64_t ns) {
  vcmi_costs_avg(&c->ns[w], ns);
}

/* The way for a task of u0 units done way 0 or u1 done way 1 (u0, u1 >= 1): 0 or 1, with
 * VCMI_COSTS_TRY for a try; way 1 is tried first. */
static inline unsigned vcmi_costs_pick(vcmi_costs *c, uint64_t u0, uint64_t u1) {
  uint64_t a = __atomic_load_n(&c->ns[0], __ATOMIC_RELAXED) * u0;
  uint64_t b = __atomic_load_n(&c->ns[1], __ATOMIC_RELAXED) * u1;
  if (!b) return 1u | VCMI_COSTS_TRY;
  if (!a) return 0u | VCMI_COSTS_TRY;
  unsigned cheap = b <= a;
  uint64_t ratio = cheap ? a / b : b / a;
  uint32_t every = VCMI_COSTS_PROBE * (uint32_t)(ratio < VCMI_COSTS_RATIO_MAX
                                                     ? ratio + 1u
                                                     : VCMI_COSTS_RATIO_MAX);
  if (__atomic_add_fetch(&c->passed, 1u, __ATOMIC_RELAXED) % every) return cheap;
  return (cheap ^ 1u) | VCMI_COSTS_TRY;
}

/* Pin the costs (tests: a choice the machine does not make) and restart the count. */
static inline void vcmi_costs_set(vcmi_costs *c, uint64_t ns0, uint64_t ns1) {
  __atomic_store_n(&c->ns[0], ns0, __ATOMIC_RELAXED);
  __atomic_store_n(&c->ns[1], ns1, __ATOMIC_RELAXED);
  __atomic_store_n(&c->passed, 0u, __ATOMIC_RELAXED);
}
#endif
