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
  CHECK_EQ(p.map_entry_bytes, 2);     /* a 16-bit slot per 16-byte granule */
  CHECK_EQ(p.n_channels, 4);          /* floor(32 KiB / 8 KiB) */
  CHECK_EQ(p.data_bytes, 4 * 7 * 1024);
  /* Slots 28 KiB / 16 × 2 B = 3584 B; free bitmap 28 blocks × 127 bits = 3556 bits = 56
   * words + 1 summary word = 456 B (docs/DESIGN.md §2). */
  CHECK_EQ(p.map_bytes, 3584 + 456);
  CHECK(p.map_bytes <= 4 * 1024);     /* within the seed's share: one max per channel */
  CHECK_EQ(p.slack_bytes, 32 * 1024 - 4 * 7 * 1024 - 3584 - 456);

  /* A fresh region is 28 free 1024-byte blocks: 4 channels × 7 class areas. */
  vcm_region r = fresh(32 * 1024, NULL);
  vcm_region_stats st;
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.n_channels, 4);
  for (unsigned i = 0; i < 7; i++) {
    CHECK_EQ(st.class_size[i], 16u << i);
    CHECK_EQ(st.class_total[i], i == 6 ? 28u : 0u);
  }
  /* Class k is cut from its own area first, so the seed's layout appears: the 16-byte
   * chunks fill area 6, channel by channel, 64 to a channel. */
  unsigned char *seen[256];
  for (int i = 0; i < 256; i++) {
    seen[i] = vcm_region_alloc(&r, 16);
    CHECK(seen[i] != NULL);
    CHECK_EQ(vcm_region_capacity(&r, seen[i]), 16);
    CHECK(vcm_region_channel_of(&r, seen[i]) == i / 64);
    CHECK(i == 0 || seen[i] == seen[i - 1] + 16);
  }
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.class_total[0], 256);
  CHECK_EQ(st.class_total[6], 24);
  /* Area 6 is full: the next 16-byte chunk is split from another block (area 0's first). */
  unsigned char *over = vcm_region_alloc(&r, 16);
  CHECK_EQ(vcm_region_capacity(&r, over), 16);
  CHECK_EQ(vcm_region_used(&r, over), 16);
  CHECK_EQ(vcm_region_channel_of(&r, over), 0);
  CHECK(over < seen[0]);
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
}

