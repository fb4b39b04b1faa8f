/* Threads on the process heap through the vcm_ API only, so the same test runs under TSan
 * (which owns the malloc symbol there): cross-thread frees and reallocs, heap adoption after
 * thread exit, fork while another thread allocates. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "vcm.h"
#include "stats.h"
#include "meta.h"

/* pthread_create, retried while the system is short of threads (EAGAIN); a thread that cannot
 * be made ends the program with a failed tally rather than a join of an unset handle. */
static void spawn(pthread_t *t, void *(*fn)(void *), void *arg) {
  int rc = 0;
  for (int tries = 0; tries < 200; tries++) {
    rc = pthread_create(t, NULL, fn, arg);
    if (rc != EAGAIN) break;
    usleep(10000);
  }
  if (rc == 0) return;
  fprintf(stderr, "pthread_create: %s\n", strerror(rc));
  CHECK(rc == 0);
  exit(t_report());
}

/* Threads: each allocates, hands half its blocks to the next thread to free. */
#define NT 8
#define PER 20000
static void *mailbox[NT][PER];

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  unsigned long long rng = 0x1234567ull + (unsigned)id;
  for (int i = 0; i < PER; i++) {
    size_t n = 64 + t_rand(&rng) % (i % 100 == 0 ? 400000 : 2000);
    unsigned char *p = vcm_malloc(n);
    t_fill(p, 64, (unsigned)id);
    mailbox[id][i] = p;
    if (i % 2) {
      unsigned char *q = vcm_realloc(p, n * 2);
      mailbox[id][i] = q;
    }
  }
  return NULL;
}

static void *freer(void *arg) {
  int id = (int)(intptr_t)arg, from = (id + 1) % NT;
  int bad = 0;
  for (int i = 0; i < PER; i++) {
    unsigned char *p = mailbox[from][i];
    bad += !t_same(p, 64, (unsigned)from);
    vcm_free(p);
  }
  return (void *)(intptr_t)bad;
}

static void test_threads(void) {
  pthread_t t[NT];
  for (int i = 0; i < NT; i++) spawn(&t[i], worker, (void *)(intptr_t)i);
  for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
  intptr_t bad = 0;
  for (int i = 0; i < NT; i++) spawn(&t[i], freer, (void *)(intptr_t)i);
  for (int i = 0; i < NT; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (intptr_t)r;
  }
  CHECK_EQ(bad, 0);
  /* The blocks freed remotely come back: new threads adopt the exited heaps. */
  for (int i = 0; i < NT; i++) spawn(&t[i], worker, (void *)(intptr_t)i);
  for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < NT; i++)
    for (int j = 0; j < PER; j++) vcm_free(mailbox[i][j]);
  vcm_stats st;
  vcm_stats_get(&st);
  CHECK(st.heaps <= 2 * NT + 1); /* heaps are reused, not leaked per thread */
  const char *why = "";
  CHECK_EQ(vcm_check(&why), 0);
  if (*why) fprintf(stderr, "check: %s\n", why);
}

static void *spin_alloc(void *arg) {
  int *stop = arg;
  while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) vcm_free(vcm_malloc(100));
  return NULL;
}

static void test_fork(void) {
  int stop = 0;
  pthread_t t;
  spawn(&t, spin_alloc, &stop);
  int ok = 1;
  for (int i = 0; i < 20 && ok; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      void *ps[1000];
      for (int j = 0; j < 1000; j++) ps[j] = vcm_malloc((size_t)j * 7 + 1);
      for (int j = 0; j < 1000; j++) vcm_free(ps[j]);
      vcm_free(vcm_malloc(5u << 20));
      _exit(vcm_check(NULL) == 0 ? 0 : 3);
    }
    int status;
    waitpid(pid, &status, 0);
    ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok) fprintf(stderr, "fork child %d: status %#x\n", i, status);
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  pthread_join(t, NULL);
  CHECK(ok);
}

/* A large block moved by realloc (mremap onto a new place) frees its old addresses; another
 * thread's new large block may be mapped there at once. The move must forget the old address
 * before that, or the new block becomes "foreign" (a bug the 10-minute load test found). */
static int foreign_reports;
static void count_misuse(void *ctx, const void *p, const char *why) {
  (void)ctx;
  (void)p;
  (void)why;
  __atomic_fetch_add(&foreign_reports, 1, __ATOMIC_RELAXED);
}

static void *mover(void *arg) {
  int *stop = arg;
  while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
    void *blocker[4];
    unsigned char *p = vcm_malloc(600u << 10);
    for (int i = 0; i < 4; i++) blocker[i] = vcm_malloc(600u << 10); /* no room after p */
    p[0] = 1;
    for (size_t n = 1200u << 10; n <= (10u << 20); n *= 2) p = vcm_realloc(p, n);
    for (int i = 0; i < 4; i++) vcm_free(blocker[i]);
    vcm_free(p);
  }
  return NULL;
}

static void *mapper(void *arg) {
  int *stop = arg;
  while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
    void *q = vcm_malloc(700u << 10);
    if (vcm_capacity(q) == 0) __atomic_fetch_add(&foreign_reports, 1000, __ATOMIC_RELAXED);
    vcm_free(q);
  }
  return NULL;
}

static void test_large_move_race(void) {
  int stop = 0;
  pthread_t a, b, c;
  vcm_set_misuse_handler(count_misuse, NULL);
  spawn(&a, mover, &stop);
  spawn(&b, mapper, &stop);
  spawn(&c, mapper, &stop);
  usleep(1500000);
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  pthread_join(c, NULL);
  vcm_set_misuse_handler(NULL, NULL);
  CHECK_EQ(__atomic_load_n(&foreign_reports, __ATOMIC_RELAXED), 0);
}

/* vcm_check(NULL) while other threads allocate, free, and free the checking thread's chunks
 * (remote frees, pushed in chains onto its segments' lists): it must never fail, nor break a
 * heap. Checked across every heap, it counted live chunks of heaps their threads were changing
 * (false failures: "live count differs", "chunk is lost or in two states") and wrote its marks
 * back over entries being popped or relinked by remote frees (double frees reported after). The
 * workers churn small chunks until the checker has checked CK_CHECKS times and they have freed
 * all its CK_N chunks, CK_W of them (more threads than cores: one runs beside the checker). */
