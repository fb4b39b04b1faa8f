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
 * Files: this one (options, blocks and patterns, shared state, the failure
 * report, main), stress_work.c (sizes, operations, workers), stress_api.c
 * (API edge cases and GNU extensions), stress.h.
 *
 * Build: make build/test/stress-glibc (or build/test/stress, linked with vcm)
 */

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


#include "stress.h"

/* ------------------------------------------------------------------ */
/* options                                                             */

stress_opt opt = {
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
            "  -L FILE  write seconds,live_kib,peak_live_kib,rss_kib to FILE every second\n"
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

const char *const kind_name[K_COUNT] = {
    "malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc", "memalign",
    "reallocarray",
};

void fill_pattern(unsigned char *p, size_t size, uint64_t base)
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
size_t check_pattern(const unsigned char *p, size_t len, uint64_t base)
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

size_t check_zero(const unsigned char *p, size_t len)
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

char malloc_lib[4096];
/* GNU extensions that the malloc library itself provides (see find_gnu) */
int has_memalign, has_valloc, has_pvalloc, has_reallocarray, has_usable;

/* file name of the object that defines the global symbol `name` */
const char *lib_of(const char *name)
{
    Dl_info info;
    void *f = dlsym(RTLD_DEFAULT, name);
    if (f && dladdr(f, &info) && info.dli_fname)
        return info.dli_fname;
    return "?";
}

/* ------------------------------------------------------------------ */
/* shared state                                                        */

_Atomic(blk_t *) *mailbox;
atomic_size_t live_bytes;
atomic_size_t peak_bytes;
atomic_uint passed;
atomic_int failing;
pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

/* Print a failure report, the closing line, and exit(1).  Only the first
 * failing thread gets to report; the others block forever on the lock and
 * die with the process. */
void fail(const blk_t *b, const char *fmt, ...)
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

void dump_bytes(const unsigned char *p, size_t size, size_t off, uint64_t base,
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

void verify_block(const blk_t *b, const char *when)
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
size_t natural_align(size_t size)
{
    size_t a = alignof(max_align_t);
    while (a > 1 && a > size)
        a >>= 1;
    return a;
}

void check_align(const blk_t *b)
{
    if ((uintptr_t)b->p % b->align)
        fail(b, "pointer %p not aligned to %zu", (void *)b->p, b->align);
}

void account(ssize_t delta)
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

int over_budget(size_t size)
{
    return atomic_load(&live_bytes) + size > opt.budget;
}

/* ------------------------------------------------------------------ */
/* main                                                                */

void merge(stats_t *t, const stats_t *s)
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

void pass(const char *what)
{
    atomic_fetch_add(&passed, 1);
    printf("pass: %s\n", what);
    fflush(stdout);
}

/* -L: once a second, the live bytes, their high-water so far and the resident set, sampled
 * together, so that tools/load-test can hold RSS against what the program had live then. */
static const char *live_log;
static atomic_int monitor_stop;

static void *monitor_main(void *arg)
{
    FILE *f = arg;
    double t0 = now_sec();
    while (!atomic_load(&monitor_stop)) {
        long pages = 0, rss = 0;
        FILE *m = fopen("/proc/self/statm", "r");
        if (m) {
            if (fscanf(m, "%ld %ld", &pages, &rss) != 2)
                rss = 0;
            fclose(m);
        }
        fprintf(f, "%.0f,%zu,%zu,%ld\n", now_sec() - t0, atomic_load(&live_bytes) / KiB,
                atomic_load(&peak_bytes) / KiB, rss * (sysconf(_SC_PAGESIZE) / 1024));
        fflush(f);
        for (int i = 0; i < 10 && !atomic_load(&monitor_stop); i++)
            usleep(100000);
    }
    return NULL;
}

void run_threads(worker_t *ws, unsigned n)
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
    while ((c = getopt(argc, argv, "t:d:n:s:m:b:k:x:c:L:GSevh")) != -1) {
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
        case 'L': live_log = optarg; break;
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
    pthread_t monitor;
    FILE *live_f = NULL;
    if (live_log) {
        live_f = fopen(live_log, "w");
        if (!live_f || pthread_create(&monitor, NULL, monitor_main, live_f))
            fail(NULL, "cannot start the -L monitor on %s", live_log);
    }
    run_threads(ws, opt.threads);
    if (live_f) {
        atomic_store(&monitor_stop, 1);
        pthread_join(monitor, NULL);
        fclose(live_f);
    }
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
