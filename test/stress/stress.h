/* The stress test's shared parts (test/stress/stress.c): options, random numbers, blocks and
 * their patterns, the shared state and the failure report; the workers (stress_work.c) and the
 * API edge cases (stress_api.c). */
#ifndef VCM_STRESS_H
#define VCM_STRESS_H
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

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)


typedef struct {
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
} stress_opt;
extern stress_opt opt;

/* ------------------------------------------------------------------ */
/* random numbers: splitmix64 for seeding and mixing, xoshiro256**     */

static inline uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t mix64(uint64_t x)
{
    return splitmix64(&x);
}

typedef struct { uint64_t s[4]; } rng_t;

static inline void rng_init(rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(rng_t *r)
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
static inline uint64_t rng_below(rng_t *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* ------------------------------------------------------------------ */
/* blocks and their pattern                                            */

enum kind {
    K_MALLOC, K_CALLOC, K_REALLOC, K_MEMALIGN, K_ALIGNED_ALLOC, K_GNU_MEMALIGN,
    K_REALLOCARRAY, K_COUNT
};
extern const char *const kind_name[K_COUNT];

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

typedef struct {
    unsigned tid;
    uint64_t ops, allocs, frees, reallocs, handoffs, foreign, bytes;
    uint64_t big;           /* allocations >= 1 MiB */
} stats_t;

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

/* ---- which library serves which function (stress.c) ---- */
extern char malloc_lib[4096];
extern int has_memalign, has_valloc, has_pvalloc, has_reallocarray, has_usable;
const char *lib_of(const char *name);

/* ---- shared state (stress.c) ---- */
extern _Atomic(blk_t *) *mailbox;
extern atomic_size_t live_bytes;
extern atomic_size_t peak_bytes;
extern atomic_uint passed;
extern atomic_int failing;
extern pthread_mutex_t report_lock;

/* Print a failure report, the closing line, and exit(1). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3), noreturn))
#endif
void fail(const blk_t *b, const char *fmt, ...);
/* Print the bytes around offset off of a block (pattern base, or zero expected). */
void dump_bytes(const unsigned char *p, size_t size, size_t off, uint64_t base, int zero);
void fill_pattern(unsigned char *p, size_t size, uint64_t base);
size_t check_pattern(const unsigned char *p, size_t len, uint64_t base);
size_t check_zero(const unsigned char *p, size_t len);
void verify_block(const blk_t *b, const char *when);
size_t natural_align(size_t size);
void check_align(const blk_t *b);
void account(ssize_t delta);
int over_budget(size_t size);

/* ---- the workers (stress_work.c) ---- */
double now_sec(void);
void *worker_main(void *arg);
blk_t *alloc_block(worker_t *w);
void free_block(worker_t *w, blk_t *b);

/* ---- API edge cases (stress_api.c) ---- */
void api_checks(void);
void find_gnu(void);
void gnu_checks(void);
#endif