static void test_plan_any_size(void) {
  vcm_plan p;
  vcm_geometry big = {16, 1u << 20, 2};
  CHECK_EQ(vcm_region_plan(64u << 20, &big, &p), VCM_OK);
  CHECK_EQ(p.n_classes, 17);
  /* Slots are 1/8 of the data (2.125 MiB per channel): the share is 3 blocks. */
  CHECK_EQ(p.channel_size, 20u << 20);
  CHECK_EQ(p.n_channels, 3);
  CHECK(p.map_bytes <= p.n_channels * (3u << 20)); /* the map fits its share */
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
  char *s = vcm_region_realloc(&r, q, 10);   /* a quarter or less: splits in place */
  CHECK(s == q);
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
  void *ps[2 * 7 * 64];
  size_t n = 0, cap = 0;
  while (n < 2 * 7 * 64 && (ps[n] = vcm_region_alloc(&r, 1)) != NULL) cap += vcm_region_capacity(&r, ps[n++]);
  CHECK_EQ(n, 2 * 7 * 64);              /* every block split into 16-byte chunks */
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
  CHECK_EQ(st.class_total[6], 14); /* everything merged back into whole blocks */
  CHECK(vcm_region_alloc(&r, 1024) != NULL);
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

  /* A position in free memory (never handed out) is not live either. */
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

/* An overflow writes every byte past a chunk to the end of the disc: the map lies before the
 * data, so every chunk's record and the free bitmap survive (only data is overwritten). */
static void test_overflow_cannot_corrupt(void) {
  vcm_region r = fresh(32 * 1024, NULL);
  unsigned char *a = vcm_region_alloc(&r, 16), *b = vcm_region_alloc(&r, 500);
  vcm_region_free(&r, vcm_region_alloc(&r, 64));
  memset(a, 0xFF, (size_t)(disc + 32 * 1024 - a)); /* to the end of the disc */
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  CHECK_EQ(vcm_region_used(&r, b), 500);
  vcm_region_free(&r, b);
  vcm_region_free(&r, a);
  CHECK_EQ(misuse.calls, 0);
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
}

/* The slot of the region's first chunk: the map is [slots][bitmap], the data after the
 * channels' map shares (one max each for the seed's geometry). */
static uint16_t *slot_of(const unsigned char *p, size_t n_channels) {
  return (uint16_t *)(void *)disc + (size_t)(p - disc - (ptrdiff_t)(n_channels * 1024)) / 16;
}

static void test_checker_catches(void) {
  vcm_region r = fresh(32 * 1024, NULL);
  unsigned char *a = vcm_region_alloc(&r, 16);
  vcm_region_free(&r, vcm_region_alloc(&r, 16));
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  /* Corrupt the map on purpose: the live chunk's slot loses its live bit, then a stray head
   * appears inside a free chunk. */
  uint16_t *s = slot_of(a, 4);
  CHECK(s[0] & 0x4000u);
  s[0] &= (uint16_t)~0x4000u;
  const char *why = NULL;
  CHECK_EQ(vcm_region_check(&r, &why), -1);
  CHECK(why != NULL);
  s[0] |= 0x4000u;
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  s[5] = 0x8000u;
  CHECK_EQ(vcm_region_check(&r, &why), -1);
  CHECK(strstr(why, "head") != NULL);
  s[5] = 0;
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
}

/* Chunks split from a block and merge back when freed; growth absorbs free buddies in place. */
static void test_split_merge_absorb(void) {
  vcm_region r = fresh(32 * 1024, NULL);
  vcm_region_stats st;
  unsigned char *a = vcm_region_alloc(&r, 16); /* block of area 6 cut down to 16 */
  vcm_region_stats_get(&r, &st);
  for (unsigned i = 0; i < 6; i++) CHECK_EQ(st.class_total[i], 1u + (i == 0)); /* a + halves */
  memcpy(a, "0123456789abcdef", 16);
  CHECK(vcm_region_realloc(&r, a, 24) == a); /* absorbs its free 16-byte buddy */
  CHECK_EQ(vcm_region_capacity(&r, a), 32);
  CHECK(vcm_region_realloc(&r, a, 1000) == a); /* and the buddies' buddies, up to max */
  CHECK_EQ(vcm_region_capacity(&r, a), 1024);
  CHECK(memcmp(a, "0123456789abcdef", 16) == 0);
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.bytes_copied, 0);
  CHECK_EQ(st.realloc_inplace, 2);
  CHECK(vcm_region_realloc(&r, a, 100) == a); /* a quarter or less: the right halves go */
  CHECK_EQ(vcm_region_capacity(&r, a), 128);
  unsigned char *b = vcm_region_alloc(&r, 128); /* a's buddy, from the same block */
  CHECK(b == a + 128);
  CHECK_EQ(vcm_region_expand(&r, a, 200), -1); /* buddy live: expand fails, a unchanged */
  CHECK_EQ(vcm_region_capacity(&r, a), 128);
  unsigned char *c = vcm_region_realloc(&r, a, 200); /* moves, copies the 100 used bytes */
  CHECK(c != a && c != NULL);
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.bytes_copied, 100);
  vcm_region_free(&r, b); /* merges with a's old chunk: 256 free at the block's start */
  CHECK(c == a + 256);
  CHECK_EQ(vcm_region_expand(&r, c, 1000), -1); /* a right half cannot grow in place */
  vcm_region_free(&r, c);
  unsigned char *d = vcm_region_alloc(&r, 100); /* the left piece of a block */
  CHECK_EQ(vcm_region_expand(&r, d, 1000), 0);   /* expand absorbs too */
  CHECK_EQ(vcm_region_capacity(&r, d), 1024);
  CHECK_EQ(vcm_region_used(&r, d), 1000);
  vcm_region_free(&r, d);
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.class_total[6], 28); /* all merged back */
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  CHECK_EQ(misuse.calls, 0);
}

/* Misuse stays exact after splits and merges: the handler gets the pointer and the reason,
 * and the region is unchanged. */
