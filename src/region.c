/* The region core: the seed's vector malloc over caller memory. No OS, no libc beyond the
 * memcpy/memset a C compiler requires even freestanding.
 *
 * Invariants (checked by vcm_region_check):
 *  I1 every chunk of class k with class-number g < fresh[k] is exactly one of: LIVE, on the
 *     free list of class k, or REMOTE (process heap only); chunks with g >= fresh[k] were never
 *     handed out and their map entries are never read.
 *  I2 free lists hold class-numbers < fresh[k], each once, state neither LIVE nor REMOTE.
 *  I3 used <= capacity for every LIVE chunk; live[k] (and, for caller regions, live_used
 *     and live_cap) equal the sums over LIVE and REMOTE chunks.
 *  I4 avail bit k clear => class k has no free chunk and its fresh chunks are exhausted.
 */
#include "region.h"

#define VCMI_ALIGN 16u

/* Build option VCM_VALGRIND: tell memcheck that chunks are heap blocks of their used size
 * (the slack and free chunks are inaccessible), for programs that use the region API. */
#ifdef VCM_VALGRIND /* a memcheck memory pool per disc, named by its data address */
#include <valgrind/memcheck.h>
#define VG_INIT(d, n, size) /* data [d, d + n) inaccessible but for chunks; the map usable */ \
  do {                                                                                       \
    if (VALGRIND_MEMPOOL_EXISTS(d)) VALGRIND_DESTROY_MEMPOOL(d); /* re-init of a disc */     \
    VALGRIND_CREATE_MEMPOOL(d, 0, 0);                                                        \
    VALGRIND_MAKE_MEM_UNDEFINED(d, size);                                                    \
    VALGRIND_MAKE_MEM_NOACCESS(d, n);                                                        \
  } while (0)
#define VG_ALLOC(r, p, n) VALGRIND_MEMPOOL_ALLOC((r)->data, p, n)
#define VG_FREE(r, p) VALGRIND_MEMPOOL_FREE((r)->data, p)
#define VG_RESIZE(r, p, from, to)                                                            \
  do {                                                                                       \
    VALGRIND_MEMPOOL_CHANGE((r)->data, p, p, to);                                            \
    if ((to) > (from)) VALGRIND_MAKE_MEM_UNDEFINED((p) + (from), (to) - (from));             \
    else VALGRIND_MAKE_MEM_NOACCESS((p) + (to), (from) - (to));                              \
  } while (0)
#else
#define VG_INIT(d, n, size) ((void)0)
#define VG_ALLOC(r, p, n) ((void)0)
#define VG_FREE(r, p) ((void)0)
#define VG_RESIZE(r, p, from, to) ((void)0)
#endif


_Static_assert(sizeof(vcmi_entry) == 8, "map entry is the seed's 8 bytes");
_Static_assert(sizeof(vcmi_region) <= sizeof(vcm_region), "vcm_region storage too small");
_Static_assert(_Alignof(vcmi_region) <= _Alignof(vcm_region), "vcm_region misaligned");
_Static_assert(VCM_CLASS_MAX - 1 <= VCMI_USED_MASK, "used field holds the largest class");

#define log2_floor vcmi_log2
static int is_pow2(size_t x) { return x && !(x & (x - 1)); }

const char *vcm_strerror(vcm_status s) {
  switch (s) {
  case VCM_OK: return "ok";
  case VCM_E_NULL: return "a required pointer is NULL";
  case VCM_E_ALIGN: return "disc is not 16-byte aligned";
  case VCM_E_POW2: return "size_min and size_max must be powers of two";
  case VCM_E_ORDER: return "size_max is smaller than size_min";
  case VCM_E_MIN: return "size_min is below 16 (no room for the 8-byte map entry)";
  case VCM_E_MAX: return "size_max is above VCM_CLASS_MAX";
  case VCM_E_FACTOR: return "grow_factor must be 2";
  case VCM_E_SMALL: return "disc is too small for one channel";
  case VCM_E_TOO_MANY: return "disc holds more chunks than a 32-bit map index can name";
  }
  return "unknown status";
}

