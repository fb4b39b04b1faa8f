/* API, geometry and misuse tests of the region core. */
#include <stdint.h>
#include <string.h>

#include "capture.h"
#include "harness.h"
#include "vcm.h"

static _Alignas(4096) unsigned char disc[1 << 20];

static vcm_region fresh(size_t size, const vcm_geometry *g) {
  vcm_region r;
  memset(disc, 0xA5, sizeof disc); /* the core must not rely on a zeroed disc */
  vcm_status s = vcm_region_init(&r, disc, size, g);
  CHECK_EQ(s, VCM_OK);
  vcm_region_set_handler(&r, on_misuse, NULL);
  misuse.calls = 0;
  return r;
}

static void test_seed_example(void) {
  vcm_plan p;
  CHECK_EQ(vcm_region_plan(32 * 1024, NULL, &p), VCM_OK);
  CHECK_EQ(p.n_classes, 7);           /* 1024, 512, …, 16 */
  CHECK_EQ(p.channel_factor, 8);      /* log2(1024) - log2(16) + 2 */
  CHECK_EQ(p.channel_size, 8 * 1024); /* 8 × max */
  CHECK_EQ(p.chunks_per_channel, 127);/* 1 + 2 + … + 64 */
  CHECK_EQ(p.map_entry_bytes, 8);     /* min / 2 */
  CHECK_EQ(p.n_channels, 4);          /* floor(32 KiB / 8 KiB) */
  CHECK_EQ(p.data_bytes, 4 * 7 * 1024);
  CHECK_EQ(p.map_bytes, 4 * 127 * 8);
  CHECK(p.data_bytes + p.map_bytes <= 32 * 1024);
  CHECK_EQ(p.slack_bytes, 32 * 1024 - 4 * 7 * 1024 - 4 * 127 * 8);

  /* The region really holds 4 channels of 1×1024, 2×512 … 64×16. */
  vcm_region r = fresh(32 * 1024, NULL);
  vcm_region_stats st;
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.n_channels, 4);
  for (unsigned i = 0; i < 7; i++) {
    CHECK_EQ(st.class_size[i], 16u << i);
    CHECK_EQ(st.class_total[i], 4u * (64u >> i));
  }
  /* Every chunk can be taken exactly once: 4 × 64 sixteen-byte chunks, then fallback. */
  unsigned char *seen[256];
  for (int i = 0; i < 256; i++) {
    seen[i] = vcm_region_alloc(&r, 16);
    CHECK(seen[i] != NULL);
    CHECK_EQ(vcm_region_capacity(&r, seen[i]), 16);
    CHECK(vcm_region_channel_of(&r, seen[i]) == i / 64);
  }
  void *over = vcm_region_alloc(&r, 16); /* class exhausted: next class over (32) */
  CHECK_EQ(vcm_region_capacity(&r, over), 32);
  CHECK_EQ(vcm_region_used(&r, over), 16);
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
}

static void test_plan_any_size(void) {
  vcm_plan p;
  vcm_geometry big = {16, 1u << 20, 2};
  CHECK_EQ(vcm_region_plan(64u << 20, &big, &p), VCM_OK);
  CHECK_EQ(p.n_classes, 17);
  CHECK_EQ(p.channel_size, 18u << 20);
  CHECK_EQ(p.n_channels, 3);
  CHECK(p.map_bytes <= p.n_channels * (1u << 20)); /* the map fits its share */
  for (size_t size = 8192; size < (1u << 20); size += 4099) {
    CHECK_EQ(vcm_region_plan(size, NULL, &p), VCM_OK);
    CHECK_EQ(p.n_channels, size / 8192);
    CHECK_EQ(p.data_bytes + p.map_bytes + p.slack_bytes, size);
  }
}

static void test_refused(void) {
  vcm_region r;
  vcm_geometry g3 = {16, 1024, 3}, np2 = {24, 1024, 2}, order = {1024, 16, 2},
               small = {8, 1024, 2}, huge = {16, VCM_CLASS_MAX * 2, 2};
  CHECK_EQ(vcm_region_init(&r, disc, sizeof disc, &g3), VCM_E_FACTOR);
  CHECK_EQ(vcm_region_init(&r, disc, sizeof disc, &np2), VCM_E_POW2);
  CHECK_EQ(vcm_region_init(&r, disc, sizeof disc, &order), VCM_E_ORDER);
  CHECK_EQ(vcm_region_init(&r, disc, sizeof disc, &small), VCM_E_MIN);
  CHECK_EQ(vcm_region_init(&r, disc, sizeof disc, &huge), VCM_E_MAX);
  CHECK_EQ(vcm_region_init(&r, disc, 8191, NULL), VCM_E_SMALL);
  CHECK_EQ(vcm_region_init(&r, disc + 8, sizeof disc - 8, NULL), VCM_E_ALIGN);
  CHECK_EQ(vcm_region_init(&r, NULL, sizeof disc, NULL), VCM_E_NULL);
  CHECK_EQ(vcm_region_init(&r, disc, 8192, NULL), VCM_OK);
  CHECK(strstr(vcm_strerror(VCM_E_SMALL), "too small") != NULL);
}

