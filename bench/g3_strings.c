/* g3: string building. Pieces of 1..40 B are appended to randomly chosen
 * strings (exact-size realloc, NUL-terminated) until each reaches its
 * log-uniform target length in [16 B, 4 KiB]. 50,000 strings at full scale.
 * `g3 SCALE floor`: a dry run of the same schedule finds each string's final
 * length; each string is then malloc'ed once at that size, same writes.
 * `g3 SCALE split`: the same run, then at the end of the build (its peak, before
 * anything is freed; the split allocates nothing through malloc but stdio's) every
 * resident page of the process's anonymous writable mappings is classified by
 * what the live strings cover of it (mincore, malloc_usable_size), and the
 * split printed: for any allocator, how much of the RSS no placement of moves
 * could give back while the strings stay where they are. */
#include "common.h"

#include <malloc.h>
#include <sys/mman.h>

static inline char chr(uint64_t id, size_t off) { return (char)('a' + pat8(id, off) % 26); }

typedef struct {
  char *s;
  size_t len, target, final;
} str_t;

static void split(const str_t *v, size_t ns);

/* Append until every string reaches its target; dry: lengths only; at_peak:
 * split (below) at the end, before anything is freed. Returns the number of
 * appends. */
static size_t build(str_t *v, size_t ns, rng_t r, int dry, int at_peak) {
  size_t *open_ = xmalloc(ns * sizeof *open_);
  for (size_t i = 0; i < ns; i++) open_[i] = i;
  size_t nopen = ns, ops = 0;
  while (nopen) {
    size_t k = rng_below(&r, nopen), id = open_[k];
    str_t *x = &v[id];
    size_t piece = rng_range(&r, 1, 40);
    if (!dry) {
      x->s = grow_step(x->s, x->len + 1, x->len + piece + 1, x->final);
      if (x->s[x->len] != 0 || (x->len && x->s[x->len - 1] != chr(id, x->len - 1)))
        bench_fail("string %zu: tail lost", id);
      for (size_t j = 0; j < piece; j++) x->s[x->len + j] = chr(id, x->len + j);
      x->s[x->len + piece] = 0;
    }
    x->len += piece;
    ops++;
    if (x->len >= x->target) open_[k] = open_[--nopen];
  }
  if (at_peak) split(v, ns);
  free(open_);
  return ops;
}

typedef struct {
  uintptr_t at, used, cap;
} span_t;

/* Heapsort by address: qsort may malloc a buffer of the array's size (glibc's
 * merge sort), which would be counted as the allocator's. */
static void span_sort(span_t *a, size_t n) {
  for (size_t end = n, i = n / 2;;) {
    size_t at;
    if (i > 0)
      at = --i;
    else if (--end > 0) {
      span_t t = a[0];
      a[0] = a[end], a[end] = t, at = 0;
    } else
      return;
    for (size_t c; (c = 2 * at + 1) < end; at = c) {
      if (c + 1 < end && a[c + 1].at > a[c].at) c++;
      if (a[c].at <= a[at].at) break;
      span_t t = a[at];
      a[at] = a[c], a[c] = t;
    }
  }
}

/* Bytes of [a, b) inside [lo, hi). */
static size_t overlap(uintptr_t a, uintptr_t b, uintptr_t lo, uintptr_t hi) {
  a = a > lo ? a : lo, b = b < hi ? b : hi;
  return b > a ? b - a : 0;
}

/* The split of `g3 SCALE split` (see the top). A page holding a string's byte is
 * kept whatever the allocator does short of moving that string; its other bytes
 * are the string's slack (usable size past the NUL) or no string's (free, held,
 * headers). Rows by the smallest usable size of a string on the page. */
