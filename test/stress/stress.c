/*
 * stress.c - multi-threaded stress test for any malloc implementation.
 *
 * Uses the standard allocation API (malloc, calloc, realloc, free,
 * posix_memalign, aligned_alloc) and the GNU extensions that a drop-in
 * replacement must also provide (memalign, valloc, pvalloc, reallocarray,
 * malloc_usable_size; -G leaves them out).  Link it against glibc and run it
 * with LD_PRELOAD=libsomething.so to test a replacement allocator.
 *
 * Every live block carries a pattern derived from (seed, block id, size).
 * The pattern is verified before every free, the preserved prefix is
 * verified after every realloc, calloc memory is checked to be zero, and
 * every returned pointer is checked for alignment.  Blocks travel between
 * threads through a shared mailbox (atomic exchange), so many blocks are
 * freed or reallocated by a thread other than the one that allocated them.
 *
 * Phases (each counts as one pass when it finishes clean):
 *   api      - edge cases of the API (malloc(0), overflow, bad alignment ...)
 *   gnu-ext  - GNU extensions a drop-in malloc must also replace: memalign,
 *              valloc, pvalloc, reallocarray, malloc_usable_size (-G skips;
 *              the workers then also stop using memalign and reallocarray)
 *   worker N - one per worker thread: the random mixed workload
 *   churn    - many short-lived threads that allocate, hand off and exit
 *   drain    - main thread verifies and frees what is left in the mailbox
 *
 * On the first mismatch the details are printed, then the closing line
 * "N passed, 1 failed", and the process exits with status 1.
 *
 * Build: cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread \
 *           -o stress stress.c
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Sanitizers abort on impossible requests by default; the API phase wants
 * to see the NULL return that the C standard requires instead. */
#if defined(__SANITIZE_ADDRESS__)
#define STRESS_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define STRESS_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STRESS_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define STRESS_TSAN 1
#endif
#endif
#if defined(STRESS_ASAN)
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
#endif
#if defined(STRESS_TSAN)
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "allocator_may_return_null=1"; }
#endif

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

/* ------------------------------------------------------------------ */
/* options                                                             */

static struct {
    unsigned threads;       /* -t */
    double seconds;         /* -d (0 = no time limit) */
    uint64_t iters;         /* -n per worker thread (0 = no count limit) */
    uint64_t seed;          /* -s */
    size_t max_size;        /* -m */
    size_t budget;          /* -b total live bytes across all threads */
    unsigned slots;         /* -k blocks kept per thread */
    unsigned mailbox;       /* -x mailbox entries */
    unsigned churn;         /* -c short-lived threads in the churn phase */
    int gnu;                /* GNU extensions too (memalign, ...); -G turns off */
    int strict;             /* -S: GNU extensions must come from malloc's library */
    int lax_errno;          /* -e: a failed call that leaves errno alone only warns */
    int verbose;            /* -v */
} opt = {
    .threads = 8,
    .seconds = 0,
    .iters = 0,
    .seed = 1,
    .max_size = 64 * MiB,
    .budget = 768 * MiB,
    .slots = 256,
    .mailbox = 256,
    .churn = 64,
    .gnu = 1,
    .verbose = 0,
};

static void usage(const char *argv0, int status)
{
    fprintf(status ? stderr : stdout,
            "usage: %s [options]\n"
            "  -t N     worker threads (default 8)\n"
            "  -d SEC   run each worker for SEC seconds (default 5 if -n not given)\n"
            "  -n N     operations per worker thread (stops at -d or -n, first reached)\n"
            "  -s SEED  random seed (default 1)\n"
            "  -m SIZE  maximum block size, suffix K/M/G allowed (default 64M)\n"
            "  -b SIZE  budget of live bytes over all threads (default 768M)\n"
            "  -k N     live blocks kept per thread (default 256)\n"
            "  -x N     mailbox entries shared between threads (default 256)\n"
            "  -c N     short-lived threads in the churn phase (default 64, 0 = skip)\n"
            "  -G       standard API only: skip the GNU extensions memalign, valloc,\n"
            "           pvalloc, reallocarray and malloc_usable_size\n"
            "  -S       strict: fail if one of those extensions is not provided by the\n"
            "           library that provides malloc (default: warn and skip it)\n"
            "  -e       only warn when a failing call does not set errno to ENOMEM\n"
            "           (POSIX wants it; mimalloc and tcmalloc skip it in places)\n"
            "  -v       verbose statistics\n"
            "Prints one pass per clean phase and ends with 'N passed, N failed'.\n",
            argv0);
    exit(status);
}

static size_t parse_size(const char *s, const char *argv0)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        usage(argv0, 2);
    switch (*end) {
    case 'k': case 'K': v *= KiB; end++; break;
    case 'm': case 'M': v *= MiB; end++; break;
    case 'g': case 'G': v *= 1024 * MiB; end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        usage(argv0, 2);
    return (size_t)v;
}

/* ------------------------------------------------------------------ */
/* random numbers: splitmix64 for seeding and mixing, xoshiro256**     */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t mix64(uint64_t x)
{
    return splitmix64(&x);
}

typedef struct { uint64_t s[4]; } rng_t;