static vcm_status check_geometry(const vcm_geometry *g, unsigned *lmin, unsigned *lmax) {
  size_t mn = g ? g->size_min : VCM_DEFAULT_MIN, mx = g ? g->size_max : VCM_DEFAULT_MAX;
  if (g && g->grow_factor != 2) return VCM_E_FACTOR;
  if (!is_pow2(mn) || !is_pow2(mx)) return VCM_E_POW2;
  if (mx < mn) return VCM_E_ORDER;
  if (mn < 16) return VCM_E_MIN;
  if (mx > VCM_CLASS_MAX) return VCM_E_MAX;
  *lmin = log2_floor(mn);
  *lmax = log2_floor(mx);
  return VCM_OK;
}

vcm_status vcm_region_plan(size_t disc_size, const vcm_geometry *geometry, vcm_plan *out) {
  unsigned lmin = 0, lmax = 0;
  if (!out) return VCM_E_NULL;
  vcm_status s = check_geometry(geometry, &lmin, &lmax);
  if (s != VCM_OK) return s;
  size_t max = (size_t)1 << lmax, nclass = lmax - lmin + 1u;
  out->n_classes = nclass;
  out->channel_factor = nclass + 1u;
  out->channel_size = out->channel_factor * max;
  out->chunks_per_channel = ((size_t)1 << nclass) - 1u;
  out->map_entry_bytes = sizeof(vcmi_entry);
  size_t n = disc_size / out->channel_size;
  /* Class-numbers are 32-bit: the smallest class has n << (nclass-1) chunks, and the map
   * index n * chunks_per_channel must fit too. */
  size_t cap = (size_t)0xFFFFFFFFu / ((size_t)1 << nclass);
  if (n > cap) return VCM_E_TOO_MANY;
  out->n_channels = n;
  out->data_bytes = n * nclass * max;
  out->map_bytes = n * out->chunks_per_channel * sizeof(vcmi_entry);
  out->slack_bytes = disc_size - out->data_bytes - out->map_bytes;
  return n ? VCM_OK : VCM_E_SMALL;
}

void vcmi_region_setup(vcmi_region *r, void *data, void *map, uint32_t n_channels,
                       unsigned lmin, unsigned lmax) {
  VCMI_ASSERT(data && map && n_channels > 0 && lmin <= lmax && lmax < 8 * sizeof(size_t) &&
              lmax - lmin < VCM_MAX_CLASSES);
  unsigned char *z = (unsigned char *)r;
  for (size_t i = 0; i < sizeof *r; i++) z[i] = 0;
  r->magic = VCMI_MAGIC;
  r->lmin = (uint8_t)lmin;
  r->lmax = (uint8_t)lmax;
  r->nclass = (uint8_t)(lmax - lmin + 1u);
  r->n_channels = n_channels;
  r->data = (unsigned char *)data;
  r->map = (vcmi_entry *)map;
  r->stride = (size_t)n_channels << lmax;
  r->stride_log2 = is_pow2(r->stride) ? (uint8_t)log2_floor(r->stride) : 0;
  r->avail = (r->nclass == 32 ? 0u : (1u << r->nclass)) - 1u;
  for (unsigned k = 0; k < r->nclass; k++)
    r->mapk[k] = r->map + (size_t)n_channels * (((size_t)1 << k) - 1u);
  for (unsigned k = 0; k < VCM_MAX_CLASSES; k++) r->free_head[k] = VCMI_NONE;
  r->handler = vcmi_misuse_default;
  r->remote_head = VCMI_NONE;
}

vcm_status vcm_region_init(vcm_region *rr, void *disc, size_t size, const vcm_geometry *g) {
  vcm_plan plan;
  if (!rr || !disc) return VCM_E_NULL;
  if ((uintptr_t)disc % VCMI_ALIGN) return VCM_E_ALIGN;
  vcm_status s = vcm_region_plan(size, g, &plan);
  if (s != VCM_OK) return s;
  unsigned lmin = 0, lmax = 0;
  (void)check_geometry(g, &lmin, &lmax); /* valid: the plan accepted it */
  /* Data first: it inherits the disc's alignment, so chunks are naturally aligned. */
  unsigned char *d = (unsigned char *)disc;
  vcmi_region_setup(vcmi_region_of(rr), d, d + plan.data_bytes, (uint32_t)plan.n_channels,
                    lmin, lmax);
  VG_INIT(d, plan.data_bytes, size);
  return VCM_OK;
}

void vcm_region_set_handler(vcm_region *rr, vcm_misuse_fn fn, void *ctx) {
  vcmi_region *r = vcmi_region_of(rr);
  r->handler = fn ? fn : vcmi_misuse_default;
  r->handler_ctx = fn ? ctx : 0;
}

