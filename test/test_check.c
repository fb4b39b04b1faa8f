/* VCM_CHECK=1: overflows past the used size and writes after free are caught at the chunk
 * that did them; legitimate shrinking is not reported. Runs itself again with VCM_CHECK=1.
 * Also, with or without the check: an overflow to the end of a channel leaves every other
 * chunk and the allocator's state intact (the map lives elsewhere, behind a guard page). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "vcm.h"

static void (*volatile free_)(void *) = free;
static void *(*volatile malloc_)(size_t) = malloc;
static void *(*volatile realloc_)(void *, size_t) = realloc;

static struct {
  int calls;
  const void *ptr;
  char reason[128];
} seen;

static void on_misuse(void *ctx, const void *ptr, const char *reason) {
  (void)ctx;
  seen.calls++;
  seen.ptr = ptr;
  strncpy(seen.reason, reason, sizeof seen.reason - 1);
}

static int reported(const void *p, const char *what) {
  int ok = seen.calls == 1 && seen.ptr == p && strstr(seen.reason, what) != NULL;
  if (!ok) fprintf(stderr, "expected '%s' at %p, got %d calls (%p '%s')\n", what, p, seen.calls, seen.ptr, seen.reason);
  seen.calls = 0;
  return ok;
}

static void *remote_free(void *p) {
  free_(p);
  return NULL;
}

static void test_checks(void) {
  unsigned char *p = malloc_(20); /* capacity 32 */
  p[25] = 1;                      /* past used, inside capacity: an overflow */
  free_(p);
  CHECK(reported(p, "heap overflow"));

  unsigned char *q = malloc_(100);
  q[100] = 1;
  q = realloc_(q, 110); /* in place, but the overflow is seen first */
  CHECK(reported(q, "heap overflow"));
  free_(q);
  seen.calls = 0;

  unsigned char *u = malloc_(64);
  free_(u);
  u[3] = 7; /* write after free */
  unsigned char *again = malloc_(64);
  CHECK(again == u);
  CHECK(reported(u, "write after free"));
  free_(again);

  /* Shrinking (realloc, expand) makes new slack: never reported. */
  unsigned char *s = malloc_(100);
  memset(s, 1, 100);
  s = realloc_(s, 60); /* in place: more than half of the 112-byte class */
  memset(s, 2, 60);
  CHECK(vcm_expand(s, 112) == 0); /* malloc(100)'s capacity: the 112-byte class */
  memset(s, 3, 112);
  CHECK(vcm_expand(s, 10) == 0);
  free_(s);
  CHECK_EQ(seen.calls, 0);

  /* Another thread's free checks too. */
  unsigned char *t = malloc_(200);
  t[220] = 9;
  pthread_t th;
  pthread_create(&th, NULL, remote_free, t);
  pthread_join(th, NULL);
  CHECK(reported(t, "heap overflow"));

  /* ... and fills the chunk: a write after another thread's free is seen when the owner
   * hands the chunk out again. */
  unsigned char *w = malloc_(300);
  pthread_create(&th, NULL, remote_free, w);
  pthread_join(th, NULL);
  CHECK_EQ(seen.calls, 0);
  w[7] = 1;
  unsigned char *back = malloc_(300);
  CHECK(back == w);
  CHECK(reported(w, "write after free"));
  free_(back);
}

/* Overflow one chunk to the end of its channel (channel slices are 256 KiB, aligned). */
static void test_overflow_to_channel_end(void) {
  enum { N = 2000 };
  static unsigned char *blk[N];
  static size_t len[N];
  for (int i = 0; i < N; i++) {
    len[i] = 1 + (size_t)(i * 7919) % 3000;
    blk[i] = malloc_(len[i]);
    memset(blk[i], (int)(i & 0xFF), len[i]);
  }
  unsigned char *victim = blk[N / 2];
  uintptr_t end = ((uintptr_t)victim + (256u << 10)) & ~(uintptr_t)((256u << 10) - 1);
  memset(victim, 0xEE, end - (uintptr_t)victim);
  size_t intact = 0, hit = 0;
  for (int i = 0; i < N; i++) {
    uintptr_t b = (uintptr_t)blk[i];
    if (b >= (uintptr_t)victim && b < end) {
      hit++;
      continue;
    }
    size_t bad = 0;
    for (size_t j = 0; j < len[i]; j++) bad += blk[i][j] != (unsigned char)(i & 0xFF);
    intact += bad == 0;
  }
  CHECK_EQ(intact, N - hit);
  const char *why = NULL;
  CHECK_EQ(vcm_check(&why), 0); /* the allocator's state is untouched */
  for (int i = 0; i < N; i++) vcm_expand(blk[i], vcm_capacity(blk[i])); /* no slack left */
  for (int i = 0; i < N; i++) free_(blk[i]);
  CHECK_EQ(seen.calls, 0);
  CHECK_EQ(vcm_check(NULL), 0);
}

int main(int argc, char **argv) {
  (void)argc;
  const char *c = getenv("VCM_CHECK");
  if (!c || strcmp(c, "1") != 0) {
    setenv("VCM_CHECK", "1", 1);
    execv("/proc/self/exe", argv);
    perror("execv");
    return 1;
  }
  vcm_set_misuse_handler(on_misuse, NULL);
  test_checks();
  test_overflow_to_channel_end();
  return t_report();
}