static void test_misuse_after_split_merge(void) {
  vcm_region r = fresh(32 * 1024, NULL);
  unsigned char *a = vcm_region_alloc(&r, 16), *b = vcm_region_alloc(&r, 16);
  CHECK(b == a + 16);
  vcm_region_free(&r, b + 4); /* interior pointer into a piece of a split block */
  CHECK_EQ(misuse.calls, 1);
  CHECK(misuse.ptr == b + 4 && strstr(misuse.reason, "interior") != NULL);
  vcm_region_free(&r, b);
  vcm_region_free(&r, a); /* a and b merge with the block's free halves */
  vcm_region_free(&r, b); /* double free of a chunk that has merged since */
  CHECK_EQ(misuse.calls, 2);
  CHECK(misuse.ptr == b && strstr(misuse.reason, "double free") != NULL);
  CHECK(vcm_region_realloc(&r, b, 8) == NULL);
  CHECK_EQ(misuse.calls, 3);
  CHECK(misuse.ptr == b && strstr(misuse.reason, "use after free") != NULL);
  a = vcm_region_alloc(&r, 16);
  b = vcm_region_alloc(&r, 16);
  memset(a, 3, 16);
  vcm_region_free(&r, b);
  CHECK(vcm_region_realloc(&r, a, 32) == a); /* absorbs b's chunk */
  vcm_region_free(&r, b); /* a pointer to a piece of a merged (live) chunk */
  CHECK_EQ(misuse.calls, 4);
  CHECK(misuse.ptr == b && strstr(misuse.reason, "interior") != NULL);
  CHECK_EQ(vcm_region_used(&r, a), 32);
  for (int i = 0; i < 16; i++) CHECK(a[i] == 3);
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
}

/* A freed chunk whose buddy is live waits unmerged in its class's reserve (DESIGN §2): the next
 * allocation of the class gets it back, misuse of it is still exact, a free that makes its
 * buddy free merges both, and a reserve entry whose head slot was forged is reported and
 * dropped, not handed out. */
static void test_reserve(void) {
  vcm_region r = fresh(32 * 1024, NULL);
  vcm_region_stats st;
  unsigned char *a = vcm_region_alloc(&r, 16), *b = vcm_region_alloc(&r, 16);
  unsigned char *c = vcm_region_alloc(&r, 100);
  CHECK(b == a + 16);
  vcm_region_free(&r, b); /* a is live: b is reserved, not merged */
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  vcm_region_free(&r, b); /* a double free of a reserved chunk */
  CHECK_EQ(misuse.calls, 1);
  CHECK(misuse.ptr == b && strstr(misuse.reason, "double free") != NULL);
  CHECK(vcm_region_alloc(&r, 9) == b); /* the reserve gives it back */
  vcm_region_free(&r, a);              /* b live: a reserved */
  vcm_region_free(&r, b);              /* a free: b merges with it, a leaves the reserve */
  vcm_region_free(&r, c);
  vcm_region_stats_get(&r, &st);
  CHECK_EQ(st.live_chunks, 0);
  CHECK_EQ(st.class_total[6], 28); /* every block whole again */
  CHECK_EQ(vcm_region_check(&r, NULL), 0);
  /* Forge the head slot of a reserved chunk: the pop sees it and fails, once. */
  a = vcm_region_alloc(&r, 16);
  b = vcm_region_alloc(&r, 16);
  vcm_region_free(&r, b);
  size_t slot = (size_t)(b - (disc + 4 * 1024)) / 16;
  uint16_t *slots = (uint16_t *)(void *)disc, keep = slots[slot];
  slots[slot] = (uint16_t)(keep ^ 1u); /* another reserve position */
  CHECK(vcm_region_check(&r, NULL) != 0);
  CHECK(vcm_region_alloc(&r, 16) == NULL);
  CHECK_EQ(misuse.calls, 2);
  CHECK(strstr(misuse.reason, "corrupt") != NULL);
  slots[slot] = keep;
  unsigned char *d = vcm_region_alloc(&r, 16);
  CHECK(d != NULL && d != b);
}

/* On a disc whose map shares leave room before the data (1 MiB here), the reserves live there,
 * where an underflow below the first chunk lands: forged entries are bounded and checked
 * against their head slots, never handed out or followed outside the data. */
static void test_forged_reserve(void) {
  unsigned long long x = 0x9E3779B97F4A7C15ull;
  vcm_plan p;
  vcm_region_plan(sizeof disc, NULL, &p);
  unsigned char *data = disc + p.n_channels * (p.channel_factor - p.n_classes) * 1024;
  unsigned char *end = data + p.data_bytes;
  for (int round = 0; round < 40; round++) {
    vcm_region r = fresh(sizeof disc, NULL);
    void *live[256] = {0};
    for (int i = 0; i < 256; i++) live[i] = vcm_region_alloc(&r, 16u << (i % 7));
    for (int i = 0; i < 256; i += 2) vcm_region_free(&r, live[i]), live[i] = NULL;
    for (size_t j = 0; j < 256; j++) { /* the first entries of every class's reserve */
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      disc[p.map_bytes + (j * 37 + (size_t)round * 64) % (data - disc - p.map_bytes)] = (unsigned char)x;
    }
    for (int op = 0; op < 2000; op++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      unsigned i = (unsigned)(x % 256);
      if (!live[i]) {
        unsigned char *q = vcm_region_alloc(&r, (size_t)(x >> 30) % 1025);
        CHECK(!q || (q >= data && q < end));
        live[i] = q;
      } else {
        vcm_region_free(&r, live[i]);
        live[i] = NULL;
      }
    }
  }
  CHECK(data - disc - p.map_bytes >= 7 * 4 * 12); /* the reserves did live on the disc */
}

