/* Buddy pairs of the process heap (src/pair.c): a small chunk that grows out of its class is
 * parked while its buddy is live, and the buddy then grows into both in place. Linked against
 * libvcm.a, so malloc itself is vcm's. Each test runs in a thread of its own: a heap whose
 * 16-byte class no other test touched, whose chunks come out in address order. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "harness.h"
#include "chunk.h" /* vcmi_move_set_costs */
#include "heap.h" /* the calling thread's segments, for vcm_region_visit */
#include "vcm.h"

void free_sized(void *p, size_t n);

/* Through volatile pointers: the compiler must not see the misuse these tests make. */
static void (*volatile free_)(void *) = free;
static void *(*volatile realloc_)(void *, size_t) = realloc;
static void (*volatile free_sized_)(void *, size_t) = free_sized;
static void *(*volatile malloc_)(size_t) = malloc;

/* Live 16-byte chunks (parked and absorbed halves are none). */
static size_t live16(void) {
  vcm_stats s;
  vcm_stats_get(&s);
  return s.class_live[0];
}

/* Two vectors of 16 bytes whose chunks are buddies: *lo at an even class-number (32-byte
 * aligned: class areas are 2 MiB aligned), *hi right after it. Found among 1,024 chunks (a heap
 * handed on by an earlier test's thread may give freed ones first, singles whose buddies a
 * malloc of 32 bytes took: take_head); the others are freed. */
static void buddies(unsigned char **lo, unsigned char **hi) {
  enum { N = 1024, STEP = 64 };
  static unsigned char *c[N];
  int x = -1, y = -1, m = 0;
  for (; m < N && x < 0; m += STEP) { /* 64 more at a time: as few as before where they do */
    for (int i = m; i < m + STEP; i++) c[i] = realloc_(NULL, 16);
    for (int i = 0; i < m + STEP && x < 0; i++)
      for (int j = 0; j < m + STEP && c[i] && ((uintptr_t)c[i] & 31u) == 0; j++)
        if (c[j] == c[i] + 16) x = i, y = j;
  }
  CHECK(x >= 0);
  if (x < 0) abort();
  for (int i = 0; i < m; i++)
    if (i != x && i != y) free_(c[i]);
  memset(c[x], 'a', 16);
  memset(c[y], 'b', 16);
  *lo = c[x], *hi = c[y];
}

/* Four vectors of 16 bytes side by side, c[0] 64-byte aligned (two pairs of buddies), found
 * among 128 chunks as buddies() finds two; the others are freed. */
static void quad(unsigned char **c) {
  enum { N = 128 };
  unsigned char *v[N];
  int at[4] = {-1, -1, -1, -1};
  for (int i = 0; i < N; i++) v[i] = realloc_(NULL, 16);
  for (int i = 0; i < N && at[3] < 0; i++) {
    if (!v[i] || ((uintptr_t)v[i] & 63u)) continue;
    at[0] = i, at[1] = at[2] = at[3] = -1;
    for (int j = 0; j < N; j++)
      for (int d = 1; d < 4; d++)
        if (v[j] == v[i] + 16 * d) at[d] = j;
    if (at[1] < 0 || at[2] < 0) at[3] = -1;
  }
  CHECK(at[3] >= 0);
  if (at[3] < 0) abort();
  for (int i = 0; i < N; i++)
    if (i != at[0] && i != at[1] && i != at[2] && i != at[3]) free_(v[i]);
  for (int d = 0; d < 4; d++) c[d] = v[at[d]], memset(c[d], 'a' + d, 16);
}

static int all(const unsigned char *p, size_t n, int c) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != c) return 0;
  return 1;
}

/* Whether the 16-byte chunk at x is handed out again among the next 4,096 (each filled). They
 * stay allocated, so that the free lists do not grow from one call to the next: each call uses
 * them up, and then the class carves. */
static int reused(const unsigned char *x) {
  for (int i = 0; i < 4096; i++) {
    unsigned char *c = realloc_(NULL, 16);
    if (c) memset(c, 'z', 16);
    if (c == x) return 1;
  }
  return 0;
}

/* A purge of this thread's heap: 4.5 MiB of frees, past the least interval (4 MiB). */
static void churn(void) {
  for (int i = 0; i < 72; i++) {
    void *volatile q = malloc(65536);
    free_(q);
  }
}

/* The upper chunk grows out (moved, parked); the lower then grows in place to the pair's 32
 * bytes (it moved before: capacity 16). */
