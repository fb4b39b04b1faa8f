/* A picture of the process heap, as SVG (vcm_svg): every thread heap's regions drawn as in the
 * region picture (picture_region.c; many regions become one row each), then the large blocks
 * (class="large lN", and class="cached" for freed blocks kept for reuse), and VCM_SVG at exit.
 * Never allocates (it may run inside the allocator at exit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "large.h"
#include "os.h"
#include "picture.h"

/* ---- the process heap ---- */

#define REG_CAP 32u      /* regions drawn channel by channel */
#define ROW_BUDGET 200u  /* their rows, all together */
#define COMPACT_CAP 120u /* further regions drawn as one row each */
#define LARGE_TOP 24u   /* large blocks drawn one per row (the biggest); the rest in one row */
#define REGHEAD_H 420L
#define LROW 200L       /* pitch of a large-block row */

typedef struct {
  const void *p;
  size_t used, cap;
  int cached;
} lblock;

typedef struct {
  vcmi_pic_lay lay[REG_CAP];
  long y[REG_CAP];
  unsigned heap_no[REG_CAP];
  const void *owners[REG_CAP];
  unsigned n_owners;
  size_t n, skipped, rows, cells, freed;
  size_t n_compact, compact_drawn; /* regions drawn as one row each */
  long compact_y;
  /* large blocks: the biggest LARGE_TOP by capacity, and the totals of the others */
  lblock top[LARGE_TOP];
  size_t n_top, rest_live, rest_cached;
  vcmi_ull rest_used, rest_cap, rest_cached_cap;
} proc_t;

static void plan_region(void *ctx, vcm_region *r) {
  proc_t *P = ctx;
  vcm_region_stats st;
  vcm_region_stats_get(r, &st);
  vcmi_pic_lay l;
  size_t cells = P->cells;
  vcmi_pic_plan(&l, r, &st, 32, 0, &cells, 0);
  P->freed += l.freed;
  if (P->n >= REG_CAP || P->rows + l.rows > ROW_BUDGET) {
    if (P->n_compact < COMPACT_CAP)
      P->n_compact++;
    else
      P->skipped++;
    return;
  }
  P->cells = cells;
  P->rows += l.rows;
  const void *owner = vcmi_region_of(r)->owner;
  unsigned h = 0;
  while (h < P->n_owners && P->owners[h] != owner) h++;
  if (h == P->n_owners && h < REG_CAP) P->owners[P->n_owners++] = owner;
  P->heap_no[P->n] = h;
  P->lay[P->n++] = l;
}

static void rest_add(proc_t *P, const lblock *b) {
  if (b->cached) {
    P->rest_cached++;
    P->rest_cached_cap += b->cap;
  } else {
    P->rest_live++;
    P->rest_used += b->used;
    P->rest_cap += b->cap;
  }
}

/* Keep the LARGE_TOP biggest blocks, sorted by capacity (live first among equals). */
static void large_cb(void *ctx, const void *p, size_t used, size_t cap, int cached) {
  proc_t *P = ctx;
  lblock b = {p, used, cap, cached != 0};
  size_t i = P->n_top;
  if (i == LARGE_TOP) {
    const lblock *last = &P->top[LARGE_TOP - 1u];
    if (last->cap > cap || (last->cap == cap && (cached || !last->cached))) {
      rest_add(P, &b);
      return;
    }
    rest_add(P, last);
    i--;
  } else {
    P->n_top++;
  }
  while (i > 0 && (P->top[i - 1].cap < cap || (P->top[i - 1].cap == cap && P->top[i - 1].cached &&
                                               !cached))) {
    P->top[i] = P->top[i - 1];
    i--;
  }
  P->top[i] = b;
}

/* One row per block: width in proportion to capacity (the biggest fills the row), shaded by
 * used / capacity; cached blocks hatched. */
