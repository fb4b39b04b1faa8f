/* A tiny test harness. Each CHECK in the source is one test case: it passes if it held every
 * time it ran, and a CHECK in a loop counts once, however many times it runs (a failure is
 * printed each time). The program ends with "N passed, N failed" (t_report). Counts are
 * atomic: CHECKs may run on several threads. */
#ifndef VCM_TEST_HARNESS_H
#define VCM_TEST_HARNESS_H
#include <stdio.h>
#include <stdlib.h>

static int t_passed, t_failed;

/* More bytes than the address space holds (a power of two: an alignment too): 2^62 on 64-bit,
 * 2^31 on 32-bit. */
#include <stdint.h>
#if SIZE_MAX > 0xffffffffu
#define T_HUGE ((size_t)1 << 62)
#else
#define T_HUGE ((size_t)1 << 31)
#endif

/* Record one run of the CHECK whose state is *site (0 not run, 1 held so far, 2 failed). */
static inline void t_tally(unsigned char *site, int ok) {
  unsigned char s = __atomic_load_n(site, __ATOMIC_RELAXED);
  if (ok) {
    if (s == 0 && __atomic_compare_exchange_n(site, &s, 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      __atomic_fetch_add(&t_passed, 1, __ATOMIC_RELAXED);
    return;
  }
  s = __atomic_exchange_n(site, 2, __ATOMIC_RELAXED);
  if (s == 1) __atomic_fetch_sub(&t_passed, 1, __ATOMIC_RELAXED);
  if (s != 2) __atomic_fetch_add(&t_failed, 1, __ATOMIC_RELAXED);
}

#define CHECK(cond)                                                                          \
  do {                                                                                       \
    static unsigned char t_site_;                                                            \
    int t_ok_ = (cond) ? 1 : 0;                                                              \
    t_tally(&t_site_, t_ok_);                                                                \
    if (!t_ok_) fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
  } while (0)

#define CHECK_EQ(a, b)                                                                       \
  do {                                                                                       \
    static unsigned char t_site_;                                                            \
    unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);           \
    t_tally(&t_site_, a_ == b_);                                                             \
    if (a_ != b_)                                                                            \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %llu, %s = %llu\n", __FILE__, __LINE__, \
              #a, a_, #b, b_);                                                               \
  } while (0)

/* A seeded byte pattern: t_fill writes it, t_same checks it is still there. */
static inline void t_fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 13 + (i >> 9));
}
static inline int t_same(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)(seed + i * 13 + (i >> 9))) return 0;
  return 1;
}

static inline int t_report(void) {
  printf("%d passed, %d failed\n", __atomic_load_n(&t_passed, __ATOMIC_RELAXED),
         __atomic_load_n(&t_failed, __ATOMIC_RELAXED));
  return t_failed != 0;
}

/* xorshift64*: a small seeded generator for tests. */
static inline unsigned long long t_rand(unsigned long long *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}
#endif