void vcmi_misuse(vcmi_region *r, const void *p, vcmi_why why) {
  r->handler(r->handler_ctx, p, vcmi_why_text(why));
}

/* The region API keeps byte counters and the peak; the process heap's fast paths do not
 * (its stats derive them from the map), so they are kept here, not in region.h. */
static void *take(vcmi_region *r, unsigned k, size_t n) {
  void *p = vcmi_alloc_class(r, k, n);
  if (p) {
    VG_ALLOC(r, p, n);
    r->live_used += n;
    r->live_cap += vcmi_class_cap(r, k);
    if (r->live_cap > r->peak_cap) r->peak_cap = r->live_cap;
  }
  return p;
}

static void drop(vcmi_region *r, const vcmi_loc *loc) {
  VG_FREE(r, vcmi_chunk_addr(r, loc->k, loc->g));
  r->live_used -= loc->e->state & VCMI_USED_MASK;
  r->live_cap -= vcmi_class_cap(r, loc->k);
  vcmi_release(r, loc);
}

/* Smallest class that fits, else the nearest bigger class with a chunk (I4 makes the bitmap
 * search exact after at most nclass failed tries). */
static void *alloc_fit(vcmi_region *r, unsigned k, size_t n) {
  void *p = take(r, k, n);
  if (VCMI_LIKELY(p != 0)) return p;
  uint32_t bigger = r->avail & ((1u << k) - 1u);
  while (bigger) {
    unsigned j = log2_floor(bigger); /* the nearest bigger class has the highest index */
    if ((p = take(r, j, n)) != 0) return p;
    bigger &= ~(1u << j);
  }
  r->failed++;
  return 0;
}

void *vcm_region_alloc(vcm_region *rr, size_t n) {
  vcmi_region *r = vcmi_region_of(rr);
  if (n > ((size_t)1 << r->lmax)) {
    r->failed++;
    return 0;
  }
  return alloc_fit(r, vcmi_class_of(r, n), n);
}

void *vcm_region_calloc(vcm_region *rr, size_t count, size_t size) {
  if (size && count > (size_t)-1 / size) {
    vcmi_region_of(rr)->failed++;
    return 0;
  }
  void *p = vcm_region_alloc(rr, count * size);
  if (p) __builtin_memset(p, 0, count * size);
  return p;
}

void *vcm_region_aligned_alloc(vcm_region *rr, size_t align, size_t n) {
  vcmi_region *r = vcmi_region_of(rr);
  uintptr_t base = (uintptr_t)r->data;
  size_t natural = (size_t)(base & (~base + 1u)); /* lowest set bit of the data address */
  size_t want = n < align ? align : n;
  if (!is_pow2(align) || want > ((size_t)1 << r->lmax) || (natural && align > natural)) {
    r->failed++;
    return 0;
  }
  /* A chunk of capacity c is aligned to min(c, natural), so capacity >= align suffices;
   * used stays n, not the padded request. */
  return alloc_fit(r, vcmi_class_of(r, want), n);
}

/* Locate a live chunk or report why p is not one (not live: a double free when freeing, else a
 * use after free). */
static vcmi_entry *live_entry(vcmi_region *r, const void *p, vcmi_loc *loc, int freeing) {
  if (vcmi_locate(r, p, loc) != 0) {
    uintptr_t off = (uintptr_t)p - (uintptr_t)r->data;
    int inside = (uintptr_t)p >= (uintptr_t)r->data && off < r->stride * r->nclass;
    vcmi_misuse(r, p, inside ? VCMI_WHY_INTERIOR : VCMI_WHY_FOREIGN_REGION);
    return 0;
  }
  if (!(loc->e->state & VCMI_LIVE)) {
    vcmi_misuse(r, p, freeing ? VCMI_WHY_DOUBLE_FREE : VCMI_WHY_USE_AFTER_FREE);
    return 0;
  }
  return loc->e;
}

void vcm_region_free(vcm_region *rr, void *p) {
  vcmi_region *r = vcmi_region_of(rr);
  vcmi_loc loc;
  if (!p || !live_entry(r, p, &loc, 1)) return;
  drop(r, &loc);
}

static void set_used(vcmi_region *r, const vcmi_loc *loc, size_t n) {
  vcmi_entry *e = loc->e;
  VG_RESIZE(r, vcmi_chunk_addr(r, loc->k, loc->g), (size_t)(e->state & VCMI_USED_MASK), n);
  r->live_used = r->live_used - (e->state & VCMI_USED_MASK) + n;
  e->state = VCMI_LIVE | (uint32_t)n;
}