#define CK_N 4096
#define CK_W 4
#define CK_CHECKS 5000
static void *ck_mine[CK_N];
static int ck_stop, ck_freed, ck_ready;
static void *check_churn(void *arg) {
  int id = (int)(intptr_t)arg;
  unsigned long long rng = 99u + (unsigned)id;
  void *own[256] = {0};
  __atomic_fetch_add(&ck_ready, 1, __ATOMIC_RELAXED);
  for (int i = 0; !__atomic_load_n(&ck_stop, __ATOMIC_RELAXED); i++) {
    int j = (int)(t_rand(&rng) % 256);
    vcm_free(own[j]);
    own[j] = vcm_malloc(16 + t_rand(&rng) % 48);
    int m = CK_W * (i / 2) + id; /* one of the checker's chunks every 2 operations */
    if (i % 2 == 0 && m < CK_N) {
      vcm_free(ck_mine[m]);
      __atomic_fetch_add(&ck_freed, 1, __ATOMIC_RELAXED);
    }
  }
  for (int j = 0; j < 256; j++) vcm_free(own[j]);
  return NULL;
}
static void test_check_while_allocating(void) {
  unsigned long long rng = 5;
  pthread_t t[CK_W];
  for (int i = 0; i < CK_N; i++) ck_mine[i] = vcm_malloc(16 + t_rand(&rng) % 1000);
  foreign_reports = 0;
  vcm_set_misuse_handler(count_misuse, NULL); /* what a check that wrote over entries broke */
  for (int i = 0; i < CK_W; i++) spawn(&t[i], check_churn, (void *)(intptr_t)i);
  while (__atomic_load_n(&ck_ready, __ATOMIC_RELAXED) < CK_W) sched_yield(); /* all churning */
  int checks = 0, failed = 0;
  const char *first = NULL;
  while (checks < CK_CHECKS || __atomic_load_n(&ck_freed, __ATOMIC_RELAXED) < CK_N) {
    const char *why = NULL;
    if (vcm_check(&why) != 0 && failed++ == 0) first = why;
    checks++;
    vcm_free(vcm_malloc(16 + t_rand(&rng) % 1000)); /* collects the remote frees at times */
    if (checks >= CK_CHECKS) sched_yield(); /* the workers' turn to finish their frees */
  }
  __atomic_store_n(&ck_stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < CK_W; i++) pthread_join(t[i], NULL);
  vcm_set_misuse_handler(NULL, NULL);
  if (failed) fprintf(stderr, "vcm_check failed %d of %d times: %s\n", failed, checks, first);
  CHECK_EQ(failed, 0);
  CHECK_EQ(__atomic_load_n(&foreign_reports, __ATOMIC_RELAXED), 0);
  const char *why = "";
  CHECK_EQ(vcm_check(&why), 0); /* every heap: the workers' are given up */
  if (*why) fprintf(stderr, "check: %s\n", why);
}

/* Vectors grown by another thread than the one that made them, while every thread grows:
 * moves by remapping (chunks of 32 KiB and up) keep every byte, and the chunks left behind
 * (freed remotely, reading zero) serve again. */
#define NVEC 48
static unsigned char *vecs[NT][NVEC];
static size_t vec_first; /* make_vecs' size */

static void *make_vecs(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int j = 0; j < NVEC; j++) {
    vecs[id][j] = vcm_realloc(NULL, vec_first);
    if (vecs[id][j]) t_fill(vecs[id][j], vec_first, (unsigned)(id * NVEC + j));
  }
  return NULL;
}

static void *grow_vecs(void *arg) {
  int id = (int)(intptr_t)arg, from = (id + 1) % NT;
  intptr_t bad = 0;
  for (size_t n = 48u << 10; n <= (192u << 10); n *= 2)
    for (int j = 0; j < NVEC; j++) {
      unsigned seed = (unsigned)(from * NVEC + j);
      unsigned char *q = vcm_realloc(vecs[from][j], n);
      if (!q || !t_same(q, n / 2, seed)) {
        bad++;
        continue;
      }
      t_fill(q, n, seed);
      vecs[from][j] = q;
    }
  return (void *)bad;
}

/* NT threads run make (each its own id), then, those gone, NT run change (each on the blocks of
 * the next id): the bad blocks change's threads counted. */
static intptr_t make_then_change(void *(*make)(void *), void *(*change)(void *)) {
  pthread_t t[NT];
  for (int i = 0; i < NT; i++) spawn(&t[i], make, (void *)(intptr_t)i);
  for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < NT; i++) spawn(&t[i], change, (void *)(intptr_t)i);
  intptr_t bad = 0;
  for (int i = 0; i < NT; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (intptr_t)r;
  }
  return bad;
}

static void test_remote_growth(void) {
  pthread_t t[NT];
  vec_first = 24u << 10;
  intptr_t bad = make_then_change(make_vecs, grow_vecs);
  CHECK_EQ(bad, 0);
  for (int i = 0; i < NT; i++)
    for (int j = 0; j < NVEC; j++) {
      bad += !t_same(vecs[i][j], 192u << 10, (unsigned)(i * NVEC + j));
      vcm_free(vecs[i][j]);
    }
  vec_first = 96u << 10; /* the class of the chunks remapped away */
  for (int i = 0; i < NT; i++) spawn(&t[i], make_vecs, (void *)(intptr_t)i);
  for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < NT; i++)
    for (int j = 0; j < NVEC; j++) {
      bad += !t_same(vecs[i][j], vec_first, (unsigned)(i * NVEC + j));
      vcm_free(vecs[i][j]);
    }
  CHECK_EQ(bad, 0);
  const char *why = "";
  CHECK_EQ(vcm_check(&why), 0);
  if (*why) fprintf(stderr, "check: %s\n", why);
}

/* Another thread grows a chunk whose buddy its owner just freed: it must not read the buddy's
 * entry (the owner writes entries with plain stores, pair.h), so the growth tests the owner
 * before the buddy. The hand-over of the buddy's free is a relaxed flag, no synchronisation:
 * under TSan a read of the entry is a data race (it was, chunk.c's vcmi_seg_realloc). */
static void *volatile pair_lo;
static int pair_stage;
static void *pair_owner(void *arg) {
  (void)arg;
  enum { N = 64 };
  unsigned char *c[N], *lo = NULL, *hi = NULL;
  for (int i = 0; i < N; i++) c[i] = vcm_realloc(NULL, 16);
  for (int i = 0; i < N && !lo; i++)
    for (int j = 0; j < N && ((uintptr_t)c[i] & 31u) == 0; j++)
      if (c[j] == c[i] + 16) lo = c[i], hi = c[j];
  CHECK(lo != NULL);
  for (int i = 0; i < N; i++)
    if (c[i] != lo && c[i] != hi) vcm_free(c[i]);
  if (!lo) {
    __atomic_store_n(&pair_stage, 3, __ATOMIC_RELAXED);
    return NULL;
  }
  memset(lo, 'p', 16);
  __atomic_store_n(&pair_lo, lo, __ATOMIC_RELEASE);
  vcm_free(hi); /* its entry written after the release: the grower must not read it */
  __atomic_store_n(&pair_stage, 1, __ATOMIC_RELAXED);
  while (__atomic_load_n(&pair_stage, __ATOMIC_RELAXED) != 2) usleep(100);
  return NULL;
}
static void *pair_grower(void *arg) {
  (void)arg;
  unsigned char *lo;
  while (!(lo = __atomic_load_n(&pair_lo, __ATOMIC_ACQUIRE)))
    if (__atomic_load_n(&pair_stage, __ATOMIC_RELAXED) == 3) return NULL;
  while (__atomic_load_n(&pair_stage, __ATOMIC_RELAXED) != 1) usleep(100);
  unsigned char *q = vcm_realloc(lo, 24); /* not the owner: moved, never into the buddy */
  CHECK(q != NULL && q != lo && vcm_capacity(q) == 32);
  CHECK(q && q[0] == 'p' && q[15] == 'p');
  vcm_free(q);
  __atomic_store_n(&pair_stage, 2, __ATOMIC_RELAXED);
  return NULL;
}
static void test_remote_pair_read(void) {
  pthread_t a, b;
  spawn(&a, pair_owner, NULL);
  spawn(&b, pair_grower, NULL);
  pthread_join(b, NULL);
  pthread_join(a, NULL);
}

