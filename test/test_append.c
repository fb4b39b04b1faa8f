/* The append API (vcm_append, reserve, truncate, the vector macros, the string builder) on both
 * faces: each case runs on the process heap (R == NULL) and on a region. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "harness.h"
#include "vcm.h"

static vcm_region *R; /* the face under test: NULL is the process heap */

static void *append(void *p, const void *s, size_t n) {
  return R ? vcm_region_append(R, p, s, n) : vcm_append(p, s, n);
}
static void *reserve(void *p, size_t n) { return R ? vcm_region_reserve(R, p, n) : vcm_reserve(p, n); }
static int truncate_(void *p, size_t n) { return R ? vcm_region_truncate(R, p, n) : vcm_truncate(p, n); }
static size_t used(const void *p) { return R ? vcm_region_used(R, p) : vcm_used(p); }
static size_t cap(const void *p) { return R ? vcm_region_capacity(R, p) : vcm_capacity(p); }
static void release(void *p) { R ? vcm_region_free(R, p) : vcm_free(p); }
static int str_append(char **s, const char *src, size_t n) {
  return R ? vcm_region_str_append(R, s, src, n) : vcm_str_append(s, src, n);
}
static int str_cat(char **s, const char *c) { return R ? vcm_region_str_cat(R, s, c) : vcm_str_cat(s, c); }
static size_t str_len(const char *s) { return R ? vcm_region_str_len(R, s) : vcm_str_len(s); }
#define STR_PRINTF(s, ...) (R ? vcm_region_str_printf(R, s, __VA_ARGS__) : vcm_str_printf(s, __VA_ARGS__))

/* Appending one byte at a time: the content is kept, and the chunk moves only when the byte
 * does not fit the capacity (and, in a region, its free buddies cannot be absorbed; on the
 * process heap, a small chunk may stay by taking its buddy, its capacity doubled: pair.h). */
static void test_append_bytes(size_t total) {
  unsigned char pat[4096];
  t_fill(pat, sizeof pat, 7);
  unsigned char *p = append(NULL, pat, 1);
  CHECK(p != NULL && used(p) == 1 && p[0] == pat[0]);
  int bad_moves = 0, moves = 0, absorbed = 0;
  for (size_t i = 1; p && i < total; i++) {
    size_t c = cap(p);
    unsigned char *q = append(p, &pat[i % sizeof pat], 1);
    if (!q) break;
    if (q != p) moves++;
    if (q == p && i + 1 > c) absorbed++; /* a region grew it over its free buddies */
    if ((q != p && i + 1 <= c) || (!R && q == p && i + 1 > c && cap(q) != 2 * c)) bad_moves++;
    p = q;
  }
  CHECK_EQ(bad_moves, 0);
  CHECK(R ? absorbed > 0 : moves > 0);
  CHECK_EQ(used(p), total);
  int same = 1;
  for (size_t i = 0; i < total; i++) same &= p[i] == pat[i % sizeof pat];
  CHECK(same);
  release(p);
}

/* The source may be the chunk's own used bytes, also when the append moves it. */
static void test_self_append(void) {
  unsigned char *p = append(NULL, "abcdefgh", 8);
  for (int i = 0; i < 6 && p; i++) p = append(p, p, used(p)); /* doubles: moves */
  CHECK(p != NULL);
  CHECK_EQ(used(p), 8u << 6);
  int same = 1;
  for (size_t i = 0; p && i < used(p); i++) same &= p[i] == "abcdefgh"[i % 8];
  CHECK(same);
  unsigned char *q = append(p, p + 3, 2); /* a part of itself */
  CHECK(q && q[used(q) - 2] == 'd' && q[used(q) - 1] == 'e');
  release(q);
}

