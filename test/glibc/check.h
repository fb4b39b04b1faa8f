/* test/glibc: malloc conformance programs, written for vcm from what glibc's malloc tests
 * check (not copied). Each runs on whatever malloc the process has (glibc's, or vcm's under
 * LD_PRELOAD), prints a line per failed check and exits 1 if any failed. Built -O0
 * -fno-builtin so that the compiler keeps every call and assumes nothing about them. */
#ifndef TST_CHECK_H
#define TST_CHECK_H
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tst_failed;
#define CHECK(c)                                                                             \
  do {                                                                                       \
    if (!(c)) {                                                                              \
      printf("%s:%d: failed: %s\n", __FILE__, __LINE__, #c);                                 \
      tst_failed++;                                                                          \
    }                                                                                        \
  } while (0)

static inline int tst_result(void) {
  if (tst_failed) printf("%d checks failed\n", tst_failed);
  return tst_failed ? 1 : 0;
}

/* Mappings of this process: lines of /proc/self/maps. */
static inline int tst_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  int n = 0, c;
  if (!f) return -1;
  while ((c = getc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

/* Resident set, KiB. */
static inline long tst_rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The mapping (from /proc/self/maps) that holds p: 0 and [*start, *end), or -1. */
static inline int tst_mapping(const void *p, char **start, char **end) {
  FILE *f = fopen("/proc/self/maps", "r");
  unsigned long a, b;
  char line[512];
  int found = -1;
  if (!f) return -1;
  while (found && fgets(line, sizeof line, f))
    if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a <= (unsigned long)p && (unsigned long)p < b) {
      *start = (char *)a;
      *end = (char *)b;
      found = 0;
    }
  fclose(f);
  return found;
}
/* Every power-of-two alignment from `from` to 16 MiB, with sizes 0 to past it: alloc honours
 * it and the block is writable whole. */
static inline void tst_alignments(void *(*alloc)(size_t align, size_t n), size_t from) {
  for (size_t a = from; a <= ((size_t)16 << 20); a <<= 1) {
    size_t sizes[] = {0, 1, a / 2 + 1, a, a + 1, 3 * a + 5};
    for (int i = 0; i < 6; i++) {
      void *p = alloc(a, sizes[i]);
      CHECK(p != NULL && (uintptr_t)p % a == 0);
      if (p) memset(p, 0x3c, sizes[i]);
      free(p);
    }
  }
}
#endif
