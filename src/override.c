/* The libc entry points, when libvcm is linked or preloaded: each is the vcm_ function
 * (malloc, free, free_sized and realloc are alloc.c's aliases). */
#define _GNU_SOURCE
#include <stddef.h>

#include "vcm.h"

#pragma GCC visibility push(default)

void cfree(void *p) { vcm_free(p); }
void *calloc(size_t c, size_t s) { return vcm_calloc(c, s); }
void *reallocarray(void *p, size_t c, size_t s) { return vcm_reallocarray(p, c, s); }
int posix_memalign(void **out, size_t a, size_t n) { return vcm_posix_memalign(out, a, n); }
void *aligned_alloc(size_t a, size_t n) { return vcm_aligned_alloc(a, n); }
void *memalign(size_t a, size_t n) { return vcm_memalign(a, n); }
void *valloc(size_t n) { return vcm_valloc(n); }
void *pvalloc(size_t n) { return vcm_pvalloc(n); }
size_t malloc_usable_size(void *p) { return vcm_malloc_usable_size(p); }
void free_aligned_sized(void *p, size_t a, size_t n) { vcm_free_aligned_sized(p, a, n); }
int malloc_trim(size_t pad) { return (void)pad, vcm_trim(); }
void malloc_stats(void) { vcm_stats_print(2, 0); }
#pragma GCC visibility pop