/* Strings trimmed by another thread than the one that made them (python's formatted strings,
 * ~150 bytes trimmed to their length): the shrink moves them down into the trimming thread's
 * heap from its class's free list (alloc.c, chunk.c's vcmi_seg_shrink), and frees the old chunk
 * to its owner (a remote free), whose heap gets it back. make_strs' threads have exited (their
 * heaps abandoned, then adopted), trim_strs' trim another's. */
#define NSTR 512
static unsigned char *strs[NT][NSTR];
static void *make_strs(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int j = 0; j < NSTR; j++)
    if ((strs[id][j] = vcm_malloc(150))) t_fill(strs[id][j], 150, (unsigned)(id * NSTR + j));
  return NULL;
}
static void *trim_strs(void *arg) {
  int id = (int)(intptr_t)arg, from = (id + 1) % NT;
  intptr_t bad = 0;
  void *warm[64]; /* free chunks of the 48-byte class here: the shrinks' fast path */
  for (int j = 0; j < 64; j++) warm[j] = vcm_malloc(40);
  for (int j = 0; j < 64; j++) vcm_free(warm[j]);
  for (int j = 0; j < NSTR; j++) {
    unsigned char *p = strs[from][j], *q = p ? vcm_realloc(p, 40) : NULL;
    if (!q || q == p || vcm_capacity(q) != 48 || vcm_used(q) != 40 ||
        !t_same(q, 40, (unsigned)(from * NSTR + j)))
      bad++;
    if (q) strs[from][j] = q;
  }
  return (void *)bad;
}
static void test_remote_shrink(void) {
  CHECK_EQ(make_then_change(make_strs, trim_strs), 0);
  for (int i = 0; i < NT; i++)
    for (int j = 0; j < NSTR; j++) vcm_free(strs[i][j]);
  const char *why = "";
  CHECK_EQ(vcm_check(&why), 0);
  if (*why) fprintf(stderr, "check: %s\n", why);
}

/* vcm_stats_get, vcm_svg and mallinfo2's walk (vcmi_info_get) while other threads allocate,
 * free and free each other's chunks:
 * they read the other heaps (under the heap list lock, which keeps their segments mapped) while
 * those change: each figure is a value its counter had, not one instant's (vcm.h), and never
 * garbage (a count read apart from another and subtracted wraps): the bound is loose (2^18
 * chunks a worker, what a purge interval of 16-byte frees could leave uncollected), not the
 * workers' live set. Under TSan the reads of those readers alone are suppressed (test/tsan.supp);
 * mallinfo2's walk needs no suppression: it reads counters and entries by relaxed loads, and the
 * segment lists, which change under the lock it holds. */
