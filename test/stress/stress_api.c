/* The stress test's single-threaded phases: API edge cases, and the GNU extensions a drop-in
 * malloc must also replace (test/stress/stress.c). */
#include "stress.h"

/* ------------------------------------------------------------------ */
/* API edge cases (single thread)                                      */

/* hide constant sizes from the compiler, so that it neither warns about nor
 * folds away requests that are meant to fail at run time */
size_t opaque(size_t x)
{
    volatile size_t v = x;
    return v;
}

/* a call that failed must have set errno to ENOMEM */
void want_enomem(int err, const char *what)
{
    if (err == ENOMEM)
        return;
    if (!opt.lax_errno)
        fail(NULL, "%s failed with errno %d, not ENOMEM", what, err);
    printf("warning: %s failed with errno %d, not ENOMEM\n", what, err);
}

void api_checks(void)
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
int find_one(const char *name)
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

void find_gnu(void)
{
    has_memalign = find_one("memalign");
    has_valloc = find_one("valloc");
    has_pvalloc = find_one("pvalloc");
    has_reallocarray = find_one("reallocarray");
    has_usable = find_one("malloc_usable_size");
}

void gnu_checks(void)
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

