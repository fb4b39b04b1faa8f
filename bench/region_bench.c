/* Region core cost per operation for region sizes from 64 KiB to 1 GiB: alloc, free and
 * in-place realloc over a fixed working set of live chunks, median of several runs.
 * Shows that the cost does not grow with the region (every operation is O(1)).
 * Usage: region_bench [max_region_log2 (default 30)] [runs (default 5)] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "vcm.h"

#define LIVE 64
#define OPS 2000000

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned long long rng = 88172645463325252ull;
static unsigned long long next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One run: ns per operation for alloc+free pairs and for in-place reallocs. */
static void run(void *disc, size_t size, double *ns_pair, double *ns_realloc) {
  vcm_region r;
  void *live[LIVE];
  if (vcm_region_init(&r, disc, size, NULL) != VCM_OK) abort();
  for (int i = 0; i < LIVE; i++) live[i] = vcm_region_alloc(&r, 1 + next() % (16u << (next() % 6)));
  double t0 = now();
  for (int i = 0; i < OPS; i++) {
    unsigned j = (unsigned)(next() % LIVE);
    vcm_region_free(&r, live[j]);
    live[j] = vcm_region_alloc(&r, 1 + next() % (16u << (next() % 6)));
  }
  double t1 = now();
  for (int i = 0; i < OPS; i++) {
    unsigned j = (unsigned)(next() % LIVE);
    size_t cap = vcm_region_capacity(&r, live[j]);
    if (vcm_region_realloc(&r, live[j], cap / 2 + 1 + next() % (cap / 2)) != live[j]) abort();
  }
  double t2 = now();
  for (int i = 0; i < LIVE; i++) vcm_region_free(&r, live[i]);
  if (vcm_region_check(&r, NULL) != 0) abort();
  *ns_pair = (t1 - t0) * 1e9 / OPS;
  *ns_realloc = (t2 - t1) * 1e9 / OPS;
}

int main(int argc, char **argv) {
  int maxlog = argc > 1 ? atoi(argv[1]) : 30, runs = argc > 2 ? atoi(argv[2]) : 5;
  printf("| region | channels | alloc+free pair (ns) | in-place realloc (ns) |\n");
  printf("|---:|---:|---:|---:|\n");
  double first = 0, last = 0;
  for (int lg = 16; lg <= maxlog; lg += 2) {
    size_t size = (size_t)1 << lg;
    void *disc = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (disc == MAP_FAILED) return 1;
    double pair[16], re[16];
    for (int k = 0; k < runs && k < 16; k++) run(disc, size, &pair[k], &re[k]);
    qsort(pair, (size_t)runs, sizeof *pair, cmp);
    qsort(re, (size_t)runs, sizeof *re, cmp);
    vcm_plan plan;
    vcm_region_plan(size, NULL, &plan);
    printf("| %zu KiB | %zu | %.1f | %.1f |\n", size >> 10, plan.n_channels, pair[runs / 2],
           re[runs / 2]);
    if (lg == 16) first = pair[runs / 2];
    last = pair[runs / 2];
    munmap(disc, size);
  }
  printf("largest/smallest region, alloc+free: %.2fx\n", last / first);
  return 0;
}
