/* Remote frees: a chunk of another thread's heap, freed here, joins a batch of this thread's
 * for its segment (a chain through the map entries' links, no locked instruction on the common
 * path) and goes in one lock-free push on the segment's remote list; the owner takes the lists
 * whole and walks them (vcmi_remote_collect). Also the reports of a segment chunk that is not live, and
 * check mode's slack test, which the owner's paths (heap.c, chunk.c) share with these. The
 * method and its races: docs/DESIGN.md §5 ("Threads"), docs/SECURITY.md.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "remote.h"
#include "pair.h"
#include "purge.h"
#include "options.h"
#include "os.h"

#define reg vcmi_seg_region

/* A freeing thread's batch of remote frees for one segment (below, remote_free): a chain of
 * OUT_MAX - left chunks of r (named as on remote lists), head to tail through links, the tail's
 * entry this thread's mark (out_mark); the head's entry pe, as this thread wrote it: pv. */
typedef struct out_slot {
  vcmi_region *r; /* NULL: empty */
  vcmi_entry *pe;
  uint32_t pv, head, tail, left;
} out_slot;

/* Report p, at entry e, as no live chunk: freed (why), or, if e is a HELD half inside a live
 * MERGED chunk (pair.h: the HELD entries before e lead to its first, g = 4q + j, and a pair spans
 * j = 1, a QUAD j <= 3), as an interior pointer, as it was when the chunk was one of the class
 * above. Misuse only: a buddy's entry is read here alone. */
__attribute__((noinline, cold)) void vcmi_report_not_live(vcmi_region *r, const void *p,
                                                      const vcmi_entry *e, vcmi_why why) {
  const uint32_t both = VCMI_LIVE | VCMI_MERGED;
  if (vcmi_pair_held(__atomic_load_n(&e->state, __ATOMIC_RELAXED))) {
    unsigned j = 1; /* no first entry is HELD: the walk stops at or above entry 0 */
    while (j < 3u && vcmi_pair_held(__atomic_load_n(&e[-(ptrdiff_t)j].state, __ATOMIC_RELAXED))) j++;
    uint32_t head = __atomic_load_n(&e[-(ptrdiff_t)j].state, __ATOMIC_RELAXED);
    if ((head & both) == both && (j == 1u || (head & VCMI_QUAD))) why = VCMI_WHY_INTERIOR;
  }
  vcmi_misuse(r, p, why);
}

int vcmi_all_fill(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != VCMI_CHECK_FILL) return 0;
  return 1;
}

static void check_slack_of(vcmi_region *r, size_t k, const unsigned char *p, size_t used) {
  if (!vcmi_all_fill(p + used, vcmi_class_cap(r, (unsigned)k) - used))
    vcmi_misuse(r, p, VCMI_WHY_OVERFLOW);
}
void vcmi_check_slack(vcmi_region *r, const vcmi_loc *loc, const unsigned char *p) {
  check_slack_of(r, loc->k, p, __atomic_load_n(&loc->e->state, __ATOMIC_RELAXED) & VCMI_USED_MASK);
}


/* A chunk on a remote list or batch is named by its class and class-number, k << RIDX_G_BITS | g
 * (the map's colours make its entry's index in the map no longer tell its class). */
#define RIDX_G_BITS (VCMI_NCLASS + 4u)
_Static_assert(VCMI_SEG_CHANNELS << (VCMI_NCLASS - 1u) <= 1u << RIDX_G_BITS &&
                   (VCMI_NCLASS << RIDX_G_BITS) < VCMI_NONE,
               "class-numbers fit, and a name is never VCMI_NONE");

static vcmi_entry *ridx_entry(vcmi_region *r, uint32_t idx) {
  return vcmi_entry_at(r, idx >> RIDX_G_BITS, idx & ((1u << RIDX_G_BITS) - 1u));
}

/* A segment's remote list being collected: the next chunk of it. */
typedef struct collect_at {
  vcmi_segment *s;
  uint32_t idx;
} collect_at;
#define COLLECT_WAYS 16u /* lists walked at once */

/* The pointer of chunk idx of r (named as on remote lists). */
static void *ridx_addr(vcmi_region *r, uint32_t idx) {
  return vcmi_chunk_addr(r, idx >> RIDX_G_BITS, idx & ((1u << RIDX_G_BITS) - 1u));
}