#define SN_W 3
#define SN_KEEP 512
static void *sn_box[SN_W][SN_KEEP];
static int sn_stop, sn_started, sn_rounds;
static void *stats_churn(void *arg) {
  int id = (int)(intptr_t)arg;
  unsigned long long rng = 7u + (unsigned)id;
  for (int i = 0; !__atomic_load_n(&sn_stop, __ATOMIC_RELAXED); i++) {
    int j = (int)(t_rand(&rng) % SN_KEEP), w = (int)(t_rand(&rng) % SN_W);
    void *p = __atomic_exchange_n(&sn_box[w][j], NULL, __ATOMIC_ACQ_REL); /* any thread's */
    if (p && i % 3 == 0) p = vcm_realloc(p, 16 + t_rand(&rng) % 3000);
    vcm_free(p);
    p = vcm_malloc(16 + t_rand(&rng) % (i % 64 ? 2000 : 60000));
    if ((p = __atomic_exchange_n(&sn_box[id][j], p, __ATOMIC_ACQ_REL))) vcm_free(p);
    if (i == 0) __atomic_fetch_add(&sn_started, 1, __ATOMIC_RELAXED); /* its heap made */
    if (i % 1024 == 0) __atomic_fetch_add(&sn_rounds, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}
static void test_stats_while_allocating(void) {
  pthread_t t[SN_W];
  for (int i = 0; i < SN_W; i++) spawn(&t[i], stats_churn, (void *)(intptr_t)i);
  int bad = 0, svg_bad = 0;
  size_t most = 0;
  FILE *null = fopen("/dev/null", "w");
  while (__atomic_load_n(&sn_started, __ATOMIC_RELAXED) < SN_W) sched_yield(); /* all running */
  int n = 0;
  for (; n < 400 || __atomic_load_n(&sn_rounds, __ATOMIC_RELAXED) < 64 * SN_W; n++) {
    vcm_stats st;
    vcm_stats_get(&st);
    size_t classes = 0;
    for (int i = 0; i < VCM_MAX_CLASSES; i++) classes += st.class_live[i];
    bad += st.small_live_chunks > ((size_t)SN_W << 18) || classes > ((size_t)SN_W << 18) ||
           st.small_live_capacity > ((size_t)SN_W << 30) || st.heaps < SN_W;
    if (st.small_live_chunks > most) most = st.small_live_chunks;
    if (n % 40 == 0 && null) svg_bad += vcm_svg(fileno(null)) != 0;
    /* mallinfo2's and malloc_info's walk (override.c): all heaps, then one */
    static vcmi_info in;
    vcmi_info_get((size_t)-1, &in);
    bad += in.heaps < SN_W || in.free_chunks > ((size_t)SN_W << 24) ||
           in.in_use > ((size_t)SN_W << 30) || in.top_own > in.top;
    vcmi_info_get((size_t)n % (SN_W + 1u), &in);
  }
  __atomic_store_n(&sn_stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < SN_W; i++) pthread_join(t[i], NULL);
  if (null) fclose(null);
  for (int w = 0; w < SN_W; w++)
    for (int j = 0; j < SN_KEEP; j++) vcm_free(sn_box[w][j]);
  if (bad) fprintf(stderr, "stats: %d of %d snapshots out of bounds (most %zu chunks)\n", bad, n, most);
  CHECK_EQ(bad, 0);
  CHECK_EQ(svg_bad, 0);
}

/* A realloc moving its chunk down (a shrink to a quarter) while another thread frees the same
 * chunk: a double free racing the realloc's own free of it, RS_ROUNDS times. Exactly one of the
 * two must be reported, with the chunk, each round. The realloc copies before it frees the old
 * chunk; a remote free landing during the copy turned the entry REMOTE, and the owner's plain
 * store over it put the chunk on two lists (handed out twice): no report at all. Under TSan
 * too: the free that loses reads the entry, which the owner's free and purge rewrite. */
#define RS_ROUNDS 3000
#define RS_BIG ((size_t)256 << 10)
#define RS_SMALL ((size_t)64 << 10) /* a 64 KiB copy: the window */
static void *volatile rs_p;
static int rs_ready, rs_go, rs_done, rs_reports;
static const void *volatile rs_at;
static void rs_misuse(void *ctx, const void *p, const char *why) {
  (void)ctx;
  (void)why;
  rs_at = p;
  __atomic_fetch_add(&rs_reports, 1, __ATOMIC_RELAXED);
}
static void *rs_freer(void *arg) {
  (void)arg;
  for (int i = 1; i <= RS_ROUNDS; i++) {
    __atomic_store_n(&rs_ready, i, __ATOMIC_RELEASE);
    while (__atomic_load_n(&rs_go, __ATOMIC_ACQUIRE) != i) continue; /* running when it comes */
    vcm_free(rs_p);
    __atomic_store_n(&rs_done, i, __ATOMIC_RELEASE);
  }
  return NULL;
}
static void test_realloc_shrink_race(void) {
  pthread_t t;
  int bad = 0, moved = 0;
  vcm_free(vcm_malloc(RS_SMALL)); /* a free chunk of the smaller class: the shrink's fast way */
  vcm_set_misuse_handler(rs_misuse, NULL);
  CHECK(pthread_create(&t, NULL, rs_freer, NULL) == 0);
  for (int i = 1; i <= RS_ROUNDS; i++) {
    unsigned char *p = vcm_malloc(RS_BIG), *q;
    p[0] = 1;
    rs_p = p;
    __atomic_store_n(&rs_reports, 0, __ATOMIC_RELAXED);
    for (unsigned spin = 0; __atomic_load_n(&rs_ready, __ATOMIC_ACQUIRE) != i; spin++)
      if (spin > 1000) sched_yield();
    __atomic_store_n(&rs_go, i, __ATOMIC_RELEASE); /* the other thread frees it now */
    q = vcm_realloc(p, RS_SMALL);
    for (unsigned spin = 0; __atomic_load_n(&rs_done, __ATOMIC_ACQUIRE) != i; spin++)
      if (spin > 1000) sched_yield();
    moved += q != NULL;
    bad += __atomic_load_n(&rs_reports, __ATOMIC_RELAXED) != 1 || rs_at != p;
    vcm_free(q); /* the shrunk chunk back to its class: the next round's */
  }
  pthread_join(t, NULL);
  vcm_set_misuse_handler(NULL, NULL);
  if (bad) fprintf(stderr, "realloc/free race: %d of %d rounds not reported once (%d moved)\n", bad, RS_ROUNDS, moved);
  CHECK_EQ(bad, 0);
  const char *why = "";
  CHECK_EQ(vcm_check(&why), 0);
  if (*why) fprintf(stderr, "check: %s\n", why);
}

/* A grow into a free buddy (pair.c) finds the chunk before it on the free list through its
 * span's group (purge.c, vcmi_purge_prev), whose recorded head may have been handed out since
 * the purge grouped it: a live chunk another thread now holds and reallocates in place (an
 * atomic store of its entry). The owner reads that entry unsynchronised (the hand-over back is
 * a relaxed flag): under TSan a plain load there is a data race (it was, purge.c). The owner's
 * heap: an earlier thread's, adopted; its 16-byte chunks are drained first, as test_pairs'
 * grow_partial does, so that the pair's page is new. */
static void *volatile gh_head;
static int gh_stage;
static void *gh_other(void *arg) {
  (void)arg;
  vcm_free(vcm_malloc(16)); /* a heap of its own first */
  unsigned char *h;
  while (!(h = __atomic_load_n(&gh_head, __ATOMIC_ACQUIRE)))
    if (__atomic_load_n(&gh_stage, __ATOMIC_RELAXED) == 3) return NULL;
  CHECK(vcm_realloc(h, 12) == h); /* in place: its entry stored */
  __atomic_store_n(&gh_stage, 1, __ATOMIC_RELAXED); /* no synchronisation */
  return NULL;
}
#define GH_FILL 512
#define GH_DRAIN 4096
#define GH_TAKE 20000
static void *gh_owner(void *arg) {
  (void)arg;
  static unsigned char *fill[GH_FILL], *drain[GH_DRAIN], *taken[GH_TAKE], *spare[1024];
  unsigned char *c[64], *a = NULL, *b = NULL, *x = NULL, *y = NULL, *q = NULL;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  pthread_t t;
  int n = 0;
  spawn(&t, gh_other, NULL);
  for (int i = 0; i < GH_DRAIN; i++) drain[i] = vcm_realloc(NULL, 16);
  for (int i = 0; i < 64; i++) c[i] = vcm_realloc(NULL, 16); /* buddies a (32-byte aligned), b */
  for (int i = 0; i < 64 && !a; i++)
    for (int j = 0; j < 64 && ((uintptr_t)c[i] & 31u) == 0; j++)
      if (c[j] == c[i] + 16) a = c[i], b = c[j];
  for (int i = 0; i < 64; i++)
    if (c[i] != a && c[i] != b) vcm_free(c[i]);
  for (int i = 0; i < GH_FILL && a; i++) { /* every free chunk of a's page used; two kept */
    fill[i] = vcm_realloc(NULL, 16);
    if (fill[i] && ((uintptr_t)fill[i] & -page) == ((uintptr_t)a & -page)) {
      if (!x) x = fill[i], fill[i] = NULL;
      else if (!y) y = fill[i], fill[i] = NULL;
    }
  }
  CHECK(a && x && y);
  if (a && x && y) {
    memset(a, 'a', 16);
    for (int i = 0; i < 1024; i++) spare[i] = vcm_realloc(NULL, 16); /* the purge looks */
    for (int i = 0; i < 1024; i++) vcm_free(spare[i]);
    vcm_free(x);
    vcm_free(y);
    vcm_free(b); /* one group: x (its head), y, b */
    for (int i = 0; i < 72; i++) vcm_free(vcm_malloc(65536)); /* a purge: they are grouped */
    while (n < GH_TAKE && (q = vcm_realloc(NULL, 16)) != x) taken[n++] = q;
    CHECK(q == x); /* the group's head, handed out: y is the list's head now */
    __atomic_store_n(&gh_head, x, __ATOMIC_RELEASE);
    while (__atomic_load_n(&gh_stage, __ATOMIC_RELAXED) != 1) usleep(100);
    unsigned char *a2 = vcm_realloc(a, 30); /* into b: the chunk before it is y */
    CHECK(a2 == a && vcm_capacity(a2) == 32 && a2[0] == 'a' && a2[15] == 'a');
    if (a2) a = a2;
  } else {
    __atomic_store_n(&gh_stage, 3, __ATOMIC_RELAXED);
  }
  pthread_join(t, NULL);
  vcm_free(q);
  vcm_free(a);
  for (int i = 0; i < n; i++) vcm_free(taken[i]);
  for (int i = 0; i < GH_FILL; i++) vcm_free(fill[i]);
  for (int i = 0; i < GH_DRAIN; i++) vcm_free(drain[i]);
  const char *why = "";
  CHECK_EQ(vcm_check(&why), 0);
  if (*why) fprintf(stderr, "check: %s\n", why);
  return NULL;
}
static void test_grow_reads_group_head(void) {
  pthread_t t;
  spawn(&t, gh_owner, NULL);
  pthread_join(t, NULL);
}

/* Two threads, neither the chunk's owner, free the same small chunk at once, DR_ROUNDS times
 * (spinning, not at a barrier, so that many frees truly overlap: both see the entry LIVE before
 * either marks it). A batched remote free stores REMOTE by a locked CAS from the LIVE state it
 * tested, so one of the two stores and the other reports: every round is reported exactly
 * once, with a chunk raced, and no chunk goes on two lists: the heap checks clean and hands no
 * chunk out twice. With an unlocked cmpxchg there (rounds 15-16) both could store; a second
 * look at the batch's head caught most, and this test failed about once in 20 runs (20,002
 * reports, or a late one at the owner's walk). */
#define DR_ROUNDS 20000
static void *volatile dr_p;
static int dr_go, dr_done, dr_reports;
static const void *dr_raced[DR_ROUNDS], *dr_seen[DR_ROUNDS];
static void dr_misuse(void *ctx, const void *p, const char *why) {
  (void)ctx;
  int n = __atomic_fetch_add(&dr_reports, 1, __ATOMIC_RELAXED);
  if (n < DR_ROUNDS && strstr(why, "double free")) dr_seen[n] = p;
}
static void *dr_freer(void *arg) {
  (void)arg;
  vcm_free(vcm_malloc(64)); /* a heap of its own: its remote frees are batched */
  for (int i = 1; i <= DR_ROUNDS; i++) {
    for (unsigned spin = 0; __atomic_load_n(&dr_go, __ATOMIC_ACQUIRE) != i; spin++)
      if (spin > 2000) sched_yield();
    vcm_free(dr_p);
    __atomic_fetch_add(&dr_done, 1, __ATOMIC_RELEASE);
  }
  return NULL;
}
static int dr_cmp(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
  return (x > y) - (x < y);
}
static void test_remote_double_free_overlap(void) {
  pthread_t t[2];
  vcm_set_misuse_handler(dr_misuse, NULL);
  for (int i = 0; i < 2; i++) spawn(&t[i], dr_freer, NULL);
  for (int i = 1; i <= DR_ROUNDS; i++) {
    dr_raced[i - 1] = dr_p = vcm_malloc(48 + 16 * (size_t)(i % 4));
    __atomic_store_n(&dr_go, i, __ATOMIC_RELEASE);
    for (unsigned spin = 0; __atomic_load_n(&dr_done, __ATOMIC_ACQUIRE) != 2 * i; spin++)
      if (spin > 2000) sched_yield();
  }
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL); /* their exits push their batches */
  vcm_set_misuse_handler(NULL, NULL);
  int reports = __atomic_load_n(&dr_reports, __ATOMIC_RELAXED), stray = 0;
  qsort(dr_raced, DR_ROUNDS, sizeof *dr_raced, dr_cmp);
  for (int i = 0; i < reports && i < DR_ROUNDS; i++)
    stray += !dr_seen[i] || !bsearch(&dr_seen[i], dr_raced, DR_ROUNDS, sizeof *dr_raced, dr_cmp);
  if (reports != DR_ROUNDS || stray)
    fprintf(stderr, "overlapping remote double frees: %d reports for %d rounds, %d stray\n",
            reports, DR_ROUNDS, stray);
  CHECK_EQ(reports, DR_ROUNDS);
  CHECK_EQ(stray, 0);
  const char *why = "";
  CHECK_EQ(vcm_check(&why), 0);
  if (*why) fprintf(stderr, "check: %s\n", why);
  /* every chunk of those classes the heap holds, handed out: none twice */
  static void *v[4 * DR_ROUNDS];
  int twice = 0;
  for (int i = 0; i < 4 * DR_ROUNDS; i++) v[i] = vcm_malloc(48 + 16 * (size_t)(i % 4));
  qsort(v, 4 * DR_ROUNDS, sizeof *v, dr_cmp);
  for (int i = 1; i < 4 * DR_ROUNDS; i++) twice += v[i] == v[i - 1];
  for (int i = 0; i < 4 * DR_ROUNDS; i++) vcm_free(v[i]);
  CHECK_EQ(twice, 0);
}

/* A batched remote free held between its LIVE test and its store (a test-build hook in
 * remote.c), as a preempted thread would be, while another thread frees the same chunk; the
 * held free then goes on. Held (stage 0) until the other thread's store only: the held store
 * lands over it, and the other thread's next free reads its batch's head again (remote.c,
 * out_raced), reports the chunk once and leaves it out of its batch (a build without that look
 * reported nothing and left the other thread's first chunk REMOTE: 3 of 4 reused). Held past
 * the other thread's push (stage 1), or past that and the owner's collection (stage 2): the
 * held free's store is conditional on the LIVE state it tested (remote.c, remote_free), so it
 * reports the chunk itself (a plain store there left a chunk REMOTE in stage 1, 3 of 4
 * reused, and in stage 2 put the chunk on the owner's free list twice: the purge's chain check
 * stopped). Each stage: one report naming the chunk, the heap checks clean, the four chunks
 * freed are handed out again, none twice. In a fresh process (exec'd), whose class lists are
 * short and LIFO: a chunk freed is soon reused. */
extern void (*vcmi_test_remote_hold)(const void *p); /* remote.c, test builds */
static void *volatile hf_target;
static int hf_claimed, hf_held, hf_go, hf_step, hf_reports;
static const void *volatile hf_at;
static void hf_hold(const void *p) {
  if (p != hf_target || __atomic_exchange_n(&hf_claimed, 1, __ATOMIC_RELAXED)) return; /* the first */
  __atomic_store_n(&hf_held, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&hf_go, __ATOMIC_ACQUIRE)) sched_yield();
}
static void hf_misuse(void *ctx, const void *p, const char *why) {
  (void)ctx;
  if (strstr(why, "double free")) hf_at = p;
  __atomic_fetch_add(&hf_reports, 1, __ATOMIC_RELAXED);
}
static void *hf_free_two(void *arg) { /* a batch's first chunk, then the raced one */
  void **two = arg;
  vcm_free(two[0]);
  vcm_free(two[1]);
  return NULL;
}
static int hf_stage;
static void *hf_free_three(void *arg) { /* the same, and one more: at once, or once told */
  void **three = arg;
  vcm_free(three[0]);
  vcm_free(three[1]);
  if (hf_stage == 0) {
    __atomic_store_n(&hf_step, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&hf_step, __ATOMIC_ACQUIRE) != 2) sched_yield();
  }
  vcm_free(three[2]);
  return NULL; /* the exit pushes the batch */
}
static int held_child(int stage) {
  enum { N = 4096 };
  static void *v[N];
  pthread_t a, b;
  void *c = vcm_malloc(64), *own_a[2] = {vcm_malloc(64), c};
  void *own_b[3] = {vcm_malloc(64), c, vcm_malloc(64)};
  vcm_set_misuse_handler(hf_misuse, NULL);
  hf_target = c;
  hf_stage = stage;
  vcmi_test_remote_hold = hf_hold;
  spawn(&a, hf_free_two, own_a);
  while (!__atomic_load_n(&hf_held, __ATOMIC_ACQUIRE)) sched_yield();
  spawn(&b, hf_free_three, own_b);
  if (stage == 0) {
    while (__atomic_load_n(&hf_step, __ATOMIC_ACQUIRE) != 1) sched_yield(); /* b stored */
  } else {
    pthread_join(b, NULL); /* b's batch pushed, c in it */
    if (stage == 2) vcm_trim(); /* and collected: c on this heap's free list */
  }
  __atomic_store_n(&hf_go, 1, __ATOMIC_RELEASE);
  pthread_join(a, NULL); /* a's free of c went on, and its exit pushed its batch */
  if (stage == 0) {
    __atomic_store_n(&hf_step, 2, __ATOMIC_RELEASE);
    pthread_join(b, NULL);
  }
  vcmi_test_remote_hold = NULL;
  vcm_trim(); /* both batches collected */
  vcm_set_misuse_handler(NULL, NULL);
  if (hf_reports != 1 || hf_at != c)
    fprintf(stderr, "held remote free (stage %d): %d reports, at %p for %p\n", stage, hf_reports,
            hf_at, c);
  CHECK_EQ(hf_reports, 1);
  CHECK(hf_at == c);
  const char *why = "";
  CHECK_EQ(vcm_check(&why), 0);
  if (*why) fprintf(stderr, "check: %s\n", why);
  int seen = 0, twice = 0;
  for (int i = 0; i < N; i++) {
    v[i] = vcm_malloc(64);
    for (int j = 0; j < 3; j++) seen += v[i] == own_b[j];
    seen += v[i] == own_a[0];
  }
  qsort(v, N, sizeof *v, dr_cmp);
  for (int i = 1; i < N; i++) twice += v[i] == v[i - 1];
  for (int i = 0; i < N; i++) vcm_free(v[i]);
  if (seen != 4)
    fprintf(stderr, "held remote free (stage %d): %d of the 4 chunks handed out again\n", stage,
            seen);
  CHECK_EQ(seen, 4);
  CHECK_EQ(twice, 0);
  return t_report();
}
/* Run this program (self) in a child as `self mode`: 1 if it exited 0. */
static int child_ok(const char *self, const char *mode) {
  int st = -1;
  pid_t pid = fork();
  if (pid == 0) {
    execl(self, self, mode, (char *)NULL);
    _exit(5);
  }
  return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
static void test_held_remote_free(const char *self) {
  CHECK(child_ok(self, "held-free"));
  CHECK(child_ok(self, "held-pushed"));
  CHECK(child_ok(self, "held-collected"));
}

/* Two threads' heaps, abandoned at their exits, each with one empty segment (of 64-byte
 * chunks); a third thread takes one and, short of 96-byte chunks (another scale), adopts the
 * other: the empty segment that brings duplicates the one its heap has and is unmapped at once,
 * so the segments mapped do not grow by the new one of 96-byte chunks (before: kept until the
 * heap's next purge; in thread-storm the main thread's heap, which frees little, held 20). */
static pthread_barrier_t ad_bar;
static void *ad_hold(void *arg) {
  (void)arg;
  void *p = vcm_malloc(64);
  pthread_barrier_wait(&ad_bar); /* both heaps in use at once: two heaps */
  vcm_free(p);
  return NULL;
}
static void *ad_take(void *arg) {
  size_t *regions = arg;
  vcm_free(vcm_malloc(64)); /* an abandoned heap, its segment of 64-byte chunks empty again */
  vcm_stats s;
  vcm_stats_get(&s);
  regions[0] = s.regions;
  void *q = vcm_malloc(96);
  vcm_stats_get(&s);
  regions[1] = s.regions;
  vcm_free(q);
  return NULL;
}
static void test_adopt_trims(void) {
  pthread_t t[2];
  size_t regions[2] = {0, 0};
  CHECK(pthread_barrier_init(&ad_bar, NULL, 2) == 0);
  for (int i = 0; i < 2; i++) spawn(&t[i], ad_hold, NULL);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&ad_bar);
  spawn(&t[0], ad_take, regions);
  pthread_join(t[0], NULL);
  if (regions[1] > regions[0]) fprintf(stderr, "adoption: %zu segments, then %zu\n", regions[0], regions[1]);
  CHECK(regions[0] > 0 && regions[1] == regions[0]);
}