static void rng_init(rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* uniform in [0, n) for n > 0 (the tiny modulo bias does not matter here) */
static uint64_t rng_below(rng_t *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* ------------------------------------------------------------------ */
/* blocks and their pattern                                            */

enum kind {
    K_MALLOC, K_CALLOC, K_REALLOC, K_MEMALIGN, K_ALIGNED_ALLOC, K_GNU_MEMALIGN,
    K_REALLOCARRAY, K_COUNT
};
static const char *kind_name[K_COUNT] = {
    "malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign",
    "reallocarray",
};

#define BLK_MAGIC 0x5EEDB10Cu

/* Descriptor of one live block; itself malloc'ed, and it travels with the
 * block through the mailbox, so it is also freed cross-thread. */
typedef struct blk {
    uint32_t magic;
    uint8_t kind;
    uint8_t pad[3];
    unsigned owner_tid;     /* thread that allocated the block */
    uint64_t id;
    size_t size;
    size_t align;           /* alignment promised by the call that made it */
    unsigned char *p;
} blk_t;

/* Word i of the pattern of a block whose pattern base is `base`. */
static inline uint64_t pat_word(uint64_t base, size_t i)
{
    return base ^ (i * 0xD6E8FEB86659FD93ull);
}

static inline uint64_t pat_base(uint64_t id, size_t size)
{
    return mix64(opt.seed ^ mix64(id ^ ((uint64_t)size << 7)));
}

static void fill_pattern(unsigned char *p, size_t size, uint64_t base)
{
    size_t words = size / 8, i;
    for (i = 0; i < words; i++) {
        uint64_t w = pat_word(base, i);
        memcpy(p + i * 8, &w, 8);
    }
    if (size % 8) {
        uint64_t w = pat_word(base, words);
        memcpy(p + words * 8, &w, size % 8); /* little or big endian alike */
    }
}

/* Returns (size_t)-1 if the first len bytes match, else the first bad offset. */
static size_t check_pattern(const unsigned char *p, size_t len, uint64_t base)
{
    size_t words = len / 8, i;
    for (i = 0; i < words; i++) {
        uint64_t w, e = pat_word(base, i);
        memcpy(&w, p + i * 8, 8);
        if (w != e) {
            const unsigned char *eb = (const unsigned char *)&e;
            for (size_t b = 0; b < 8; b++)
                if (p[i * 8 + b] != eb[b])
                    return i * 8 + b;
        }
    }
    if (len % 8) {
        uint64_t e = pat_word(base, words);
        const unsigned char *eb = (const unsigned char *)&e;
        for (size_t b = 0; b < len % 8; b++)
            if (p[words * 8 + b] != eb[b])
                return words * 8 + b;
    }
    return (size_t)-1;
}

static size_t check_zero(const unsigned char *p, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w)
            break;
    }
    for (; i < len; i++)
        if (p[i])
            return i;
    return (size_t)-1;
}

/* ------------------------------------------------------------------ */
/* which library serves which function                                 */

static char malloc_lib[4096];
/* GNU extensions that the malloc library itself provides (see find_gnu) */
static int has_memalign, has_valloc, has_pvalloc, has_reallocarray, has_usable;

/* file name of the object that defines the global symbol `name` */
static const char *lib_of(const char *name)
{
    Dl_info info;
    void *f = dlsym(RTLD_DEFAULT, name);
    if (f && dladdr(f, &info) && info.dli_fname)
        return info.dli_fname;
    return "?";
}

/* ------------------------------------------------------------------ */
/* shared state                                                        */

static _Atomic(blk_t *) *mailbox;
static atomic_size_t live_bytes;
static atomic_size_t peak_bytes;
static atomic_uint passed;
static atomic_int failing;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    unsigned tid;
    uint64_t ops, allocs, frees, reallocs, handoffs, foreign, bytes;
    uint64_t big;           /* allocations >= 1 MiB */
} stats_t;

/* Print a failure report, the closing line, and exit(1).  Only the first
 * failing thread gets to report; the others block forever on the lock and
 * die with the process. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3), noreturn))
#endif
static void fail(const blk_t *b, const char *fmt, ...);

static void fail(const blk_t *b, const char *fmt, ...)
{
    atomic_store(&failing, 1);
    pthread_mutex_lock(&report_lock);
    fflush(stdout);
    fprintf(stderr, "FAIL: ");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (b)
        fprintf(stderr,
                "  block id=%#" PRIx64 " (thread %u, #%" PRIu64 ") kind=%s size=%zu "
                "align=%zu ptr=%p seed=%" PRIu64 "\n",
                b->id, b->owner_tid, b->id & (uint64_t)0xFFFFFFFFFFFFull,
                b->kind < K_COUNT ? kind_name[b->kind] : "?", b->size, b->align,
                (void *)b->p, opt.seed);
    fprintf(stderr, "stress: FAILED\n");
    printf("%u passed, 1 failed\n", atomic_load(&passed));
    fflush(stdout);
    fflush(stderr);
    _exit(1);
}

static void dump_bytes(const unsigned char *p, size_t size, size_t off, uint64_t base,
                       int zero)
{
    size_t from = off >= 8 ? off - 8 : 0;
    size_t to = off + 8 < size ? off + 8 : size;
    fprintf(stderr, "  offset %zu: got", off);
    for (size_t i = from; i < to; i++)
        fprintf(stderr, "%s%02x", i == off ? " [" : " ", p[i]);
    fprintf(stderr, "\n  expected     ");
    for (size_t i = from; i < to; i++) {
        unsigned e = 0;
        if (!zero) {
            uint64_t w = pat_word(base, i / 8);
            e = ((const unsigned char *)&w)[i % 8];
        }
        fprintf(stderr, "%s%02x", i == off ? " [" : " ", e);
    }
    fprintf(stderr, "\n");
}

static void verify_block(const blk_t *b, const char *when)
{
    if (b->magic != BLK_MAGIC)
        fail(b, "block descriptor corrupted (magic %#x) %s", b->magic, when);
    size_t off = check_pattern(b->p, b->size, pat_base(b->id, b->size));
    if (off != (size_t)-1) {
        pthread_mutex_lock(&report_lock);
        dump_bytes(b->p, b->size, off, pat_base(b->id, b->size), 0);
        pthread_mutex_unlock(&report_lock);
        fail(b, "pattern mismatch at offset %zu of %zu %s", off, b->size, when);
    }
}

/* alignment every pointer from malloc/calloc/realloc must have: that of
 * max_align_t, or less for blocks too small to hold such an object */
