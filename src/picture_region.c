/* A picture of a region, as SVG (vcm_region_svg), and the drawing it shares with the heap
 * picture (picture.h). Each channel is a row; each chunk a cell as wide as its capacity (every
 * class block of a row is the same number of bytes: one max-size chunk), shaded by
 * used/capacity. Classes whose cells would be narrower than ~2 px, or rows standing for several
 * channels, become one bar per row and class: live | free | never used, in proportion to the
 * counts. Needs only the region (region.h) and the fd writer (out.h).
 *
 * Elements carry class attributes a reader can count: class="live lN" (N = tenths used),
 * class="free" (freed, reusable), class="never" (never handed out); a bar that stands for
 * several chunks carries data-n="count". */
#include <stdio.h>
#include <string.h>

#include "picture.h"

#define WIN 32u /* rows counted per walk of a region */

int vcmi_pic_room(vcmi_out *o) {
  if (o->total + o->n < OUT_LIMIT) return 1;
  o->clipped = 1;
  return 0;
}

/* ---- numbers as text ---- */

vcmi_pic_txt vcmi_pic_bytes(vcmi_ull v) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  vcmi_pic_txt t;
  unsigned i = 0;
  vcmi_ull d = 1;
  while (i < 4 && v >= d * 1024u) {
    d *= 1024u;
    i++;
  }
  if (v % d == 0)
    snprintf(t.s, sizeof t.s, "%llu %s", v / d, unit[i]);
  else
    snprintf(t.s, sizeof t.s, "%llu.%llu %s", v / d, (v % d) * 10u / d, unit[i]);
  return t;
}

vcmi_pic_txt vcmi_pic_pct(vcmi_ull a, vcmi_ull b) {
  vcmi_pic_txt t;
  vcmi_ull p = b ? a * 1000u / b : 0;
  snprintf(t.s, sizeof t.s, "%llu.%llu%%", p / 10u, p % 10u);
  return t;
}

/* Fixed point with three decimals (pattern widths). */
static vcmi_pic_txt milli_txt(vcmi_ull num, vcmi_ull den) {
  vcmi_pic_txt t;
  vcmi_ull m = num * 1000u / den;
  snprintf(t.s, sizeof t.s, "%llu.%03llu", m / 1000u, m % 1000u);
  return t;
}

unsigned vcmi_pic_shade(vcmi_ull used, vcmi_ull cap) {
  if (!cap) return 0;
  vcmi_ull s = used * 10u / cap;
  return s > 9 ? 9u : (unsigned)s;
}

static const char *const style =
    "<style>\n"
    "text{font-family:DejaVu Sans,Verdana,sans-serif;font-size:120px;fill:#222}\n"
    ".h1{font-size:190px;font-weight:bold}\n"
    ".h2{font-size:150px;font-weight:bold}\n"
    ".sub{fill:#444}\n"
    ".col{font-size:100px;fill:#333;text-anchor:middle}\n"
    ".cola{font-size:100px;fill:#888;text-anchor:middle;font-style:italic}\n"
    ".row{font-size:110px;fill:#444;text-anchor:end}\n"
    ".sum{font-size:100px;fill:#555}\n"
    ".note{font-size:105px;fill:#777;font-style:italic}\n"
    ".live,.large,.key{stroke:#fff;stroke-width:4}\n"
    ".l0{fill:#d6e6f5}.l1{fill:#bdd7ee}.l2{fill:#a1c7e4}.l3{fill:#82b3da}.l4{fill:#629dcd}\n"
    ".l5{fill:#4887c0}.l6{fill:#326fae}.l7{fill:#215996}.l8{fill:#16447c}.l9{fill:#0b2f5e}\n"
    ".free,.cached,.kfree{fill:url(#hatch);stroke:#d9480f;stroke-width:6}\n"
    ".never,.knever{fill:#f1f1f1}\n"
    ".frame{fill:none;stroke:#c8c8c8;stroke-width:5}\n"
    "</style>\n";