/* In-place reallocs are counted per thread on the fast path (no heap loaded): a thread's count
 * reaches the stats through its heap at its exit, and a thread with no heap (its first call is
 * a realloc of another thread's chunk) keeps the chunk in place, its used size set, writing no
 * shared heap (two at once: under TSan, a race if they did). */
#define INPLACE_N 1000
static void *grow_in_place(void *arg) {
  unsigned char *p = arg ? arg : vcm_realloc(NULL, 4096); /* arg: given, else a vector of ours */
  intptr_t bad = p == NULL;
  for (size_t n = 4096 - INPLACE_N + 1; p && n <= 4096; n++) /* over the floor: in place */
    bad += vcm_realloc(p, n) != p || vcm_used(p) != n;
  if (!arg) vcm_free(p);
  return (void *)bad;
}
static void test_inplace_counted(void) {
  pthread_t t[2];
  void *r0, *r1;
  vcm_stats s0, s1;
  vcm_stats_get(&s0);
  spawn(&t[0], grow_in_place, NULL);
  pthread_join(t[0], &r0);
  vcm_stats_get(&s1);
  CHECK_EQ((intptr_t)r0, 0);
  CHECK_EQ(s1.realloc_inplace - s0.realloc_inplace, INPLACE_N); /* counted at its exit */
  void *mine[2] = {vcm_realloc(NULL, 4096), vcm_realloc(NULL, 4096)};
  CHECK(mine[0] && mine[1]);
  if (!mine[0] || !mine[1]) return;
  spawn(&t[0], grow_in_place, mine[0]);
  spawn(&t[1], grow_in_place, mine[1]);
  pthread_join(t[0], &r0);
  pthread_join(t[1], &r1);
  CHECK_EQ((intptr_t)r0 + (intptr_t)r1, 0);
  CHECK(vcm_used(mine[0]) == 4096 && vcm_used(mine[1]) == 4096);
  vcm_free(mine[0]);
  vcm_free(mine[1]);
}