static size_t natural_align(size_t size)
{
    size_t a = alignof(max_align_t);
    while (a > 1 && a > size)
        a >>= 1;
    return a;
}

static void check_align(const blk_t *b)
{
    if ((uintptr_t)b->p % b->align)
        fail(b, "pointer %p not aligned to %zu", (void *)b->p, b->align);
}

static void account(ssize_t delta)
{
    if (delta >= 0) {
        size_t now = atomic_fetch_add(&live_bytes, (size_t)delta) + (size_t)delta;
        size_t peak = atomic_load(&peak_bytes);
        while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now))
            ;
    } else {
        atomic_fetch_sub(&live_bytes, (size_t)-delta);
    }
}

static int over_budget(size_t size)
{
    return atomic_load(&live_bytes) + size > opt.budget;
}

/* ------------------------------------------------------------------ */
/* size distribution                                                   */

static unsigned log2_floor(size_t v)
{
    unsigned r = 0;
    while (v >>= 1)
        r++;
    return r;
}

/* Log-uniform sizes in [1, max_size]: an exponent e is drawn uniformly, then
 * the size uniformly in [2^e, 2^(e+1)).  Exponents 13..15 (8 KiB) are kept
 * with probability 1/2, 16..19 (64 KiB) with 1/16 and from 20 (1 MiB) up
 * with 1/512, so big blocks stay rare (about 1 in 1000 allocations is
 * 1 MiB or more) and total memory bounded.  Some sizes are nudged
 * to exact powers of two and their neighbours, where size classes change. */
static size_t random_size(rng_t *r)
{
    unsigned emax = log2_floor(opt.max_size);
    unsigned e;
    for (;;) {
        e = (unsigned)rng_below(r, emax + 1);
        if (e >= 20 && rng_below(r, 512))
            continue;
        if (e >= 16 && e < 20 && rng_below(r, 16))
            continue;
        if (e >= 13 && e < 16 && rng_below(r, 2))
            continue;
        break;
    }
    size_t lo = (size_t)1 << e;
    size_t size = lo + (size_t)rng_below(r, lo);
    switch (rng_below(r, 16)) {
    case 0: size = lo; break;
    case 1: size = lo + 1; break;
    case 2: size = lo > 1 ? lo - 1 : 1; break;
    default: break;
    }
    if (size > opt.max_size)
        size = opt.max_size;
    if (size == 0)
        size = 1;
    /* too much live memory: fall back to something small */
    if (over_budget(size))
        size = 1 + (size_t)rng_below(r, 4 * KiB);
    return size;
}

/* ------------------------------------------------------------------ */
/* operations                                                          */

typedef struct {
    unsigned tid;
    uint64_t seed;
    uint64_t iters;
    double seconds;
    unsigned nslots;
    blk_t **slots;
    rng_t rng;
    uint64_t next_id;
    stats_t st;
} worker_t;

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static blk_t *new_desc(worker_t *w)
{
    blk_t *b = malloc(sizeof *b);
    if (!b)
        fail(NULL, "malloc(%zu) for a descriptor returned NULL", sizeof *b);
    memset(b, 0, sizeof *b);
    b->magic = BLK_MAGIC;
    b->owner_tid = w->tid;
    b->id = ((uint64_t)w->tid << 48) | ++w->next_id;
    return b;
}