/* The most map steps any alloc, free or realloc takes is bounded by a constant of the
 * geometry and the bitmap's depth (docs/DESIGN.md §3): counted, not timed. */
static void test_steps_bounded(void) {
  static _Alignas(4096) unsigned char big[16u << 20];
  size_t sizes[] = {sizeof disc, sizeof big};
  for (unsigned t = 0; t < 2; t++) {
    unsigned char *d = t ? big : disc;
    vcm_region r;
    CHECK_EQ(vcm_region_init(&r, d, sizes[t], NULL), VCM_OK);
    static void *live[4096];
    memset(live, 0, sizeof live);
    unsigned long long x = 88172645463325252ull;
    for (long op = 0; op < 400000; op++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      unsigned i = (unsigned)(x % 4096), n = (unsigned)((x >> 20) % 1025);
      if (!live[i]) live[i] = vcm_region_alloc(&r, n);
      else if ((x >> 40) & 1) vcm_region_free(&r, live[i]), live[i] = NULL;
      else {
        void *q = vcm_region_realloc(&r, live[i], n);
        if (q) live[i] = q;
      }
    }
    vcm_region_stats st;
    vcm_region_stats_get(&r, &st);
    CHECK(st.max_steps > 0);
    CHECK(st.max_steps <= st.steps_bound);
    /* Seed geometry, K = 7, depth D <= 4 up to 16 MiB: K + 5D + 2K(1 + D) + D = 101. */
    CHECK(st.steps_bound <= 101);
    CHECK_EQ(vcm_region_check(&r, NULL), 0);
    printf("steps: %zu-byte disc, most %zu, bound %zu\n", sizes[t], st.max_steps, st.steps_bound);
  }
}

/* Issue 13 item 3: forged values written over the end of the map (what an underflow of the
 * first chunk would write; no overflow reaches it) and past the last chunk: the region never
 * hands out memory outside its data and never crashes; contradictions go to the handler. */
static void test_forged_map(void) {
  unsigned long long x = 0x2545F4914F6CDD1Dull;
  for (int round = 0; round < 300; round++) {
    vcm_region r = fresh(32 * 1024, NULL);
    vcm_plan p;
    vcm_region_plan(32 * 1024, NULL, &p);
    unsigned char *data = disc + 4 * 1024, *end = data + p.data_bytes;
    void *live[64] = {0};
    for (int i = 0; i < 64; i++) live[i] = vcm_region_alloc(&r, (size_t)(i * 37) % 1025);
    /* Forge 8..64 bytes: the bitmap's last words, or the slots of the first chunks, or the
     * tail past the last chunk. */
    size_t len = 8 + (size_t)(round % 8) * 8;
    unsigned char *at = round % 3 == 0 ? disc + p.map_bytes - len
                      : round % 3 == 1 ? disc : end;
    for (size_t j = 0; j < len; j++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      at[j] = (unsigned char)x;
    }
    for (int op = 0; op < 400; op++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      unsigned i = (unsigned)(x % 64);
      if (!live[i]) {
        unsigned char *q = vcm_region_alloc(&r, (size_t)(x >> 30) % 1025);
        CHECK(!q || (q >= data && q < end));
        live[i] = q;
      } else if (x & (1ull << 40)) {
        vcm_region_free(&r, live[i]);
        live[i] = NULL;
      } else {
        unsigned char *q = vcm_region_realloc(&r, live[i], (size_t)(x >> 30) % 1025);
        CHECK(!q || (q >= data && q < end));
        if (q) live[i] = q;
      }
    }
    vcm_region_stats st;
    vcm_region_stats_get(&r, &st); /* walks the map: must not crash either */
    (void)vcm_region_check(&r, NULL);
  }
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
  test_split_merge_absorb();
  test_misuse_after_split_merge();
  test_reserve();
  test_forged_reserve();
  test_steps_bounded();
  test_forged_map();
  return t_report();
}