/* A thread's key destructors run in rounds (glibc: up to PTHREAD_DESTRUCTOR_ITERATIONS), each
 * key's once a round while its value is set again. A remote free made in the last round by a
 * thread that never batched before was batched there (its batch key set, but no round followed
 * to push it): the chunk stayed REMOTE, never handed out again. The heap's destructor now ends
 * the thread's batching. In a fresh process (exec'd), where the class's free list is short and
 * LIFO, so the chunk freed is the next one handed out once collected. Exit 0, or 1. */
static pthread_key_t last_key;
static void *last_chunk;
static int last_rounds;
static void last_key_dtor(void *v) {
  if (++last_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
    pthread_setspecific(last_key, v);
    return;
  }
  vcm_free(last_chunk);
}
static void *last_round_thread(void *arg) {
  vcm_free(vcm_malloc(24)); /* a heap of its own */
  pthread_setspecific(last_key, arg);
  return NULL;
}
static int last_round_child(void) {
  enum { N = 4096 };
  static void *got[N];
  int seen = 0;
  pthread_t t;
  vcm_free(vcm_malloc(8)); /* vcm's keys first: last_key's destructor runs after theirs */
  if (pthread_key_create(&last_key, last_key_dtor) != 0 || !(last_chunk = vcm_malloc(64)) ||
      pthread_create(&t, NULL, last_round_thread, (void *)1) != 0 || pthread_join(t, NULL) != 0)
    return 2;
  vcm_trim(); /* collects every remote list of this thread's heap */
  for (int i = 0; i < N; i++) seen |= (got[i] = vcm_malloc(64)) == last_chunk;
  for (int i = 0; i < N; i++) vcm_free(got[i]);
  if (!seen) fprintf(stderr, "a chunk freed in the last destructor round (%d) was not reused\n", last_rounds);
  return !(seen && last_rounds == PTHREAD_DESTRUCTOR_ITERATIONS);
}
/* The same from a thread that never allocated (s2's consumer is one): its first batched free,
 * in the last round, arms the batch key, whose destructor no round then calls, and the heap's
 * destructor, which ends batching, never ran (no heap). Its batch stayed REMOTE for good; its
 * slots now live outside the thread, and a trim (or a thread's first allocation) pushes the
 * batch of a thread that is gone. The thread frees several chunks: one batch, not one free. */
