/* The thread heaps' lives: a thread's first allocation takes a heap (an abandoned one with its
 * segments, a spare struct, or a new one), its exit (a key destructor) gives it up to the next
 * thread that starts or runs short (heap.c's adopt), and a heap whose thread ended without giving
 * it up is found and reclaimed. Also malloc_trim's part, the fork hooks, and the walks of every
 * heap for statistics and checks. The heaps' segments, their allocation and their purges are
 * heap.c's; the lists of heaps are under vcmi_heaps_lock (heap.c).
 *
 * Lock order: heaps_lock, then large_lock (large.c), then meta_lock (meta.c).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "heap.h"
#include "remote.h"
#include "purge.h"
#include "options.h"
#include "os.h"


/* Every heap made, by next_all, under vcmi_heaps_lock (the others, vcmi_heaps_abandoned and
 * vcmi_heaps_spare, are heap.c's: its adopt, on malloc's slow path, takes from them). */
static vcmi_heap *all_heaps;
static pthread_key_t heap_key;
static int key_ready;

#define reg vcmi_seg_region

static void heap_destructor(void *arg);

static void global_init(void) {
  /* Once, under heaps_lock. Neither getenv nor pthread_key_create allocates in glibc. */
  static int done;
  if (done) return;
  done = 1;
  vcmi_options_init();
  for (size_t n = 0; n <= VCMI_TIGHT_TABLE_MAX; n++)
    VCMI_ASSERT(vcmi_tight_table[(n + 15u) >> 4] == vcmi_tight_class_calc(n));
  for (unsigned j = 4; j <= VCMI_LMAX; j++) {
    const vcmi_tclass_t *c = &vcmi_tclass[vcmi_pow2_class_t[j]];
    int colour = j >= VCMI_COLOUR_LMIN && j <= VCMI_COLOUR_LMAX;
    VCMI_ASSERT(c->cap == (size_t)1 << j && c->x == 0);
    VCMI_ASSERT(colour ? vcmi_pow2_class_t[j] == VCMI_NTIGHT + j - VCMI_COLOUR_LMIN
                       : vcmi_pow2_class_t[j] == vcmi_tight_class_calc((size_t)1 << j));
  }
  for (unsigned t = 0; t < VCMI_NFIXED; t++) { /* the table follows the rule, each c its class's */
    const vcmi_tclass_t *c = &vcmi_tclass[t];
    VCMI_ASSERT(c->cap == (1u + c->x) << (VCMI_LMAX - c->k) && (c->x & 1u) == 0);
    /* the most malloc puts in it: a colour class 2^l of its 2^l * 129/128 */
    size_t most = c->x == VCMI_XSCALE_COLOUR ? (size_t)c->cap / 129u * 128u : c->cap;
    VCMI_ASSERT(t >= VCMI_NTIGHT ||
                (vcmi_tight_class_calc(most) == t &&
                 (t + 1u == VCMI_NTIGHT || vcmi_tight_class_calc(most + 1u) == t + 1u)));
  }
  if (pthread_key_create(&heap_key, heap_destructor) == 0) key_ready = 1;
  vcmi_remote_init();
}

/* A heap whose thread is gone without giving it up (its first allocation came in the last
 * round of key destructors, or it never ran them): returned (tid 0, on no list) with that
 * thread's id in *dead, for the caller to push the thread's batches (vcmi_remote_reclaim_heap,
 * outside the lock) and take or list it. A few heaps in use are checked per call, round robin,
 * so a thread start costs a few system calls at most. Under heaps_lock. Not in a fork child's
 * orphans (their thread may have stopped mid-use). */
static vcmi_heap *reclaim_dead(long *dead) {
  static vcmi_heap *cursor;
  for (int checked = 0, seen = 0; checked < 8 && seen < 64; seen++) {
    vcmi_heap *h = cursor ? cursor : all_heaps;
    if (!h) return NULL;
    cursor = h->next_all;
    long tid = __atomic_load_n(&h->tid, __ATOMIC_RELAXED);
    if (!tid || h->orphan) continue;
    checked++;
    if (vcmi_os_thread_alive(tid)) continue;
    __atomic_store_n(&h->tid, 0L, __ATOMIC_RELAXED);
    *dead = tid;
    return h;
  }
  return NULL;
}