static void test_reserve_truncate(void) {
  unsigned char *p = reserve(NULL, 200);
  CHECK(p && used(p) == 0 && cap(p) >= 200);
  unsigned char *q = append(p, "xyz", 3);
  CHECK(q == p && used(p) == 3); /* appends within a reserve stay (no move down) */
  size_t c = cap(p);
  CHECK(reserve(p, c) == p);
  q = reserve(p, c + 1);
  /* The process heap moves; a region absorbs the chunk's free buddy in place. */
  CHECK(q && (R ? q == p : q != p) && cap(q) > c && used(q) == 3 && memcmp(q, "xyz", 3) == 0);
  CHECK_EQ(truncate_(q, 1), 0);
  CHECK_EQ(used(q), 1);
  CHECK_EQ(truncate_(q, cap(q)), 0);
  CHECK_EQ(used(q), cap(q));
  CHECK_EQ(truncate_(q, cap(q) + 1), -1);
  CHECK_EQ(used(q), cap(q));
  CHECK_EQ(truncate_(NULL, 0), 0);
  CHECK_EQ(truncate_(NULL, 1), -1);
  release(q);
}

/* Sizes that overflow fail with ENOMEM and leave p as it was. */
static void test_overflow(void) {
  unsigned char *p = append(NULL, "hello", 5);
  errno = 0;
  CHECK(append(p, "x", SIZE_MAX) == NULL && errno == ENOMEM);
  CHECK(used(p) == 5 && memcmp(p, "hello", 5) == 0);
  errno = 0;
  CHECK(append(p, "x", SIZE_MAX - 2) == NULL && errno == ENOMEM);
  int *v = NULL;
  CHECK_EQ(R ? vcm_region_vec_reserve(R, v, SIZE_MAX / 2) : vcm_vec_reserve(v, SIZE_MAX / 2), -1);
  CHECK(v == NULL && errno == ENOMEM);
  char *s = NULL;
  CHECK_EQ(str_cat(&s, "hi"), 0);
  errno = 0;
  CHECK_EQ(str_append(&s, "x", SIZE_MAX), -1);
  CHECK(errno == ENOMEM && strcmp(s, "hi") == 0);
  release(s);
  release(p);
}

/* Appending to a pointer that is not the start of a live chunk: the handler, NULL/EINVAL. */
static void test_misuse(void) {
  unsigned char *p = append(NULL, "0123456789", 10);
  misuse.calls = 0;
  errno = 0;
  CHECK(append(p + 1, "a", 1) == NULL && errno == EINVAL);
  CHECK(misuse.calls >= 1 && misuse.ptr == p + 1);
  CHECK(used(p) == 10 && memcmp(p, "0123456789", 10) == 0);
  misuse.calls = 0;
  CHECK(reserve(p + 2, 4096) == NULL && misuse.calls >= 1 && misuse.ptr == p + 2);
  misuse.calls = 0;
  errno = 0;
  CHECK(truncate_(p + 3, 0) == -1 && errno == EINVAL && misuse.calls == 1 && misuse.ptr == p + 3);
  release(p);
  misuse.calls = 0;
  CHECK(append(p, "a", 1) == NULL && misuse.calls >= 1 && misuse.ptr == p); /* freed */
  char *s = (char *)p;
  misuse.calls = 0;
  CHECK_EQ(str_cat(&s, "x"), -1);
  CHECK(s == (char *)p && misuse.calls >= 1);
  misuse.calls = 0;
  static unsigned char foreign[64];
  CHECK(append(foreign, "a", 1) == NULL && misuse.calls >= 1 && misuse.ptr == foreign);
}

struct rec {
  long a, b;
  char name[48];
};