static void test_alloc_realloc(void) {
  vcm_region r = fresh(sizeof disc, NULL);
  CHECK(vcm_region_alloc(&r, 1025) == NULL);
  void *z = vcm_region_alloc(&r, 0), *z2 = vcm_region_alloc(&r, 0);
  CHECK(z && z2 && z != z2);
  CHECK_EQ(vcm_region_used(&r, z), 0);
  CHECK_EQ(vcm_region_capacity(&r, z), 16);

  char *p = vcm_region_alloc(&r, 20);
  CHECK_EQ(vcm_region_capacity(&r, p), 32);
  memcpy(p, "0123456789abcdefghij", 20);
  CHECK(vcm_region_realloc(&r, p, 32) == p); /* fits the capacity: in place */
  CHECK_EQ(vcm_region_used(&r, p), 32);
  CHECK_EQ(vcm_region_expand(&r, p, 33), -1); /* expand never moves */
  CHECK_EQ(vcm_region_expand(&r, p, 30), 0);
  CHECK_EQ(vcm_region_used(&r, p), 30);
  vcm_region_stats st;
  vcm_region_stats_get(&r, &st);
  size_t copied = st.bytes_copied;
  char *q = vcm_region_realloc(&r, p, 100); /* moves to 128, copies the 30 used bytes */
  CHECK(q != p);
  CHECK_EQ(vcm_region_capacity(&r, q), 128);
  CHECK(memcmp(q, "0123456789abcdefghij", 20) == 0);
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.bytes_copied - copied, 30);
  CHECK(vcm_region_realloc(&r, q, 40) == q); /* 40 > 128/4: stays */
  char *s = vcm_region_realloc(&r, q, 10);   /* a quarter or less: moves down */
  CHECK(s != q);
  CHECK_EQ(vcm_region_capacity(&r, s), 16);
  CHECK(memcmp(s, "0123456789", 10) == 0);
  CHECK(vcm_region_realloc(&r, s, 2000) == NULL); /* too big: fails, s untouched */
  CHECK(memcmp(s, "0123456789", 10) == 0);
  void *n = vcm_region_realloc(&r, NULL, 64);
  CHECK_EQ(vcm_region_capacity(&r, n), 64);

  unsigned char *c = vcm_region_calloc(&r, 10, 10);
  CHECK(c != NULL);
  for (int i = 0; i < 100; i++) CHECK(c[i] == 0);
  CHECK(vcm_region_calloc(&r, SIZE_MAX / 2, 3) == NULL); /* overflow */
  CHECK(vcm_region_calloc(&r, 0, 5) != NULL);

  for (size_t a = 16; a <= 1024; a *= 2) {
    void *x = vcm_region_aligned_alloc(&r, a, 3);
    CHECK(x && (uintptr_t)x % a == 0);
    CHECK_EQ(vcm_region_used(&r, x), 3);
  }
  CHECK(vcm_region_aligned_alloc(&r, 24, 8) == NULL);
  CHECK(vcm_region_aligned_alloc(&r, 2048, 8) == NULL);
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  CHECK_EQ(misuse.calls, 0);
}

static void test_exhaustion(void) {
  vcm_region r = fresh(16384, NULL); /* 2 channels */
  void *ps[2 * 127];
  size_t n = 0, cap = 0;
  while (n < 2 * 127 && (ps[n] = vcm_region_alloc(&r, 1)) != NULL) cap += vcm_region_capacity(&r, ps[n++]);
  CHECK_EQ(n, 2 * 127);                 /* every chunk of every class, smallest first */
  CHECK_EQ(cap, 2 * 7 * 1024);
  CHECK(vcm_region_alloc(&r, 1) == NULL);
  vcm_region_stats st;
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.failed, 1);
  CHECK_EQ(st.peak_capacity, 2 * 7 * 1024);
  vcm_region_free(&r, ps[100]);
  void *again = vcm_region_alloc(&r, 1);
  CHECK(again == ps[100]);              /* the one free chunk comes back */
  for (size_t i = 0; i < n; i++) vcm_region_free(&r, ps[i]);
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.live_chunks, 0);
  CHECK_EQ(st.live_capacity, 0);
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  CHECK_EQ(misuse.calls, 0);
}