int vcm_region_expand(vcm_region *rr, void *p, size_t n) {
  vcmi_region *r = vcmi_region_of(rr);
  vcmi_loc loc;
  if (!p || !live_entry(r, p, &loc, 0)) return -1;
  if (n > vcmi_class_cap(r, loc.k)) return -1;
  set_used(r, &loc, n);
  return 0;
}

static void *move(vcmi_region *r, vcmi_loc *loc, void *p, void *q, size_t n) {
  size_t used = loc->e->state & VCMI_USED_MASK, keep = used < n ? used : n;
  __builtin_memcpy(q, p, keep);
  r->realloc_moved++;
  r->bytes_copied += keep;
  drop(r, loc);
  return q;
}

void *vcm_region_realloc(vcm_region *rr, void *p, size_t n) {
  vcmi_region *r = vcmi_region_of(rr);
  vcmi_loc loc;
  void *q;
  if (!p) return vcm_region_alloc(rr, n);
  if (!live_entry(r, p, &loc, 0)) return 0;
  size_t cap = vcmi_class_cap(r, loc.k);
  if (n <= cap) {
    /* Shrinking to a quarter or less moves down if that class has a chunk; the hysteresis
     * keeps a vector that shrinks a little and regrows in place. */
    unsigned k = vcmi_class_of(r, n);
    if (n <= cap / 4 && k != loc.k && (q = take(r, k, n)) != 0)
      return move(r, &loc, p, q, n);
    set_used(r, &loc, n);
    r->realloc_inplace++;
    return p;
  }
  if (n > ((size_t)1 << r->lmax)) {
    r->failed++;
    return 0;
  }
  q = alloc_fit(r, vcmi_class_of(r, n), n);
  return q ? move(r, &loc, p, q, n) : 0;
}

size_t vcm_region_used(vcm_region *rr, const void *p) {
  vcmi_region *r = vcmi_region_of(rr);
  vcmi_loc loc;
  return live_entry(r, p, &loc, 0) ? (loc.e->state & VCMI_USED_MASK) : 0;
}

size_t vcm_region_capacity(vcm_region *rr, const void *p) {
  vcmi_region *r = vcmi_region_of(rr);
  vcmi_loc loc;
  return live_entry(r, p, &loc, 0) ? vcmi_class_cap(r, loc.k) : 0;
}

long vcm_region_channel_of(vcm_region *rr, const void *p) {
  vcmi_region *r = vcmi_region_of(rr);
  uintptr_t off = (uintptr_t)p - (uintptr_t)r->data;
  if ((uintptr_t)p < (uintptr_t)r->data || off >= r->stride * r->nclass) return -1;
  size_t k = off / r->stride;
  return (long)(((off - k * r->stride) / vcmi_class_cap(r, (unsigned)k)) >> k);
}

void vcm_region_stats_get(vcm_region *rr, vcm_region_stats *out) {
  vcmi_region *r = vcmi_region_of(rr);
  size_t live = 0;
  for (unsigned i = 0; i < VCM_MAX_CLASSES; i++)
    out->class_size[i] = out->class_live[i] = out->class_used[i] = out->class_peak[i] =
        out->class_total[i] = 0;
  /* Public class index i counts up from size_min; internal k counts down from size_max. The
   * used bytes come from the map (relaxed loads: in the process heap, a snapshot). */
  for (unsigned k = 0; k < r->nclass; k++) {
    unsigned i = r->nclass - 1u - k;
    out->class_size[i] = vcmi_class_cap(r, k);
    out->class_live[i] = r->live[k];
    out->class_peak[i] = r->fresh[k];
    out->class_total[i] = (size_t)r->n_channels << k;
    live += r->live[k];
    for (uint32_t g = 0; g < r->fresh[k]; g++) {
      uint32_t st = __atomic_load_n(&vcmi_entry_at(r, k, g)->state, __ATOMIC_RELAXED);
      if (st & (VCMI_LIVE | VCMI_REMOTE)) out->class_used[i] += st & VCMI_USED_MASK;
    }
  }
  out->data_bytes = r->stride * r->nclass;
  out->map_bytes = (size_t)r->n_channels * (((size_t)1 << r->nclass) - 1u) * sizeof(vcmi_entry);
  out->region_bytes = out->data_bytes + out->map_bytes;
  out->n_channels = r->n_channels;
  out->n_classes = r->nclass;
  out->live_chunks = live;
  out->live_capacity = 0;
  out->peak_capacity = 0;
  for (unsigned k = 0; k < r->nclass; k++) {
    out->live_capacity += (size_t)r->live[k] * vcmi_class_cap(r, k);
    out->peak_capacity += (size_t)r->fresh[k] * vcmi_class_cap(r, k);
  }
  out->live_used = 0;
  for (unsigned i = 0; i < r->nclass; i++) out->live_used += out->class_used[i];
  if (!r->owner) out->peak_capacity = r->peak_cap; /* caller region: the exact peak */
  out->failed = r->failed;
  out->realloc_inplace = r->realloc_inplace;
  out->realloc_moved = r->realloc_moved;
  out->bytes_copied = r->bytes_copied;
}

