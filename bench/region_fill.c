/* How much of a disc a region hands out, and what churn and growth cost (issue 10): vcm's
 * split/merge core side by side with the fixed-class core it replaced (built from git, see
 * the Makefile's bench-region) and a reference power-of-two buddy with a 16-byte header in
 * every block (what o1heap-like allocators do). Not a test: figures for docs/DESIGN.md §4.
 *   fill:   requests that fit before the first failure, as a share of the disc
 *   churn:  random alloc/free, at most a quarter of the disc requested at once
 *   growth: many vectors grown by +8-byte reallocs to random sizes up to 1 KiB
 * Usage: region_fill [quick] | region_fill churn ALLOCATOR(0 1 2) DISC_LOG2 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vcm.h"

/* The replaced core, compiled with its symbols prefixed old_ (Makefile). */
vcm_status old_vcm_region_init(vcm_region *r, void *disc, size_t size, const vcm_geometry *g);
void *old_vcm_region_alloc(vcm_region *r, size_t n);
void *old_vcm_region_realloc(vcm_region *r, void *p, size_t n);
void old_vcm_region_free(vcm_region *r, void *p);
void old_vcm_region_stats_get(vcm_region *r, vcm_region_stats *out);

/* ---- the reference: binary buddy, header in the block ---------------------------------- */
#define REF_MIN_LOG 5 /* 32-byte blocks: 16 header + 16 payload */
typedef struct ref_blk {
  uint32_t order, used; /* order < 64; used: 1 live */
  uint32_t pad[2];
  struct ref_blk *next, *prev; /* free blocks only */
} ref_blk;
typedef struct {
  unsigned char *base;
  unsigned top;                /* log2 of the arena */
  ref_blk *free[64];
} ref_heap;

static void ref_push(ref_heap *h, ref_blk *b, unsigned o) {
  b->order = o;
  b->used = 0;
  b->prev = NULL;
  b->next = h->free[o];
  if (b->next) b->next->prev = b;
  h->free[o] = b;
}
static void ref_unlink(ref_heap *h, ref_blk *b) {
  if (b->prev) b->prev->next = b->next;
  else h->free[b->order] = b->next;
  if (b->next) b->next->prev = b->prev;
}
static void ref_init(ref_heap *h, void *disc, size_t size) {
  memset(h, 0, sizeof *h);
  h->base = disc;
  h->top = 63u - (unsigned)__builtin_clzll(size); /* the largest power of two that fits */
  ref_push(h, (ref_blk *)disc, h->top);
}
static void *ref_alloc(ref_heap *h, size_t n) {
  unsigned o = REF_MIN_LOG;
  while (((size_t)1 << o) < n + 16) o++;
  unsigned j = o;
  while (j <= h->top && !h->free[j]) j++;
  if (j > h->top) return NULL;
  ref_blk *b = h->free[j];
  ref_unlink(h, b);
  while (j > o) {
    j--;
    ref_push(h, (ref_blk *)((unsigned char *)b + ((size_t)1 << j)), j);
  }
  b->order = o;
  b->used = 1;
  return (unsigned char *)b + 16;
}
static void ref_free(ref_heap *h, void *p) {
  ref_blk *b = (ref_blk *)((unsigned char *)p - 16);
  unsigned o = b->order;
  while (o < h->top) {
    size_t off = (size_t)((unsigned char *)b - h->base);
    ref_blk *buddy = (ref_blk *)(h->base + (off ^ ((size_t)1 << o)));
    if (buddy->used || buddy->order != o) break;
    ref_unlink(h, buddy);
    if (buddy < b) b = buddy;
    o++;
  }
  ref_push(h, b, o);
}
static void *ref_realloc(ref_heap *h, void *p, size_t n, size_t *copied) {
  if (!p) return ref_alloc(h, n);
  ref_blk *b = (ref_blk *)((unsigned char *)p - 16);
  if (n + 16 <= ((size_t)1 << b->order)) return p;
  void *q = ref_alloc(h, n);
  if (!q) return NULL;
  size_t keep = ((size_t)1 << b->order) - 16; /* no used size: the whole payload */
  memcpy(q, p, keep);
  *copied += keep;
  ref_free(h, p);
  return q;
}

/* ---- one interface over the three ------------------------------------------------------ */
enum { NEW, OLD, REF, NALLOC };
static const char *names[NALLOC] = {"vcm", "vcm before", "buddy+header"};
static vcm_region R;
static ref_heap H;
static size_t ref_copied, ref_inplace, ref_moved;