void vcmi_pic_open(vcmi_out *o, long height) {
  vcmi_put(o,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%ld\" height=\"%ld\" "
      "viewBox=\"0 0 %ld %ld\">\n",
      PAGE_W / 10, (height + 9) / 10, PAGE_W, height);
  vcmi_put(o, "%s", style);
  /* Free chunks: orange stripes on white, visible even on 2 px cells. */
  vcmi_put(o, "<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"50\" height=\"50\" "
         "patternTransform=\"rotate(45)\"><rect width=\"50\" height=\"50\" fill=\"#fff4e6\"/>"
         "<rect width=\"22\" height=\"50\" fill=\"#f76707\"/></pattern></defs>\n");
  vcmi_put(o, "<rect width=\"%ld\" height=\"%ld\" fill=\"#fff\"/>\n", PAGE_W, height);
}

/* ---- one region's layout ---- */

static void count_cb(void *ctx, const void *p, size_t cap, size_t used, int live) {
  vcmi_pic_lay *l = ctx;
  (void)p;
  (void)used;
  if (!cap) return;
  unsigned k = l->lmax - vcmi_log2(cap);
  if (k < l->K) l->handed[k]++;
  if (!live) l->freed++;
}

static long block_x(const vcmi_pic_lay *l, unsigned k) { return DATA_X + (long)k * (l->bw + GAP); }

void vcmi_pic_plan(vcmi_pic_lay *l, vcm_region *r, const vcm_region_stats *st, size_t row_cap,
                 size_t show_all, size_t *cells, int big_rows) {
  memset(l, 0, sizeof *l);
  l->r = r;
  l->compact = -1;
  l->K = (unsigned)st->n_classes;
  l->nch = st->n_channels;
  if (!l->K || !l->nch) return;
  l->lmax = vcmi_log2(st->class_size[l->K - 1]);
  l->split = vcmi_region_of(r)->slot != NULL;
  vcm_region_visit(r, count_cb, l);
  size_t touched = 0;
  for (unsigned k = 0; k < l->K; k++) {
    size_t per = (size_t)1 << k, t = (l->handed[k] + per - 1) / per;
    if (t > touched) touched = t;
  }
  if (touched > l->nch) touched = l->nch;
  l->shown = l->nch <= show_all ? l->nch : (touched ? touched : 1);
  l->bucket = (l->shown + row_cap - 1) / row_cap;
  l->rows = (l->shown + l->bucket - 1) / l->bucket;
  l->bw = (DATA_W - (long)(l->K - 1) * GAP) / (long)l->K;
  l->rh = 160;
  l->pitch = 200;
  if (big_rows && l->rows <= 8) {
    l->rh = 380;
    l->pitch = 460;
  } else if (big_rows && l->rows <= 24) {
    l->rh = 220;
    l->pitch = 270;
  }
  if (l->bucket == 1)
    for (unsigned k = 0; k < l->K; k++) {
      size_t n = l->rows << k;
      if ((l->bw >> k) < MIN_CELL || n > *cells) break;
      *cells -= n;
      l->mask |= 1u << k;
    }
}

long vcmi_pic_rows_height(const vcmi_pic_lay *l) {
  if (!l->K || !l->nch) return NOTE_H;
  return COLHEAD_H + (long)l->rows * l->pitch + (l->shown < l->nch ? NOTE_H : 40);
}

/* ---- one region's rows ---- */

typedef struct {
  uint32_t live, freed;
  vcmi_ull used;
} acc_t;

typedef struct {
  vcmi_out *o;
  const vcmi_pic_lay *l;
  int draw;           /* 0: count into acc; 1: draw the chunk-by-chunk cells */
  size_t row0, nrows; /* the window of rows */
  long y;             /* top of row 0 */
  acc_t acc[WIN][VCM_MAX_CLASSES];
} win_t;