#define FAIL(msg)                                                                            \
  do {                                                                                       \
    if (why) *why = msg;                                                                     \
    bad = 1;                                                                                 \
  } while (0)

int vcm_region_check(vcm_region *rr, const char **why) {
  vcmi_region *r = vcmi_region_of(rr);
  int bad = 0;
  size_t used = 0, cap = 0;
  if (r->magic != VCMI_MAGIC) {
    if (why) *why = "not a region (bad magic)";
    return -1;
  }
  for (unsigned k = 0; k < r->nclass && !bad; k++) {
    uint32_t limit = r->n_channels << k, nfree = 0, nlive = 0;
    if (r->fresh[k] > limit) FAIL("fresh frontier beyond the class");
    /* I2: walk the free list marking each entry; a mark seen twice is a cycle or a repeat. */
    for (uint32_t g = r->free_head[k]; g != VCMI_NONE && !bad; g = vcmi_entry_at(r, k, g)->link) {
      vcmi_entry *e;
      if (g >= r->fresh[k]) {
        FAIL("free list names a chunk never handed out");
        break;
      }
      e = vcmi_entry_at(r, k, g);
      if (e->state & (VCMI_MARK | VCMI_LIVE | VCMI_REMOTE)) {
        FAIL(e->state & VCMI_MARK ? "free list has a cycle or a repeat"
                                  : "free list holds a live chunk");
        break;
      }
      e->state |= VCMI_MARK;
      nfree++;
    }
    /* I1, I3: every handed-out chunk is live, marked free, or remote; clear the marks. */
    for (uint32_t g = 0; g < r->fresh[k]; g++) {
      vcmi_entry *e = vcmi_entry_at(r, k, g);
      uint32_t s = e->state;
      int kinds = !!(s & VCMI_LIVE) + !!(s & VCMI_MARK) + !!(s & VCMI_REMOTE);
      if (kinds != 1 && !bad) FAIL("chunk is lost or in two states");
      if ((s & VCMI_LIVE) && (s & VCMI_USED_MASK) > vcmi_class_cap(r, k) && !bad)
        FAIL("used exceeds capacity");
      if (s & (VCMI_LIVE | VCMI_REMOTE)) { /* remote chunks count until collected */
        nlive++;
        used += s & VCMI_USED_MASK;
        cap += vcmi_class_cap(r, k);
      }
      e->state = s & ~VCMI_MARK;
    }
    if (!bad && nlive != r->live[k]) FAIL("live count differs from the map");
    if (!bad && !(r->avail & (1u << k)) && (nfree || r->fresh[k] < limit))
      FAIL("class marked exhausted but has chunks");
  }
  /* Byte counters and the peak are kept for caller regions only (DESIGN §6). */
  if (!bad && !r->owner && (cap != r->live_cap || used != r->live_used))
    FAIL("byte counters differ from the map");
  if (!bad && !r->owner && r->peak_cap < r->live_cap) FAIL("peak below current");
  return bad ? -1 : 0;
}

void vcm_region_visit(vcm_region *rr, vcm_visit_fn fn, void *ctx) {
  vcmi_region *r = vcmi_region_of(rr);
  for (unsigned k = r->nclass; k-- > 0;)
    for (uint32_t g = 0; g < r->fresh[k]; g++) {
      uint32_t s = vcmi_entry_at(r, k, g)->state;
      fn(ctx, vcmi_chunk_addr(r, k, g), vcmi_class_cap(r, k), s & VCMI_USED_MASK,
         !!(s & VCMI_LIVE));
    }
}