static long draw_large(vcmi_out *o, const proc_t *P, long y) {
  vcmi_ull unit = P->n_top ? P->top[0].cap / (vcmi_ull)DATA_W + 1u : 1u;
  for (size_t i = 0; i < P->n_top && vcmi_pic_room(o); i++) {
    const lblock *b = &P->top[i];
    long w = (long)(b->cap / unit);
    if (w < 30) w = 30;
    vcmi_put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">%s</text>\n", LABEL_W - 60, y + 120,
        vcmi_pic_bytes(b->cap).s);
    if (b->cached)
      vcmi_put(o, "<rect class=\"cached\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"160\"/>"
             "<text class=\"sum\" x=\"%ld\" y=\"%ld\">cached for reuse</text>\n",
          DATA_X, y, w, DATA_X + DATA_W + 80, y + 120);
    else
      vcmi_put(o, "<rect class=\"large l%u\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"160\">"
             "<title>%p: %s used of %s</title></rect>"
             "<text class=\"sum\" x=\"%ld\" y=\"%ld\">%s used</text>\n",
          vcmi_pic_shade(b->used, b->cap), DATA_X, y, w, b->p, vcmi_pic_bytes(b->used).s, vcmi_pic_bytes(b->cap).s,
          DATA_X + DATA_W + 80, y + 120, vcmi_pic_pct(b->used, b->cap).s);
    y += LROW;
  }
  if (P->rest_live || P->rest_cached) {
    vcmi_ull tot = P->rest_cap + P->rest_cached_cap;
    long wl = (long)(P->rest_cap * (vcmi_ull)DATA_W / tot);
    vcmi_put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">the rest</text>\n", LABEL_W - 60, y + 120);
    if (P->rest_live)
      vcmi_put(o, "<rect class=\"large l%u\" data-n=\"%zu\" x=\"%ld\" y=\"%ld\" width=\"%ld\" "
             "height=\"160\"/>\n",
          vcmi_pic_shade(P->rest_used, P->rest_cap), P->rest_live, DATA_X, y, wl);
    if (P->rest_cached)
      vcmi_put(o, "<rect class=\"cached\" data-n=\"%zu\" x=\"%ld\" y=\"%ld\" width=\"%ld\" "
             "height=\"160\"/>\n",
          P->rest_cached, DATA_X + wl, y, DATA_W - wl);
    vcmi_put(o, "<text class=\"sum\" x=\"%ld\" y=\"%ld\">%zu live, %zu cached (%s)</text>\n",
        DATA_X + DATA_W + 80, y + 120, P->rest_live, P->rest_cached, vcmi_pic_bytes(tot).s);
    y += LROW;
  }
  return y;
}

static void draw_region(void *ctx, vcm_region *r) {
  void **c = ctx;
  proc_t *P = c[0];
  vcmi_out *o = c[1];
  unsigned i = 0;
  while (i < P->n && P->lay[i].r != r) i++;
  if (i == P->n) { /* one row for the whole region, if planned (and not new since the plan) */
    if (P->compact_drawn >= P->n_compact) return;
    vcm_region_stats st;
    vcm_region_stats_get(r, &st);
    vcmi_pic_lay l;
    size_t no_cells = 0;
    vcmi_pic_plan(&l, r, &st, 1, (size_t)-1, &no_cells, 0);
    l.compact = (long)(P->n + P->compact_drawn);
    long y = P->compact_y + (P->compact_drawn ? COLHEAD_H + (long)P->compact_drawn * l.pitch : 0);
    vcmi_pic_rows(o, &l, y, 0, P->compact_drawn == 0);
    P->compact_drawn++;
    return;
  }
  const vcmi_pic_lay *l = &P->lay[i];
  vcm_region_stats st;
  vcm_region_stats_get(r, &st);
  long y = P->y[i];
  vcmi_put(o, "<text class=\"h2\" x=\"200\" y=\"%ld\">region %u at %p \xc2\xb7 thread heap %u</text>\n",
      y + 200, i, (void *)r, P->heap_no[i]);
  vcmi_put(o, "<text class=\"sub\" x=\"200\" y=\"%ld\">%zu channels \xc3\x97 %zu classes \xc2\xb7 "
         "chunks: %zu live, %zu free \xc2\xb7 used %s of %s live capacity (%s)</text>\n",
      y + 370, st.n_channels, st.n_classes, st.live_chunks, l->freed, vcmi_pic_bytes(st.live_used).s,
      vcmi_pic_bytes(st.live_capacity).s, vcmi_pic_pct(st.live_used, st.live_capacity).s);
  vcmi_pic_rows(o, l, y + REGHEAD_H, i + 1, 1);
}