static long row_y(const win_t *w, size_t row) { return w->y + (long)row * w->l->pitch; }

static void win_cb(void *ctx, const void *p, size_t cap, size_t used, int live) {
  win_t *w = ctx;
  const vcmi_pic_lay *l = w->l;
  if (!cap) return;
  unsigned k = l->lmax - vcmi_log2(cap);
  if (k >= l->K) return;
  long ch = vcm_region_channel_of(l->r, p);
  if (ch < 0 || (size_t)ch >= l->shown) return;
  size_t row = (size_t)ch / l->bucket;
  if (row < w->row0 || row >= w->row0 + w->nrows) return;
  if (!w->draw) {
    acc_t *a = &w->acc[row - w->row0][k];
    if (live) {
      a->live++;
      a->used += used;
    } else {
      a->freed++;
    }
    return;
  }
  if (!(l->mask >> k & 1u) || !vcmi_pic_room(w->o)) return;
  /* Block b of the data is class area b / n_channels of channel b % n_channels (both
   * layouts): the cell's column is its area, its place and width its bytes in the block. */
  const vcmi_region *r = vcmi_region_of(l->r);
  size_t off = (size_t)((const unsigned char *)p - r->data), blk = vcmi_class_cap(r, 0);
  size_t in = off % blk;
  unsigned area = (unsigned)(off / blk / l->nch);
  long x0 = block_x(l, area) + (long)((vcmi_ull)in * (vcmi_ull)l->bw / blk);
  long x1 = block_x(l, area) + (long)((vcmi_ull)(in + cap) * (vcmi_ull)l->bw / blk);
  if (live)
    vcmi_put(w->o, "<rect class=\"live l%u\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n",
        vcmi_pic_shade(used, cap), x0, row_y(w, row), x1 - x0, l->rh);
  else
    vcmi_put(w->o, "<rect class=\"free\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n", x0,
        row_y(w, row), x1 - x0, l->rh);
}

/* One bar for many chunks: live | free | never, widths in proportion to the counts. */
static void bar(vcmi_out *o, const vcmi_pic_lay *l, unsigned k, size_t row, long y, const acc_t *a,
                size_t total) {
  size_t cap = (size_t)1 << (l->lmax - k);
  size_t never = total - (a->live + a->freed <= total ? a->live + a->freed : total);
  long x = block_x(l, k);
  long wl = (long)((vcmi_ull)a->live * (vcmi_ull)l->bw / total);
  long wf = (long)((vcmi_ull)a->freed * (vcmi_ull)l->bw / total);
  if (a->live && !wl) wl = 4; /* something live is always visible */
  if (wl > l->bw) wl = l->bw;   /* (counts that moved under a concurrent walk) */
  if (a->freed && !wf) wf = 4;
  if (wl + wf > l->bw) wf = l->bw - wl;
  size_t c0 = row * l->bucket, c1 = c0 + l->bucket - 1;
  if (c1 >= l->shown) c1 = l->shown - 1;
  vcmi_put(o, "<g><title>%s chunks, ch %zu", vcmi_pic_bytes(cap).s, c0);
  if (c1 > c0) vcmi_put(o, "-%zu", c1);
  vcmi_put(o, ": %u live (%s used), %u free, %zu never used</title>\n", a->live,
      vcmi_pic_pct(a->used, (vcmi_ull)a->live * cap).s, a->freed, never);
  if (a->live)
    vcmi_put(o, "<rect class=\"live l%u\" data-n=\"%u\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n",
        vcmi_pic_shade(a->used, (vcmi_ull)a->live * cap), a->live, x, y, wl, l->rh);
  if (a->freed)
    vcmi_put(o, "<rect class=\"free\" data-n=\"%u\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n",
        a->freed, x + wl, y, wf, l->rh);
  if (never)
    vcmi_put(o, "<rect class=\"never\" data-n=\"%zu\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n",
        never, x + wl + wf, y, l->bw - wl - wf, l->rh);
  vcmi_put(o, "</g>\n");
}