static void *grow_main(void *arg) {
  (void)arg;
  unsigned char *a, *b;
  buddies(&a, &b);
  size_t n0 = live16();
  unsigned char *b2 = realloc_(b, 24);
  CHECK(b2 != b && all(b2, 16, 'b'));
  CHECK_EQ(live16(), n0 - 1); /* b's chunk parked: held, no chunk */
  unsigned char *a2 = realloc_(a, 30);
  CHECK(a2 == a);
  CHECK_EQ(vcm_capacity(a2), 32);
  CHECK_EQ(vcm_used(a2), 30);
  CHECK(all(a2, 16, 'a'));
  memset(a2, 'A', 30);
  CHECK(vcm_check(NULL) == 0);
  CHECK(!reused(a + 16)); /* absorbed: not handed out while a2 lives, even when the class carves */
  CHECK(all(a2, 30, 'A'));
  CHECK(realloc_(a2, 32) == a2); /* in place again, on realloc's fast path */
  CHECK_EQ(malloc_usable_size(a2), 32);
  CHECK(all(a2, 30, 'A') && all(b2, 16, 'b'));
  free_sized_(a2, 32); /* its used bytes, claimed: no report */
  CHECK_EQ(misuse.calls, 0);
  free_(b2);
  CHECK(reused(a + 16)); /* a2 freed: the half goes back when the class carves (or a purge) */
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

/* The stats count a merged chunk once, in the row of its capacity (twice its class's), with its
 * used bytes there; a held half is no chunk in any row. (They counted it in its class's row,
 * where its used bytes could pass the row's capacity.) */
static void *stats_main(void *arg) {
  (void)arg;
  unsigned char *a, *b;
  buddies(&a, &b);
  vcm_stats s0, s1;
  vcm_stats_get(&s0);
  unsigned char *b2 = realloc_(b, 24), *a2 = realloc_(a, 30);
  CHECK(a2 == a && vcm_capacity(a2) == 32);
  vcm_stats_get(&s1);
  CHECK_EQ(s1.class_size[0], 16);
  CHECK_EQ(s1.class_live[0], s0.class_live[0] - 2);
  CHECK_EQ(s1.class_used[0], s0.class_used[0] - 32);
  CHECK_EQ(s1.class_live[1], s0.class_live[1] + 2);
  CHECK_EQ(s1.class_used[1], s0.class_used[1] + 24 + 30);
  CHECK_EQ(s1.small_live_chunks, s0.small_live_chunks);
  CHECK_EQ(s1.small_live_used, s0.small_live_used - 32 + 24 + 30);
  CHECK_EQ(s1.small_live_capacity, s0.small_live_capacity + 32); /* b2's; the pair held */
  free_(a2);
  free_(b2);
  return NULL;
}

/* A merged chunk that grows past the pair moves: its lower half is free at once, the upper
 * when the class carves again or at the next purge. */
static void *leave_main(void *arg) {
  (void)arg;
  unsigned char *a, *b;
  buddies(&a, &b);
  size_t n0 = live16();
  unsigned char *b2 = realloc_(b, 24), *a2 = realloc_(a, 32);
  CHECK(a2 == a);
  unsigned char *a3 = realloc_(a2, 100);
  CHECK(a3 != a2 && all(a3, 16, 'a'));
  CHECK_EQ(live16(), n0 - 2);
  CHECK(reused(a + 16));
  CHECK(vcm_check(NULL) == 0);
  free_(a3);
  free_(b2);
  return NULL;
}

/* The parked half's buddy is freed (the fast path, which does not look at the pair): the next
 * purge gives the parked half back. */
static void *sweep_main(void *arg) {
  (void)arg;
  unsigned char *a, *b;
  buddies(&a, &b);
  size_t n0 = live16();
  unsigned char *b2 = realloc_(b, 24);
  free_(a);
  CHECK_EQ(live16(), n0 - 2);
  churn(); /* the purge's sweep, or else the class carving, gives the half back */
  CHECK(vcm_check(NULL) == 0);
  CHECK(reused(b));
  CHECK(vcm_check(NULL) == 0);
  free_(b2);
  return NULL;
}

static void run_arg(void *(*fn)(void *), void *arg);

static void *free_main(void *arg) {
  free_(arg);
  return NULL;
}

/* Parked and absorbed halves are no chunks: freeing or resizing them is reported, as is a
 * second free of a merged chunk. */
static void *misuse_main(void *arg) {
  (void)arg;
  unsigned char *a, *b;
  buddies(&a, &b);
  unsigned char *b2 = realloc_(b, 24);
  free_(b);
  CHECK(misuse.calls == 1 && misuse.ptr == b && strstr(misuse.reason, "double free"));
  CHECK(realloc_(b, 8) == NULL);
  CHECK(misuse.calls == 2 && misuse.ptr == b);
  unsigned char *a2 = realloc_(a, 32);
  CHECK(a2 == a);
  /* the absorbed half is inside a live chunk: an interior pointer, as it was when the chunk
   * was one of the 32-byte class (a double free, said the first pairs) */
  free_(a + 16);
  CHECK(misuse.calls == 3 && misuse.ptr == a + 16 && strstr(misuse.reason, "interior"));
  CHECK(realloc_(a + 16, 8) == NULL);
  CHECK(misuse.calls == 4 && misuse.ptr == a + 16 && strstr(misuse.reason, "interior"));
  CHECK_EQ(vcm_capacity(a + 16), 0);
  CHECK(misuse.calls == 5 && misuse.ptr == a + 16 && strstr(misuse.reason, "interior"));
  pthread_t t;
  CHECK(pthread_create(&t, NULL, free_main, a + 16) == 0 && pthread_join(t, NULL) == 0);
  CHECK(misuse.calls == 6 && misuse.ptr == a + 16 && strstr(misuse.reason, "interior"));
  free_(a2);
  free_(a2);
  CHECK(misuse.calls == 7 && misuse.ptr == a2 && strstr(misuse.reason, "double free"));
  free_(b2);
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

/* free_sized of a merged chunk with a size carrying the entry's MERGED bit (0x10000000, src/
 * region.h): LIVE ^ size then equals the entry (LIVE | MERGED | used), and free's fast path
 * would free the pair as one chunk of its class, its held half lost. A size over the used-bytes
 * field goes the slow way, which reports it; a right size then frees the pair. */
static void *sized_merged_main(void *arg) {
  (void)arg;
  unsigned char *a, *b;
  buddies(&a, &b);
  unsigned char *b2 = realloc_(b, 24);
  unsigned char *a2 = realloc_(a, 30);
  CHECK(a2 == a);
  CHECK_EQ(vcm_capacity(a2), 32);
  int calls = misuse.calls;
  free_sized_(a2, (size_t)0x10000000u | 30u);
  CHECK(misuse.calls == calls + 1 && misuse.ptr == a2 && strstr(misuse.reason, "free_sized"));
  CHECK_EQ(vcm_used(a2), 30); /* still live */
  CHECK(vcm_check(NULL) == 0);
  free_sized_(a2, 30);
  CHECK_EQ(misuse.calls, calls + 1);
  free_(b2);
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

/* Another thread resizes a merged chunk within its capacity (in place) and frees it (the remote
 * push); the owner's purge then frees the absorbed half too. */
static void *remote_free_main(void *arg) {
  unsigned char *p = arg;
  CHECK(realloc_(p, 31) == p);
  free_(p);
  return NULL;
}
static void *remote_main(void *arg) {
  (void)arg;
  unsigned char *a, *b;
  buddies(&a, &b);
  unsigned char *b2 = realloc_(b, 24), *a2 = realloc_(a, 20);
  CHECK(a2 == a);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, remote_free_main, a2) == 0 && pthread_join(t, NULL) == 0);
  churn(); /* collects the remote free, then the purge's sweep */
  CHECK(vcm_check(NULL) == 0);
  CHECK(reused(a + 16)); /* the head collected, then the absorbed half swept */
  free_(b2);
  return NULL;
}

/* A class that must carve again takes its parked halves first. */
static void *unpark_main(void *arg) {
  (void)arg;
  unsigned char *a, *b;
  buddies(&a, &b);
  unsigned char *b2 = realloc_(b, 24);
  CHECK(reused(b));
  CHECK(all(a, 16, 'a') && all(b2, 16, 'b'));
  CHECK(vcm_check(NULL) == 0);
  free_(a);
  free_(b2);
  return NULL;
}

enum { TAKE_MAX = 20000 };
static void *taken[TAKE_MAX];
/* 1,024 free 16-byte chunks more: a purge looks at a class only with a span's worth free. */
static void spare16(void) {
  static void *c[1024];
  for (int i = 0; i < 1024; i++) c[i] = realloc_(NULL, 16);
  for (int i = 0; i < 1024; i++) free_(c[i]);
}
/* The 16-byte class carves after the last purge: CARVE_N of its chunks live, more than its free
 * list holds (a heap handed on by an earlier test's thread may hold thousands). */
enum { CARVE_N = 32768 };
static void *carved[CARVE_N];
static void carve16(void) {
  for (int i = 0; i < CARVE_N; i++) carved[i] = realloc_(NULL, 16);
}
static void uncarve16(void) {
  for (int i = 0; i < CARVE_N; i++) free_(carved[i]);
}
/* Buddies freed since the last purge do not pair while their class carves: the 32-byte class
 * carves instead (a malloc's take waits for the class below to stop carving, take_head). */
static void *take_new_main(void *arg) {
  (void)arg;
  unsigned char *a, *b, *keep[16];
  buddies(&a, &b);
  for (int i = 0; i < 16; i++) keep[i] = realloc_(NULL, 16);
  spare16();
  churn();
  carve16();
  free_(a);
  free_(b);
  int n = 0, met = 0;
  for (; n < 4096; n++) {
    unsigned char *q = realloc_(NULL, 32);
    met |= q == a;
    taken[n] = q;
  }
  CHECK(!met);
  CHECK(vcm_check(NULL) == 0);
  for (int i = 0; i < n; i++) free_(taken[i]);
  for (int i = 0; i < 16; i++) free_(keep[i]);
  uncarve16();
  return NULL;
}

/* A malloc whose class has no free chunk takes two free buddies among the latest frees of the
 * class below if that class carved nothing since the last purge (vectors leave it for the class
 * above: x4), as one MERGED chunk, in place (pair.h, vcmi_pair_take_head); misuse of it is
 * still reported. */
static void *take_head_main(void *arg) {
  (void)arg;
  unsigned char *a, *b, *q = NULL;
  buddies(&a, &b);
  churn(); /* a purge: the 16-byte class's carving counts from here */
  free_(b);
  free_(a);
  int n = 0;
  while (n < TAKE_MAX && (q = realloc_(NULL, 32)) != a) taken[n++] = q;
  CHECK(q == a);
  if (q == a) {
    CHECK_EQ(vcm_capacity(q), 32);
    CHECK_EQ(malloc_usable_size(q), 32);
    memset(q, 'h', 32);
    CHECK(vcm_check(NULL) == 0);
    CHECK(realloc_(q, 17) == q && all(q, 17, 'h'));
    free_(q + 16);
    CHECK(misuse.calls == 1 && misuse.ptr == q + 16 && strstr(misuse.reason, "interior"));
    free_(q);
    free_(q);
    CHECK(misuse.calls == 2 && misuse.ptr == q && strstr(misuse.reason, "double free"));
    misuse.calls = 0;
  }
  churn(); /* the held half back on the list */
  CHECK(vcm_check(NULL) == 0);
  for (int i = 0; i < n; i++) free_(taken[i]);
  return NULL;
}

/* A wave's lane (heap.c take_any): after a head take served the 32-byte class, the segment
 * serves the next slow malloc of that class first, under the same conditions: once the 16-byte
 * class carves again, two buddies freed since are not taken (a lane without that test took
 * them: a class still carving raided). */
static void *take_lane_main(void *arg) {
  (void)arg;
  unsigned char *a, *b, *c, *d, *q = NULL;
  buddies(&a, &b);
  churn();
  free_(b);
  free_(a);
  int n = 0;
  while (n < TAKE_MAX && (q = realloc_(NULL, 32)) != a) taken[n++] = q;
  CHECK(q == a); /* a head take: the lane set */
  buddies(&c, &d);
  carve16();
  free_(d);
  free_(c);
  int m = 0, met = 0;
  for (; m < 4096 && n < TAKE_MAX; m++) {
    unsigned char *x = realloc_(NULL, 32);
    met |= x == c;
    taken[n++] = x;
  }
  CHECK(!met);
  CHECK(vcm_check(NULL) == 0);
  for (int i = 0; i < n; i++) free_(taken[i]);
  free_(q);
  uncarve16();
  return NULL;
}

/* Nor do two buddies free at a purge (AGED), over rounds of the 32-byte class using up its
 * chunks between purges: such takes (e44adce) spared g3 0.3 MiB with halves of 256 B or less,
 * but g7's C++ vectors took 28 % more page faults. a is never handed out as a 32-byte chunk. */
static void *no_take_main(void *arg) {
  (void)arg;
  unsigned char *a, *b, *keep[16];
  buddies(&a, &b);
  for (int i = 0; i < 16; i++) keep[i] = realloc_(NULL, 16); /* the page stays resident */
  spare16();
  free_(a);
  free_(b);
  churn(); /* a purge: a and b AGED */
  unsigned char *q = NULL;
  int n = 0;
  for (int round = 0; q != a && n < TAKE_MAX && round < 1000; round++) {
    for (int i = 0; i < 64 && n < TAKE_MAX && (q = realloc_(NULL, 32)) != a; i++) taken[n++] = q;
    if (q != a) {
      spare16();
      churn();
    }
  }
  CHECK(q != a);
  CHECK(vcm_check(NULL) == 0);
  if (q == a) taken[n++] = q;
  for (int i = 0; i < n; i++) free_(taken[i]);
  for (int i = 0; i < 16; i++) free_(keep[i]);
  return NULL;
}

/* The lower chunk grows into its free upper buddy in place, taken off the free list: one freed
 * just now (the list's head), or one a purge grouped (found through its span's group). */
static void *grow_free_main(void *arg) {
  int aged = arg != NULL;
  unsigned char *a, *b, *keep[16];
  buddies(&a, &b);
  for (int i = 0; i < 16; i++) keep[i] = realloc_(NULL, 16); /* the page stays resident */
  if (aged) spare16();
  free_(b);
  if (aged) {
    churn(); /* b AGED, in its span's group */
    CHECK(vcm_check(NULL) == 0);
  }
  unsigned char *a2 = realloc_(a, 30);
  CHECK(a2 == a);
  CHECK_EQ(vcm_capacity(a2), 32);
  CHECK(all(a2, 16, 'a'));
  memset(a2, 'A', 30);
  CHECK(vcm_check(NULL) == 0);
  CHECK(!reused(b)); /* off the free list */
  spare16();
  churn(); /* a purge finds the list and the groups as it expects */
  CHECK(vcm_check(NULL) == 0);
  CHECK(all(a2, 30, 'A'));
  free_(a2);
  churn();
  CHECK(vcm_check(NULL) == 0);
  for (int i = 0; i < 16; i++) free_(keep[i]);
  return NULL;
}

/* The free upper buddy is all that is left on the list of its span's group, whose first chunk
 * was taken since the purge grouped them: the group goes from the chain with that chunk, and
 * the next purge finds the list as it expects (test builds check the chain). */
static void *grow_partial_main(void *arg) {
  (void)arg;
  unsigned char *a, *b, *x = NULL;
  static unsigned char *fill[512], *drain[4096];
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  /* the heap (an earlier thread's) has free 16-byte chunks scattered over pages mostly live
   * (its exit purges gave back its free pages): taken first, so that a's page is new */
  for (int i = 0; i < 4096; i++) drain[i] = realloc_(NULL, 16);
  buddies(&a, &b);
  for (int i = 0; i < 512; i++) { /* every free chunk of a's page used */
    fill[i] = realloc_(NULL, 16);
    if (!x && fill[i] && fill[i] != b && ((uintptr_t)fill[i] ^ (uintptr_t)a) < page &&
        ((uintptr_t)fill[i] & -page) == ((uintptr_t)a & -page)) /* in a's span */
      x = fill[i];
  }
  CHECK(x != NULL);
  if (!x) abort();
  spare16(); /* a span's worth of frees elsewhere: the purge looks at the class */
  free_(x);
  free_(b); /* grouped x, then b, the group's tail (the earliest freed first) */
  churn();
  CHECK(vcm_check(NULL) == 0);
  int n = 0;
  unsigned char *q = NULL;
  while (n < TAKE_MAX && (q = realloc_(NULL, 16)) != x && q != b) taken[n++] = q;
  CHECK(q == x); /* b is the list's head now, its group's last chunk */
  unsigned char *a2 = realloc_(a, 30);
  CHECK(a2 == a);
  CHECK(vcm_check(NULL) == 0);
  spare16();
  churn();
  CHECK(vcm_check(NULL) == 0);
  free_(a2);
  free_(q);
  for (int i = 0; i < n; i++) free_(taken[i]);
  for (int i = 0; i < 512; i++)
    if (fill[i] != x) free_(fill[i]);
  for (int i = 0; i < 4096; i++) free_(drain[i]);
  churn();
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

/* A MERGED pair grows into the pair above when both its halves are free: one chunk of four
 * times the class's capacity (a QUAD), in place, its three other entries HELD. Pointers into it
 * are interior, it frees once, and its halves come back after its free (before: it moved). */
static void *quad_main(void *arg) {
  (void)arg;
  unsigned char *c[4];
  quad(c);
  unsigned char *a = c[0];
  free_(c[1]);
  CHECK(realloc_(a, 32) == a); /* MERGED, into its free upper buddy */
  free_(c[3]);
  free_(c[2]);
  vcm_stats s0, s1;
  vcm_stats_get(&s0);
  unsigned char *q = realloc_(a, 60);
  CHECK(q == a);
  if (q != a) return NULL;
  CHECK_EQ(vcm_capacity(q), 64);
  CHECK_EQ(vcm_used(q), 60);
  CHECK(all(q, 16, 'a'));
  vcm_stats_get(&s1);
  CHECK_EQ(s1.class_live[1], s0.class_live[1] - 1); /* in the 64-byte row now */
  CHECK_EQ(s1.class_live[2], s0.class_live[2] + 1);
  CHECK_EQ(s1.small_live_capacity, s0.small_live_capacity + 32);
  memset(q, 'Q', 60);
  CHECK(vcm_check(NULL) == 0);
  CHECK(realloc_(q, 64) == q && realloc_(q, 20) == q && realloc_(q, 5) == q); /* stays */
  CHECK_EQ(vcm_capacity(q), 64);
  CHECK(realloc_(q, 64) == q);
  memset(q, 'Q', 64);
  for (int d = 1; d < 4; d++) { /* each half inside it: interior, nothing freed */
    free_(q + 16 * d);
    CHECK(misuse.calls == d && misuse.ptr == q + 16 * d && strstr(misuse.reason, "interior"));
  }
  CHECK(realloc_(q + 32, 8) == NULL && misuse.calls == 4 && strstr(misuse.reason, "interior"));
  CHECK_EQ(vcm_capacity(q + 48), 0);
  CHECK(misuse.calls == 5 && strstr(misuse.reason, "interior"));
  CHECK(!reused(c[2]) && all(q, 64, 'Q')); /* HELD: not handed out while q lives */
  free_sized_(q, 64);
  CHECK_EQ(misuse.calls, 5);
  free_(q);
  CHECK(misuse.calls == 6 && misuse.ptr == q && strstr(misuse.reason, "double free"));
  churn(); /* the sweep gives its halves back */
  CHECK(vcm_check(NULL) == 0);
  CHECK(reused(c[3]));
  CHECK(vcm_check(NULL) == 0);
  misuse.calls = 0;
  return NULL;
}

/* A QUAD grows past its capacity: moved, its halves back after the next purge; another thread
 * frees one (the remote push), and the owner's purge frees its halves. */
static void *quad_leave_main(void *arg) {
  unsigned char *c[4];
  quad(c);
  unsigned char *a = c[0];
  free_(c[1]);
  free_(c[2]);
  free_(c[3]);
  unsigned char *m = realloc_(a, 32), *q = m ? realloc_(m, 64) : NULL;
  CHECK(m == a && q == a && vcm_capacity(q) == 64);
  if (q != a) { /* moved (before quads) */
    free_(q);
    return NULL;
  }
  if (arg) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, remote_free_main, a) == 0 && pthread_join(t, NULL) == 0);
  } else {
    unsigned char *b = realloc_(a, 65);
    CHECK(b != a && all(b, 16, 'a'));
    free_(b);
  }
  churn();
  CHECK(vcm_check(NULL) == 0);
  CHECK(reused(c[1]));
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

