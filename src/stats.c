/* Statistics: gathered from every heap's regions, the large blocks and the OS layer, and
 * printed as text or JSON without stdio (snprintf into a stack buffer, then write). */
#define _GNU_SOURCE
#include <string.h>

#include "heap.h"
#include "large.h"
#include "os.h"
#include "out.h"
#include "stats.h"

/* ---- stats and checks ---- */

static void add_region(void *ctx, vcm_region *rr) {
  vcm_stats *st = ctx;
  vcm_region_stats rs;
  vcm_region_stats_get(rr, &rs);
  st->regions++;
  st->small_live_chunks += rs.live_chunks;
  st->small_live_capacity += rs.live_capacity;
  st->small_live_used += rs.live_used;
  st->small_peak_capacity += rs.peak_capacity;
  /* The rows are the power-of-two classes; a scaled segment's chunks (1 + x times a power of
   * two, heap.h) count in the row of the next power of two up: 2^up >= 1 + x. */
  vcmi_region *r = vcmi_region_of(rr);
  unsigned up = r->xscale == 0 ? 0u : vcmi_log2(r->xscale) + 1u;
  for (size_t i = 0; i < rs.n_classes && i + up < VCM_MAX_CLASSES; i++) {
    st->class_size[i + up] = (size_t)1 << (r->lmin + i + up);
    st->class_live[i + up] += rs.class_live[i];
    st->class_used[i + up] += rs.class_used[i];
    st->class_peak[i + up] += rs.class_peak[i];
  }
}

/* Per thread heap, for the printout: its regions and what lives in them. */
typedef struct {
  size_t regions, chunks, capacity;
} heap_sum;

/* As vcm_stats_get counts them (add_region): held pair halves and remote frees not collected
 * yet are no live chunks (a map scan, not live[k]: the printout's heaps add up to its total),
 * and a fork child's orphans none (their thread may have stopped mid-operation, each_seg). */
static void sum_heap(vcmi_heap *h, heap_sum *out) {
  out->regions = out->chunks = out->capacity = 0;
  for (vcmi_segment *s = h->orphan ? NULL : h->segs; s; s = s->next) {
    vcm_region_stats rs;
    vcm_region_stats_get(&s->region, &rs);
    out->regions++;
    out->chunks += rs.live_chunks;
    out->capacity += rs.live_capacity;
  }
}

static void add_heap(void *ctx, vcmi_heap *h) {
  vcm_stats *st = ctx;
  st->heaps++;
  st->realloc_inplace += __atomic_load_n(&h->realloc_inplace, __ATOMIC_RELAXED);
  if (h == vcmi_tls_heap) st->realloc_inplace += vcmi_tls_inplace; /* not yet added (heap.h) */
  st->realloc_moved += __atomic_load_n(&h->realloc_moved, __ATOMIC_RELAXED);
  st->bytes_copied += __atomic_load_n(&h->bytes_copied, __ATOMIC_RELAXED);
}

void vcm_stats_get(vcm_stats *out) {
  vcmi_os_stats os;
  memset(out, 0, sizeof *out);
  vcmi_heap_each_region(add_region, out);
  vcmi_heap_each_heap(add_heap, out);
  vcmi_large_stats(&out->large_live, &out->large_capacity, &out->large_used, &out->large_cached);
  vcmi_os_stats_get(&os);
  out->os_reserved = os.reserved;
  out->os_purged = os.purged;
  out->os_remapped = os.remapped;
  out->os_failed = os.failed;
  out->os_calls = os.calls;
  out->os_resident = vcmi_os_resident();
}

/* ---- the heaps in glibc's terms (stats.h) ---- */

typedef struct {
  size_t want, at; /* the heap wanted (SIZE_MAX: all), the place of the next one visited */
  vcmi_info *out;
} info_ctx;

static void info_size(vcmi_info *o, size_t cap) {
  size_t i = o->n_sizes;
  while (i > 0 && o->size[i - 1u].cap > cap) i--;
  if (i > 0 && o->size[i - 1u].cap == cap) {
    o->size[i - 1u].count++;
    return;
  }
  if (o->n_sizes == VCMI_INFO_SIZES) { /* never with the classes there are: the nearest */
    o->size[i > 0 ? i - 1u : 0].count++;
    return;
  }
  memmove(&o->size[i + 1u], &o->size[i], (o->n_sizes - i) * sizeof o->size[0]);
  o->size[i] = (struct vcmi_info_size){cap, 1};
  o->n_sizes++;
}

/* Each carved chunk of each class of h's segments, from the frontier down. An entry HELD is a
 * pair's upper half (pair.h): in a live merged chunk, whose capacity counts it, or parked for
 * its live buddy: neither in use nor on a free list (carved, so in the free bytes). */
static void info_heap(vcmi_heap *h, vcmi_info *o) {
  int own = h == vcmi_tls_heap;
  o->heaps++;
  for (vcmi_segment *s = h->orphan ? NULL : h->segs; s; s = s->next) {
    vcmi_region *r = vcmi_seg_region(s);
    o->reserved += s->size;
    for (unsigned k = 0; k < r->nclass; k++) {
      size_t cap = vcmi_class_cap(r, k);
      uint32_t fresh = __atomic_load_n(&r->fresh[k], __ATOMIC_RELAXED);
      int top = 1;
      o->carved += (size_t)fresh * cap;
      for (uint32_t g = fresh; g-- > 0;) {
        uint32_t st = __atomic_load_n(&vcmi_entry_at(r, k, g)->state, __ATOMIC_RELAXED);
        if (st & VCMI_LIVE) {
          o->in_use += cap << (st & VCMI_MERGED && k ? 1u + !!(st & VCMI_QUAD) : 0u);
          top = 0;
        } else if ((st & VCMI_HELD) == VCMI_HELD) {
          top = 0;
        } else {
          o->free_chunks++;
          info_size(o, cap);
          if (top) o->top += cap, o->top_own += own ? cap : 0u;
        }
      }
    }
  }
}