/* Draw a planned region's column heads, rows and never-used note from y down. sid makes the
 * section's pattern ids unique. Returns the height used (rows_height). */
long vcmi_pic_rows(vcmi_out *o, const vcmi_pic_lay *l, long y, unsigned sid, int heads) {
  if (!l->K || !l->nch) {
    vcmi_put(o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">(no channels)</text>\n", DATA_X, y + 110);
    return NOTE_H;
  }
  if (heads) {
  /* Column heads; aggregated classes in grey italics. A grid pattern per chunk-by-chunk class
   * shows its never-used cells (faint, with separators). */
  vcmi_put(o, "<defs>");
  for (unsigned k = 0; k < l->K; k++)
    if (l->mask >> k & 1u)
      vcmi_put(o, "<pattern id=\"s%uk%u\" patternUnits=\"userSpaceOnUse\" x=\"%ld\" y=\"0\" "
             "width=\"%s\" height=\"100\"><rect width=\"100%%\" height=\"100\" fill=\"#f1f1f1\"/>"
             "<rect width=\"%d\" height=\"100\" fill=\"#%s\"/></pattern>",
          sid, k, block_x(l, k), milli_txt((vcmi_ull)l->bw, (vcmi_ull)1 << k).s,
          (l->bw >> k) >= 100 ? 10 : (l->bw >> k) >= 40 ? 6 : 4,
          (l->bw >> k) >= 40 ? "c4c4c4" : "d6d6d6");
  vcmi_put(o, "</defs>\n");
  for (unsigned k = 0; k < l->K; k++) {
    size_t cap = (size_t)1 << (l->lmax - k);
    vcmi_put(o, "<text class=\"%s\" x=\"%ld\" y=\"%ld\">%s", l->mask >> k & 1u ? "col" : "cola",
        block_x(l, k) + l->bw / 2, y + 110, vcmi_pic_bytes(cap).s);
    if (!(l->mask >> k & 1u) && l->bw >= 600) vcmi_put(o, " \xc3\x97%zu", l->bucket << k);
    vcmi_put(o, "</text>\n");
  }
  vcmi_put(o, "<text class=\"sum\" x=\"%ld\" y=\"%ld\">live \xc2\xb7 used of capacity</text>\n",
      DATA_X + DATA_W + 80, y + 110);
  y += COLHEAD_H;
  }

  win_t w;
  memset(&w, 0, sizeof w);
  w.o = o;
  w.l = l;
  w.y = y;
  for (size_t row0 = 0; row0 < l->rows; row0 += WIN) {
    w.row0 = row0;
    w.nrows = l->rows - row0 < WIN ? l->rows - row0 : WIN;
    w.draw = 0;
    memset(w.acc, 0, sizeof w.acc);
    vcm_region_visit(l->r, win_cb, &w);
    for (size_t i = 0; i < w.nrows; i++) {
      size_t row = row0 + i, c0 = row * l->bucket, c1 = c0 + l->bucket - 1;
      if (c1 >= l->shown) c1 = l->shown - 1;
      long ry = row_y(&w, row);
      if (!vcmi_pic_room(o)) break;
      if (l->compact >= 0)
        vcmi_put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">region %ld</text>\n", LABEL_W - 60,
            ry + l->rh / 2 + 40, l->compact);
      else if (c1 > c0)
        vcmi_put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">ch %zu-%zu</text>\n", LABEL_W - 60,
            ry + l->rh / 2 + 40, c0, c1);
      else
        vcmi_put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">ch %zu</text>\n", LABEL_W - 60,
            ry + l->rh / 2 + 40, c0);
      vcmi_ull live = 0, used = 0, cap = 0;
      for (unsigned k = 0; k < l->K; k++) {
        const acc_t *a = &w.acc[i][k];
        size_t per = (size_t)1 << k, total = per * (c1 - c0 + 1);
        if (l->split) total = a->live + a->freed; /* split/merge map: every chunk exists */
        live += a->live;
        used += a->used;
        cap += (vcmi_ull)a->live << (l->lmax - k);
        if (l->mask >> k & 1u) {
          size_t never = total - (a->live + a->freed <= total ? a->live + a->freed : total);
          vcmi_put(o, "<rect class=\"never\" data-n=\"%zu\" x=\"%ld\" y=\"%ld\" width=\"%ld\" "
                 "height=\"%ld\" style=\"fill:url(#s%uk%u)\"/>\n",
              never, block_x(l, k), ry, l->bw, l->rh, sid, k);
        } else if (total) {
          bar(o, l, k, row, ry, a, total);
        }
      }
      if (live)
        vcmi_put(o, "<text class=\"sum\" x=\"%ld\" y=\"%ld\">%llu \xc2\xb7 %s of %s</text>\n",
            DATA_X + DATA_W + 80, ry + l->rh / 2 + 40, live, vcmi_pic_pct(used, cap).s,
            vcmi_pic_bytes(cap).s);
      else
        vcmi_put(o, "<text class=\"sum\" x=\"%ld\" y=\"%ld\">0</text>\n", DATA_X + DATA_W + 80,
            ry + l->rh / 2 + 40);
    }
    if (l->mask) {
      w.draw = 1;
        vcm_region_visit(l->r, win_cb, &w);
    }
  }
  y += (long)l->rows * l->pitch;
  if (heads && l->shown < l->nch) {
    if (l->nch - l->shown == 1)
      vcmi_put(o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">ch %zu: never used</text>\n", DATA_X,
          y + 110, l->shown);
    else
      vcmi_put(o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">ch %zu-%zu: never used (%zu channels)</text>\n",
          DATA_X, y + 110, l->shown, l->nch - 1, l->nch - l->shown);
  }
  return vcmi_pic_rows_height(l);
}