static blk_t *alloc_block(worker_t *w)
{
    rng_t *r = &w->rng;
    blk_t *b = new_desc(w);
    size_t size = random_size(r);
    unsigned pick = (unsigned)rng_below(r, 100);
    void *p = NULL;

    if (pick < 50) {                                    /* malloc */
        b->kind = K_MALLOC;
        p = malloc(size);
        b->align = natural_align(size);
    } else if (pick < 70) {                             /* calloc */
        static const size_t elems[] = { 1, 2, 3, 4, 8, 12, 16, 24, 40, 64, 100, 4096 };
        size_t es = elems[rng_below(r, sizeof elems / sizeof elems[0])];
        size_t n = size / es ? size / es : 1;
        size = n * es;
        b->kind = K_CALLOC;
        p = calloc(n, es);
        b->align = natural_align(size);
    } else if (pick < 80) {                             /* realloc(NULL, n) */
        b->kind = K_REALLOC;
        p = realloc(NULL, size);
        b->align = natural_align(size);
    } else if (pick < 83 && has_memalign) {             /* memalign (GNU) */
        size_t a = (size_t)1 << (rng_below(r, 13));     /* 1 .. 4096 */
        b->kind = K_GNU_MEMALIGN;
        b->align = a;
        p = memalign(a, size);
    } else if (pick < 93) {                             /* posix_memalign */
        unsigned k = 3 + (unsigned)rng_below(r, 10);    /* 8 .. 4096 */
        if (rng_below(r, 16) == 0)
            k = 13 + (unsigned)rng_below(r, 9);         /* 8 KiB .. 2 MiB, rare */
        size_t a = (size_t)1 << k;
        if (a < sizeof(void *))
            a = sizeof(void *);
        b->kind = K_MEMALIGN;
        b->align = a;
        int rc = posix_memalign(&p, a, size);
        if (rc != 0) {
            if (rc != ENOMEM)
                fail(b, "posix_memalign(%zu, %zu) returned %d", a, size, rc);
            p = NULL;
        }
    } else {                                            /* aligned_alloc */
        unsigned k = (unsigned)rng_below(r, 13);        /* 1 .. 4096 */
        size_t a = (size_t)1 << k;
        size = (size + a - 1) / a * a;
        b->kind = K_ALIGNED_ALLOC;
        b->align = a;
        p = aligned_alloc(a, size);
    }
    b->size = size;
    b->p = p;
    if (!p)
        fail(b, "%s(%zu) returned NULL (live bytes %zu)", kind_name[b->kind], size,
             atomic_load(&live_bytes));
    check_align(b);
    if (has_usable && (w->st.allocs & 7) == 0 && malloc_usable_size(p) < size)
        fail(b, "malloc_usable_size(%p) = %zu, less than the %zu requested", p,
             malloc_usable_size(p), size);
    if (b->kind == K_CALLOC) {
        size_t off = check_zero(p, size);
        if (off != (size_t)-1) {
            pthread_mutex_lock(&report_lock);
            dump_bytes(p, size, off, 0, 1);
            pthread_mutex_unlock(&report_lock);
            fail(b, "calloc memory not zero at offset %zu of %zu", off, size);
        }
    }
    fill_pattern(p, size, pat_base(b->id, size));
    account((ssize_t)size);
    w->st.allocs++;
    w->st.bytes += size;
    if (size >= MiB)
        w->st.big++;
    return b;
}

static void free_block(worker_t *w, blk_t *b)
{
    verify_block(b, "before free");
    if (b->owner_tid != w->tid)
        w->st.foreign++;
    account(-(ssize_t)b->size);
    free(b->p);
    b->magic = 0;
    free(b);
    w->st.frees++;
}

static void realloc_block(worker_t *w, blk_t *b)
{
    rng_t *r = &w->rng;
    size_t old = b->size, size;
    verify_block(b, "before realloc");
    switch (rng_below(r, 4)) {
    case 0:                                     /* small step, often in place */
        size = old + (size_t)rng_below(r, 64);
        if (rng_below(r, 2) && old > 64)
            size = old - (size_t)rng_below(r, 64);
        break;
    case 1:                                     /* grow by up to 4x */
        size = old + (size_t)rng_below(r, 3 * old + 1) + 1;
        break;
    case 2:                                     /* shrink to 1/16 .. 1x */
        size = old / 16 + (size_t)rng_below(r, old - old / 16 + 1);
        break;
    default:                                    /* anything */
        size = random_size(r);
        break;
    }
    if (size == 0)
        size = 1;
    if (size > opt.max_size)
        size = opt.max_size;
    if (size > old && over_budget(size - old))
        size = old > 1 ? old / 2 : 1;
    unsigned char *p;
    b->kind = K_REALLOC;
    if (has_reallocarray && size % 8 == 0 && rng_below(r, 4) == 0) {
        b->kind = K_REALLOCARRAY;
        p = reallocarray(b->p, size / 8, 8);
    } else {
        p = realloc(b->p, size);
    }
    if (!p)
        fail(b, "%s(%p, %zu) returned NULL", kind_name[b->kind], (void *)b->p, size);
    b->p = p;
    b->align = natural_align(size);
    check_align(b);
    /* the preserved prefix still carries the pattern of the old size */
    size_t keep = old < size ? old : size;
    size_t off = check_pattern(p, keep, pat_base(b->id, old));
    if (off != (size_t)-1) {
        pthread_mutex_lock(&report_lock);
        dump_bytes(p, keep, off, pat_base(b->id, old), 0);
        pthread_mutex_unlock(&report_lock);
        fail(b, "realloc %zu -> %zu lost data at offset %zu", old, size, off);
    }
    b->size = size;
    fill_pattern(p, size, pat_base(b->id, size));
    account((ssize_t)size - (ssize_t)old);
    w->st.reallocs++;
    if (size >= MiB && old < MiB)
        w->st.big++;
}

/* Swap a block (maybe NULL) with a random mailbox entry; return what was there. */
static blk_t *handoff(worker_t *w, blk_t *b)
{
    size_t i = (size_t)rng_below(&w->rng, opt.mailbox);
    blk_t *got = atomic_exchange(&mailbox[i], b);
    w->st.handoffs++;
    if (got) {
        verify_block(got, "after taking it from the mailbox");
        check_align(got);
    }
    return got;
}