int vcm_svg(int fd) {
  vcmi_out o;
  vcmi_out_init(&o, fd);
  vcm_stats s;
  vcm_stats_get(&s);
  proc_t P;
  memset(&P, 0, sizeof P);
  P.cells = CELL_BUDGET;
  vcmi_heap_each_region(plan_region, &P);
  vcmi_large_each(large_cb, &P);
  long large_rows = (long)P.n_top + (P.rest_live || P.rest_cached);

  long y = TITLE_H;
  for (unsigned i = 0; i < P.n; i++) {
    P.y[i] = y;
    y += REGHEAD_H + vcmi_pic_rows_height(&P.lay[i]);
  }
  if (P.n_compact) {
    P.compact_y = y + 300;
    y += 300 + COLHEAD_H + (long)P.n_compact * 200 + 100;
  }
  long large_y = y;
  y += 300 + (large_rows ? large_rows * LROW + 200 : 150);
  long h = y + LEGEND_H + 200;
  vcmi_pic_open(&o, h);

  vcmi_put(&o, "<text class=\"h1\" x=\"200\" y=\"260\">vcm process heap \xc2\xb7 pid %ld \xc2\xb7 %zu "
          "thread heap%s, %zu region%s, %zu large block%s</text>\n",
      vcmi_os_pid(), s.heaps, s.heaps == 1 ? "" : "s", s.regions, s.regions == 1 ? "" : "s",
      s.large_live, s.large_live == 1 ? "" : "s");
  vcmi_put(&o, "<text class=\"sub\" x=\"200\" y=\"460\">small chunks: %zu live, %zu free \xc2\xb7 used "
          "%s of %s live capacity (%s) \xc2\xb7 peak %s \xc2\xb7 reallocs %zu in place, %zu "
          "moved</text>\n",
      s.small_live_chunks, P.freed, vcmi_pic_bytes(s.small_live_used).s,
      vcmi_pic_bytes(s.small_live_capacity).s, vcmi_pic_pct(s.small_live_used, s.small_live_capacity).s,
      vcmi_pic_bytes(s.small_peak_capacity).s, s.realloc_inplace, s.realloc_moved);
  vcmi_put(&o, "<text class=\"sub\" x=\"200\" y=\"640\">large blocks: %zu live, %s used of %s "
          "(%s), %s cached \xc2\xb7 OS: %s reserved, %s purged, %s remapped</text>\n",
      s.large_live, vcmi_pic_bytes(s.large_used).s, vcmi_pic_bytes(s.large_capacity).s,
      vcmi_pic_pct(s.large_used, s.large_capacity).s, vcmi_pic_bytes(s.large_cached).s,
      vcmi_pic_bytes(s.os_reserved).s, vcmi_pic_bytes(s.os_purged).s, vcmi_pic_bytes(s.os_remapped).s);

  if (P.n_compact > 1)
    vcmi_put(&o, "<text class=\"h2\" x=\"200\" y=\"%ld\">regions %zu-%zu: one row per region (all "
            "its channels summed)</text>\n",
        P.compact_y - 100, P.n, P.n + P.n_compact - 1);
  else if (P.n_compact)
    vcmi_put(&o, "<text class=\"h2\" x=\"200\" y=\"%ld\">region %zu: all its channels summed</text>\n",
        P.compact_y - 100, P.n);
  void *ctx[2] = {&P, &o};
  vcmi_heap_each_region(draw_region, ctx);

  y = large_y;
  vcmi_put(&o, "<text class=\"h2\" x=\"200\" y=\"%ld\">large blocks</text>\n", y + 200);
  y += 300;
  if (large_rows) {
    y = draw_large(&o, &P, y);
    vcmi_put(&o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">one row per block, biggest first; width "
            "in proportion to capacity</text>\n",
        DATA_X, y + 110);
  } else {
    vcmi_put(&o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">none</text>\n", DATA_X, y + 80);
  }
  vcmi_pic_legend(&o, h - LEGEND_H - 200, 1, 1);
  if (P.skipped || o.clipped)
    vcmi_put(&o, "<text class=\"note\" x=\"200\" y=\"%ld\">%zu more regions not drawn (their "
            "chunks are in the totals)%s</text>\n",
        h - 60, P.skipped, o.clipped ? "; picture cut at 1.9 MiB" : "");
  vcmi_put(&o, "</svg>\n");
  vcmi_flush(&o);
  return o.err ? -1 : 0;
}

/* ---- VCM_SVG at exit ---- */

static void say2(const char *a, const char *b) {
  char line[512];
  size_t n = 0;
  for (const char *s = a; *s && n < 300; s++) line[n++] = *s;
  for (const char *s = b; *s && n < sizeof line - 2; s++) line[n++] = *s;
  line[n++] = '\n';
  (void)vcmi_os_write(2, line, n);
}

void vcmi_svg_at_exit(const char *f) {
  char path[4096];
  size_t n = 0;
  for (; *f && n < sizeof path - 24; f++) { /* %p: the pid, %%: a % */
    if (f[0] == '%' && f[1] == 'p') {
      n += (size_t)snprintf(path + n, 24, "%ld", vcmi_os_pid());
      f++;
    } else if (f[0] == '%' && f[1] == '%') {
      path[n++] = '%';
      f++;
    } else {
      path[n++] = *f;
    }
  }
  path[n] = 0;
  int fd = vcmi_os_create(path);
  if (fd < 0) {
    say2("vcm: VCM_SVG: cannot open ", path);
    return;
  }
  if (vcm_svg(fd) != 0) say2("vcm: VCM_SVG: write failed: ", path);
  vcmi_os_close(fd);
}