/* ---- legend ---- */

void vcmi_pic_legend(vcmi_out *o, long y, int large, int agg) {
  long x = DATA_X;
  vcmi_put(o, "<g>\n<text class=\"h2\" x=\"%ld\" y=\"%ld\">Legend</text>\n", 200L, y + 150);
  y += 250;
  vcmi_put(o, "<text x=\"%ld\" y=\"%ld\">live chunk, shaded by used / capacity:</text>\n", x, y + 110);
  for (unsigned i = 0; i < 10; i++)
    vcmi_put(o, "<rect class=\"key l%u\" x=\"%ld\" y=\"%ld\" width=\"400\" height=\"160\"/>\n", i,
        x + 3000 + (long)i * 400, y);
  vcmi_put(o, "<text class=\"col\" x=\"%ld\" y=\"%ld\">0%%</text><text class=\"col\" x=\"%ld\" "
         "y=\"%ld\">50%%</text><text class=\"col\" x=\"%ld\" y=\"%ld\">100%%</text>\n",
      x + 3000, y + 280, x + 5000, y + 280, x + 7000, y + 280);
  vcmi_put(o, "<rect class=\"kfree\" x=\"%ld\" y=\"%ld\" width=\"400\" height=\"160\"/>"
         "<text x=\"%ld\" y=\"%ld\">free (freed, reusable)</text>\n",
      x + 7600, y, x + 8080, y + 125);
  vcmi_put(o, "<rect class=\"knever\" x=\"%ld\" y=\"%ld\" width=\"400\" height=\"160\"/>"
         "<text x=\"%ld\" y=\"%ld\">never handed out</text>\n",
      x + 10200, y, x + 10680, y + 125);
  y += 380;
  vcmi_put(o, "<text class=\"sub\" x=\"%ld\" y=\"%ld\">Each row is a channel, each column one block "
         "(class area): cut into one chunk of its class, two of half that, \xe2\x80\xa6 in a "
         "segment, split and merged as needed in a caller region; a cell lies where its chunk "
         "does, as wide as its capacity.</text>\n",
      x, y);
  if (agg)
    vcmi_put(o, "<text class=\"sub\" x=\"%ld\" y=\"%ld\">Grey italic columns are too fine to draw "
           "chunk by chunk: one bar per row, live | free | never used, in proportion to the "
           "counts (hover for numbers).</text>\n",
        x, y + 170);
  if (large)
    vcmi_put(o, "<text class=\"sub\" x=\"%ld\" y=\"%ld\">Large blocks: width in proportion to "
           "capacity, shaded by used / capacity; hatched = freed, kept mapped for reuse.</text>\n",
        x, y + 340);
  vcmi_put(o, "</g>\n");
}