static void one_op(worker_t *w)
{
    rng_t *r = &w->rng;
    unsigned i = (unsigned)rng_below(r, w->nslots);
    blk_t **slot = &w->slots[i];
    unsigned op = (unsigned)rng_below(r, 100);

    if (op < 40) {                              /* (re)fill a slot */
        if (*slot)
            free_block(w, *slot);
        *slot = alloc_block(w);
    } else if (op < 60) {                       /* free */
        if (*slot) {
            free_block(w, *slot);
            *slot = NULL;
        } else {
            free(NULL);
        }
    } else if (op < 80) {                       /* realloc grow / shrink */
        if (*slot)
            realloc_block(w, *slot);
        else
            *slot = alloc_block(w);
    } else if (op < 95) {                       /* cross-thread hand-off */
        blk_t *got = handoff(w, *slot);
        *slot = got;
        /* sometimes free foreign blocks right away (pure remote free) */
        if (got && rng_below(r, 2)) {
            free_block(w, got);
            *slot = NULL;
        }
    } else {                                    /* short-lived tiny blocks */
        void *t[16];
        size_t n = 1 + (size_t)rng_below(r, 16);
        for (size_t k = 0; k < n; k++) {
            size_t sz = (size_t)rng_below(r, 33);   /* includes malloc(0) */
            t[k] = malloc(sz);
            if (!t[k] && sz)
                fail(NULL, "malloc(%zu) returned NULL", sz);
            if (t[k]) {
                if ((uintptr_t)t[k] % natural_align(sz ? sz : 1))
                    fail(NULL, "malloc(%zu) = %p misaligned", sz, t[k]);
                memset(t[k], 0xA5, sz);
            }
        }
        for (size_t k = n; k-- > 0;)
            free(t[k]);
    }
    w->st.ops++;
}

