/* Shared by the misuse programs (test/misuse/run.sh). Each program performs exactly one
 * misuse, which vcm must stop: the process dies by SIGABRT after printing
 *   vcm: invalid free or use: <reason> at 0x<pointer>
 * on stderr. Each prints the pointer it is about to misuse first, as "ptr=0x<hex>" on stdout.
 * Linked with libvcm.a, so malloc, free, ... are vcm's. The reason each program expects is on
 * its "expect:" line, which run.sh reads. */
#ifndef VCM_MISUSE_H
#define VCM_MISUSE_H
#define _GNU_SOURCE
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vcm.h"

void free_sized(void *p, size_t size);                          /* C23, not in glibc 2.36 */
void free_aligned_sized(void *p, size_t align, size_t size);

/* Called through volatile pointers: the compiler must not see (and warn about or fold) the
 * misuse these programs make on purpose. */
#define UNUSED __attribute__((unused))
static void *(*volatile malloc_)(size_t) UNUSED = malloc;
static void (*volatile free_)(void *) UNUSED = free;
static void *(*volatile realloc_)(void *, size_t) UNUSED = realloc;
static size_t (*volatile usable_)(void *) UNUSED = malloc_usable_size;
static void (*volatile free_sized_)(void *, size_t) UNUSED = free_sized;
static void (*volatile free_aligned_sized_)(void *, size_t, size_t) UNUSED = free_aligned_sized;

/* The pointer about to be misused. Flushed: abort() does not flush stdio. */
static UNUSED void show(const void *p) {
  printf("ptr=0x%" PRIxPTR "\n", (uintptr_t)p);
  fflush(stdout);
}

/* free_ of p by a new thread, which owns no block of main's: a remote free. times = 2 frees
 * it twice there; the pointer is shown before the last free. Returns 2 if the thread fails. */
typedef struct { void *p; int times; } other_free_t;
static UNUSED void *other_free_run(void *a) {
  other_free_t *f = a;
  for (int i = 1; i <= f->times; i++) {
    if (i == f->times) show(f->p);
    free_(f->p);
  }
  return NULL;
}
static UNUSED int free_in_other_thread(void *p, int times) {
  pthread_t t;
  other_free_t f = {p, times};
  return pthread_create(&t, NULL, other_free_run, &f) != 0 || pthread_join(t, NULL) != 0 ? 2 : 0;
}

/* A block from malloc, which must be vcm's (capacity known), or exit 2. */
static UNUSED char *vcm_block(size_t n) {
  char *p = malloc_(n);
  if (!p || vcm_capacity(p) < n) {
    fprintf(stderr, "malloc(%zu) is not vcm's\n", n);
    exit(2);
  }
  return p;
}

/* Reached only if the misuse went unnoticed. */
static UNUSED int survived(void) {
  fprintf(stderr, "misuse not detected: the program went on\n");
  return 3;
}
#endif