static void split(const str_t *v, size_t ns) {
  const size_t pg = 4096;
  size_t tab = (ns * sizeof(span_t) + pg - 1) & ~(pg - 1);
  span_t *sp = mmap(NULL, tab, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *vec = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  FILE *maps = fopen("/proc/self/maps", "r");
  if (sp == MAP_FAILED || vec == MAP_FAILED || !maps) bench_fail("split: no memory or no maps");
  for (size_t i = 0; i < ns; i++)
    sp[i] = (span_t){(uintptr_t)v[i].s, v[i].len + 1, malloc_usable_size(v[i].s)};
  span_sort(sp, ns);
  for (size_t i = 1; i < ns; i++)
    if (sp[i - 1].at >= sp[i].at) bench_fail("split: strings out of order");
  enum { ROWS = 12 };
  size_t pages[ROWS + 1] = {0}, used[ROWS] = {0}, slack[ROWS] = {0}, none = 0, resident = 0;
  char line[512];
  size_t first = 0; /* the first string not wholly below the page */
  while (fgets(line, sizeof line, maps)) {
    unsigned long lo, hi, ino;
    char perm[8];
    if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &lo, &hi, perm, &ino) != 4 || ino ||
        strncmp(perm, "rw", 2))
      continue;
    for (uintptr_t a = lo; a < hi; a += (1 << 16) * pg) {
      size_t n = (hi - a) / pg < (1 << 16) ? (hi - a) / pg : (1 << 16);
      if (mincore((void *)a, n * pg, vec)) bench_fail("split: mincore failed");
      for (size_t j = 0; j < n; j++) {
        uintptr_t p = a + j * pg;
        if (!(vec[j] & 1) || overlap(p, p + pg, (uintptr_t)sp, (uintptr_t)sp + tab) ||
            overlap(p, p + pg, (uintptr_t)vec, (uintptr_t)vec + (1 << 16)))
          continue; /* not resident, or the split's own */
        size_t u = 0, c = 0, least = SIZE_MAX;
        resident++;
        while (first < ns && sp[first].at + sp[first].cap <= p) first++;
        for (size_t i = first; i < ns && sp[i].at < p + pg; i++) {
          size_t ui = overlap(sp[i].at, sp[i].at + sp[i].used, p, p + pg);
          c += overlap(sp[i].at, sp[i].at + sp[i].cap, p, p + pg);
          if (ui && sp[i].cap < least) least = sp[i].cap;
          u += ui;
        }
        unsigned row = 0;
        while (row < ROWS - 1 && ((size_t)16 << row) < least) row++;
        if (!u) {
          none++;
          continue;
        }
        pages[row]++, used[row] += u, slack[row] += c - u;
      }
    }
  }
  fclose(maps);
  const double mib = 1 << 20;
  size_t kept = 0, ku = 0, ks = 0;
  for (unsigned r = 0; r < ROWS; r++) {
    if (!pages[r]) continue;
    kept += pages[r], ku += used[r], ks += slack[r];
    printf("split pages whose smallest string is <= %5zu B: %6zu, %5.1f MiB = strings %5.1f + "
           "slack %5.1f + no string's %5.1f\n", (size_t)16 << r, pages[r], pages[r] * pg / mib,
           used[r] / mib, slack[r] / mib, (pages[r] * pg - used[r] - slack[r]) / mib);
  }
  printf("split resident %.1f MiB: pages holding a string %.1f (strings %.1f, slack %.1f, no "
         "string's %.1f), pages holding none %.1f\n", resident * pg / mib, kept * pg / mib,
         ku / mib, ks / mib, (kept * pg - ku - ks) / mib, none * pg / mib);
  munmap(sp, tab);
  munmap(vec, 1 << 16);
}

int main(int argc, char **argv) {
  int variant = 0;
  double scale = bench_init_variant("g3", argc, argv, "floor split", &variant);
  bench_floor = variant == 1;
  size_t ns = scaled(50000, scale, 50);
  rng_t r = {3};
  str_t *v = calloc(ns, sizeof *v);
  if (!v) bench_fail("calloc failed");
  for (size_t i = 0; i < ns; i++) v[i].target = rng_logu(&r, 16, 4096);
  if (bench_floor) {
    build(v, ns, r, 1, 0);
    for (size_t i = 0; i < ns; i++) v[i].final = v[i].len + 1, v[i].len = 0;
  }
  for (size_t i = 0; i < ns; i++) {
    v[i].s = grow_step(NULL, 0, 1, v[i].final);
    v[i].s[0] = 0;
  }
  size_t ops = build(v, ns, r, 0, variant == 2);
  for (size_t i = 0; i < ns; i++) {
    if (strlen(v[i].s) != v[i].len) bench_fail("string %zu: bad length", i);
    for (size_t j = 0; j < v[i].len; j++)
      if (v[i].s[j] != chr(i, j)) bench_fail("string %zu: byte %zu wrong", i, j);
    free(v[i].s);
  }
  free(v);
  bench_result(ops, 1);
  return 0;
}