static volatile long round_tid; /* the kernel's id of the last heapless_round_thread */
static void *heapless_round_thread(void *arg) {
  round_tid = syscall(SYS_gettid);
  pthread_setspecific(last_key, arg); /* no allocation in this thread */
  return NULL;
}
/* Joins t, a heapless_round_thread, then waits (2 s at most) until the kernel has released it:
 * vcm counts a thread as ended once tgkill finds it no more (vcm.h, vcm_trim), and the kernel
 * wakes pthread_join when the thread clears its id, a moment before it releases the thread.
 * On a busy machine a trim right after the join found the thread still there: 1 in 4 runs. */
static int join_released(pthread_t t) {
  if (pthread_join(t, NULL) != 0) return 0;
  for (int i = 0; i < 20000; i++) {
    if (syscall(SYS_tgkill, (long)getpid(), round_tid, 0) != 0 && errno == ESRCH) return 1;
    usleep(100);
  }
  return 0;
}
static void heapless_key_dtor(void *v) {
  if (++last_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
    pthread_setspecific(last_key, v);
    return;
  }
  void **c = v;
  for (int i = 0; i < 4; i++) vcm_free(c[i]);
}
static int heapless_round_child(void) {
  enum { N = 4096 };
  static void *got[N], *mine[4];
  int seen = 0;
  pthread_t t;
  vcm_free(vcm_malloc(8)); /* vcm's keys first: last_key's destructor runs after theirs */
  if (pthread_key_create(&last_key, heapless_key_dtor) != 0) return 2;
  for (int i = 0; i < 4; i++)
    if (!(mine[i] = vcm_malloc(64))) return 2;
  vcm_stats s0, s1;
  vcm_stats_get(&s0);
  if (pthread_create(&t, NULL, heapless_round_thread, mine) != 0 || !join_released(t))
    return 2;
  vcm_trim(); /* pushes a gone thread's batches, then collects every remote list of this heap */
  vcm_stats_get(&s1);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < 4; j++) seen += (got[i] = vcm_malloc(64)) == mine[j];
  for (int i = 0; i < N; i++) vcm_free(got[i]);
  if (seen != 4)
    fprintf(stderr, "%d of 4 chunks freed in the last destructor round (%d) by a thread without a "
            "heap were reused; small live chunks %zu -> %zu\n", seen, last_rounds,
            s0.small_live_chunks, s1.small_live_chunks);
  return !(seen == 4 && last_rounds == PTHREAD_DESTRUCTOR_ITERATIONS);
}
/* The same from a thread whose first allocation comes in the last round: it takes a heap there,
 * whose key's destructor (which pushes its batches and gives the heap up) no round then calls,
 * and batches its remote frees in its own slots. Its batch stayed REMOTE for good (0 of 4 came
 * back); the heap waited for a thread taking one. A trim now finds the gone thread's heap,
 * pushes its batches and lists the heap for adoption: the next thread takes it (no new heap)
 * and is handed the chunks that thread freed. */
static void *heaped_own[8];
static void heaped_key_dtor(void *v) {
  if (++last_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
    pthread_setspecific(last_key, v);
    return;
  }
  void **c = v;
  for (int i = 0; i < 8; i++) heaped_own[i] = vcm_malloc(64); /* the thread's heap, taken here */
  for (int i = 0; i < 8; i++) vcm_free(heaped_own[i]);
  for (int i = 0; i < 4; i++) vcm_free(c[i]); /* the main thread's: one batch */
}
static void *heaped_next_thread(void *arg) {
  enum { N = 64 };
  void *got[N];
  intptr_t seen = 0;
  (void)arg;
  for (int i = 0; i < N; i++) {
    got[i] = vcm_malloc(64);
    for (int j = 0; j < 8; j++) seen += got[i] == heaped_own[j];
  }
  for (int i = 0; i < N; i++) vcm_free(got[i]);
  return (void *)seen;
}
static int heaped_round_child(int trim) {
  enum { N = 4096 };
  static void *got[N], *mine[4];
  int seen = 0;
  pthread_t t;
  void *next_seen = NULL;
  vcm_free(vcm_malloc(8)); /* vcm's keys first: last_key's destructor runs after theirs */
  if (pthread_key_create(&last_key, heaped_key_dtor) != 0) return 2;
  for (int i = 0; i < 4; i++)
    if (!(mine[i] = vcm_malloc(64))) return 2;
  vcm_stats s0, s1, s2;
  if (pthread_create(&t, NULL, heapless_round_thread, mine) != 0 || !join_released(t))
    return 2;
  vcm_stats_get(&s0);
  if (trim) vcm_trim(); /* pushes a gone thread's batches, then collects this heap's lists */
  vcm_stats_get(&s1);
  if (pthread_create(&t, NULL, heaped_next_thread, NULL) != 0 || pthread_join(t, &next_seen) != 0)
    return 2;
  vcm_stats_get(&s2);
  vcm_trim();
  for (int i = 0; i < N; i++) {
    got[i] = vcm_malloc(64);
    for (int j = 0; j < 4; j++) seen += got[i] == mine[j];
  }
  for (int i = 0; i < N; i++) vcm_free(got[i]);
  const char *why = NULL;
  int checked = vcm_check(&why) == 0;
  if (seen != 4 || !next_seen || s2.heaps != s0.heaps || !checked)
    fprintf(stderr, "%s: %d of 4 chunks freed in the last destructor round (%d) by a thread "
            "that took its heap there were reused; the next thread reused %d of its chunks; "
            "heaps %zu -> %zu; small live chunks %zu -> %zu; check %s\n", trim ? "trim" : "thread",
            seen, last_rounds, (int)(intptr_t)next_seen, s0.heaps, s2.heaps,
            s0.small_live_chunks, s1.small_live_chunks, checked ? "clean" : why);
  return !(seen == 4 && next_seen && s2.heaps == s0.heaps && checked &&
           last_rounds == PTHREAD_DESTRUCTOR_ITERATIONS);
}
/* The same heap's free pages: the thread frees, in the last round, all it allocated there, and
 * its heap (no destructor gave it up, so no exit purge ran: its purges held the burst) kept
 * them resident until a thread took the heap. A trim that finds the heap gone purges it, as
 * its thread's exit would have. */
