/* The libc entry points, when libvcm is linked or preloaded: each is the vcm_ function
 * (malloc, free, free_sized and realloc are alloc.c's aliases), and glibc's reporting and
 * tuning calls over vcm's heaps (docs/DESIGN.md §6 maps their fields). */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>

#include "options.h"
#include "stats.h"
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

/* glibc's fields (its manual's mallinfo(3)) from the small chunks carved and the large blocks:
 * arena = uordblks + fordblks, the small chunks carved and the cached large blocks (glibc: the
 * arenas' memory, its free chunks counted whether their pages were given back or not); the
 * live large blocks apart, as glibc's mmapped chunks. */
struct mallinfo2 mallinfo2(void) {
  vcmi_info in;
  size_t live, live_bytes, cached, cached_bytes;
  vcmi_info_get((size_t)-1, &in);
  vcmi_info_large(&live, &live_bytes, &cached, &cached_bytes);
  struct mallinfo2 m = {0};
  m.arena = in.carved + cached_bytes;
  m.ordblks = in.free_chunks + cached;
  m.hblks = live;
  m.hblkhd = live_bytes;
  m.uordblks = in.in_use < in.carved ? in.in_use : in.carved; /* read while they change */
  m.fordblks = m.arena - m.uordblks;
  m.keepcost = in.top_own + cached_bytes;
  return m;
}
/* As glibc's: each field converted to int (wrapping past INT_MAX). */
struct mallinfo mallinfo(void) {
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo m;
  m.arena = (int)m2.arena, m.ordblks = (int)m2.ordblks, m.smblks = (int)m2.smblks;
  m.hblks = (int)m2.hblks, m.hblkhd = (int)m2.hblkhd, m.usmblks = (int)m2.usmblks;
  m.fsmblks = (int)m2.fsmblks, m.uordblks = (int)m2.uordblks, m.fordblks = (int)m2.fordblks;
  m.keepcost = (int)m2.keepcost;
  return m;
}

/* glibc's elements: a <heap> a thread heap (its free chunks by capacity, from = to), then the
 * totals; the cached large blocks in the totals' "rest". Heap by heap, no lock held while
 * printing (stdio may allocate). Options other than 0: returns EINVAL, errno untouched, as
 * glibc (its manual says -1 and errno). */
static void info_free(FILE *fp, size_t n, size_t bytes) {
  fprintf(fp, "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
              "<total type=\"rest\" count=\"%zu\" size=\"%zu\"/>\n", n, bytes);
}
static size_t info_in_use(const vcmi_info *in) { /* read while it changes: at most carved */
  return in->in_use < in->carved ? in->in_use : in->carved;
}
int malloc_info(int options, FILE *fp) {
  vcmi_info in; /* 3 KiB */
  if (options != 0) return EINVAL;
  fprintf(fp, "<malloc version=\"1\">\n");
  for (size_t i = 0; vcmi_info_get(i, &in); i++) {
    fprintf(fp, "<heap nr=\"%zu\">\n<sizes>\n", i);
    for (size_t j = 0; j < in.n_sizes; j++)
      fprintf(fp, "  <size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\"/>\n",
              in.size[j].cap, in.size[j].cap, in.size[j].cap * in.size[j].count, in.size[j].count);
    fprintf(fp, "</sizes>\n");
    info_free(fp, in.free_chunks, in.carved - info_in_use(&in));
    fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n"
                "<aspace type=\"total\" size=\"%zu\"/>\n</heap>\n", in.carved, in.reserved);
  }
  size_t live, live_bytes, cached, cached_bytes;
  vcmi_info_get((size_t)-1, &in);
  vcmi_info_large(&live, &live_bytes, &cached, &cached_bytes);
  info_free(fp, in.free_chunks + cached, in.carved - info_in_use(&in) + cached_bytes);
  fprintf(fp, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
              "<system type=\"current\" size=\"%zu\"/>\n"
              "<aspace type=\"total\" size=\"%zu\"/>\n</malloc>\n",
          live, live_bytes, in.carved + cached_bytes, in.reserved + live_bytes + cached_bytes);
  return 0;
}


/* M_TRIM_THRESHOLD: VCM_PURGE_MB, the most bytes a thread frees between returns of memory to
 * the OS, in whole MiB rounded up, at least 1 (a purge at every free would cost far more than
 * glibc's test of its top chunk); negative: 2^30 MiB, as glibc reads it unsigned. Each heap
 * takes it at its next purge. A burst of frees is still held for its rebuild (docs/DESIGN.md
 * §6). vcm honours no other parameter (its classes, its large-block threshold and its per-thread
 * heaps are fixed): 0, where glibc returns 1 even for a parameter it does not know. */
int mallopt(int param, int value) {
  if (param != M_TRIM_THRESHOLD) return 0;
  unsigned long mib = value < 0 ? 1ul << 30 : ((unsigned long)value + (1ul << 20) - 1u) >> 20;
  vcmi_option_set(VCMI_OPT_PURGE_MB, mib ? (long)mib : 1);
  return 1;
}

/* glibc's own names for its allocator, exported by its libc and called directly by some hooks
 * and old programs: left glibc's, their blocks reached vcm's free (a foreign pointer, reported)
 * and vcm's reached glibc's free. */
void *__libc_malloc(size_t n) { return vcm_malloc(n); }
void __libc_free(void *p) { vcm_free(p); }
void *__libc_calloc(size_t c, size_t s) { return vcm_calloc(c, s); }
void *__libc_realloc(void *p, size_t n) { return vcm_realloc(p, n); }
void *__libc_memalign(size_t a, size_t n) { return vcm_memalign(a, n); }
void *__libc_valloc(size_t n) { return vcm_valloc(n); }
void *__libc_pvalloc(size_t n) { return vcm_pvalloc(n); }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* glibc 2.33 deprecates mallinfo */
struct mallinfo __libc_mallinfo(void) { return mallinfo(); }
#pragma GCC diagnostic pop
int __libc_mallopt(int param, int value) { return mallopt(param, value); }
#pragma GCC visibility pop
