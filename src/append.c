/* The append API (vcm.h): vectors and strings whose length is the chunk's used size. Built
 * only on the public chunk operations (used, capacity, expand, realloc, alloc), so it is the
 * same code over a region and over the process heap: r == NULL means the process heap.
 *
 * Growth: a chunk that is full grows with realloc(used + n) (a region's absorbs free buddies in
 * place first; else it moves), which picks the class that fits
 * (the next power of two), so appending k bytes one at a time costs O(k) amortised. Appending
 * within the capacity never uses realloc: a realloc to a quarter of the capacity or less moves
 * down, which would undo a reserve. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcm.h"

/* NULL is the empty vector on both faces (the region queries would report it as misuse). */
static size_t cap_of(vcm_region *r, const void *p) {
  return !p ? 0 : r ? vcm_region_capacity(r, p) : vcm_capacity(p);
}
static size_t used_of(vcm_region *r, const void *p) {
  return !p ? 0 : r ? vcm_region_used(r, p) : vcm_used(p);
}
static int expand(vcm_region *r, void *p, size_t n) {
  return r ? vcm_region_expand(r, p, n) : vcm_expand(p, n);
}
static void *re(vcm_region *r, void *p, size_t n) {
  return r ? vcm_region_realloc(r, p, n) : vcm_realloc(p, n);
}

static void *fail(int e) {
  errno = e;
  return NULL;
}

/* A new chunk of capacity >= n with used n (alloc) or 0 (alloc0). */
static void *alloc(vcm_region *r, size_t n) {
  void *q = r ? vcm_region_alloc(r, n) : vcm_malloc(n);
  return q ? q : fail(ENOMEM);
}
static void *alloc0(vcm_region *r, size_t n) {
  void *q = alloc(r, n);
  if (q) expand(r, q, 0);
  return q;
}

/* Capacity of the live chunk p, or 0 after the handler has been told (every live chunk has a
 * capacity of at least 16). */
static size_t live_cap(vcm_region *r, const void *p) {
  size_t cap = cap_of(r, p);
  if (!cap) errno = EINVAL;
  return cap;
}

/* used += n on p (NULL: a new chunk with used n): the chunk, moved only if the capacity is
 * exceeded, with *old = the used bytes before; or NULL with errno, p untouched. If *src points
 * into p's used bytes it follows the move. */
static void *grow(vcm_region *r, void *p, size_t n, size_t *old, const void **src) {
  *old = 0;
  if (!p) return alloc(r, n);
  size_t cap = live_cap(r, p);
  if (!cap) return NULL;
  size_t used = used_of(r, p);
  if (n > SIZE_MAX - used) return fail(ENOMEM);
  *old = used;
  if (used + n <= cap) {
    expand(r, p, used + n);
    return p;
  }
  void *q = re(r, p, used + n); /* copies the used bytes */
  if (!q) return fail(ENOMEM);
  uintptr_t s = src ? (uintptr_t)*src : 0, a = (uintptr_t)p;
  if (src && s >= a && s < a + used) *src = (const unsigned char *)q + (s - a);
  return q;
}

static void *append(vcm_region *r, void *p, const void *src, size_t n) {
  size_t old;
  unsigned char *q = grow(r, p, n, &old, &src);
  if (q && n) memcpy(q + old, src, n);
  return q;
}

void *vcm_append(void *p, const void *src, size_t n) { return append(NULL, p, src, n); }
void *vcm_region_append(vcm_region *r, void *p, const void *src, size_t n) {
  return append(r, p, src, n);
}

static void *reserve(vcm_region *r, void *p, size_t n) {
  if (!p) return alloc0(r, n);
  size_t cap = live_cap(r, p);
  if (!cap) return NULL;
  if (cap >= n) return p;
  size_t used = used_of(r, p);
  void *q = re(r, p, n);
  if (!q) return fail(ENOMEM);
  expand(r, q, used); /* keep used: reserve grows the capacity only */
  return q;
}

void *vcm_reserve(void *p, size_t n) { return reserve(NULL, p, n); }
void *vcm_region_reserve(vcm_region *r, void *p, size_t n) { return reserve(r, p, n); }

