/* Which of libvcm.so's pages a run of the allocation calls keeps resident (src/libvcm.ld).
 * Built against glibc and run with LD_PRELOAD=libvcm.so: malloc, calloc, realloc (in place,
 * moved, large), the aligned calls, frees by another thread, a fork; then its own
 * /proc/self/pagemap over the library's mappings. The text must start a 64 KiB-aligned
 * window of addresses (the kernel's fault-around window; clamped to the page table, so a hot
 * part across two windows faults the second alone where a page table ends between them) and
 * hold no resident page past it, nor may the read-only mapping after it (unwind tables, cold
 * strings; the constants a run reads have a mapping of their own): the hot parts lie in those
 * windows, the rest in windows no run faults (the calls include what g7 and g8 run: containers
 * grown in waves, pairs grown and freed by another thread). Nor may the names every run
 * reads from the environment (at load, and VCM_SVG at exit) lie among the cold strings. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { N = 4096 };
static void *blocks[N];

static void *remote_free(void *arg) {
  (void)arg;
  for (int i = 0; i < N; i += 2) free(blocks[i]);
  return NULL;
}

/* C++ containers growing by a new block of twice the size, a copy, a free (no realloc), in
 * waves torn down between them: the colour classes' pair takes (g7). */
static void waves(void) {
  enum { M = 512 };
  static char *c[M];
  static size_t n[M];
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < M; i++) n[i] = 16, c[i] = calloc(1, 16);
    for (size_t top = 32; top <= (size_t)32 << 10; top *= 2)
      for (int i = 0; i < M; i++) {
        if (top > (size_t)(1024 << (i % 6))) continue;
        char *b = malloc(top);
        if (!b) continue;
        memcpy(b, c[i], n[i]);
        memset(b + n[i], 1, top - n[i]);
        free(c[i]);
        c[i] = b, n[i] = top;
      }
    for (int i = 0; i < M; i++) free(c[i]);
  }
}

/* Chunks of 8 KiB grown into their free buddies (MERGED pairs of 16 KiB), freed by another
 * thread: their owner's collection gives the pairs back (g8). */
static void *free_all(void *arg) {
  char **v = arg;
  for (int i = 0; i < 64; i++) free(v[i]);
  return NULL;
}
static void grown_remote(void) {
  static char *v[64];
  for (int i = 0; i < 64; i++) v[i] = realloc(NULL, 8192); /* a growth class, as a vector's */
  for (int i = 1; i < 64; i += 2) free(v[i]), v[i] = NULL;
  for (int i = 0; i < 64; i += 2) {
    char *w = realloc(v[i], 16384);
    if (w) memset(w, 2, 16384), v[i] = w;
  }
  pthread_t t;
  if (pthread_create(&t, NULL, free_all, v) == 0) pthread_join(t, NULL);
  for (int round = 0; round < 8; round++) { /* the owner runs short: it collects */
    char *x[64];
    for (int i = 0; i < 64; i++) x[i] = malloc(8192);
    for (int i = 0; i < 64; i++) free(x[i]);
  }
}

static void work(void) {
  for (int i = 0; i < N; i++) blocks[i] = malloc((size_t)(i % 200) * 24 + 8);
  pthread_t t;
  if (pthread_create(&t, NULL, remote_free, NULL) == 0) pthread_join(t, NULL);
  for (int i = 1; i < N; i += 2) blocks[i] = realloc(blocks[i], (size_t)(i % 300) * 40 + 16);
  for (int i = 1; i < N; i += 2) free(blocks[i]);
  char *v = NULL;
  for (size_t n = 16; n <= (size_t)8 << 20; n *= 2) { /* one vector growing into large blocks */
    v = realloc(v, n);
    memset(v + n / 2, 1, n / 2);
  }
  free(v);
  void *p = calloc(1000, 40), *q = NULL;
  if (posix_memalign(&q, 4096, 10000) == 0) free(q);
  free(aligned_alloc(64, 640));
  free(memalign(256, 100000));
  free(p);
  free(malloc((size_t)3 << 20));
  free(calloc(1, (size_t)5 << 20));
  waves();
  grown_remote();
}

int main(void) {
  work();
  pid_t pid = fork();
  if (pid == 0) {
    free(malloc(100));
    _exit(0);
  }
  if (pid > 0) waitpid(pid, NULL, 0);
  work();
  FILE *maps = fopen("/proc/self/maps", "r");
  int pm = open("/proc/self/pagemap", O_RDONLY);
  if (!maps || pm < 0) {
    printf("cannot read /proc/self/maps or pagemap\n0 passed, 1 failed\n");
    return 1;
  }
  char line[512];
  int seen_text = 0, after_text = 0, pass = 0, fail = 0;
  unsigned long cold_lo = 0, cold_hi = 0; /* the unwind tables and cold strings */
  while (fgets(line, sizeof line, maps)) {
    if (!strstr(line, "libvcm")) continue;
    unsigned long a, b;
    char perm[8];
    if (sscanf(line, "%lx-%lx %7s", &a, &b, perm) != 3) continue;
    int text = strcmp(perm, "r-xp") == 0, unwind = seen_text && !after_text++;
    if (!text && !unwind) continue;
    if (text) seen_text = 1;
    if (unwind) cold_lo = a, cold_hi = b;
    /* the cold pages: text from its 64 KiB on; the tables and cold strings, all of them */
    unsigned long lo = text ? a + 65536 : a, hi = b, cold = 0, all = 0;
    for (unsigned long va = a; va < b; va += 4096) {
      uint64_t e = 0;
      if (pread(pm, &e, 8, (off_t)(va / 4096 * 8)) != 8) continue;
      all += e >> 63;
      if (va >= lo && va < hi) cold += e >> 63;
    }
    int aligned = !text || a % 65536 == 0, ok = !cold && lo < hi && aligned;
    printf("%s %s pages %lu%s, resident %lu, cold pages %lu, resident of them %lu: %s\n",
           text ? "text" : "unwind tables and cold strings", perm, (b - a) / 4096,
           aligned ? "" : " (not at a 64 KiB boundary)", all, hi > lo ? (hi - lo) / 4096 : 0, cold,
           ok ? "ok" : "FAIL");
    ok ? pass++ : fail++;
  }
  if (!seen_text || after_text == 0) {
    printf("libvcm.so's text or unwind mapping not found (not preloaded?)\n");
    fail++;
  }
  /* The names every run passes to getenv, at load and at exit (after this check could look):
   * not among the cold strings, whose mapping a read faults in whole. Read last: it faults. */
  static const char *const env_names[] = {"VCM_STATS", "VCM_CHECK", "VCM_PURGE_MB",
                                          "VCM_LARGE_CACHE_MB", "VCM_THP", "VCM_VERBOSE",
                                          "VCM_SVG"};
  int cold_names = 0;
  for (size_t i = 0; cold_hi && i < sizeof env_names / sizeof *env_names; i++)
    if (memmem((const void *)cold_lo, cold_hi - cold_lo, env_names[i], strlen(env_names[i]) + 1)) {
      printf("%s lies among the cold strings\n", env_names[i]);
      cold_names++;
    }
  printf("names read from the environment among the cold strings: %d: %s\n", cold_names,
         cold_hi && !cold_names ? "ok" : "FAIL");
  cold_hi && !cold_names ? pass++ : fail++;
  printf("%d passed, %d failed\n", pass, fail);
  return fail != 0;
}