/* A growing realloc whose class has no free chunk takes two free buddies of the class below,
 * free at a purge (AGED), as one MERGED chunk (pair.h), unlike a fresh allocation (no_take):
 * the 16-byte vectors here grow to 32 bytes until one gets a. The chunk is then a MERGED pair. */
enum { GROW_N = 16384 };
static unsigned char *grower[GROW_N];
static void *take_grow_main(void *arg) {
  (void)arg;
  unsigned char *a, *b, *keep[16];
  buddies(&a, &b);
  for (int i = 0; i < 16; i++) keep[i] = realloc_(NULL, 16); /* the page stays resident */
  for (int i = 0; i < GROW_N; i++) grower[i] = realloc_(NULL, 16); /* before a, b are free */
  spare16();
  free_(a);
  free_(b);
  churn(); /* a purge: a and b AGED */
  unsigned char *q = NULL;
  int g = 0;
  /* the 32-byte class used up, a growing realloc takes pairs from where the scan stopped; a
   * scan that finds none waits for a purge that looks at the 16-byte class */
  for (int round = 0; q != a && g < GROW_N && round < 1000; round++) {
    for (int i = 0; i < 64 && g < GROW_N && q != a; i++, g++) {
      memset(grower[g], 'g', 16);
      q = grower[g] = realloc_(grower[g], 32);
      CHECK(q && all(q, 16, 'g'));
    }
    if (q != a) {
      spare16();
      churn();
    }
  }
  CHECK(q == a);
  if (q == a) {
    CHECK_EQ(vcm_capacity(q), 32);
    CHECK_EQ(vcm_used(q), 32);
    CHECK(vcm_check(NULL) == 0);
    CHECK(realloc_(q, 17) == q && realloc_(q, 32) == q); /* in place within the pair */
    free_(q + 16);
    CHECK(misuse.calls == 1 && misuse.ptr == q + 16 && strstr(misuse.reason, "interior"));
    CHECK(all(q, 16, 'g'));
    spare16(); /* frees into the class: the next purge looks at it */
    churn(); /* a purge with the pair live: groups as the take left them */
    CHECK(vcm_check(NULL) == 0);
  }
  misuse.calls = 0;
  for (int i = 0; i < GROW_N; i++) free_(grower[i]);
  churn();
  CHECK(vcm_check(NULL) == 0);
  for (int i = 0; i < 16; i++) free_(keep[i]);
  return NULL;
}