/* A chunk on a remote list found not REMOTE (collect_step), reported after the walk. */
static __thread vcmi_region *lost_r __attribute__((tls_model("initial-exec")));
static __thread uint32_t lost_idx __attribute__((tls_model("initial-exec")));

/* Free chunk idx of s's remote list, adding its capacity to *bytes; returns the next. Its entry
 * is REMOTE with a link, as the push left it, unless a racing double free stored over it after
 * the freeing thread's last look (remote_free: a window of nanoseconds): then it is reported
 * (lost_r), the rest of the list, whose link is gone, stays REMOTE (leaked, counted live),
 * and no chunk goes on a free list twice, nor a walk round a cycle. */
static inline uint32_t collect_step(vcmi_segment *s, uint32_t idx, size_t *bytes) {
  vcmi_region *r = reg(s);
  vcmi_loc loc = {idx >> RIDX_G_BITS, idx & ((1u << RIDX_G_BITS) - 1u), ridx_entry(r, idx)};
  uint32_t next = __atomic_load_n(&loc.e->state, __ATOMIC_RELAXED) ^ VCMI_REMOTE;
  if (VCMI_UNLIKELY(next >= VCMI_NONE)) { /* the list's last, or not REMOTE with a link only */
    if (next != VCMI_NONE) {
      lost_r = r, lost_idx = idx; /* no call here: collect_lists stays a leaf */
      return VCMI_NONE;
    }
    vcmi_release(r, &loc);
    *bytes += s->cap[loc.k];
    return VCMI_NONE;
  }
  vcmi_release(r, &loc); /* one test a chunk for both (the callers' != VCMI_NONE folds away) */
  *bytes += s->cap[loc.k];
  return next;
}

/* Take back the chunks of the n lists at[] (of n segments), two steps of each in turn. A list
 * is a chain of dependent loads of entries that other threads wrote, so mostly cache misses (s6
 * spent 19 % of its time walking the lists one after another, 80 % of that waiting on those
 * loads); the segments' lists are independent, so their misses overlap. Each list is still
 * freed in its order, and a class's chunks are all on its segment's list, so every class's
 * free list ends as before. That order matters: a segment's chains spread over several lists
 * and freed in turn reached its class lists mixed, and s6's own reads of the blocks handed
 * out again took 40-100 % longer. Two steps a turn, not one: 21 instructions a chunk, not 27
 * (a lone list's walk: 17), no slower. Returns the bytes taken. */
static size_t collect_lists(collect_at *at, unsigned n) {
  size_t bytes = 0;
  while (n > 1u)
    for (unsigned j = 0; j < n;) {
      uint32_t next = collect_step(at[j].s, at[j].idx, &bytes);
      if (next != VCMI_NONE) next = collect_step(at[j].s, next, &bytes);
      if (next != VCMI_NONE) at[j++].idx = next;
      else at[j] = at[--n];
    }
  /* the last list alone (s6's longest, its 16-128-byte classes'): no round over the cursors */
  for (uint32_t idx = n ? at[0].idx : VCMI_NONE; idx != VCMI_NONE;)
    idx = collect_step(at[0].s, idx, &bytes);
  return bytes;
}

/* Take back the chunks of s's remote list from idx, as collect_lists, in a segment with big
 * MERGED pairs (pair.h, VCMI_PAIR_LEAVE_MASK): a chunk freed as one (its REMOTE entry holds no
 * MERGED flag) is a lower half whose upper one is HELD; that goes back now too, as the owner's
 * free does (heap.c), not at the next sweep. Returns the bytes taken. */
static __attribute__((noinline)) size_t collect_leaving(vcmi_segment *s, uint32_t idx) {
  vcmi_region *r = reg(s);
  size_t bytes = 0;
  while (idx != VCMI_NONE) {
    vcmi_loc loc = {idx >> RIDX_G_BITS, idx & ((1u << RIDX_G_BITS) - 1u), ridx_entry(r, idx)};
    /* REMOTE with a link (collect_step frees it); the upper half first, as heap.c's free */
    if (!(loc.g & 1u) && (r->paired & VCMI_PAIR_LEAVE_MASK) >> loc.k & 1u &&
        (__atomic_load_n(&loc.e->state, __ATOMIC_RELAXED) ^ VCMI_REMOTE) <= VCMI_NONE &&
        vcmi_pair_held(__atomic_load_n(&loc.e[1].state, __ATOMIC_RELAXED)))
      bytes += vcmi_pair_leave(r, &loc);
    idx = collect_step(s, idx, &bytes);
  }
  return bytes;
}