/* ---- a caller region ---- */

int vcm_region_svg(vcm_region *r, int fd) {
  vcmi_out o;
  vcmi_out_init(&o, fd);
  vcm_region_stats st;
  vcm_region_stats_get(r, &st);
  vcmi_pic_lay l;
  size_t cells = CELL_BUDGET;
  vcmi_pic_plan(&l, r, &st, 64, 32, &cells, 1);
  long h = TITLE_H + vcmi_pic_rows_height(&l) + LEGEND_H - 170;
  vcmi_pic_open(&o, h);
  size_t smin = st.n_classes ? st.class_size[0] : 0;
  size_t smax = st.n_classes ? st.class_size[st.n_classes - 1] : 0;
  vcmi_ull handed = 0, total = 0;
  for (unsigned k = 0; k < l.K; k++) handed += l.handed[k];
  for (size_t i = 0; i < st.n_classes; i++) total += st.class_total[i];
  vcmi_put(&o, "<text class=\"h1\" x=\"200\" y=\"260\">vcm region: %zu channel%s \xc3\x97 %zu class%s "
          "(%s \xe2\x80\xa6 %s)</text>\n",
      st.n_channels, st.n_channels == 1 ? "" : "s", st.n_classes, st.n_classes == 1 ? "" : "es",
      vcmi_pic_bytes(smin).s, vcmi_pic_bytes(smax).s);
  vcmi_put(&o, "<text class=\"sub\" x=\"200\" y=\"460\">chunks: %zu live, %zu free, %llu never "
          "used \xc2\xb7 used %s of %s live capacity (%s) \xc2\xb7 peak %s",
      st.live_chunks, l.freed, total - handed, vcmi_pic_bytes(st.live_used).s,
      vcmi_pic_bytes(st.live_capacity).s, vcmi_pic_pct(st.live_used, st.live_capacity).s,
      vcmi_pic_bytes(st.peak_capacity).s);
  vcmi_put(&o, " \xc2\xb7 failed %zu</text>\n", st.failed);
  vcmi_put(&o, "<text class=\"sub\" x=\"200\" y=\"640\">%s data + %s map \xc2\xb7 reallocs: %zu in "
          "place, %zu moved, %s copied</text>\n",
      vcmi_pic_bytes(st.data_bytes).s, vcmi_pic_bytes(st.map_bytes).s, st.realloc_inplace,
      st.realloc_moved, vcmi_pic_bytes(st.bytes_copied).s);
  long y = TITLE_H;
  y += vcmi_pic_rows(&o, &l, y, 0, 1);
  vcmi_pic_legend(&o, y, 0, l.mask != (1u << l.K) - 1u);
  if (o.clipped)
    vcmi_put(&o, "<text class=\"note\" x=\"200\" y=\"%ld\">(picture cut at %zu KiB)</text>\n",
        h - 40, OUT_LIMIT >> 10);
  vcmi_put(&o, "</svg>\n");
  vcmi_flush(&o);
  return o.err ? -1 : 0;
}