static void test_vec(void) {
  int *v = NULL, ok = 1, N = R ? 1000 : 5000;
  for (int i = 0; i < N; i++)
    ok &= (R ? vcm_region_vec_push(R, v, i * 3) : vcm_vec_push(v, i * 3)) == 0;
  CHECK(ok);
  size_t n = R ? vcm_region_vec_len(R, v) : vcm_vec_len(v);
  CHECK_EQ(n, N);
  CHECK((R ? vcm_region_vec_cap(R, v) : vcm_vec_cap(v)) >= (size_t)N);
  int same = 1;
  for (int i = 0; i < N; i++) same &= (R ? vcm_region_vec_at(R, v, i) : vcm_vec_at(v, i)) == i * 3;
  CHECK(same);
  *(R ? &vcm_region_vec_at(R, v, 10) : &vcm_vec_at(v, 10)) = -1; /* at is an lvalue */
  CHECK_EQ(v[10], -1);
  int last = 0;
  CHECK_EQ(R ? vcm_region_vec_pop(R, v, &last) : vcm_vec_pop(v, &last), 0);
  CHECK_EQ(last, (N - 1) * 3);
  CHECK_EQ(used(v), (N - 1) * sizeof(int));
  while ((R ? vcm_region_vec_pop(R, v, &last) : vcm_vec_pop(v, &last)) == 0) {}
  CHECK_EQ(used(v), 0);
  CHECK_EQ(last, 0);
  if (R) vcm_region_vec_free(R, v); else vcm_vec_free(v);
  CHECK(v == NULL);
  misuse.calls = 0; /* NULL is the empty vector, not misuse */
  CHECK_EQ(R ? vcm_region_vec_pop(R, v, &last) : vcm_vec_pop(v, &last), -1);
  CHECK_EQ(R ? vcm_region_vec_len(R, v) + vcm_region_vec_cap(R, v) : vcm_vec_len(v) + vcm_vec_cap(v), 0);
  CHECK_EQ(R ? vcm_region_str_len(R, NULL) : vcm_str_len(NULL), 0);
  CHECK_EQ(misuse.calls, 0);

  struct rec *rs = NULL;
  CHECK_EQ(R ? vcm_region_vec_reserve(R, rs, 8) : vcm_vec_reserve(rs, 8), 0);
  CHECK(rs && used(rs) == 0 && cap(rs) >= 8 * sizeof *rs);
  for (long i = 0; i < 12; i++) {
    struct rec x = {i, -i, "record"};
    ok &= (R ? vcm_region_vec_push(R, rs, x) : vcm_vec_push(rs, x)) == 0;
  }
  CHECK(ok && used(rs) == 12 * sizeof *rs && rs[11].a == 11 && rs[11].b == -11 &&
        strcmp(rs[5].name, "record") == 0);
  release(rs);
}