/* A heap for this thread: an abandoned one (with its segments), a spare, or a new one. */
static vcmi_heap *heap_take(void) {
  int is_new = 0;
  vcmi_remote_reclaim(); /* a thread gone with its batches unpushed, as reclaim_dead's heaps */
  vcmi_lock_take(&vcmi_heaps_lock);
  global_init();
  vcmi_heap *h = vcmi_heaps_abandoned, *dead = NULL;
  long dead_tid = 0;
  if (h) {
    vcmi_heaps_abandoned = h->next_abandoned;
  } else if ((h = dead = reclaim_dead(&dead_tid)) == NULL && (h = vcmi_heaps_spare) != NULL) {
    vcmi_heaps_spare = h->next_abandoned;
  }
  vcmi_lock_give(&vcmi_heaps_lock);
  if (dead) vcmi_remote_reclaim_heap(dead, dead_tid);
  if (!h) {
    if (!(h = vcmi_meta_alloc(sizeof *h))) return NULL;
    memset(h, 0, sizeof *h);
    is_new = 1;
  }
  if (!h->segs) {
    vcmi_segment *s = vcmi_seg_create(h, 0, 0);
    vcmi_lock_take(&vcmi_heaps_lock);
    if (is_new) { /* listed even without a segment, so that it is reused as a spare */
      h->next_all = all_heaps;
      all_heaps = h;
    }
    if (!s) {
      h->next_abandoned = vcmi_heaps_spare;
      vcmi_heaps_spare = h;
    }
    vcmi_lock_give(&vcmi_heaps_lock);
    if (!s) return NULL;
    vcmi_heap_set_mode(h, reg(s));
  }
  return h;
}

/* Purges that drop, hold and donate nothing, every class looked at (a burst's purges, held,
 * dropping nothing, leave a class unlooked at once its list is grouped, until it is freed into
 * again), until no class waits (a short free run goes once all free at its class's wait: up to
 * VCMI_PURGE_WAIT_MAX purges of the class, purge.h); empty segments go at the second. */
static void heap_purge_out(vcmi_heap *h) {
  for (vcmi_segment *s = h->segs; s; s = s->next) s->aging = s->carved;
  for (unsigned i = 0; i < VCMI_PURGE_WAIT_MAX + 2u; i++) {
    vcmi_heap_purge_as(h, 1);
    uint32_t waiting = 0;
    for (vcmi_segment *s = h->segs; s; s = s->next) waiting |= s->aging;
    if (i && !waiting) break;
  }
}

/* A thread that purged this many times or more (vcmi_heap_own_purges) ends with its heap
 * purged out (below). */
#define EXIT_PURGES 2u
/* The heap, with everything in it, waits for another thread to adopt it. exiting: its thread
 * ends (heap_destructor), not a key destructor's allocation after that. */