/* The QUAD q a take gave (its first keep bytes c) stays through a purge, then grows out of it to
 * n: moved (its chunks back at the next purge); returns the new place. */
static unsigned char *taken_leaves(unsigned char *q, size_t keep, int c, size_t n) {
  churn(); /* a purge with the QUAD live: its chunks stay held */
  CHECK(vcm_check(NULL) == 0 && all(q, keep, c));
  unsigned char *r = realloc_(q, n);
  CHECK(r != q && all(r, keep, c));
  return r;
}

/* Frees a[0 .. na) and b[0 .. nb) (NULL ones too), then a purge and a check. */
static void free_both(unsigned char **a, int na, unsigned char **b, int nb) {
  misuse.calls = 0;
  for (int i = 0; i < na; i++) free_(a[i]);
  for (int i = 0; i < nb; i++) free_(b[i]);
  churn();
  CHECK(vcm_check(NULL) == 0);
}

/* A realloc growing by an append (40 bytes) into the 2 KiB class, which has no free chunk, with
 * no two free 1 KiB buddies at hand, takes four free 512-byte chunks (AGED, 2 KiB aligned, in a
 * span holding a chunk in use) as one QUAD (pair.h): full 1 KiB vectors grow by 40 bytes until
 * one gets the four (before: only fresh 2 KiB chunks or pairs of 1 KiB). Grown by a larger step
 * (arg: 476 bytes) none does. The four are found among 128 vectors of 512 bytes, as quad() finds
 * four of 16; the other four of their page stay live. */