static void info_visit(void *ctx, vcmi_heap *h) {
  info_ctx *c = ctx;
  if (c->want == (size_t)-1 || c->want == c->at) info_heap(h, c->out);
  c->at++;
}

int vcmi_info_get(size_t i, vcmi_info *out) {
  info_ctx c = {i, 0, out};
  memset(out, 0, sizeof *out);
  vcmi_heap_each_heap(info_visit, &c);
  return out->heaps != 0;
}

typedef struct {
  size_t live, live_bytes, cached, cached_bytes;
} large_sum;
static void info_block(void *ctx, const void *p, size_t used, size_t cap, int cached) {
  large_sum *l = ctx;
  (void)p, (void)used;
  if (cached)
    l->cached++, l->cached_bytes += cap;
  else
    l->live++, l->live_bytes += cap;
}
void vcmi_info_large(size_t *live, size_t *live_bytes, size_t *cached, size_t *cached_bytes) {
  large_sum l = {0, 0, 0, 0};
  vcmi_large_each(info_block, &l);
  *live = l.live, *live_bytes = l.live_bytes, *cached = l.cached, *cached_bytes = l.cached_bytes;
}

typedef struct {
  const char *why;
  int bad;
} check_ctx;

static void check_region(void *ctx, vcm_region *r) {
  check_ctx *c = ctx;
  const char *why = NULL;
  if (!c->bad && vcm_region_check(r, &why) != 0) {
    c->bad = 1;
    c->why = why;
  }
}

int vcm_check(const char **why) {
  check_ctx c = {NULL, 0};
  vcmi_heap_each_quiet_region(check_region, &c); /* another thread's heap changes unlocked */
  if (c.bad && why) *why = c.why;
  return c.bad ? -1 : 0;
}


static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

static void print_heap(void *ctx, vcmi_heap *h) {
  heap_sum hs;
  sum_heap(h, &hs);
  vcmi_put(ctx, "  thread heap %p: %zu regions, %zu live chunks, %zu B capacity%s\n", (void *)h,
      hs.regions, hs.chunks, hs.capacity, h->segs ? "" : " (spare)");
}

void vcm_stats_print(int fd, int json) {
  vcm_stats s;
  vcmi_out o;
  vcmi_out_init(&o, fd);
  vcm_stats_get(&s);
  if (json) {
    vcmi_put(&o, "{\"heaps\":%zu,\"regions\":%zu,\"small\":{\"live_chunks\":%zu,\"capacity\":%zu,"
            "\"used\":%zu,\"peak_capacity\":%zu,\"classes\":[",
        s.heaps, s.regions, s.small_live_chunks, s.small_live_capacity, s.small_live_used,
        s.small_peak_capacity);
    for (size_t i = 0; i < VCM_MAX_CLASSES && s.class_size[i]; i++)
      vcmi_put(&o, "%s{\"size\":%zu,\"live\":%zu,\"used\":%zu,\"peak\":%zu}", i ? "," : "",
          s.class_size[i], s.class_live[i], s.class_used[i], s.class_peak[i]);
    vcmi_put(&o, "]},\"realloc\":{\"in_place\":%zu,\"moved\":%zu,\"bytes_copied\":%zu},"
            "\"large\":{\"live\":%zu,\"capacity\":%zu,\"used\":%zu,\"cached\":%zu},"
            "\"os\":{\"reserved\":%zu,\"purged\":%zu,\"remapped\":%zu,\"failed\":%zu,"
            "\"resident\":%zu}}\n",
        s.realloc_inplace, s.realloc_moved, s.bytes_copied, s.large_live, s.large_capacity,
        s.large_used, s.large_cached, s.os_reserved, s.os_purged, s.os_remapped, s.os_failed,
        s.os_resident);
    vcmi_flush(&o);
    return;
  }
  vcmi_put(&o, "vcm stats: %zu thread heaps, %zu regions\n", s.heaps, s.regions);
  vcmi_put(&o, "  small: %zu live chunks, %zu B used of %zu B capacity (%.1f%%), peak %zu B\n",
      s.small_live_chunks, s.small_live_used, s.small_live_capacity,
      pct(s.small_live_used, s.small_live_capacity), s.small_peak_capacity);
  vcmi_put(&o, "  %10s %10s %14s %14s %12s\n", "class", "live", "used B", "capacity B", "peak");
  for (size_t i = 0; i < VCM_MAX_CLASSES && s.class_size[i]; i++)
    if (s.class_peak[i])
      vcmi_put(&o, "  %10zu %10zu %14zu %14zu %12zu\n", s.class_size[i], s.class_live[i],
          s.class_used[i], s.class_live[i] * s.class_size[i], s.class_peak[i]);
  vcmi_put(&o, "  realloc: %zu in place, %zu moved (%.1f%% in place), %zu B copied\n",
      s.realloc_inplace, s.realloc_moved, pct(s.realloc_inplace, s.realloc_inplace + s.realloc_moved),
      s.bytes_copied);
  vcmi_put(&o, "  large: %zu live, %zu B used of %zu B capacity, %zu B cached\n", s.large_live,
      s.large_used, s.large_capacity, s.large_cached);
  vcmi_put(&o, "  os: %zu B reserved, %zu B resident, %zu B purged, %zu B remapped (not copied), "
          "%zu failed calls\n",
      s.os_reserved, s.os_resident, s.os_purged, s.os_remapped, s.os_failed);
  vcmi_flush(&o);
  vcmi_heap_each_heap(print_heap, &o);
  vcmi_flush(&o);
}