static int a_init(int a, void *disc, size_t size) {
  if (a == REF) {
    ref_init(&H, disc, size);
    ref_copied = ref_inplace = ref_moved = 0;
    return 0;
  }
  return (a == NEW ? vcm_region_init : old_vcm_region_init)(&R, disc, size, NULL) == VCM_OK ? 0 : -1;
}
static void *a_alloc(int a, size_t n) {
  return a == NEW ? vcm_region_alloc(&R, n) : a == OLD ? old_vcm_region_alloc(&R, n) : ref_alloc(&H, n);
}
static void a_free(int a, void *p) {
  if (a == NEW) vcm_region_free(&R, p);
  else if (a == OLD) old_vcm_region_free(&R, p);
  else ref_free(&H, p);
}
static void *a_realloc(int a, void *p, size_t n) {
  if (a == NEW) return vcm_region_realloc(&R, p, n);
  if (a == OLD) return old_vcm_region_realloc(&R, p, n);
  void *q = ref_realloc(&H, p, n, &ref_copied);
  if (q && p) {
    if (q == p) ref_inplace++;
    else ref_moved++;
  }
  return q;
}
static void a_counts(int a, size_t *inplace, size_t *moved, size_t *copied) {
  if (a == REF) {
    *inplace = ref_inplace, *moved = ref_moved, *copied = ref_copied;
    return;
  }
  vcm_region_stats st;
  (a == NEW ? vcm_region_stats_get : old_vcm_region_stats_get)(&R, &st);
  *inplace = st.realloc_inplace, *moved = st.realloc_moved, *copied = st.bytes_copied;
}

static unsigned long long rng;
static unsigned long long next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static size_t log_uniform(void) { /* 16 .. 1024, uniform in log2 */
  double e = 4.0 + 6.0 * (double)(next() >> 11) / 9007199254740992.0;
  size_t n = (size_t)__builtin_exp2(e);
  return n < 16 ? 16 : n > 1024 ? 1024 : n;
}
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned char *disc;

/* Requested bytes handed out before the first failure, as a share of the disc. */
static double fill(int a, size_t size, size_t fixed) {
  if (a_init(a, disc, size) != 0) return 0;
  size_t sum = 0;
  rng = 0x9E3779B97F4A7C15ull;
  for (;;) {
    size_t n = fixed ? fixed : log_uniform();
    if (!a_alloc(a, n)) break;
    sum += n;
  }
  return (double)sum / (double)size;
}

#define SLOTS 65536
static void *ptr[SLOTS];
static size_t len[SLOTS], goal[SLOTS];

/* Random alloc/free, at most size/4 requested: failed allocations and ns per operation. */
static void churn(int a, size_t size, long ops, size_t *failed, double *ns, double *peak) {
  size_t live = 0, nlive = 0, top = 0;
  *failed = 0;
  if (a_init(a, disc, size) != 0) return;
  rng = 0x2545F4914F6CDD1Dull;
  size_t slots = size / 4 / 16 < SLOTS ? size / 4 / 16 : SLOTS;
  memset(ptr, 0, sizeof ptr);
  double t0 = now();
  for (long op = 0; op < ops; op++) {
    size_t i = (size_t)(next() % slots);
    if (ptr[i]) {
      a_free(a, ptr[i]);
      ptr[i] = NULL;
      live -= len[i];
      nlive--;
      continue;
    }
    size_t n = log_uniform();
    if (live + n > size / 4) continue; /* over the quarter: this step frees instead */
    if (!(ptr[i] = a_alloc(a, n))) {
      ++*failed;
      continue;
    }
    len[i] = n;
    live += n;
    nlive++;
    if (live > top) top = live;
  }
  *ns = (now() - t0) * 1e9 / (double)ops;
  *peak = (double)top / (double)size;
  for (size_t i = 0; i < slots; i++)
    if (ptr[i]) a_free(a, ptr[i]), ptr[i] = NULL;
  (void)nlive;
}