enum { Q512 = 128, QGROW_N = 2048 };
static unsigned char *qgrower[QGROW_N];
static void *quad_take_main(void *arg) {
  size_t n = arg ? 1500 : 1064;
  unsigned char *v[Q512], *a = NULL;
  for (int i = 0; i < Q512; i++) v[i] = realloc_(NULL, 512);
  int at = -1;
  for (int i = 0; i < Q512 && at < 0; i++) {
    int d = 0;
    for (int j = 0; j < Q512 && v[i] && ((uintptr_t)v[i] & 2047u) == 0; j++)
      if (v[j] > v[i] && v[j] < v[i] + 2048) d++;
    if (d == 3) at = i;
  }
  CHECK(at >= 0);
  if (at < 0) abort();
  a = v[at];
  for (int i = 0; i < QGROW_N; i++) qgrower[i] = realloc_(NULL, 1024);
  for (int i = 0; i < Q512; i++) /* the rest of a's page stays live; the other pages go */
    if ((v[i] >= a && v[i] < a + 2048) || ((uintptr_t)v[i] ^ (uintptr_t)a) >= 4096)
      free_(v[i]), v[i] = NULL;
  churn(); /* a purge: the four AGED (it looks at a class with a span's worth free) */
  unsigned char *q = NULL;
  int g = 0;
  for (int round = 0; q != a && g < QGROW_N && round < 1000; round++) {
    for (int i = 0; i < 64 && g < QGROW_N && q != a; i++, g++) {
      memset(qgrower[g], 'g', 1024);
      q = qgrower[g] = realloc_(qgrower[g], n);
      CHECK(q && all(q, 1024, 'g'));
    }
    if (q != a) churn();
  }
  CHECK(arg ? q != a : q == a);
  if (q == a) {
    CHECK_EQ(vcm_capacity(q), 2048);
    CHECK_EQ(vcm_used(q), 1064);
    CHECK(vcm_check(NULL) == 0);
    CHECK(realloc_(q, 2048) == q && realloc_(q, 1100) == q); /* in place within the QUAD */
    memset(q, 'Q', 1100);
    for (int d = 1; d < 4; d++) { /* each chunk inside it: interior, nothing freed */
      free_(q + 512 * d);
      CHECK(misuse.calls == d && misuse.ptr == q + 512 * d && strstr(misuse.reason, "interior"));
    }
    qgrower[g - 1] = taken_leaves(q, 1100, 'Q', 2100);
  }
  free_both(qgrower, QGROW_N, v, Q512);
  return NULL;
}

/* An append into 4 KiB, whose class has no free chunk, takes a whole free page of the 1 KiB
 * class (its four chunks AGED and not dropped) as one QUAD (pair.h, VCMI_TAKE_CAP_MAX): full
 * 2 KiB vectors grow by 40 bytes until one gets the page (before: a fresh 4 KiB chunk, the page
 * left free). Grown by a larger step (arg: 1,000 bytes) none does. The page is found among 64
 * vectors of 1 KiB; the others stay live, so that it is a short free run, which purges keep. */
enum { P1K = 64, PGROW_N = 512 };
static unsigned char *pgrower[PGROW_N];
static void *page_take_main(void *arg) {
  size_t n = arg ? 3048 : 2088;
  unsigned char *v[P1K], *a = NULL;
  for (int i = 0; i < P1K; i++) v[i] = realloc_(NULL, 1024);
  for (int i = 0; i < P1K && !a; i++) {
    int d = 0;
    for (int j = 0; j < P1K && v[i] && ((uintptr_t)v[i] & 4095u) == 0; j++)
      if (v[j] > v[i] && v[j] < v[i] + 4096) d++;
    if (d == 3) a = v[i];
  }
  CHECK(a != NULL);
  if (!a) abort();
  for (int i = 0; i < PGROW_N; i++) pgrower[i] = realloc_(NULL, 2048);
  for (int i = 0; i < P1K; i++)
    if (v[i] >= a && v[i] < a + 4096) free_(v[i]), v[i] = NULL;
  churn(); /* a purge: the page's chunks AGED */
  unsigned char *q = NULL;
  int g;
  for (g = 0; g < PGROW_N && q != a; g++) {
    memset(pgrower[g], 'g', 2048);
    q = pgrower[g] = realloc_(pgrower[g], n);
    CHECK(q && all(q, 2048, 'g'));
  }
  CHECK(arg ? q != a : q == a);
  if (q == a) {
    CHECK_EQ(vcm_capacity(q), 4096);
    CHECK_EQ(vcm_used(q), 2088);
    CHECK(vcm_check(NULL) == 0);
    CHECK(realloc_(q, 4096) == q && realloc_(q, 2100) == q); /* in place within the page */
    memset(q, 'P', 2100);
    free_(q + 1024);
    CHECK(misuse.calls == 1 && misuse.ptr == q + 1024 && strstr(misuse.reason, "interior"));
    pgrower[g - 1] = taken_leaves(q, 2100, 'P', 4200);
  }
  free_both(pgrower, PGROW_N, v, P1K);
  return NULL;
}

static void run_arg(void *(*fn)(void *), void *arg);
/* A vector of 2 KiB whose lower buddy is free grows out of its class by an append (40 bytes),
 * with no free chunk of the class above: its bytes move down into the pair, a MERGED chunk of
 * 4 KiB (pair.h, vcmi_pair_slide), not into a fresh page (before: a 4 KiB chunk elsewhere).
 * With one (arg), that one is used: the head of the list, or (arg 2) one another thread freed,
 * not collected yet. Grown by a larger step (arg 3, 1 KiB), it moves to the class above. The
 * buddies are found among 16 vectors, as buddies() finds two. */