static void worker_run(worker_t *w)
{
    double end = w->seconds > 0 ? now_sec() + w->seconds : 0;
    for (uint64_t n = 0; !w->iters || n < w->iters; n++) {
        if ((n & 255) == 0) {
            if (end && now_sec() >= end)
                break;
            if (atomic_load_explicit(&failing, memory_order_relaxed))
                break;
        }
        one_op(w);
    }
    /* give back everything this thread still holds, mostly to the mailbox
     * (so that the next owner, perhaps the main thread, frees it) */
    for (unsigned i = 0; i < w->nslots; i++) {
        blk_t *b = w->slots[i];
        if (!b)
            continue;
        if (rng_below(&w->rng, 2)) {
            blk_t *got = handoff(w, b);
            if (got)
                free_block(w, got);
        } else {
            free_block(w, b);
        }
        w->slots[i] = NULL;
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    w->slots = calloc(w->nslots, sizeof *w->slots);
    if (!w->slots)
        fail(NULL, "calloc(%u, %zu) for slots returned NULL", w->nslots, sizeof *w->slots);
    rng_init(&w->rng, w->seed);
    worker_run(w);
    free(w->slots);
    w->slots = NULL;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* API edge cases (single thread)                                      */

/* hide constant sizes from the compiler, so that it neither warns about nor
 * folds away requests that are meant to fail at run time */
static size_t opaque(size_t x)
{
    volatile size_t v = x;
    return v;
}

/* a call that failed must have set errno to ENOMEM */
static void want_enomem(int err, const char *what)
{
    if (err == ENOMEM)
        return;
    if (!opt.lax_errno)
        fail(NULL, "%s failed with errno %d, not ENOMEM", what, err);
    printf("warning: %s failed with errno %d, not ENOMEM\n", what, err);
}

static void api_checks(void)
{
    void *p;
    int rc;

    /* malloc(0) and calloc(0, n) may return NULL or a unique pointer */
    void *z1 = malloc(0), *z2 = malloc(0);
    if (z1 && z1 == z2)
        fail(NULL, "malloc(0) returned the same pointer %p twice", z1);
    free(z1);
    free(z2);
    free(calloc(0, 16));
    free(calloc(16, 0));
    free(NULL);

    /* requests that cannot be satisfied must fail cleanly with ENOMEM */
    errno = 0;
    p = malloc(opaque(SIZE_MAX));
    if (p)
        fail(NULL, "malloc(SIZE_MAX) returned %p", p);
    want_enomem(errno, "malloc(SIZE_MAX)");
    p = malloc(opaque(SIZE_MAX - 4096));
    if (p)
        fail(NULL, "malloc(SIZE_MAX - 4096) returned %p", p);
    p = malloc(opaque(PTRDIFF_MAX + (size_t)1));
    if (p)
        fail(NULL, "malloc(PTRDIFF_MAX + 1) returned %p", p);
    errno = 0;
    p = calloc(opaque(SIZE_MAX / 2 + 2), 2);            /* product overflows */
    if (p)
        fail(NULL, "calloc overflow (SIZE_MAX/2+2, 2) returned %p", p);
    want_enomem(errno, "calloc(SIZE_MAX/2 + 2, 2) (overflow)");
    p = calloc(opaque((size_t)1 << 33), opaque((size_t)1 << 33));
    if (p)
        fail(NULL, "calloc(2^33, 2^33) returned %p", p);

    /* realloc failure must leave the old block intact */
    unsigned char *q = malloc(100);
    if (!q)
        fail(NULL, "malloc(100) returned NULL");
    memset(q, 0x5A, 100);
    errno = 0;
    unsigned char *volatile keep = q;   /* still ours if realloc fails */
    p = realloc(q, opaque((size_t)1 << 62));
    if (p)
        fail(NULL, "realloc(p, 2^62) returned %p", p);
    want_enomem(errno, "realloc(p, 2^62)");
    p = realloc(keep, opaque(SIZE_MAX - 64));
    if (p)
        fail(NULL, "realloc(p, SIZE_MAX - 64) returned %p", p);
    q = keep;
    for (int i = 0; i < 100; i++)
        if (q[i] != 0x5A)
            fail(NULL, "failed realloc damaged the old block at offset %d", i);
    free(q);

    /* posix_memalign: bad alignments give EINVAL, good ones honour it */
    p = (void *)1;
    rc = posix_memalign(&p, opaque(3), 64);
    if (rc != EINVAL)
        fail(NULL, "posix_memalign(align 3) returned %d, not EINVAL", rc);
    rc = posix_memalign(&p, sizeof(void *) / 2, 64);
    if (rc != EINVAL)
        fail(NULL, "posix_memalign(align %zu) returned %d, not EINVAL",
             sizeof(void *) / 2, rc);
    rc = posix_memalign(&p, 64, opaque(SIZE_MAX - 128));
    if (rc != ENOMEM)
        fail(NULL, "posix_memalign(64, SIZE_MAX - 128) returned %d, not ENOMEM", rc);
    for (unsigned k = 3; k <= 22; k++) {
        size_t a = (size_t)1 << k;
        size_t sizes[] = { 0, 1, a - 1, a, a + 1, 3 * a + 5 };
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            p = NULL;
            rc = posix_memalign(&p, a, sizes[s]);
            if (rc)
                fail(NULL, "posix_memalign(%zu, %zu) returned %d", a, sizes[s], rc);
            if ((uintptr_t)p % a)
                fail(NULL, "posix_memalign(%zu, %zu) = %p misaligned", a, sizes[s], p);
            if (p && sizes[s])
                memset(p, 0x33, sizes[s]);
            free(p);
        }
    }
    /* aligned_alloc with every power of two up to 4 MiB */
    for (unsigned k = 0; k <= 22; k++) {
        size_t a = (size_t)1 << k;
        p = aligned_alloc(a, 2 * a);
        if (!p)
            fail(NULL, "aligned_alloc(%zu, %zu) returned NULL", a, 2 * a);
        if ((uintptr_t)p % a)
            fail(NULL, "aligned_alloc(%zu) = %p misaligned", a, p);
        memset(p, 0x44, 2 * a);
        free(p);
    }

    /* every small size: alignment, usable, not overlapping the next */
    enum { N = 2048 };
    unsigned char **v = malloc(N * sizeof *v);
    if (!v)
        fail(NULL, "malloc for the pointer table returned NULL");
    for (size_t i = 0; i < N; i++) {
        v[i] = malloc(i + 1);
        if (!v[i])
            fail(NULL, "malloc(%zu) returned NULL", i + 1);
        if ((uintptr_t)v[i] % natural_align(i + 1))
            fail(NULL, "malloc(%zu) = %p misaligned", i + 1, (void *)v[i]);
        memset(v[i], (int)(i & 0xFF), i + 1);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j <= i; j++)
            if (v[i][j] != (unsigned char)(i & 0xFF))
                fail(NULL, "block of malloc(%zu) overwritten at offset %zu", i + 1, j);
    /* realloc each one to grow by a page and shrink back, keeping data */
    for (size_t i = 0; i < N; i++) {
        unsigned char *g = realloc(v[i], i + 1 + 4096);
        if (!g)
            fail(NULL, "realloc(%zu -> %zu) returned NULL", i + 1, i + 4097);
        for (size_t j = 0; j <= i; j++)
            if (g[j] != (unsigned char)(i & 0xFF))
                fail(NULL, "realloc(%zu -> %zu) lost byte %zu", i + 1, i + 4097, j);
        g = realloc(g, i / 2 + 1);
        if (!g)
            fail(NULL, "realloc shrink to %zu returned NULL", i / 2 + 1);
        for (size_t j = 0; j <= i / 2; j++)
            if (g[j] != (unsigned char)(i & 0xFF))
                fail(NULL, "realloc shrink to %zu lost byte %zu", i / 2 + 1, j);
        v[i] = g;
    }
    for (size_t i = 0; i < N; i++)
        free(v[i]);
    free(v);

    /* calloc after dirty frees must still be zero */
    for (size_t s = 16; s <= 4 * MiB; s *= 4) {
        unsigned char *d = malloc(s);
        if (!d)
            fail(NULL, "malloc(%zu) returned NULL", s);
        memset(d, 0xEE, s);
        free(d);
        unsigned char *c = calloc(1, s);
        if (!c)
            fail(NULL, "calloc(1, %zu) returned NULL", s);
        size_t off = check_zero(c, s);
        if (off != (size_t)-1)
            fail(NULL, "calloc(1, %zu) after a dirty free not zero at offset %zu", s, off);
        free(c);
    }
}

/* GNU extensions a malloc replacement must also provide: a program that
 * calls glibc's own memalign or malloc_usable_size on a replacement's block
 * would crash.  Skipped with -G. */
static int find_one(const char *name)
{
    const char *lib = lib_of(name);
    if (strcmp(lib, malloc_lib) == 0)
        return 1;
    if (opt.strict)
        fail(NULL, "%s is served by %s, not by %s like malloc", name, lib, malloc_lib);
    printf("warning: %s is served by %s, not by %s like malloc: a program calling it "
           "would mix two allocators; not tested\n", name, lib, malloc_lib);
    return 0;
}

static void find_gnu(void)
{
    has_memalign = find_one("memalign");
    has_valloc = find_one("valloc");
    has_pvalloc = find_one("pvalloc");
    has_reallocarray = find_one("reallocarray");
    has_usable = find_one("malloc_usable_size");
}

static void gnu_checks(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    void *p;

    if (!has_usable)
        return;     /* every check below relies on it */

    /* (malloc_usable_size(NULL) is not checked: jemalloc crashes on it) */
    for (unsigned k = 0; k <= 16 && has_memalign; k++) {
        size_t a = (size_t)1 << k, n = 100 + 37 * k;
        p = memalign(a, n);
        if (!p)
            fail(NULL, "memalign(%zu, %zu) returned NULL", a, n);
        if ((uintptr_t)p % a)
            fail(NULL, "memalign(%zu, %zu) = %p misaligned", a, n, p);
        if (malloc_usable_size(p) < n)
            fail(NULL, "malloc_usable_size(memalign(%zu, %zu)) = %zu", a, n,
                 malloc_usable_size(p));
        memset(p, 0x21, n);
        free(p);
    }
    size_t vs[] = { 1, pg - 1, pg, pg + 1, 3 * pg + 5, MiB + 3 };
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        if (has_valloc) {
            p = valloc(vs[i]);
            if (!p || (uintptr_t)p % pg)
                fail(NULL, "valloc(%zu) = %p, not page aligned", vs[i], p);
            if (malloc_usable_size(p) < vs[i])
                fail(NULL, "malloc_usable_size(valloc(%zu)) = %zu", vs[i],
                     malloc_usable_size(p));
            memset(p, 0x22, vs[i]);
            free(p);
        }
        if (!has_pvalloc)
            continue;
        /* pvalloc rounds the size up to whole pages, all of them usable */
        size_t whole = (vs[i] + pg - 1) / pg * pg;
        p = pvalloc(vs[i]);
        if (!p || (uintptr_t)p % pg)
            fail(NULL, "pvalloc(%zu) = %p, not page aligned", vs[i], p);
        if (malloc_usable_size(p) < whole)
            fail(NULL, "malloc_usable_size(pvalloc(%zu)) = %zu, less than %zu", vs[i],
                 malloc_usable_size(p), whole);
        memset(p, 0x23, whole);
        free(p);
    }
    if (has_pvalloc) {
        p = pvalloc(0);                 /* one page, or NULL */
        if (p && (uintptr_t)p % pg)
            fail(NULL, "pvalloc(0) = %p, not page aligned", p);
        free(p);
    }

    /* reallocarray: like realloc, but fails on overflow of n * size */
    unsigned char *q = has_reallocarray ? reallocarray(NULL, 10, 10) : malloc(100);
    if (!q)
        fail(NULL, "reallocarray(NULL, 10, 10) returned NULL");
    memset(q, 0x24, 100);
    if (has_reallocarray) {
        q = reallocarray(q, 1000, 10);
        if (!q)
            fail(NULL, "reallocarray(p, 1000, 10) returned NULL");
        for (int i = 0; i < 100; i++)
            if (q[i] != 0x24)
                fail(NULL, "reallocarray(p, 1000, 10) lost byte %d", i);
        unsigned char *volatile keep = q;
        errno = 0;
        p = reallocarray(q, opaque(SIZE_MAX / 2), 3);
        if (p)
            fail(NULL, "reallocarray overflow (SIZE_MAX/2, 3) returned %p", p);
        want_enomem(errno, "reallocarray(p, SIZE_MAX/2, 3) (overflow)");
        q = keep;
    }
    for (int i = 0; i < 100; i++)
        if (q[i] != 0x24)
            fail(NULL, "failed reallocarray damaged byte %d", i);
    free(q);

    /* every usable byte is the caller's: fill blocks up to their usable size,
     * then check that no neighbour was overwritten */
    enum { N = 3000 };
    unsigned char **v = malloc(N * sizeof *v);
    size_t *us = malloc(N * sizeof *us);
    if (!v || !us)
        fail(NULL, "malloc for the usable-size tables returned NULL");
    for (size_t i = 0; i < N; i++) {
        size_t n = i < 2048 ? i + 1 : (i - 2047) * 61;
        v[i] = malloc(n);
        if (!v[i])
            fail(NULL, "malloc(%zu) returned NULL", n);
        us[i] = malloc_usable_size(v[i]);
        if (us[i] < n)
            fail(NULL, "malloc_usable_size(malloc(%zu)) = %zu", n, us[i]);
        memset(v[i], (int)(i * 7 & 0xFF), us[i]);
    }
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < us[i]; j++)
            if (v[i][j] != (unsigned char)(i * 7 & 0xFF))
                fail(NULL, "block %zu (usable %zu) overwritten at offset %zu by a neighbour "
                     "writing its usable bytes", i, us[i], j);
        if (malloc_usable_size(v[i]) != us[i])
            fail(NULL, "malloc_usable_size changed from %zu to %zu without realloc", us[i],
                 malloc_usable_size(v[i]));
        free(v[i]);
    }
    free(v);
    free(us);
}