/* Vectors grown by 8 bytes at a time to random goals up to 1 KiB, then freed and restarted. */
static void growth(int a, size_t size, size_t vectors, long ops, double *rate, size_t *copied,
                   size_t *failed) {
  size_t inplace = 0, moved = 0;
  *failed = 0;
  if (a_init(a, disc, size) != 0) return;
  rng = 0x853C49E6748FEA9Bull;
  memset(ptr, 0, sizeof ptr);
  for (size_t i = 0; i < vectors; i++) len[i] = 0, goal[i] = 8 + next() % 1017;
  for (long op = 0; op < ops; op++) {
    size_t i = (size_t)(next() % vectors);
    if (len[i] + 8 > goal[i]) {
      a_free(a, ptr[i]);
      ptr[i] = NULL;
      len[i] = 0;
      goal[i] = 8 + next() % 1017;
      continue;
    }
    void *q = a_realloc(a, ptr[i], len[i] + 8);
    if (!q) {
      ++*failed;
      continue;
    }
    ptr[i] = q;
    len[i] += 8;
  }
  a_counts(a, &inplace, &moved, copied);
  *rate = inplace + moved ? (double)inplace / (double)(inplace + moved) : 0;
  for (size_t i = 0; i < vectors; i++)
    if (ptr[i]) a_free(a, ptr[i]), ptr[i] = NULL;
}

int main(int argc, char **argv) {
  int quick = argc > 1 && !strcmp(argv[1], "quick");
  static const size_t discs[3] = {32u << 10, 1u << 20, 16u << 20};
  disc = aligned_alloc(4096, 16u << 20);
  if (!disc) return 1;
  if (argc > 3 && !strcmp(argv[1], "churn")) { /* one churn run, for callgrind: churn A LOG2 */
    size_t failed = 0;
    double ns = 0, peak = 0;
    churn(atoi(argv[2]) % NALLOC, (size_t)1 << atoi(argv[3]), 1000000, &failed, &ns, &peak);
    printf("%s: %zu failed, %.1f ns/op\n", names[atoi(argv[2]) % NALLOC], failed, ns);
    return 0;
  }
  printf("## Fill: requested bytes at the first failure, share of the disc\n\n");
  printf("| disc | allocator | log-uniform 16-1024 | worst fixed size 16..1024 (size) | 17 B | 513 B |\n");
  printf("|---|---|---:|---:|---:|---:|\n");
  for (int d = 0; d < 3; d++)
    for (int a = 0; a < NALLOC; a++) {
      double worst = 2;
      size_t at = 0, step = d == 2 ? (quick ? 61 : 7) : (quick ? 13 : 1);
      for (size_t n = 16; n <= 1024; n += step) {
        double f = fill(a, discs[d], n);
        if (f < worst) worst = f, at = n;
      }
      for (size_t n = 17; n <= 1024; n += 496) { /* 17 and 513 always */
        double f = fill(a, discs[d], n);
        if (f < worst) worst = f, at = n;
      }
      printf("| %zu KiB | %s | %.1f %% | %.1f %% (%zu) | %.1f %% | %.1f %% |\n", discs[d] >> 10,
             names[a], 100 * fill(a, discs[d], 0), 100 * worst, at, 100 * fill(a, discs[d], 17),
             100 * fill(a, discs[d], 513));
    }
  printf("\n## Churn: random alloc/free, at most a quarter of the disc requested\n\n");
  printf("| disc | allocator | failed allocations | peak requested | ns/op |\n|---|---|---:|---:|---:|\n");
  for (int d = 1; d < 3; d++)
    for (int a = 0; a < NALLOC; a++) {
      size_t failed = 0;
      double ns = 0, peak = 0;
      churn(a, discs[d], quick ? 400000 : 4000000, &failed, &ns, &peak);
      printf("| %zu KiB | %s | %zu | %.1f %% | %.1f |\n", discs[d] >> 10, names[a], failed,
             100 * peak, ns);
    }
  printf("\n## Growth: +8-byte reallocs to random sizes up to 1 KiB\n\n");
  printf("| disc | vectors | allocator | in place | bytes copied | failed |\n|---|---:|---|---:|---:|---:|\n");
  for (int d = 1; d < 3; d++)
    for (int a = 0; a < NALLOC; a++) {
      size_t copied = 0, failed = 0, vectors = discs[d] / 4096;
      double rate = 0;
      growth(a, discs[d], vectors, quick ? 400000 : 4000000, &rate, &copied, &failed);
      printf("| %zu KiB | %zu | %s | %.1f %% | %zu | %zu |\n", discs[d] >> 10, vectors, names[a],
             100 * rate, copied, failed);
    }
  free(disc);
  return 0;
}