/* (remote.h) Remote frees count toward the next purge like local ones (issue 11, cause 4): a
 * heap whose chunks other threads free gives pages back when it next runs short, freeing
 * nothing itself. An empty list is only read (seq_cst,
 * after the clear of the flag: a push it misses flags again), not exchanged, which would take
 * its line from the threads that push and read owner there. */
void vcmi_remote_collect(vcmi_heap *h) {
  __atomic_store_n(&h->remote_pending, 0, __ATOMIC_SEQ_CST); /* before the exchanges (remote_free) */
  collect_at at[COLLECT_WAYS];
  unsigned n = 0;
  size_t bytes = 0;
  for (vcmi_segment *s = h->segs; s; s = s->next) {
    uint32_t *list = &reg(s)->remote_head;
    if (__atomic_load_n(list, __ATOMIC_SEQ_CST) == VCMI_NONE) continue;
    if (VCMI_UNLIKELY(reg(s)->paired & VCMI_PAIR_LEAVE_MASK)) { /* big pairs held */
      bytes += collect_leaving(s, __atomic_exchange_n(list, VCMI_NONE, __ATOMIC_SEQ_CST));
      continue;
    }
    at[n++] = (collect_at){s, __atomic_exchange_n(list, VCMI_NONE, __ATOMIC_SEQ_CST)};
    if (n == COLLECT_WAYS) bytes += collect_lists(at, n), n = 0;
  }
  h->credit = vcmi_credit_less(h->credit, bytes + collect_lists(at, n));
  if (VCMI_UNLIKELY(lost_r != NULL)) {
    vcmi_region *r = lost_r;
    lost_r = NULL;
    vcmi_misuse(r, ridx_addr(r, lost_idx), VCMI_WHY_DOUBLE_FREE);
  }
}

/* Push the chain of REMOTE entries head .. tail (linked through their links) on r's list; mark:
 * the tail's state as this thread wrote it. A batch's tail link is set by a CAS from that: a
 * racing double free that stored over it since (after remote_free's look) is reported, and
 * the chain is left off the list (its chunks stay REMOTE: leaked, counted live). A lone
 * chunk's (mark REMOTE | NONE, just taken by a CAS) by a plain store: a racer's store it
 * covers is seen at that racer's next look. */