/* ------------------------------------------------------------------ */
/* main                                                                */

static void merge(stats_t *t, const stats_t *s)
{
    t->ops += s->ops;
    t->allocs += s->allocs;
    t->frees += s->frees;
    t->reallocs += s->reallocs;
    t->handoffs += s->handoffs;
    t->foreign += s->foreign;
    t->bytes += s->bytes;
    t->big += s->big;
}

static void pass(const char *what)
{
    atomic_fetch_add(&passed, 1);
    printf("pass: %s\n", what);
    fflush(stdout);
}

static void run_threads(worker_t *ws, unsigned n)
{
    pthread_t *th = malloc(n * sizeof *th);
    if (!th)
        fail(NULL, "malloc for thread handles returned NULL");
    for (unsigned i = 0; i < n; i++) {
        int rc = pthread_create(&th[i], NULL, worker_main, &ws[i]);
        if (rc)
            fail(NULL, "pthread_create: %s", strerror(rc));
    }
    for (unsigned i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    free(th);
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "t:d:n:s:m:b:k:x:c:GSevh")) != -1) {
        switch (c) {
        case 't': opt.threads = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'd': opt.seconds = strtod(optarg, NULL); break;
        case 'n': opt.iters = strtoull(optarg, NULL, 0); break;
        case 's': opt.seed = strtoull(optarg, NULL, 0); break;
        case 'm': opt.max_size = parse_size(optarg, argv[0]); break;
        case 'b': opt.budget = parse_size(optarg, argv[0]); break;
        case 'k': opt.slots = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'x': opt.mailbox = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'c': opt.churn = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'G': opt.gnu = 0; break;
        case 'S': opt.strict = 1; break;
        case 'e': opt.lax_errno = 1; break;
        case 'v': opt.verbose = 1; break;
        case 'h': usage(argv[0], 0); break;
        default: usage(argv[0], 2);
        }
    }
    if (optind != argc || opt.threads == 0 || opt.slots == 0 || opt.mailbox == 0 ||
        opt.max_size == 0)
        usage(argv[0], 2);
    if (opt.seconds <= 0 && opt.iters == 0)
        opt.seconds = 5;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* which library answers malloc? (useful to confirm LD_PRELOAD worked) */
    snprintf(malloc_lib, sizeof malloc_lib, "%s", lib_of("malloc"));
    printf("malloc from: %s\n", malloc_lib);
    if (opt.gnu)
        find_gnu();
    printf("stress: threads=%u %s%.3gs iters=%" PRIu64 " seed=%" PRIu64
           " max=%zu budget=%zu slots=%u mailbox=%u churn=%u\n",
           opt.threads, "duration=", opt.seconds, opt.iters, opt.seed, opt.max_size,
           opt.budget, opt.slots, opt.mailbox, opt.churn);

    double t0 = now_sec();
    api_checks();
    pass("api");
    if (opt.gnu) {
        gnu_checks();
        pass("gnu-ext");
    }

    mailbox = calloc(opt.mailbox, sizeof *mailbox);
    if (!mailbox)
        fail(NULL, "calloc for the mailbox returned NULL");
    for (unsigned i = 0; i < opt.mailbox; i++)
        atomic_init(&mailbox[i], NULL);

    /* main phase */
    worker_t *ws = calloc(opt.threads, sizeof *ws);
    if (!ws)
        fail(NULL, "calloc for workers returned NULL");
    for (unsigned i = 0; i < opt.threads; i++) {
        ws[i].tid = i + 1;
        ws[i].seed = mix64(opt.seed * 0x100000001B3ull + i);
        ws[i].iters = opt.iters;
        ws[i].seconds = opt.seconds;
        ws[i].nslots = opt.slots;
    }
    run_threads(ws, opt.threads);
    stats_t total = { 0 };
    char name[64];
    for (unsigned i = 0; i < opt.threads; i++) {
        merge(&total, &ws[i].st);
        if (opt.verbose)
            printf("  worker %u: %" PRIu64 " ops, %" PRIu64 " allocs, %" PRIu64
                   " foreign frees\n",
                   ws[i].tid, ws[i].st.ops, ws[i].st.allocs, ws[i].st.foreign);
        snprintf(name, sizeof name, "worker %u", ws[i].tid);
        pass(name);
    }
    free(ws);

    /* churn phase: short-lived threads, a few at a time, that allocate, hand
     * blocks to the mailbox (to be freed after they exit) and go away */
    if (opt.churn) {
        unsigned batch = opt.threads, done = 0;
        while (done < opt.churn) {
            unsigned n = opt.churn - done < batch ? opt.churn - done : batch;
            worker_t *cw = calloc(n, sizeof *cw);
            if (!cw)
                fail(NULL, "calloc for churn workers returned NULL");
            for (unsigned i = 0; i < n; i++) {
                cw[i].tid = 1000 + done + i;
                cw[i].seed = mix64(opt.seed ^ (0xC0FFEEull << 20) ^ (done + i));
                cw[i].iters = 2000;
                cw[i].seconds = 0;
                cw[i].nslots = 32;
            }
            run_threads(cw, n);
            for (unsigned i = 0; i < n; i++)
                merge(&total, &cw[i].st);
            free(cw);
            done += n;
        }
        pass("churn");
    }

    /* drain: the main thread frees what every thread left behind */
    worker_t mainw = { .tid = 0, .nslots = 0 };
    uint64_t drained = 0;
    for (unsigned i = 0; i < opt.mailbox; i++) {
        blk_t *b = atomic_exchange(&mailbox[i], NULL);
        if (b) {
            verify_block(b, "while draining the mailbox");
            check_align(b);
            free_block(&mainw, b);
            drained++;
        }
    }
    free(mailbox);
    if (atomic_load(&live_bytes) != 0)
        fail(NULL, "accounting error: %zu live bytes after drain",
             atomic_load(&live_bytes));
    merge(&total, &mainw.st);
    pass("drain");

    double el = now_sec() - t0;
    printf("stats: %.2fs, %" PRIu64 " ops (%.0f/s), %" PRIu64 " allocs, %" PRIu64
           " reallocs, %" PRIu64 " frees (%" PRIu64 " by another thread), %" PRIu64
           " hand-offs, %" PRIu64 " big, %.1f GiB allocated, peak live %.1f MiB, "
           "%" PRIu64 " drained\n",
           el, total.ops, (double)total.ops / el, total.allocs, total.reallocs,
           total.frees, total.foreign, total.handoffs, total.big,
           (double)total.bytes / (1024.0 * MiB), (double)atomic_load(&peak_bytes) / MiB,
           drained);
    printf("%u passed, 0 failed\n", atomic_load(&passed));
    return 0;
}