static void heap_give_up(vcmi_heap *h, int exiting) {
  vcmi_moved_drop(h); /* its segments change hands */
  vcmi_remote_flush();
  vcmi_heap_collect(h, 0);
  /* A purge left due (by a free that crossed the line: it leaves the purge to the heap's next
   * operation) is this thread's: made by the next one, it saw this thread's burst and that
   * thread held it. Otherwise the credit carries on: short threads that take the heap in turn
   * each free less than an interval, and still purge (thread-storm's mappings). */
  if (VCMI_PURGE_DUE(h)) vcmi_heap_purge_as(h, 0);
  vcmi_heap_end_hold(h);
  /* A thread that purged EXIT_PURGES times or more (it freed that many intervals: it ran for
   * a while) and ends: what it freed is not held for its rebuild (no burst is held for a thread
   * that is gone), heap_purge_out gives it back now (s3, s6, s8, s2: threads that free what
   * they hold and end; their heaps stayed resident while the program's exit faulted libc's
   * pages in, the peak; docs/BENCHMARKS.md). Two purges, as before, skipped the classes a burst
   * left unlooked at and the short runs still waiting: 2,333 of 3,840 free pages stayed
   * (test_exit_gives_held). A short thread's heap keeps its pages for the next (thread-storm:
   * dropped at every exit, 4.5x the faults, 2.8x the CPU). */
  if (exiting && vcmi_heap_own_purges >= EXIT_PURGES) heap_purge_out(h);
  /* a fine segment left empty goes with its thread: a heap passed from thread to thread would
   * otherwise gather one of each fine class its threads ever used (thread-storm's mappings) */
  for (vcmi_segment **link = &h->segs; *link;)
    if (*link != h->segs && (*link)->fine_end && vcmi_seg_empty(*link))
      vcmi_seg_unlink(h, link, 1);
    else
      link = &(*link)->next;
  vcmi_lock_take(&vcmi_heaps_lock);
  __atomic_store_n(&h->tid, 0L, __ATOMIC_RELAXED);
  h->next_abandoned = vcmi_heaps_abandoned;
  vcmi_heaps_abandoned = h;
  vcmi_lock_give(&vcmi_heaps_lock);
}

/* Set by our key destructor: this thread is exiting and has given its heap up. */
static __thread int dying __attribute__((tls_model("initial-exec")));

/* Thread exit. Key destructors that run after this one may still allocate (glibc runs up to
 * four rounds): they borrow a heap for each allocation (vcmi_heap_alloc_first), so no heap
 * stays with the dead thread, whatever the rounds do (a thread whose first allocation comes in
 * the last round gets no destructor call: reclaim_dead finds its heap). */
static void heap_destructor(void *arg) {
  dying = 1;
  vcmi_tls_heap = &vcmi_no_heap;
  vcmi_remote_exit(); /* a remote free in a later round would start a batch never pushed */
  vcmi_heap_inplace_flush(arg);
  heap_give_up(arg, 1);
}

void *vcmi_heap_alloc_first(unsigned k, size_t n) {
  vcmi_heap *h = heap_take();
  if (!h) return NULL;
  if (dying) {
    void *p = vcmi_heap_alloc_class(h, k, n);
    heap_give_up(h, 0);
    return p;
  }
  /* Set before pthread_setspecific: if that allocates, the nested malloc finds the heap. */
  __atomic_store_n(&h->tid, vcmi_os_thread_id(), __ATOMIC_RELAXED);
  vcmi_tls_heap = h;
  if (key_ready) pthread_setspecific(heap_key, h);
  return vcmi_heap_alloc_class(h, k, n);
}

/* malloc_trim: the calling thread's heap gives back now what it would at its exit: its hold
 * ends, then heap_purge_out. So does a heap whose thread is gone without giving it up
 * (reclaim_dead: no exit purge ran, and its free pages waited for a thread to take it), held
 * by the caller alone while off every list, as a taker would hold it. Other threads' heaps are
 * theirs (no lock: their owners purge them). Returns whether the OS took any page (os_purged
 * grew; another thread's purge meanwhile counts too). */