static void *slide_main(void *arg) {
  enum { N = 16, K2 = 2048 };
  unsigned char *c[N], *a = NULL, *b = NULL;
  for (int i = 0; i < N; i++) c[i] = realloc_(NULL, K2);
  for (int i = 0; i < N && !a; i++)
    for (int j = 0; j < N && c[i] && ((uintptr_t)c[i] & (2 * K2 - 1)) == 0; j++)
      if (c[j] == c[i] + K2) a = c[i], b = c[j];
  CHECK(a != NULL);
  if (!a) abort();
  for (int i = 0; i < N; i++)
    if (c[i] != a && c[i] != b) free_(c[i]);
  memset(b, 'b', K2);
  unsigned char *spare = NULL;
  size_t step = arg == (void *)3 ? 1024 : 40, n = K2 + step;
  if (arg && arg != (void *)3) { /* a free 4 KiB chunk */
    spare = realloc_(NULL, 2 * K2);
    if (arg == (void *)2)
      run_arg(free_main, spare); /* a remote free */
    else
      free_(spare);
  }
  free_(a);
  unsigned char *q = realloc_(b, n);
  CHECK(arg == (void *)3 ? q != a && q != b : q == (arg ? spare : a));
  CHECK_EQ(vcm_capacity(q), 2 * K2);
  CHECK_EQ(vcm_used(q), n);
  CHECK(all(q, K2, 'b'));
  memset(q, 'S', n);
  CHECK(vcm_check(NULL) == 0);
  CHECK(realloc_(q, 2 * K2) == q); /* in place within the pair */
  if (q == a) {
    free_(b); /* inside the pair now */
    CHECK(misuse.calls == 1 && misuse.ptr == b && strstr(misuse.reason, "interior"));
    CHECK(!reused(b) && all(q, n, 'S'));
  }
  unsigned char *r = realloc_(q, 5000); /* out of the pair: moved, the pair freed */
  CHECK(r != q && all(r, n, 'S'));
  free_(r);
  churn();
  CHECK(vcm_check(NULL) == 0);
  misuse.calls = 0;
  return NULL;
}

/* Below 2 KiB a chunk does not slide down into its free lower buddy: it moves to the class above
 * (a pair there grows in place less than that chunk would: pair.h). The 32-byte class's list is
 * used up first (a fresh page's chunks taken), so that nothing of the class above is at hand. */