static void test_misuse(void) {
  vcm_region r = fresh(sizeof disc, NULL);
  char *p = vcm_region_alloc(&r, 100);
  char *keep = vcm_region_alloc(&r, 100);
  memset(keep, 7, 100);
  static char elsewhere[64];
  int local;

  vcm_region_free(&r, p);
  vcm_region_free(&r, p); /* double free */
  CHECK_EQ(misuse.calls, 1);
  CHECK(misuse.ptr == p);
  CHECK(strstr(misuse.reason, "double free") != NULL);

  CHECK(vcm_region_realloc(&r, p, 10) == NULL); /* realloc of a freed pointer */
  CHECK_EQ(misuse.calls, 2);
  CHECK(misuse.ptr == p);

  vcm_region_free(&r, keep + 1); /* interior */
  CHECK_EQ(misuse.calls, 3);
  CHECK(misuse.ptr == keep + 1);
  CHECK(strstr(misuse.reason, "interior") != NULL);

  vcm_region_free(&r, elsewhere); /* foreign (static) */
  CHECK_EQ(misuse.calls, 4);
  CHECK(misuse.ptr == elsewhere);
  CHECK(strstr(misuse.reason, "foreign") != NULL);
  vcm_region_free(&r, &local); /* foreign (stack) */
  CHECK_EQ(misuse.calls, 5);
  CHECK(misuse.ptr == &local);

  /* A never-handed-out chunk position is not live either. */
  vcm_region_free(&r, (char *)keep + 8 * 128);
  CHECK_EQ(misuse.calls, 6);
  CHECK_EQ(vcm_region_used(&r, p), 0);
  CHECK_EQ(misuse.calls, 7);
  CHECK_EQ(vcm_region_expand(&r, p, 1), -1);
  CHECK_EQ(misuse.calls, 8);

  /* Nothing was corrupted. */
  for (int i = 0; i < 100; i++) CHECK(keep[i] == 7);
  CHECK_EQ(vcm_region_used(&r, keep), 100);
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  vcm_region_free(&r, NULL);
  CHECK_EQ(misuse.calls, 8);
}

/* An overflow writes every byte of the data area past a chunk: the map and head are elsewhere
 * (the data area comes first), so every other chunk's record and the free lists survive. */
static void test_overflow_cannot_corrupt(void) {
  vcm_region r = fresh(32 * 1024, NULL);
  unsigned char *a = vcm_region_alloc(&r, 16), *b = vcm_region_alloc(&r, 500);
  vcm_region_free(&r, vcm_region_alloc(&r, 64));
  vcm_plan p;
  vcm_region_plan(32 * 1024, NULL, &p);
  memset(a, 0xFF, (size_t)(disc + p.data_bytes - a)); /* to the end of the chunks */
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  CHECK_EQ(vcm_region_used(&r, b), 500);
  vcm_region_free(&r, b);
  vcm_region_free(&r, a);
  CHECK_EQ(misuse.calls, 0);
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
}

static void test_checker_catches(void) {
  vcm_region r = fresh(32 * 1024, NULL);
  void *a = vcm_region_alloc(&r, 16);
  vcm_region_free(&r, vcm_region_alloc(&r, 16));
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  /* Corrupt the map on purpose: the live chunk's entry loses its live bit. */
  vcm_plan p;
  vcm_region_plan(32 * 1024, NULL, &p);
  uint32_t *map = (uint32_t *)(disc + p.data_bytes);
  uint32_t *e = map + 2 * (4 * 63 + 0); /* class 16 B (k = 6) begins at 4 × (2^6 - 1) */
  CHECK(e[0] & 0x80000000u);
  e[0] &= ~0x80000000u;
  const char *why = NULL;
  CHECK_EQ(vcm_region_check(&r, &why), -1);
  CHECK(why != NULL);
  e[0] |= 0x80000000u;
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  (void)a;
}

int main(void) {
  test_seed_example();
  test_plan_any_size();
  test_refused();
  test_alloc_realloc();
  test_exhaustion();
  test_misuse();
  test_overflow_cannot_corrupt();
  test_checker_catches();
  return t_report();
}