static int truncate_to(vcm_region *r, void *p, size_t n) { /* expand, never past the capacity */
  if (!p) return -(n != 0);
  size_t cap = live_cap(r, p);
  return cap && n <= cap ? expand(r, p, n) : -1;
}
int vcm_truncate(void *p, size_t n) { return truncate_to(NULL, p, n); }
int vcm_region_truncate(vcm_region *r, void *p, size_t n) { return truncate_to(r, p, n); }

/* The vector variable at pv holds a pointer; it is read and written through memcpy, so any
 * T ** may be passed as void *. */
static void *load(const void *pv) {
  void *p;
  memcpy(&p, pv, sizeof p);
  return p;
}
static int store(void *pv, void *q) {
  if (!q) return -1;
  memcpy(pv, &q, sizeof q);
  return 0;
}

int vcm_vec_grow_(vcm_region *r, void *pv, size_t size) {
  size_t old;
  return store(pv, grow(r, load(pv), size, &old, NULL));
}

int vcm_vec_reserve_(vcm_region *r, void *pv, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return store(pv, fail(ENOMEM));
  return store(pv, reserve(r, load(pv), n * size));
}

size_t vcm_vec_index_(vcm_region *r, const void *v, size_t i, size_t size) {
  size_t len = used_of(r, v) / size;
  if (i >= len) {
    fprintf(stderr, "vcm: vector index %zu out of range (length %zu) in %p\n", i, len, v);
    abort();
  }
  return i;
}

/* Strings: used = length + 1 (the NUL). An empty chunk (used 0) is the empty string too. */
static size_t str_len(vcm_region *r, const char *s) {
  size_t used = s ? used_of(r, s) : 0;
  return used ? used - 1 : 0;
}

static int str_append(vcm_region *r, char **ps, const char *src, size_t n) {
  char *p = *ps;
  if (p && !live_cap(r, p)) return -1;
  size_t len = str_len(r, p), old;
  if (n == SIZE_MAX) return store(ps, fail(ENOMEM));
  /* Grow by n, and by one more unless the NUL is already counted. */
  const void *from = src;
  char *q = grow(r, p, n + (p == NULL || used_of(r, p) == 0), &old, &from);
  if (!q) return -1;
  if (n) memcpy(q + len, from, n);
  q[len + n] = '\0';
  return store(ps, q);
}

static int str_vprintf(vcm_region *r, char **ps, const char *fmt, va_list ap) {
  char *p = *ps;
  size_t len = 0, room = 0;
  va_list aq;
  int k;
  if (p) {
    if (!(room = live_cap(r, p))) return -1;
    len = str_len(r, p);
    room -= len;
    expand(r, p, len + room); /* the whole capacity is the string's while it is written */
    va_copy(aq, ap);
    k = vsnprintf(p + len, room, fmt, aq);
    va_end(aq);
    if (k >= 0 && (size_t)k < room) return expand(r, p, len + (size_t)k + 1);
    expand(r, p, len + 1);
    p[len] = '\0';
  } else {
    va_copy(aq, ap);
    k = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
  }
  if (k < 0) return -1; /* vsnprintf set errno */
  size_t need = len + (size_t)k + 1;
  if (need <= len) return store(ps, fail(ENOMEM));
  char *q = reserve(r, p, need);
  if (!q) return -1;
  expand(r, q, need);
  vsnprintf(q + len, (size_t)k + 1, fmt, ap);
  return store(ps, q);
}

int vcm_str_append(char **s, const char *src, size_t n) { return str_append(NULL, s, src, n); }
int vcm_str_cat(char **s, const char *cstr) { return str_append(NULL, s, cstr, strlen(cstr)); }
int vcm_str_printf(char **s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = str_vprintf(NULL, s, fmt, ap);
  va_end(ap);
  return rc;
}
size_t vcm_str_len(const char *s) { return str_len(NULL, s); }

int vcm_region_str_append(vcm_region *r, char **s, const char *src, size_t n) {
  return str_append(r, s, src, n);
}
int vcm_region_str_cat(vcm_region *r, char **s, const char *cstr) {
  return str_append(r, s, cstr, strlen(cstr));
}
int vcm_region_str_printf(vcm_region *r, char **s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = str_vprintf(r, s, fmt, ap);
  va_end(ap);
  return rc;
}
size_t vcm_region_str_len(vcm_region *r, const char *s) { return str_len(r, s); }