static void *slide_small_main(void *arg) {
  (void)arg;
  unsigned char *a, *b;
  buddies(&a, &b);
  int n = 0, fresh = -1;
  while (n < TAKE_MAX && fresh < 0) { /* a fresh batch starts a page: 128 chunks of 32 B */
    unsigned char *t = taken[n++] = realloc_(NULL, 32);
    if (((uintptr_t)t & 4095u) == 0) fresh = n - 1;
  }
  for (int i = 1; i < 128 && n < TAKE_MAX; i++) taken[n++] = realloc_(NULL, 32);
  CHECK(fresh >= 0 && (unsigned char *)taken[n - 1] == (unsigned char *)taken[fresh] + 32 * 127);
  free_(a);
  unsigned char *q = realloc_(b, 20);
  CHECK(q != a && q != b && all(q, 16, 'b'));
  CHECK_EQ(vcm_capacity(q), 32);
  CHECK(vcm_check(NULL) == 0);
  free_(q);
  for (int i = 0; i < n; i++) free_(taken[i]);
  churn();
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

/* vcm_region_visit over the calling thread's segments: what it reports at [at, at + span). */
typedef struct {
  const unsigned char *at;
  size_t span, chunks, live, cap;
} seen_t;
static void seen_cb(void *ctx, const void *p, size_t cap, size_t used, int live) {
  seen_t *v = ctx;
  const unsigned char *c = p;
  (void)used;
  if (c < v->at || c >= v->at + v->span) return;
  v->chunks++;
  v->live += !!live;
  v->cap += cap;
}
static seen_t seen(const void *at, size_t span) {
  seen_t v = {at, span, 0, 0, 0};
  for (vcmi_segment *s = vcmi_tls_heap->segs; s; s = s->next) vcm_region_visit(&s->region, seen_cb, &v);
  return v;
}

/* vcm_region_visit reports a MERGED chunk or a QUAD once, live, at its capacity, and no chunk
 * inside it (before: each held half inside it again, as a free chunk of its class: the SVG's
 * free count held them); a PARKED half, inside no live chunk, once, free. */
static void *visit_main(void *arg) {
  (void)arg;
  unsigned char *a, *b, *c[4];
  buddies(&a, &b);
  unsigned char *b2 = realloc_(b, 24); /* b's chunk parked beside a */
  seen_t v = seen(b, 16);
  CHECK(v.chunks == 1 && v.live == 0 && v.cap == 16);
  unsigned char *a2 = realloc_(a, 30); /* MERGED: a's and b's chunks */
  CHECK(a2 == a);
  v = seen(a, 32);
  CHECK(v.chunks == 1 && v.live == 1 && v.cap == 32);
  free_(a2);
  free_(b2);
  quad(c);
  free_(c[1]);
  CHECK(realloc_(c[0], 32) == c[0]);
  free_(c[3]);
  free_(c[2]);
  CHECK(realloc_(c[0], 60) == c[0]); /* a QUAD: c[1..3]'s chunks held inside it */
  v = seen(c[0], 64);
  CHECK(v.chunks == 1 && v.live == 1 && v.cap == 64);
  free_(c[0]);
  churn();
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

/* Pages of [p, p + n) resident (mincore), n of 1 MiB at most; -1 if mincore fails. */
static long resident(const void *p, size_t n) {
  unsigned char v[256];
  size_t pages = n / 4096u;
  long c = 0;
  if (pages > sizeof v || mincore((void *)p, n, v) != 0) return -1;
  for (size_t i = 0; i < pages; i++) c += v[i] & 1u;
  return c;
}

/* Two chunks of C bytes (a power-of-two class of a page or more) side by side, *lo at an even
 * class-number (2C aligned: class areas are 2 MiB aligned), found among 16; the others freed. */
static void big_buddies(size_t C, unsigned char **lo, unsigned char **hi) {
  enum { N = 16 };
  unsigned char *c[N];
  int x = -1, y = -1;
  for (int i = 0; i < N; i++) c[i] = realloc_(NULL, C);
  for (int i = 0; i < N && x < 0; i++)
    for (int j = 0; j < N && c[i] && ((uintptr_t)c[i] & (2u * C - 1u)) == 0; j++)
      if (c[j] == c[i] + C) x = i, y = j;
  CHECK(x >= 0);
  if (x < 0) abort();
  for (int i = 0; i < N; i++)
    if (i != x && i != y) free_(c[i]);
  memset(c[x], 'a', C);
  memset(c[y], 'b', C);
  *lo = c[x], *hi = c[y];
}

/* Above 2 KiB (up to 64 KiB) a chunk grows into its free buddy in place, a MERGED chunk of
 * twice its capacity (it moved before: 4 KiB to 64 KiB chunks did not pair); the upper half is
 * no chunk (an interior pointer); grown past the pair, it moves and both halves are free at
 * once, the next two chunks of the class. arg: the class's capacity. */
static void *big_grow_main(void *arg) {
  size_t C = (size_t)(uintptr_t)arg;
  unsigned char *a, *b;
  big_buddies(C, &a, &b);
  free_(b);
  unsigned char *q = realloc_(a, C + C / 2u);
  CHECK(q == a && all(q, C, 'a'));
  CHECK_EQ(vcm_capacity(q), 2u * C);
  CHECK_EQ(vcm_used(q), C + C / 2u);
  CHECK_EQ(malloc_usable_size(q), 2u * C); /* claims it: used = 2C */
  memset(q, 'M', 2u * C);
  CHECK(vcm_check(NULL) == 0);
  free_(a + C);
  CHECK(misuse.calls == 1 && misuse.ptr == a + C && strstr(misuse.reason, "interior"));
  misuse.calls = 0;
  CHECK(realloc_(q, 2u * C) == q);
  unsigned char *r = realloc_(q, 2u * C + 1u);
  CHECK(r != q && all(r, 2u * C, 'M'));
  unsigned char *x = realloc_(NULL, C), *y = realloc_(NULL, C);
  CHECK(x == a && y == a + C);
  CHECK(vcm_check(NULL) == 0);
  free_(x);
  free_(y);
  free_(r);
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

/* A dropped buddy serves too (its pages fault in, the chunk's own stay), unless the class above
 * has a resident chunk to hand out first (arg 1): the move takes it. And a MERGED chunk freed by
 * another thread frees both halves (the upper one at the owner's collection, big_free). */
static void *big_dropped_main(void *arg) {
  const size_t C = 16384;
  unsigned char *a, *b, *x = NULL;
  big_buddies(C, &a, &b);
  free_(b);
  vcm_trim(); /* b's pages dropped */
  CHECK_EQ(resident(b, C), 0);
  if (arg) {
    x = realloc_(NULL, 2u * C); /* resident, then the head of its class's list */
    memset(x, 'x', 2u * C);
    free_(x);
  }
  CHECK_EQ(resident(a, C), (long)(C / 4096u));
  unsigned char *q = realloc_(a, C + 1u);
  CHECK(arg ? q == x : q == a);
  CHECK(all(q, C, 'a'));
  CHECK_EQ(resident(b, C), 0);
  CHECK_EQ(vcm_capacity(q), 2u * C);
  memset(q, 'M', 2u * C);
  CHECK(vcm_check(NULL) == 0);
  run_arg(free_main, q);
  CHECK(vcm_check(NULL) == 0);
  churn(); /* the sweep gives the upper half back */
  CHECK(vcm_check(NULL) == 0);
  CHECK_EQ(misuse.calls, 0);
  return NULL;
}

/* The source of a copied move out of a MERGED chunk is dropped with both halves (the list of
 * moved sources named only the lower): five pairs of 16 KiB chunks filled to 32 KiB and grown
 * to 64 KiB list 40 pages, past REMAP_PAGES (chunk.c), and the list goes. Copying pinned as
 * the cheaper way (chunk.c measures; then measured again). */
static void *big_drop_main(void *arg) {
  enum { P = 5 };
  const size_t C = 16384;
  unsigned char *lo[P], *hi[P], *to[P];
  (void)arg;
  vcmi_move_set_costs(1, UINT64_MAX >> 8);
  for (int i = 0; i < P; i++) {
    big_buddies(C, &lo[i], &hi[i]);
    free_(hi[i]);
    CHECK(realloc_(lo[i], 2u * C) == lo[i]);
    memset(lo[i], 'm', 2u * C);
  }
  for (int i = 0; i < P; i++) {
    to[i] = realloc_(lo[i], 4u * C);
    CHECK(to[i] != lo[i] && all(to[i], 2u * C, 'm'));
  }
  for (int i = 0; i < P; i++) CHECK_EQ(resident(lo[i], 2u * C), 0);
  CHECK(vcm_check(NULL) == 0);
  for (int i = 0; i < P; i++) free_(to[i]);
  vcmi_move_set_costs(0, 0);
  return NULL;
}

/* The HELD halves of the calling thread's segments in the power-of-two class of C bytes. */
static uint32_t held_of(size_t C) {
  uint32_t n = 0;
  for (vcmi_segment *s = vcmi_tls_heap->segs; s; s = s->next)
    for (unsigned k = 0; k < VCMI_NCLASS && vcmi_seg_region(s)->xscale == 0; k++)
      if (s->cap[k] == C) n += vcmi_seg_region(s)->held[k];
  return n;
}

/* A MERGED chunk of 4-64 KiB freed whole frees both halves at once (free's fast path freed the
 * lower one alone, the upper waiting HELD for the owner's next sweep, or for the class to
 * carve): freed by free (arg 0) or free_sized (1), the next two chunks of the class are the
 * pair's halves; freed by another thread (2), the owner's collection of it (when its class's
 * free chunks are used up) frees the upper half too, and the next chunk is that half. */
static void *big_free_main(void *arg) {
  const size_t C = 16384;
  const int how = (int)(uintptr_t)arg;
  unsigned char *a, *b, *got[66];
  big_buddies(C, &a, &b);
  free_(b);
  unsigned char *q = realloc_(a, C + 100u);
  CHECK(q == a && vcm_capacity(q) == 2u * C);
  CHECK_EQ(held_of(C), 1);
  if (how == 0) free_(q);
  if (how == 1) free_sized_(q, C + 100u);
  if (how == 2) run_arg(free_main, q);
  int n = 0;
  if (how < 2) {
    CHECK_EQ(held_of(C), 0);
    got[n++] = realloc_(NULL, C);
    got[n++] = realloc_(NULL, C);
    CHECK(got[0] == a && got[1] == a + C);
  } else { /* the class's free chunks used up, then the slow way collects q */
    while (n < 64 && (got[n] = realloc_(NULL, C)) != a) n++;
    CHECK(n < 64);
    n += n < 64; /* a, taken */
    CHECK_EQ(held_of(C), 0);
    got[n] = realloc_(NULL, C);
    CHECK(got[n++] == a + C);
  }
  CHECK(vcm_check(NULL) == 0);
  for (int i = 0; i < n; i++) free_(got[i]);
  CHECK(vcm_check(NULL) == 0);
  CHECK_EQ(misuse.calls, 0);
  return NULL;
}

static void *remote_free_one(void *p) {
  free_(p);
  return NULL;
}

/* Colour pairs (pair.h): a malloc of 16 KiB (the 16,512-byte colour class) whose class has no
 * free chunk takes two free buddies of the 8,256-byte class, among its latest frees, as one
 * MERGED chunk of 16,512 bytes in place, once that class carved nothing since the last purge (a
 * wave of C++ vectors leaving it: g7). Its neighbours stay intact, misuse of it is reported,
 * and freed (by its owner, or with arg by another thread) both halves serve 8 KiB again. Of
 * three chunks side by side (among 16), one of the two pairs they make is a pair of buddies. */
static void *colour_take_main(void *arg) {
  enum { N = 16, C = 8256, TRIES = 256 };
  unsigned char *a[N], *c = NULL, *q = NULL;
  for (int i = 0; i < N; i++) a[i] = malloc_(8192), memset(a[i], 'a' + i, 8192);
  for (int i = 0; i < N && !c; i++) { /* in any order: a heap handed on may give freed ones */
    int up = 0;
    for (int j = 0; j < N; j++) up += a[j] == a[i] + C || a[j] == a[i] + 2 * C;
    if (up == 2) c = a[i];
  }
  CHECK(c != NULL);
  if (!c) abort();
  churn(); /* a purge: the 8 KiB class carves no more */
  for (int i = 0; i < N; i++)
    if (a[i] >= c && a[i] <= c + 2 * C) free_(a[i]), a[i] = NULL;
  int n = 0;
  while (n < TRIES && (q = malloc_(16384)) != c && q != c + C) taken[n++] = q;
  CHECK(q == c || q == c + C);
  if (q == c || q == c + C) {
    CHECK_EQ(vcm_capacity(q), 2 * C);
    CHECK_EQ(malloc_usable_size(q), 2 * C);
    memset(q, 'h', 2 * C);
    CHECK(vcm_check(NULL) == 0);
    for (int i = 0; i < N; i++) CHECK(!a[i] || all(a[i], 8192, 'a' + i));
    free_(q + C);
    CHECK(misuse.calls == 1 && misuse.ptr == q + C && strstr(misuse.reason, "interior"));
    misuse.calls = 0;
    if (arg) {
      pthread_t t;
      CHECK(pthread_create(&t, NULL, remote_free_one, q) == 0 && pthread_join(t, NULL) == 0);
      churn(); /* collects the remote free, then the purge's sweep frees the upper half */
    } else {
      free_(q);
      free_(q);
      CHECK(misuse.calls == 1 && misuse.ptr == q && strstr(misuse.reason, "double free"));
      misuse.calls = 0;
    }
    CHECK(vcm_check(NULL) == 0);
    unsigned char *x[4]; /* both halves back on the list, near its head (c's neighbour too) */
    int lo = 0, hi = 0;
    for (int i = 0; i < 4; i++) x[i] = malloc_(8192), lo += x[i] == q, hi += x[i] == q + C;
    CHECK(lo == 1 && hi == 1);
    for (int i = 0; i < 4; i++) free_(x[i]);
  }
  for (int i = 0; i < n; i++) free_(taken[i]);
  for (int i = 0; i < N; i++) free_(a[i]);
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

/* Colour pairs found by a scan (pair.h, vcmi_pair_take_colour): buddies of 8 KiB freed before a
 * purge (AGED, as a wave's MERGED chunks freed together at a teardown), which no head take finds
 * (a marked chunk ends its look), still serve a malloc of 16 KiB in place, not fresh pages. */
static void *colour_scan_main(void *arg) {
  enum { N = 16, C = 8256, TRIES = 256 };
  unsigned char *a[N], *c = NULL, *q = NULL;
  (void)arg;
  for (int i = 0; i < N; i++) a[i] = malloc_(8192), memset(a[i], 'a' + i, 8192);
  for (int i = 0; i < N && !c; i++) {
    int up = 0;
    for (int j = 0; j < N; j++) up += a[j] == a[i] + C || a[j] == a[i] + 2 * C;
    if (up == 2) c = a[i];
  }
  CHECK(c != NULL);
  if (!c) abort();
  for (int i = 0; i < N; i++)
    if (a[i] >= c && a[i] <= c + 2 * C) free_(a[i]), a[i] = NULL;
  churn(); /* a purge: the three AGED, and the 8 KiB class carves no more */
  int n = 0;
  while (n < TRIES && (q = malloc_(16384)) != c && q != c + C) taken[n++] = q;
  CHECK(q == c || q == c + C);
  if (q == c || q == c + C) {
    CHECK_EQ(malloc_usable_size(q), 2 * C);
    memset(q, 'h', 2 * C);
    CHECK(vcm_check(NULL) == 0);
    for (int i = 0; i < N; i++) CHECK(!a[i] || all(a[i], 8192, 'a' + i));
    free_(q);
  }
  for (int i = 0; i < n; i++) free_(taken[i]);
  for (int i = 0; i < N; i++) free_(a[i]);
  CHECK(vcm_check(NULL) == 0);
  return NULL;
}

static void run_arg(void *(*fn)(void *), void *arg) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, fn, arg) == 0 && pthread_join(t, NULL) == 0);
}

static void run(void *(*fn)(void *)) {
  pthread_t t;
  CHECK(pthread_create(&t, NULL, fn, NULL) == 0 && pthread_join(t, NULL) == 0);
}

int main(void) {
  vcm_set_misuse_handler(on_misuse, NULL);
  run(grow_main);
  run(stats_main);
  run(leave_main);
  run(sweep_main);
  run(unpark_main);
  run(misuse_main);
  run(remote_main);
  run_arg(grow_free_main, NULL);
  run_arg(grow_free_main, (void *)1);
  run(grow_partial_main);
  CHECK_EQ(misuse.calls, 7);
  misuse.calls = 0;
  run(take_new_main);
  run(take_head_main);
  run(take_lane_main);
  run(no_take_main);
  run(take_grow_main);
  run_arg(page_take_main, NULL); /* before quad_take leaves free pages of 1 KiB chunks */
  run_arg(page_take_main, (void *)1);
  run_arg(quad_take_main, NULL);
  run_arg(quad_take_main, (void *)1);
  CHECK_EQ(misuse.calls, 0);
  run(quad_main);
  run(visit_main);
  run_arg(quad_leave_main, NULL);
  run_arg(quad_leave_main, (void *)1);
  CHECK_EQ(misuse.calls, 0);
  run_arg(slide_main, NULL);
  run_arg(slide_main, (void *)1);
  run_arg(slide_main, (void *)2);
  run_arg(slide_main, (void *)3);
  run(slide_small_main);
  CHECK_EQ(misuse.calls, 0);
  run(sized_merged_main);
  CHECK_EQ(misuse.calls, 1);
  misuse.calls = 0;
  run_arg(big_grow_main, (void *)(uintptr_t)4096);
  run_arg(big_grow_main, (void *)(uintptr_t)16384);
  run_arg(big_grow_main, (void *)(uintptr_t)65536);
  run_arg(big_dropped_main, NULL);
  run_arg(big_dropped_main, (void *)1);
  run(big_drop_main);
  run_arg(big_free_main, NULL);
  run_arg(big_free_main, (void *)1);
  run_arg(big_free_main, (void *)2);
  CHECK_EQ(misuse.calls, 0);
  run_arg(colour_take_main, NULL);
  run_arg(colour_take_main, (void *)1);
  run(colour_scan_main);
  CHECK_EQ(misuse.calls, 0);
  return t_report();
}
