/* The stress test's workers: the size distribution, the operations and the worker loop
 * (test/stress/stress.c). */
#include "stress.h"

/* ------------------------------------------------------------------ */
/* size distribution                                                   */

unsigned log2_floor(size_t v)
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
size_t random_size(rng_t *r)
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


double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

blk_t *new_desc(worker_t *w)
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

blk_t *alloc_block(worker_t *w)
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
    /* live from here: the pages the checks and the fill below touch are the program's (counted
     * after the fill, a block in flight was not: under load, 32 threads each filling a block of
     * up to 64 MiB took the load test's RSS to 2x the live high-water) */
    account((ssize_t)size);
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
    w->st.allocs++;
    w->st.bytes += size;
    if (size >= MiB)
        w->st.big++;
    return b;
}

void free_block(worker_t *w, blk_t *b)
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

void realloc_block(worker_t *w, blk_t *b)
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
    account((ssize_t)size - (ssize_t)old); /* as in alloc_block: before the check and fill */
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
    w->st.reallocs++;
    if (size >= MiB && old < MiB)
        w->st.big++;
}

/* Swap a block (maybe NULL) with a random mailbox entry; return what was there. */
blk_t *handoff(worker_t *w, blk_t *b)
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

void one_op(worker_t *w)
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

void worker_run(worker_t *w)
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

void *worker_main(void *arg)
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