static void remote_push(vcmi_region *r, uint32_t head, uint32_t tail, uint32_t mark) {
  vcmi_entry *t = ridx_entry(r, tail);
  /* The owner is read before the exchange: once the chain is on the list, the owner may
   * collect it, find the segment empty and unmap it (a thread's exit, a purge), so nothing of
   * the segment is read after (its header was: a fault, test_remote_push_unmapped). An
   * adoption between the two flags the old heap: the purge's collection of every list finds
   * the chain. */
  vcmi_heap *o = __atomic_load_n((vcmi_heap **)&r->owner, __ATOMIC_RELAXED);
  uint32_t old = __atomic_load_n(&r->remote_head, __ATOMIC_RELAXED);
  int lone = mark == (VCMI_REMOTE | VCMI_NONE);
  do {
    if (lone) {
      __atomic_store_n(&t->state, VCMI_REMOTE | old, __ATOMIC_RELAXED);
    } else if (!__atomic_compare_exchange_n(&t->state, &mark, VCMI_REMOTE | old, 0,
                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
      vcmi_misuse(r, ridx_addr(r, tail), VCMI_WHY_DOUBLE_FREE);
      return;
    }
    mark = VCMI_REMOTE | old;
  } while (!__atomic_compare_exchange_n(&r->remote_head, &old, head, 1, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED));
  /* Only the push onto an empty list flags the owner: a list that was not empty is flagged
   * already or is taken whole by a collection that has not yet exchanged it (vcmi_remote_collect
   * clears the flag before it exchanges). Sparing the store on the others keeps a stream of
   * remote frees off the owner's heap line, which its every free reads and writes. Both
   * sides seq_cst: a push the exchange missed sets the flag after the clear. */
  if (old != VCMI_NONE) return;
  __atomic_store_n(&o->remote_pending, 1, __ATOMIC_SEQ_CST);
}

/* A freeing thread batches: the chunks of up to 1 KiB (times the scale) it frees of one
 * segment wait in a slot of its own (REMOTE, still counted live by their owner, so the segment
 * stays) and go in one push of OUT_MAX, or when another segment needs the slot, or at the
 * thread's next purge or exit (out_key's destructor). At most OUT_MAX * 1,792 bytes per slot
 * (448 KiB a thread) wait unreused.
 *
 * A batched free loads its entry, tests LIVE and stores REMOTE | the batch's head by a CAS from
 * what it tested (store_if): of two threads freeing one chunk at once, one stores and the other
 * reports. The owner's own free is a plain store, so the head's entry can still be stored over
 * (by the owner's free list or a new allocation after such a race): the batch's next free, or
 * its push, reads the head's entry again first, and one stored over is reported and left out
 * of the batch (out_raced), so the chunk stays on one list. A chain's first entry holds the
 * thread's mark (REMOTE | AGED | its thread id), so that two threads' first entries differ
 * too, and the push links it by a CAS from that mark. */
#define OUT_SLOTS 8u /* a segment's slot: its xscale (0, 2, 4, 6) and a hash bit (seg_create) */
#define OUT_MAX 32u
#define OUT_KMIN (VCMI_LMAX - 10u) /* the classes batched: capacity (1 + xscale) KiB at most */
/* A thread's slots: a record of out_recs (below) from its first batch to its exit; out_none
 * (all empty, never written) before and after. Read through out_at by one load. */
static const out_slot out_none[OUT_SLOTS];
static __thread out_slot *out_at __attribute__((tls_model("initial-exec"))) =
    (out_slot *)(uintptr_t)out_none;
/* 1: out_key is set, its destructor will flush; -1: it ran, no more batching */
static __thread int out_armed __attribute__((tls_model("initial-exec")));
/* A chain's first entry as this thread writes it (set with out_armed = 1) */
static __thread uint32_t out_mark __attribute__((tls_model("initial-exec")));
static pthread_key_t out_key;
static int out_key_ready;

/* A batching thread's slots. Its first batch may come in glibc's last round of key destructors
 * (a destructor that frees another thread's chunks): the key set there has its destructor
 * called by no round, nor has the heap's (if that round took the thread's heap, its key set
 * there too), so a batch kept in the thread would be lost with it (REMOTE, counted live by the
 * owner: a leak, and the segment never empties). Kept here, the batch of a thread that is gone
 * is pushed by another: a heapless thread's by vcmi_remote_reclaim (a trim, a thread's first
 * allocation), a heap's thread's when reclaim_dead finds its heap (vcmi_remote_reclaim_heap).
 * Records are never freed: a list that only grows, each taken by a CAS of tid from 0 (free) and
 * given back at its thread's exit (out_destructor), or by whoever pushes a gone thread's
 * batches; a thread needing a new one first pushes those of a few threads gone (rec_take), so
 * the list holds about as many records as threads ever batched at once. 64-byte aligned and
 * sized (meta), so two threads' slots share no line. */
typedef struct out_rec {
  struct out_rec *next;
  long tid;        /* the thread using it; 0: free; -1: being pushed by a reclaimer */
  long pid;        /* its process (relaxed atomic): a fork child pushes no parent thread's */
  const void *heap; /* its thread's heap at its first batch (relaxed atomic), NULL if none */
  uint32_t mark;   /* its thread's out_mark */
  out_slot slot[OUT_SLOTS];
} out_rec;
static out_rec *out_recs, *out_rec_cursor;
static __thread out_rec *out_mine __attribute__((tls_model("initial-exec")));

/* Take o's batch (of the thread whose mark is mark) off its slot and push it, but for its head
 * if a racing double free stored over the head's entry since that thread wrote it: that chunk
 * is reported (first: a handler that frees may use the slot, and after the push the segment
 * may be gone) and left out. */
static __attribute__((noinline)) void out_flush(out_slot *o, uint32_t mark) {
  vcmi_region *r = o->r;
  if (!r) return;
  o->r = NULL;
  uint32_t head = o->head, tail = o->tail, pv = o->pv;
  if (VCMI_UNLIKELY(__atomic_load_n(&o->pe->state, __ATOMIC_RELAXED) != pv)) {
    vcmi_misuse(r, ridx_addr(r, head), VCMI_WHY_DOUBLE_FREE);
    if (head == tail) return;
    head = vcmi_link(pv);
  }
  remote_push(r, head, tail, mark);
}
void vcmi_remote_flush(void) {
  for (unsigned i = 0; i < OUT_SLOTS; i++) out_flush(&out_at[i], out_mark);
}
/* A record given back: its heap cleared first, so a reclaimer that reads h there holds h's
 * thread's record (its tid then taken by a CAS from that thread's). */
static void rec_give(out_rec *q) {
  __atomic_store_n(&q->heap, NULL, __ATOMIC_RELAXED);
  __atomic_store_n(&q->tid, 0L, __ATOMIC_RELEASE);
}
void vcmi_remote_exit(void) {
  out_armed = -1; /* later destructors' remote frees are pushed one by one */
  vcmi_remote_flush();
  out_at = (out_slot *)(uintptr_t)out_none; /* the record may go to another thread now */
  if (out_mine) rec_give(out_mine), out_mine = NULL;
}
static void out_destructor(void *arg) {
  (void)arg;
  vcmi_remote_exit();
}

void vcmi_remote_init(void) {
  if (pthread_key_create(&out_key, out_destructor) == 0) out_key_ready = 1;
}

/* A free record for this thread (tid), or a new one: NULL if the metadata is out of memory.
 * Before a new one, the records of a few threads gone are pushed and given back
 * (vcmi_remote_reclaim, below): threads without a heap whose first batched free came in the
 * last round of key destructors gave none back, and when no thread took a heap or trimmed,
 * the list grew a record a thread (20,000 such threads: 6.3 MiB of metadata; now 1 record). */
static out_rec *rec_free(long tid) {
  for (out_rec *q = __atomic_load_n(&out_recs, __ATOMIC_ACQUIRE); q; q = q->next) {
    long free_tid = 0;
    if (__atomic_load_n(&q->tid, __ATOMIC_RELAXED) == 0 &&
        __atomic_compare_exchange_n(&q->tid, &free_tid, tid, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      return q;
  }
  return NULL;
}
static out_rec *rec_take(long tid) {
  out_rec *q = rec_free(tid);
  if (q) return q;
  vcmi_remote_reclaim();
  if ((q = rec_free(tid)) != NULL) return q;
  q = vcmi_meta_alloc(sizeof *q); /* zeroed: every slot empty */
  if (!q) return NULL;
  q->tid = tid;
  q->next = __atomic_load_n(&out_recs, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(&out_recs, &q->next, q, 1, __ATOMIC_RELEASE,
                                      __ATOMIC_RELAXED)) {
  }
  return q;
}

/* (remote.h) Up to 8 records in use checked per call, round robin (the cursor is a hint: two
 * callers may check one record twice). A record's thread may only be gone once its exit did
 * not give the record back; its tid taken by a CAS, so one caller pushes it. */
void vcmi_remote_reclaim(void) {
  if (!__atomic_load_n(&out_recs, __ATOMIC_ACQUIRE)) return;
  long pid = vcmi_os_pid();
  out_rec *q = __atomic_load_n(&out_rec_cursor, __ATOMIC_RELAXED);
  for (int checked = 0, seen = 0; checked < 8 && seen < 64; seen++) {
    if (!q) q = __atomic_load_n(&out_recs, __ATOMIC_ACQUIRE);
    long tid = __atomic_load_n(&q->tid, __ATOMIC_ACQUIRE);
    out_rec *at = q;
    q = q->next;
    if (tid <= 0 || __atomic_load_n(&at->pid, __ATOMIC_RELAXED) != pid || at == out_mine ||
        __atomic_load_n(&at->heap, __ATOMIC_RELAXED))
      continue; /* a heap's thread's: its heap's reclaim pushes it */
    checked++;
    if (vcmi_os_thread_alive(tid) ||
        !__atomic_compare_exchange_n(&at->tid, &tid, -1L, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      continue;
    for (unsigned i = 0; i < OUT_SLOTS; i++) out_flush(&at->slot[i], at->mark);
    rec_give(at);
  }
  __atomic_store_n(&out_rec_cursor, q, __ATOMIC_RELAXED);
}

/* (remote.h) The record of h's thread tid, which is gone: no thread but the caller holds h, and
 * a thread that took tid since has no record of h. */
void vcmi_remote_reclaim_heap(const void *h, long tid) {
  long pid = vcmi_os_pid();
  for (out_rec *q = __atomic_load_n(&out_recs, __ATOMIC_ACQUIRE); q; q = q->next) {
    long t = tid;
    if (__atomic_load_n(&q->heap, __ATOMIC_RELAXED) != h ||
        __atomic_load_n(&q->pid, __ATOMIC_RELAXED) != pid || q == out_mine ||
        !__atomic_compare_exchange_n(&q->tid, &t, -1L, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      continue;
    for (unsigned i = 0; i < OUT_SLOTS; i++) out_flush(&q->slot[i], q->mark);
    rec_give(q);
  }
}

/* (remote.h) Two batch slots per scale (xscale 0, 2, 4, 6): a thread freeing one heap's chunks
 * of all sizes (s6) has a slot for each of its segments (a fine segment's chunks are not
 * batched: out_start never gives it its slot). A byte offset: no multiply on the push. */
uint32_t vcmi_remote_slot(const vcmi_segment *s, unsigned x) {
  return (uint32_t)(((x & 6u) | (uint32_t)(((uintptr_t)s * 0x9E3779B97F4A7C15u) >> 63)) *
                    sizeof(out_slot));
}

/* A remote free of chunk idx (at p, entry e) of r that does not
 * join o's chain: start one there, or push it alone (a large chunk; a thread that cannot
 * batch; check mode, whose every remote free comes here since it never starts a chain, so the
 * common path tests nothing for it). Either way the entry is taken by a CAS from LIVE (once a
 * chain, not once a free). The first batch sets out_key, so that the thread's exit flushes
 * (glibc keeps the first 32 keys' values in the thread: no allocation). */
static __attribute__((noinline)) void out_start(vcmi_region *r, out_slot *o, uint32_t idx,
                                                const void *p, vcmi_entry *e) {
  unsigned k = idx >> RIDX_G_BITS; /* the class, from the name: no register kept for it */
  int alone = k < OUT_KMIN || r->xscale > VCMI_XSCALE_WIDE || out_armed < 0 ||
              vcmi_opt[VCMI_OPT_CHECK] ||
              (!out_armed && (!out_key_ready || pthread_setspecific(out_key, &out_armed) != 0));
  if (!alone && !out_armed) { /* this thread's first batch: its slots (out_at) */
    long tid = vcmi_os_thread_id();
    out_mark = VCMI_REMOTE | VCMI_AGED | ((uint32_t)tid & VCMI_USED_MASK);
    if ((out_mine = rec_take(tid)) != NULL) {
      vcmi_heap *h = vcmi_tls_heap;
      __atomic_store_n(&out_mine->pid, vcmi_os_pid(), __ATOMIC_RELAXED);
      __atomic_store_n(&out_mine->heap, h != &vcmi_no_heap ? (const void *)h : NULL,
                       __ATOMIC_RELAXED);
      out_mine->mark = out_mark;
      out_at = out_mine->slot;
    } else {
      alone = 1;
    }
    out_armed = !alone;
    o = (out_slot *)(void *)((char *)out_at + ((vcmi_segment *)(void *)r)->slot);
  }
  uint32_t mark = alone ? VCMI_REMOTE | VCMI_NONE : out_mark,
           s = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
  do {
    if (!(s & VCMI_LIVE)) {
      vcmi_report_not_live(r, p, e, VCMI_WHY_DOUBLE_FREE);
      return;
    }
  } while (!__atomic_compare_exchange_n(&e->state, &s, mark, 1, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
  /* the chunk is ours until pushed (its used, in s, is gone from the entry) */
  if (VCMI_UNLIKELY(vcmi_opt[VCMI_OPT_CHECK])) { /* the slack, then the free fill */
    check_slack_of(r, k, p, s & VCMI_USED_MASK);
    memset((void *)(uintptr_t)p, VCMI_CHECK_FILL, vcmi_class_cap(r, k));
  }
  if (alone) {
    remote_push(r, idx, idx, mark);
    return;
  }
  out_flush(o, out_mark);
  o->r = r;
  o->pe = e;
  o->pv = mark;
  o->head = o->tail = idx;
  o->left = OUT_MAX - 1u;
}

#ifdef VCMI_ASSERTS
/* Test builds: called, if set, between a batched free's LIVE test and its store, where a
 * preempted thread would stop (test_threads' test_held_remote_free holds a thread there while
 * another frees the same chunk). */
void (*vcmi_test_remote_hold)(const void *p);
#define REMOTE_HOLD(p) (vcmi_test_remote_hold ? vcmi_test_remote_hold(p) : (void)0)
#else
#define REMOTE_HOLD(p) ((void)0)
#endif

/* *a = w if *a still holds *s (else *s = *a, and 0): a locked CAS, so that of two threads
 * freeing one chunk at once only one stores REMOTE and the other sees it and reports (an
 * unlocked cmpxchg, tried, let both store when their windows overlapped across cores: the
 * chunk then went on two batches, reported twice or late by the owner's walk). */
static inline int store_if(uint32_t *a, uint32_t *s, uint32_t w) {
  return __atomic_compare_exchange_n(a, s, w, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* The head of o's batch (of r) was stored over since this thread wrote it (remote_free):
 * out_flush reports it and pushes the rest; the free of chunk idx then starts a new batch. */
static __attribute__((noinline, cold)) void out_raced(vcmi_region *r, out_slot *o, uint32_t idx,
                                                      const void *p, vcmi_entry *e) {
  out_flush(o, out_mark);
  out_start(r, o, idx, p, e);
}

/* Another thread frees chunk g of class k of r (at p, entry e): add it to this thread's batch
 * for r, once the batch's head reads as this thread wrote it (out_slot; else out_raced), by a
 * plain load of e, its LIVE test and a store if e still holds what was loaded (store_if), next
 * to each other: a racing double free on another core can only slip between those two
 * accesses. A plain store there, held (preempted) past another thread's free of the chunk, its
 * push and the owner's collection, put a chunk on the owner's free list twice. Or go to
 * out_start. Every call off the common path is the last thing done (a tail call: no frame on
 * the common path). */
static inline __attribute__((always_inline)) void remote_free(vcmi_region *r, vcmi_entry *e,
                                                              size_t k, uint32_t g,
                                                              const void *p) {
  uint32_t idx = (uint32_t)k << RIDX_G_BITS | g;
  out_slot *o = (out_slot *)(void *)((char *)out_at + ((vcmi_segment *)(void *)r)->slot);
  if (VCMI_LIKELY(o->r == r)) {
    if (VCMI_UNLIKELY(__atomic_load_n(&o->pe->state, __ATOMIC_RELAXED) != o->pv)) {
      out_raced(r, o, idx, p, e);
      return;
    }
    uint32_t w = VCMI_REMOTE | o->head, s = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
    for (;;) {
      if (VCMI_UNLIKELY(!(s & VCMI_LIVE))) {
        vcmi_report_not_live(r, p, e, VCMI_WHY_DOUBLE_FREE);
        return;
      }
      REMOTE_HOLD(p);
      if (store_if(&e->state, &s, w)) break; /* on the CAS's flag: no 0/1 made and tested */
    }
    o->pe = e;
    o->pv = w;
    o->head = idx;
    if (VCMI_UNLIKELY(--o->left == 0)) out_flush(o, out_mark);
  } else {
    out_start(r, o, idx, p, e);
  }
}

/* No test against fresh[k]: the entry was LIVE (heap.h, vcmi_seg_find), and remote_free
 * tests it again next to its store. */
void vcmi_seg_free_remote(void *p, vcmi_region *r, vcmi_entry *map, uint32_t g, size_t kc) {
  remote_free(r, map + g, kc - VCMI_SEG_CHANNELS_LOG2, g, p);
}