int vcmi_heap_trim(void) {
  vcmi_heap *h = vcmi_tls_heap;
  vcmi_os_stats a, b;
  vcmi_os_stats_get(&a);
  vcmi_remote_reclaim(); /* before the collection: their chunks may be this heap's */
  long dead_tid = 0;
  vcmi_lock_take(&vcmi_heaps_lock);
  vcmi_heap *dead = reclaim_dead(&dead_tid); /* a heap taken in a thread's last destructor round */
  vcmi_lock_give(&vcmi_heaps_lock);
  if (dead) {
    vcmi_remote_reclaim_heap(dead, dead_tid);
    /* its purges are not the caller's (vcmi_heap_own_purges), nor the caller's in-place count
     * its */
    uint32_t purges = vcmi_heap_own_purges;
    size_t inplace = vcmi_tls_inplace;
    vcmi_tls_inplace = 0;
    vcmi_heap_end_hold(dead);
    heap_purge_out(dead);
    vcmi_heap_own_purges = purges;
    vcmi_tls_inplace = inplace;
    vcmi_lock_take(&vcmi_heaps_lock);
    dead->next_abandoned = vcmi_heaps_abandoned;
    vcmi_heaps_abandoned = dead;
    vcmi_lock_give(&vcmi_heaps_lock);
  }
  if (h == &vcmi_no_heap) {
    vcmi_os_stats_get(&b);
    return b.purged != a.purged;
  }
  vcmi_heap_end_hold(h);
  heap_purge_out(h);
  int any = vcmi_seg_pool_release();
  vcmi_os_stats_get(&b);
  return any || b.purged != a.purged;
}

/* fork (lifecycle.c takes every lock in order; one the forking thread holds itself is kept
 * as it is, see meta.h): the child keeps only the forking thread's heap in use. Heaps of
 * threads that do not exist in the child are neither adopted nor touched again (a thread could
 * have been inside one), so their memory is leaked in the child, never reused. */
void vcmi_heap_fork_prepare(void) { vcmi_lock_fork_prepare(&vcmi_heaps_lock); }
void vcmi_heap_fork_parent(void) { vcmi_lock_fork_parent(&vcmi_heaps_lock); }
void vcmi_heap_fork_child(void) {
  for (vcmi_heap *h = all_heaps; h; h = h->next_all) h->orphan = h != vcmi_tls_heap;
  for (vcmi_heap *h = vcmi_heaps_abandoned; h; h = h->next_abandoned) h->orphan = 0;
  for (vcmi_heap *h = vcmi_heaps_spare; h; h = h->next_abandoned) h->orphan = 0;
  if (vcmi_tls_heap != &vcmi_no_heap) /* the child's thread id */
    vcmi_tls_heap->tid = vcmi_os_thread_id();
  vcmi_lock_fork_child(&vcmi_heaps_lock);
}

/* For stats and checks: visit every heap's segments under heaps_lock (in a fork child, not
 * those of threads that do not exist there: they may have stopped mid-operation). */
static void each_seg(vcmi_heap *h, void (*fn)(void *ctx, vcm_region *r), void *ctx) {
  for (vcmi_segment *s = h->orphan ? NULL : h->segs; s; s = s->next) fn(ctx, &s->region);
}
void vcmi_heap_each_region(void (*fn)(void *ctx, vcm_region *r), void *ctx) {
  vcmi_lock_take(&vcmi_heaps_lock);
  for (vcmi_heap *h = all_heaps; h; h = h->next_all) each_seg(h, fn, ctx);
  vcmi_lock_give(&vcmi_heaps_lock);
}

/* The heaps on the abandoned list are held by no thread, and heaps_lock keeps them there
 * (heap.c's adopt and heap_take take them off under it); a taken heap's tid is set only after,
 * so tid 0 alone would not tell. */
void vcmi_heap_each_quiet_region(void (*fn)(void *ctx, vcm_region *r), void *ctx) {
  vcmi_heap *me = vcmi_tls_heap;
  vcmi_lock_take(&vcmi_heaps_lock);
  if (me != &vcmi_no_heap) each_seg(me, fn, ctx);
  for (vcmi_heap *h = vcmi_heaps_abandoned; h; h = h->next_abandoned) each_seg(h, fn, ctx);
  vcmi_lock_give(&vcmi_heaps_lock);
}

void vcmi_heap_each_heap(void (*fn)(void *ctx, vcmi_heap *h), void *ctx) {
  vcmi_lock_take(&vcmi_heaps_lock);
  for (vcmi_heap *h = all_heaps; h; h = h->next_all) fn(ctx, h);
  vcmi_lock_give(&vcmi_heaps_lock);
}