/* at() out of range prints and aborts (in a child). */
static void test_vec_at_range(void) {
  int *v = NULL;
  if ((R ? vcm_region_vec_push(R, v, 1) : vcm_vec_push(v, 1)) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    close(2);
    int x = R ? vcm_region_vec_at(R, v, 1) : vcm_vec_at(v, 1);
    _exit(x);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
  release(v);
}

static void test_str(void) {
  char *s = NULL;
  CHECK(strcmp(vcm_str_cstr(s), "") == 0 && str_len(s) == 0);
  CHECK_EQ(str_cat(&s, "hello"), 0);
  CHECK(strcmp(s, "hello") == 0 && str_len(s) == 5 && used(s) == 6);
  CHECK_EQ(str_append(&s, ", world!!", 7), 0);
  CHECK(strcmp(s, "hello, world") == 0 && str_len(s) == 12);
  CHECK_EQ(STR_PRINTF(&s, " %d+%d=%s", 2, 2, "4"), 0);
  CHECK(strcmp(vcm_str_cstr(s), "hello, world 2+2=4") == 0 && str_len(s) == 18);
  CHECK_EQ(str_append(&s, s, 5), 0); /* from itself */
  CHECK(strcmp(s, "hello, world 2+2=4hello") == 0);
  CHECK_EQ(STR_PRINTF(&s, "%s", ""), 0);
  CHECK_EQ(str_len(s), 23);
  /* printf that does not fit the capacity: the string moves, the text is whole */
  char big[300];
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = 0;
  CHECK_EQ(STR_PRINTF(&s, "[%s]", big), 0);
  CHECK(str_len(s) == 23 + 301 && s[23] == '[' && s[24 + 299] == ']' && s[324] == 0);
  release(s);
  s = NULL;
  CHECK_EQ(STR_PRINTF(&s, "%05d", 42), 0);
  CHECK(s && strcmp(s, "00042") == 0 && str_len(s) == 5);
  release(s);
  /* an empty chunk (used 0) is the empty string too */
  s = reserve(NULL, 64);
  CHECK(str_len(s) == 0);
  CHECK_EQ(str_cat(&s, "ab"), 0);
  CHECK(strcmp(s, "ab") == 0 && used(s) == 3);
  release(s);
}

/* A region that fills up: appends fail with ENOMEM and the chunk keeps its bytes. */
static void test_region_full(void) {
  static _Alignas(4096) unsigned char disc[8 * 1024];
  vcm_region small;
  CHECK_EQ(vcm_region_init(&small, disc, sizeof disc, NULL), VCM_OK);
  vcm_region_set_handler(&small, on_misuse, NULL);
  unsigned char pat[1024];
  t_fill(pat, sizeof pat, 3);
  unsigned char *p = vcm_region_append(&small, NULL, pat, 600); /* the one 1 KiB chunk */
  CHECK(p != NULL);
  errno = 0;
  CHECK(vcm_region_append(&small, p, pat, 500) == NULL && errno == ENOMEM); /* > size_max */
  CHECK(vcm_region_used(&small, p) == 600 && t_same(p, 600, 3));
  errno = 0;
  CHECK(vcm_region_reserve(&small, NULL, 2048) == NULL && errno == ENOMEM);
  /* vector push until the region is out of 512 B chunks and 1 KiB ones */
  long *v = NULL;
  int rc = 0;
  size_t pushes = 0;
  while ((rc = vcm_region_vec_push(&small, v, (long)pushes)) == 0) pushes++;
  CHECK(rc == -1 && errno == ENOMEM);
  CHECK(v != NULL && vcm_region_vec_len(&small, v) == pushes && pushes > 0);
  int same = 1;
  for (size_t i = 0; i < pushes; i++) same &= v[i] == (long)i;
  CHECK(same);
  char *s = NULL;
  errno = 0;
  while ((rc = vcm_region_str_cat(&small, &s, "0123456789")) == 0) {}
  CHECK(rc == -1 && errno == ENOMEM && s && vcm_region_str_len(&small, s) % 10 == 0);
  const char *why = NULL;
  CHECK_EQ(vcm_region_check(&small, &why), 0);
}

/* The process heap out of memory: the OS refuses the large block an append needs. */
static void test_process_enomem(void) {
  unsigned char pat[4096];
  t_fill(pat, sizeof pat, 9);
  unsigned char *p = vcm_append(NULL, pat, sizeof pat);
  CHECK(p != NULL);
  unsigned char *big = vcm_malloc(1 << 20); /* a large block */
  CHECK(big != NULL);
  errno = 0;
  unsigned char *q = vcm_reserve(big, T_HUGE); /* more than the address space */
  int e = errno;
  CHECK(q == NULL && e == ENOMEM);
  CHECK(vcm_used(big) == 1 << 20);
  vcm_debug_fail_os(-1); /* every request: vcm retries one refused where it caches blocks */
  errno = 0;
  q = vcm_reserve(p, 64u << 20);
  e = errno;
  vcm_debug_fail_os(0);
  CHECK(q == NULL && e == ENOMEM && vcm_used(p) == sizeof pat && t_same(p, sizeof pat, 9));
  vcm_free(big);
  vcm_free(p);
}

static void run_face(void) {
  test_append_bytes(R ? 1000 : 300000);
  test_self_append();
  test_reserve_truncate();
  test_overflow();
  test_misuse();
  test_vec();
  test_vec_at_range();
  test_str();
}

int main(void) {
  vcm_set_misuse_handler(on_misuse, NULL);
  run_face();
  test_process_enomem();

  static _Alignas(4096) unsigned char disc[1 << 20];
  vcm_region region;
  static const vcm_geometry g = {16, 4096, 2};
  CHECK_EQ(vcm_region_init(&region, disc, sizeof disc, &g), VCM_OK);
  vcm_region_set_handler(&region, on_misuse, NULL);
  R = &region;
  run_face();
  const char *why = NULL;
  CHECK_EQ(vcm_region_check(&region, &why), 0);
  vcm_region_stats st;
  vcm_region_stats_get(&region, &st);
  CHECK_EQ(st.live_chunks, 0);
  test_region_full();
  return t_report();
}