#define DEAD_N 500
#define DEAD_SIZE 8192u
static unsigned char *dead_own[DEAD_N];
static void dead_key_dtor(void *v) {
  if (++last_rounds < PTHREAD_DESTRUCTOR_ITERATIONS) {
    pthread_setspecific(last_key, v);
    return;
  }
  for (int i = 0; i < DEAD_N; i++)
    if ((dead_own[i] = vcm_malloc(DEAD_SIZE)) != NULL) memset(dead_own[i], 1, DEAD_SIZE);
  for (int i = 0; i < DEAD_N; i++) vcm_free(dead_own[i]);
}
/* Of the pages wholly inside the freed chunks: *all of them, and the resident ones. */
static size_t dead_resident(size_t *all) {
  size_t n = 0;
  *all = 0;
  for (int i = 0; i < DEAD_N; i++)
    for (uintptr_t a = ((uintptr_t)dead_own[i] + 4095u) & ~(uintptr_t)4095u;
         a + 4096u <= (uintptr_t)dead_own[i] + DEAD_SIZE; a += 4096u) {
      unsigned char v = 0;
      ++*all;
      if (mincore((void *)a, 4096, &v) == 0) n += v & 1u;
    }
  return n;
}
static int dead_trim_child(void) {
  pthread_t t;
  vcm_free(vcm_malloc(8)); /* vcm's keys first: last_key's destructor runs after theirs */
  if (pthread_key_create(&last_key, dead_key_dtor) != 0 ||
      pthread_create(&t, NULL, heapless_round_thread, (void *)1) != 0 || !join_released(t))
    return 2;
  for (int i = 0; i < DEAD_N; i++)
    if (!dead_own[i]) return 3;
  size_t all, before = dead_resident(&all);
  vcm_trim(); /* finds the heap of the thread gone */
  size_t after = dead_resident(&all);
  if (before < all / 2 || after > all / 16)
    fprintf(stderr, "a dead thread's heap: %zu of %zu freed pages resident before the trim, %zu "
            "after (rounds %d)\n", before, all, after, last_rounds);
  return !(before >= all / 2 && after <= all / 16 &&
           last_rounds == PTHREAD_DESTRUCTOR_ITERATIONS);
}
/* Many such threads without a heap, one after another, each freeing 4 of the main thread's
 * chunks in its last round: each took a batch record there that no exit gave back, and with
 * no thread taking a heap (the main thread has one) the list grew a record a thread, and a
 * trim pushed the batches of 8 of them (32 of 1,200 chunks came back, +89,600 bytes of
 * metadata). A thread's first batch now pushes and takes back the records of threads gone
 * before it makes a new one: the metadata stays, every chunk comes back. */
#define RC_THREADS 300
static int rc_cmp(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return (x > y) - (x < y);
}
static int rec_churn_child(void) {
  enum { N = RC_THREADS * 4, GOT = 4 * N };
  static void *chunks[N], *got[GOT];
  static uintptr_t sorted[N];
  pthread_t t;
  vcm_free(vcm_malloc(8)); /* vcm's keys first: last_key's destructor runs after theirs */
  if (pthread_key_create(&last_key, heapless_key_dtor) != 0) return 2;
  for (int i = 0; i < N; i++)
    if (!(chunks[i] = vcm_malloc(64))) return 2;
  uintptr_t cur0 = 0, end0 = 0;
  for (int i = 0; i < RC_THREADS; i++) {
    last_rounds = 0; /* heapless_key_dtor's rounds, one thread at a time */
    if (pthread_create(&t, NULL, heapless_round_thread, &chunks[4 * i]) != 0 ||
        !join_released(t))
      return 2;
    if (i == 19) /* the metadata's bump pointer, once the first records are made */
      cur0 = (uintptr_t)vcmi_meta.cur, end0 = (uintptr_t)vcmi_meta.end;
  }
  uintptr_t grown = (uintptr_t)vcmi_meta.end != end0 ? SIZE_MAX : (uintptr_t)vcmi_meta.cur - cur0;
  vcm_trim(); /* pushes the batches of a few threads gone, collects this heap's lists */
  for (int i = 0; i < N; i++) sorted[i] = (uintptr_t)chunks[i];
  qsort(sorted, N, sizeof *sorted, rc_cmp);
  int back = 0;
  for (int i = 0; i < GOT; i++) {
    got[i] = vcm_malloc(64);
    back += got[i] && bsearch(&got[i], sorted, N, sizeof *sorted, rc_cmp) != NULL;
  }
  for (int i = 0; i < GOT; i++) vcm_free(got[i]);
  if (grown > 2048u || back != N)
    fprintf(stderr, "%d threads freeing in their last round: metadata +%zu bytes after the 20th "
            "(SIZE_MAX: a new block); %d of their %d chunks handed out again\n", RC_THREADS,
            (size_t)grown, back, N);
  return !(grown <= 2048u && back == N);
}
static __attribute__((unused)) void test_free_in_last_round(const char *self) {
  CHECK(child_ok(self, "last-round"));
  CHECK(child_ok(self, "heapless-round"));
  CHECK(child_ok(self, "heaped-round"));
  CHECK(child_ok(self, "heaped-round-thread"));
  CHECK(child_ok(self, "dead-trim"));
  CHECK(child_ok(self, "rec-churn"));
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "last-round") == 0) return last_round_child();
  if (argc > 1 && strcmp(argv[1], "heapless-round") == 0) return heapless_round_child();
  if (argc > 1 && strcmp(argv[1], "heaped-round") == 0) return heaped_round_child(1);
  if (argc > 1 && strcmp(argv[1], "heaped-round-thread") == 0) return heaped_round_child(0);
  if (argc > 1 && strcmp(argv[1], "dead-trim") == 0) return dead_trim_child();
  if (argc > 1 && strcmp(argv[1], "rec-churn") == 0) return rec_churn_child();
  if (argc > 1 && strcmp(argv[1], "held-free") == 0) return held_child(0);
  if (argc > 1 && strcmp(argv[1], "held-pushed") == 0) return held_child(1);
  if (argc > 1 && strcmp(argv[1], "held-collected") == 0) return held_child(2);
  test_adopt_trims(); /* first: no heap is abandoned yet */
  test_inplace_counted();
  test_stats_while_allocating();
  test_remote_pair_read();
  test_grow_reads_group_head();
  test_check_while_allocating();
  test_large_move_race();
  test_remote_growth();
  test_remote_shrink();
  test_realloc_shrink_race();
  test_remote_double_free_overlap();
  test_held_remote_free("/proc/self/exe");
#ifndef __SANITIZE_THREAD__ /* TSan's runtime ends a thread's state before glibc's last round of
                              * key destructors: a free there faults inside the runtime */
  test_free_in_last_round("/proc/self/exe");
#endif
  test_threads();
  test_fork();
  return t_report();
}
