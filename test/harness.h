/* A tiny test harness: CHECK counts, the program ends with "N passed, N failed". */
#ifndef VCM_TEST_HARNESS_H
#define VCM_TEST_HARNESS_H
#include <stdio.h>
#include <stdlib.h>

static int t_passed, t_failed;

#define CHECK(cond)                                                                          \
  do {                                                                                       \
    if (cond) {                                                                              \
      t_passed++;                                                                            \
    } else {                                                                                 \
      t_failed++;                                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
    }                                                                                        \
  } while (0)

#define CHECK_EQ(a, b)                                                                       \
  do {                                                                                       \
    unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);           \
    if (a_ == b_) {                                                                          \
      t_passed++;                                                                            \
    } else {                                                                                 \
      t_failed++;                                                                            \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %llu, %s = %llu\n", __FILE__, __LINE__,  \
              #a, a_, #b, b_);                                                               \
    }                                                                                        \
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
  printf("%d passed, %d failed\n", t_passed, t_failed);
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
