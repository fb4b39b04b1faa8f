/* A picture of the heap, as SVG: one caller region (vcm_region_svg) or the whole process heap
 * (vcm_svg). Each channel is a row; each chunk a cell as wide as its capacity (every class
 * block of a row is the same number of bytes: one max-size chunk), shaded by used/capacity.
 * Classes whose cells would be narrower than ~2 px, or rows standing for several channels,
 * become one bar per row and class: live | free | never used, in proportion to the counts.
 *
 * Never allocates (it may run inside the allocator at exit): text is formatted with snprintf
 * into a stack buffer and written with write(2). Integer arithmetic only: coordinates are in
 * tenths of a pixel (the viewBox is 10x the size), so no floating-point formatting either.
 *
 * Elements carry class attributes a reader can count: class="live lN" (N = tenths used),
 * class="free" (freed, reusable), class="never" (never handed out); a bar that stands for
 * several chunks carries data-n="count". Large blocks: class="large lN" and class="cached". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heap.h"
#include "large.h"
#include "picture.h"


typedef unsigned long long ull;

/* ---- output: a stack buffer, flushed with write(2) ---- */

#define OUT_LIMIT ((size_t)1900 << 10) /* past this, cells are left out (tags stay balanced) */

typedef struct {
  int fd, err, clipped;
  size_t total, n;
  char buf[8192];
} out_t;

static void flush(out_t *o) {
  size_t done = 0;
  while (done < o->n && !o->err) {
    ssize_t w = write(o->fd, o->buf + done, o->n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      o->err = 1;
      break;
    }
    done += (size_t)w;
  }
  o->total += o->n;
  o->n = 0;
}

/* Every call writes under 1 KiB (texts are short); a longer one is cut, never overflows. */
__attribute__((format(printf, 2, 3))) static void put(out_t *o, const char *fmt, ...) {
  if (o->n > sizeof o->buf - 1024) flush(o);
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(o->buf + o->n, sizeof o->buf - o->n, fmt, ap);
  va_end(ap);
  if (k > 0) o->n += (size_t)k < sizeof o->buf - o->n ? (size_t)k : sizeof o->buf - o->n - 1;
}

/* Room for more cells? Past OUT_LIMIT the picture is clipped (noted at the bottom). */
static int room(out_t *o) {
  if (o->total + o->n < OUT_LIMIT) return 1;
  o->clipped = 1;
  return 0;
}

/* ---- numbers as text ---- */

typedef struct {
  char s[48];
} txt;

static txt bytes_txt(ull v) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  txt t;
  unsigned i = 0;
  ull d = 1;
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

static txt pct_txt(ull a, ull b) {
  txt t;
  ull p = b ? a * 1000u / b : 0;
  snprintf(t.s, sizeof t.s, "%llu.%llu%%", p / 10u, p % 10u);
  return t;
}

/* Fixed point with three decimals (pattern widths). */
static txt milli_txt(ull num, ull den) {
  txt t;
  ull m = num * 1000u / den;
  snprintf(t.s, sizeof t.s, "%llu.%03llu", m / 1000u, m % 1000u);
  return t;
}

static unsigned shade(ull used, ull cap) {
  if (!cap) return 0;
  ull s = used * 10u / cap;
  return s > 9 ? 9u : (unsigned)s;
}

/* ---- page geometry (tenths of a pixel) ---- */

#define PAGE_W 15000L
#define LABEL_W 1000L  /* row labels */
#define SUM_W 2000L    /* per-row summary at the right */
#define DATA_X LABEL_W
#define DATA_W (PAGE_W - LABEL_W - SUM_W)
#define GAP 40L        /* between class blocks */
#define MIN_CELL 20L   /* a class is drawn chunk by chunk if its cells are >= 2 px */
#define CELL_BUDGET 30000u /* chunk-by-chunk cells in one picture, at most */
#define COLHEAD_H 170L
#define NOTE_H 170L
#define LINE_H 230L
#define WIN 32u        /* rows counted per walk of a region */

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

static void svg_open(out_t *o, long height) {
  put(o,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%ld\" height=\"%ld\" "
      "viewBox=\"0 0 %ld %ld\">\n",
      PAGE_W / 10, (height + 9) / 10, PAGE_W, height);
  put(o, "%s", style);
  /* Free chunks: orange stripes on white, visible even on 2 px cells. */
  put(o, "<defs><pattern id=\"hatch\" patternUnits=\"userSpaceOnUse\" width=\"50\" height=\"50\" "
         "patternTransform=\"rotate(45)\"><rect width=\"50\" height=\"50\" fill=\"#fff4e6\"/>"
         "<rect width=\"22\" height=\"50\" fill=\"#f76707\"/></pattern></defs>\n");
  put(o, "<rect width=\"%ld\" height=\"%ld\" fill=\"#fff\"/>\n", PAGE_W, height);
}

/* ---- one region's layout ---- */

typedef struct {
  vcm_region *r;
  unsigned K, lmax;          /* classes; log2 of the largest capacity */
  size_t nch;                /* channels in the region */
  size_t shown;              /* channels drawn; the rest (never used) are one line */
  size_t bucket;             /* channels per row */
  size_t rows;
  unsigned mask;             /* bit k: class k (capacity max >> k) drawn chunk by chunk */
  long bw;                   /* width of a class block */
  long rh, pitch;            /* row height and pitch */
  size_t handed[VCM_MAX_CLASSES]; /* chunks handed out so far, by k */
  size_t freed;              /* handed out and not live */
  long compact;              /* >= 0: one row for the whole region, labelled "region N" */
} lay_t;

static void count_cb(void *ctx, const void *p, size_t cap, size_t used, int live) {
  lay_t *l = ctx;
  (void)p;
  (void)used;
  if (!cap) return;
  unsigned k = l->lmax - vcmi_log2(cap);
  if (k < l->K) l->handed[k]++;
  if (!live) l->freed++;
}

static long block_x(const lay_t *l, unsigned k) { return DATA_X + (long)k * (l->bw + GAP); }

/* Plan a region's rows: channels never touched are collapsed (when there are many), at most
 * row_cap rows (consecutive channels share a row beyond that), and classes whose cells are
 * wide enough drawn chunk by chunk while *cells allows. */
static void plan(lay_t *l, vcm_region *r, const vcm_region_stats *st, size_t row_cap,
                 size_t show_all, size_t *cells, int big_rows) {
  memset(l, 0, sizeof *l);
  l->r = r;
  l->compact = -1;
  l->K = (unsigned)st->n_classes;
  l->nch = st->n_channels;
  if (!l->K || !l->nch) return;
  l->lmax = vcmi_log2(st->class_size[l->K - 1]);
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

static long rows_height(const lay_t *l) {
  if (!l->K || !l->nch) return NOTE_H;
  return COLHEAD_H + (long)l->rows * l->pitch + (l->shown < l->nch ? NOTE_H : 40);
}

/* ---- one region's rows ---- */

typedef struct {
  uint32_t live, freed;
  ull used;
} acc_t;

typedef struct {
  out_t *o;
  const lay_t *l;
  int draw;           /* 0: count into acc; 1: draw the chunk-by-chunk cells */
  size_t row0, nrows; /* the window of rows */
  long y;             /* top of row 0 */
  uint32_t seen[VCM_MAX_CLASSES];
  acc_t acc[WIN][VCM_MAX_CLASSES];
} win_t;

static long row_y(const win_t *w, size_t row) { return w->y + (long)row * w->l->pitch; }

static void win_cb(void *ctx, const void *p, size_t cap, size_t used, int live) {
  win_t *w = ctx;
  const lay_t *l = w->l;
  if (!cap) return;
  unsigned k = l->lmax - vcmi_log2(cap);
  if (k >= l->K) return;
  uint32_t g = w->seen[k]++; /* visits are in address order: g is the class-number */
  long ch = vcm_region_channel_of(l->r, p);
  if (ch < 0) ch = (long)(g >> k);
  if ((size_t)ch >= l->shown) return;
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
  if (!(l->mask >> k & 1u) || !room(w->o)) return;
  size_t j = g & (((size_t)1 << k) - 1u); /* position in the channel's slice of class k */
  long x0 = block_x(l, k) + (long)(((ull)j * (ull)l->bw) >> k);
  long x1 = block_x(l, k) + (long)(((ull)(j + 1) * (ull)l->bw) >> k);
  if (live)
    put(w->o, "<rect class=\"live l%u\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n",
        shade(used, cap), x0, row_y(w, row), x1 - x0, l->rh);
  else
    put(w->o, "<rect class=\"free\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n", x0,
        row_y(w, row), x1 - x0, l->rh);
}

/* One bar for many chunks: live | free | never, widths in proportion to the counts. */
static void bar(out_t *o, const lay_t *l, unsigned k, size_t row, long y, const acc_t *a,
                size_t total) {
  size_t cap = (size_t)1 << (l->lmax - k);
  size_t never = total - (a->live + a->freed <= total ? a->live + a->freed : total);
  long x = block_x(l, k);
  long wl = (long)((ull)a->live * (ull)l->bw / total);
  long wf = (long)((ull)a->freed * (ull)l->bw / total);
  if (a->live && !wl) wl = 4; /* something live is always visible */
  if (wl > l->bw) wl = l->bw;   /* (counts that moved under a concurrent walk) */
  if (a->freed && !wf) wf = 4;
  if (wl + wf > l->bw) wf = l->bw - wl;
  size_t c0 = row * l->bucket, c1 = c0 + l->bucket - 1;
  if (c1 >= l->shown) c1 = l->shown - 1;
  put(o, "<g><title>%s chunks, ch %zu", bytes_txt(cap).s, c0);
  if (c1 > c0) put(o, "-%zu", c1);
  put(o, ": %u live (%s used), %u free, %zu never used</title>\n", a->live,
      pct_txt(a->used, (ull)a->live * cap).s, a->freed, never);
  if (a->live)
    put(o, "<rect class=\"live l%u\" data-n=\"%u\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n",
        shade(a->used, (ull)a->live * cap), a->live, x, y, wl, l->rh);
  if (a->freed)
    put(o, "<rect class=\"free\" data-n=\"%u\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n",
        a->freed, x + wl, y, wf, l->rh);
  if (never)
    put(o, "<rect class=\"never\" data-n=\"%zu\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"%ld\"/>\n",
        never, x + wl + wf, y, l->bw - wl - wf, l->rh);
  put(o, "</g>\n");
}

/* Draw a planned region's column heads, rows and never-used note from y down. sid makes the
 * section's pattern ids unique. Returns the height used (rows_height). */
static long draw_rows(out_t *o, const lay_t *l, long y, unsigned sid, int heads) {
  if (!l->K || !l->nch) {
    put(o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">(no channels)</text>\n", DATA_X, y + 110);
    return NOTE_H;
  }
  if (heads) {
  /* Column heads; aggregated classes in grey italics. A grid pattern per chunk-by-chunk class
   * shows its never-used cells (faint, with separators). */
  put(o, "<defs>");
  for (unsigned k = 0; k < l->K; k++)
    if (l->mask >> k & 1u)
      put(o, "<pattern id=\"s%uk%u\" patternUnits=\"userSpaceOnUse\" x=\"%ld\" y=\"0\" "
             "width=\"%s\" height=\"100\"><rect width=\"100%%\" height=\"100\" fill=\"#f1f1f1\"/>"
             "<rect width=\"%d\" height=\"100\" fill=\"#%s\"/></pattern>",
          sid, k, block_x(l, k), milli_txt((ull)l->bw, (ull)1 << k).s,
          (l->bw >> k) >= 100 ? 10 : (l->bw >> k) >= 40 ? 6 : 4,
          (l->bw >> k) >= 40 ? "c4c4c4" : "d6d6d6");
  put(o, "</defs>\n");
  for (unsigned k = 0; k < l->K; k++) {
    size_t cap = (size_t)1 << (l->lmax - k);
    put(o, "<text class=\"%s\" x=\"%ld\" y=\"%ld\">%s", l->mask >> k & 1u ? "col" : "cola",
        block_x(l, k) + l->bw / 2, y + 110, bytes_txt(cap).s);
    if (!(l->mask >> k & 1u) && l->bw >= 600) put(o, " \xc3\x97%zu", l->bucket << k);
    put(o, "</text>\n");
  }
  put(o, "<text class=\"sum\" x=\"%ld\" y=\"%ld\">live \xc2\xb7 used of capacity</text>\n",
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
    memset(w.seen, 0, sizeof w.seen);
    memset(w.acc, 0, sizeof w.acc);
    vcm_region_visit(l->r, win_cb, &w);
    for (size_t i = 0; i < w.nrows; i++) {
      size_t row = row0 + i, c0 = row * l->bucket, c1 = c0 + l->bucket - 1;
      if (c1 >= l->shown) c1 = l->shown - 1;
      long ry = row_y(&w, row);
      if (!room(o)) break;
      if (l->compact >= 0)
        put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">region %ld</text>\n", LABEL_W - 60,
            ry + l->rh / 2 + 40, l->compact);
      else if (c1 > c0)
        put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">ch %zu-%zu</text>\n", LABEL_W - 60,
            ry + l->rh / 2 + 40, c0, c1);
      else
        put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">ch %zu</text>\n", LABEL_W - 60,
            ry + l->rh / 2 + 40, c0);
      ull live = 0, used = 0, cap = 0;
      for (unsigned k = 0; k < l->K; k++) {
        const acc_t *a = &w.acc[i][k];
        size_t per = (size_t)1 << k, total = per * (c1 - c0 + 1);
        live += a->live;
        used += a->used;
        cap += (ull)a->live << (l->lmax - k);
        if (l->mask >> k & 1u) {
          size_t never = total - (a->live + a->freed <= total ? a->live + a->freed : total);
          put(o, "<rect class=\"never\" data-n=\"%zu\" x=\"%ld\" y=\"%ld\" width=\"%ld\" "
                 "height=\"%ld\" style=\"fill:url(#s%uk%u)\"/>\n",
              never, block_x(l, k), ry, l->bw, l->rh, sid, k);
        } else {
          bar(o, l, k, row, ry, a, total);
        }
      }
      if (live)
        put(o, "<text class=\"sum\" x=\"%ld\" y=\"%ld\">%llu \xc2\xb7 %s of %s</text>\n",
            DATA_X + DATA_W + 80, ry + l->rh / 2 + 40, live, pct_txt(used, cap).s,
            bytes_txt(cap).s);
      else
        put(o, "<text class=\"sum\" x=\"%ld\" y=\"%ld\">0</text>\n", DATA_X + DATA_W + 80,
            ry + l->rh / 2 + 40);
    }
    if (l->mask) {
      w.draw = 1;
      memset(w.seen, 0, sizeof w.seen);
      vcm_region_visit(l->r, win_cb, &w);
    }
  }
  y += (long)l->rows * l->pitch;
  if (heads && l->shown < l->nch) {
    if (l->nch - l->shown == 1)
      put(o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">ch %zu: never used</text>\n", DATA_X,
          y + 110, l->shown);
    else
      put(o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">ch %zu-%zu: never used (%zu channels)</text>\n",
          DATA_X, y + 110, l->shown, l->nch - 1, l->nch - l->shown);
  }
  return rows_height(l);
}

/* ---- legend ---- */

#define LEGEND_H 1150L

static void legend(out_t *o, long y, int large, int agg) {
  long x = DATA_X;
  put(o, "<g>\n<text class=\"h2\" x=\"%ld\" y=\"%ld\">Legend</text>\n", 200L, y + 150);
  y += 250;
  put(o, "<text x=\"%ld\" y=\"%ld\">live chunk, shaded by used / capacity:</text>\n", x, y + 110);
  for (unsigned i = 0; i < 10; i++)
    put(o, "<rect class=\"key l%u\" x=\"%ld\" y=\"%ld\" width=\"400\" height=\"160\"/>\n", i,
        x + 3000 + (long)i * 400, y);
  put(o, "<text class=\"col\" x=\"%ld\" y=\"%ld\">0%%</text><text class=\"col\" x=\"%ld\" "
         "y=\"%ld\">50%%</text><text class=\"col\" x=\"%ld\" y=\"%ld\">100%%</text>\n",
      x + 3000, y + 280, x + 5000, y + 280, x + 7000, y + 280);
  put(o, "<rect class=\"kfree\" x=\"%ld\" y=\"%ld\" width=\"400\" height=\"160\"/>"
         "<text x=\"%ld\" y=\"%ld\">free (freed, reusable)</text>\n",
      x + 7600, y, x + 8080, y + 125);
  put(o, "<rect class=\"knever\" x=\"%ld\" y=\"%ld\" width=\"400\" height=\"160\"/>"
         "<text x=\"%ld\" y=\"%ld\">never handed out</text>\n",
      x + 10200, y, x + 10680, y + 125);
  y += 380;
  put(o, "<text class=\"sub\" x=\"%ld\" y=\"%ld\">Each row is a channel: one chunk of the largest "
         "class, two of half that, \xe2\x80\xa6; every class block holds the same bytes, so a "
         "cell's width is its capacity.</text>\n",
      x, y);
  if (agg)
    put(o, "<text class=\"sub\" x=\"%ld\" y=\"%ld\">Grey italic columns are too fine to draw "
           "chunk by chunk: one bar per row, live | free | never used, in proportion to the "
           "counts (hover for numbers).</text>\n",
        x, y + 170);
  if (large)
    put(o, "<text class=\"sub\" x=\"%ld\" y=\"%ld\">Large blocks: width in proportion to "
           "capacity, shaded by used / capacity; hatched = freed, kept mapped for reuse.</text>\n",
        x, y + 340);
  put(o, "</g>\n");
}

/* ---- a caller region ---- */

#define TITLE_H 780L

int vcm_region_svg(vcm_region *r, int fd) {
  out_t o;
  o.fd = fd;
  o.err = o.clipped = 0;
  o.total = o.n = 0;
  vcm_region_stats st;
  vcm_region_stats_get(r, &st);
  lay_t l;
  size_t cells = CELL_BUDGET;
  plan(&l, r, &st, 64, 32, &cells, 1);
  long h = TITLE_H + rows_height(&l) + LEGEND_H - 170;
  svg_open(&o, h);
  size_t smin = st.n_classes ? st.class_size[0] : 0;
  size_t smax = st.n_classes ? st.class_size[st.n_classes - 1] : 0;
  ull handed = 0, total = 0;
  for (unsigned k = 0; k < l.K; k++) handed += l.handed[k];
  for (size_t i = 0; i < st.n_classes; i++) total += st.class_total[i];
  put(&o, "<text class=\"h1\" x=\"200\" y=\"260\">vcm region: %zu channel%s \xc3\x97 %zu class%s "
          "(%s \xe2\x80\xa6 %s)</text>\n",
      st.n_channels, st.n_channels == 1 ? "" : "s", st.n_classes, st.n_classes == 1 ? "" : "es",
      bytes_txt(smin).s, bytes_txt(smax).s);
  put(&o, "<text class=\"sub\" x=\"200\" y=\"460\">chunks: %zu live, %zu free, %llu never "
          "used \xc2\xb7 used %s of %s live capacity (%s) \xc2\xb7 peak %s",
      st.live_chunks, l.freed, total - handed, bytes_txt(st.live_used).s,
      bytes_txt(st.live_capacity).s, pct_txt(st.live_used, st.live_capacity).s,
      bytes_txt(st.peak_capacity).s);
  put(&o, " \xc2\xb7 failed %zu</text>\n", st.failed);
  put(&o, "<text class=\"sub\" x=\"200\" y=\"640\">%s data + %s map \xc2\xb7 reallocs: %zu in "
          "place, %zu moved, %s copied</text>\n",
      bytes_txt(st.data_bytes).s, bytes_txt(st.map_bytes).s, st.realloc_inplace,
      st.realloc_moved, bytes_txt(st.bytes_copied).s);
  long y = TITLE_H;
  y += draw_rows(&o, &l, y, 0, 1);
  legend(&o, y, 0, l.mask != (1u << l.K) - 1u);
  if (o.clipped)
    put(&o, "<text class=\"note\" x=\"200\" y=\"%ld\">(picture cut at %zu KiB)</text>\n",
        h - 40, OUT_LIMIT >> 10);
  put(&o, "</svg>\n");
  flush(&o);
  return o.err ? -1 : 0;
}

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
  lay_t lay[REG_CAP];
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
  ull rest_used, rest_cap, rest_cached_cap;
} proc_t;

static void plan_region(void *ctx, vcm_region *r) {
  proc_t *P = ctx;
  vcm_region_stats st;
  vcm_region_stats_get(r, &st);
  lay_t l;
  size_t cells = P->cells;
  plan(&l, r, &st, 32, 0, &cells, 0);
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
static long draw_large(out_t *o, const proc_t *P, long y) {
  ull unit = P->n_top ? P->top[0].cap / (ull)DATA_W + 1u : 1u;
  for (size_t i = 0; i < P->n_top && room(o); i++) {
    const lblock *b = &P->top[i];
    long w = (long)(b->cap / unit);
    if (w < 30) w = 30;
    put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">%s</text>\n", LABEL_W - 60, y + 120,
        bytes_txt(b->cap).s);
    if (b->cached)
      put(o, "<rect class=\"cached\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"160\"/>"
             "<text class=\"sum\" x=\"%ld\" y=\"%ld\">cached for reuse</text>\n",
          DATA_X, y, w, DATA_X + DATA_W + 80, y + 120);
    else
      put(o, "<rect class=\"large l%u\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"160\">"
             "<title>%p: %s used of %s</title></rect>"
             "<text class=\"sum\" x=\"%ld\" y=\"%ld\">%s used</text>\n",
          shade(b->used, b->cap), DATA_X, y, w, b->p, bytes_txt(b->used).s, bytes_txt(b->cap).s,
          DATA_X + DATA_W + 80, y + 120, pct_txt(b->used, b->cap).s);
    y += LROW;
  }
  if (P->rest_live || P->rest_cached) {
    ull tot = P->rest_cap + P->rest_cached_cap;
    long wl = (long)(P->rest_cap * (ull)DATA_W / tot);
    put(o, "<text class=\"row\" x=\"%ld\" y=\"%ld\">the rest</text>\n", LABEL_W - 60, y + 120);
    if (P->rest_live)
      put(o, "<rect class=\"large l%u\" data-n=\"%zu\" x=\"%ld\" y=\"%ld\" width=\"%ld\" "
             "height=\"160\"/>\n",
          shade(P->rest_used, P->rest_cap), P->rest_live, DATA_X, y, wl);
    if (P->rest_cached)
      put(o, "<rect class=\"cached\" data-n=\"%zu\" x=\"%ld\" y=\"%ld\" width=\"%ld\" "
             "height=\"160\"/>\n",
          P->rest_cached, DATA_X + wl, y, DATA_W - wl);
    put(o, "<text class=\"sum\" x=\"%ld\" y=\"%ld\">%zu live, %zu cached (%s)</text>\n",
        DATA_X + DATA_W + 80, y + 120, P->rest_live, P->rest_cached, bytes_txt(tot).s);
    y += LROW;
  }
  return y;
}

static void draw_region(void *ctx, vcm_region *r) {
  void **c = ctx;
  proc_t *P = c[0];
  out_t *o = c[1];
  unsigned i = 0;
  while (i < P->n && P->lay[i].r != r) i++;
  if (i == P->n) { /* one row for the whole region, if planned (and not new since the plan) */
    if (P->compact_drawn >= P->n_compact) return;
    vcm_region_stats st;
    vcm_region_stats_get(r, &st);
    lay_t l;
    size_t no_cells = 0;
    plan(&l, r, &st, 1, (size_t)-1, &no_cells, 0);
    l.compact = (long)(P->n + P->compact_drawn);
    long y = P->compact_y + (P->compact_drawn ? COLHEAD_H + (long)P->compact_drawn * l.pitch : 0);
    draw_rows(o, &l, y, 0, P->compact_drawn == 0);
    P->compact_drawn++;
    return;
  }
  const lay_t *l = &P->lay[i];
  vcm_region_stats st;
  vcm_region_stats_get(r, &st);
  long y = P->y[i];
  put(o, "<text class=\"h2\" x=\"200\" y=\"%ld\">region %u at %p \xc2\xb7 thread heap %u</text>\n",
      y + 200, i, (void *)r, P->heap_no[i]);
  put(o, "<text class=\"sub\" x=\"200\" y=\"%ld\">%zu channels \xc3\x97 %zu classes \xc2\xb7 "
         "chunks: %zu live, %zu free \xc2\xb7 used %s of %s live capacity (%s)</text>\n",
      y + 370, st.n_channels, st.n_classes, st.live_chunks, l->freed, bytes_txt(st.live_used).s,
      bytes_txt(st.live_capacity).s, pct_txt(st.live_used, st.live_capacity).s);
  draw_rows(o, l, y + REGHEAD_H, i + 1, 1);
}

int vcm_svg(int fd) {
  out_t o;
  o.fd = fd;
  o.err = o.clipped = 0;
  o.total = o.n = 0;
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
    y += REGHEAD_H + rows_height(&P.lay[i]);
  }
  if (P.n_compact) {
    P.compact_y = y + 300;
    y += 300 + COLHEAD_H + (long)P.n_compact * 200 + 100;
  }
  long large_y = y;
  y += 300 + (large_rows ? large_rows * LROW + 200 : 150);
  long h = y + LEGEND_H + 200;
  svg_open(&o, h);

  put(&o, "<text class=\"h1\" x=\"200\" y=\"260\">vcm process heap \xc2\xb7 pid %ld \xc2\xb7 %zu "
          "thread heap%s, %zu region%s, %zu large block%s</text>\n",
      (long)getpid(), s.heaps, s.heaps == 1 ? "" : "s", s.regions, s.regions == 1 ? "" : "s",
      s.large_live, s.large_live == 1 ? "" : "s");
  put(&o, "<text class=\"sub\" x=\"200\" y=\"460\">small chunks: %zu live, %zu free \xc2\xb7 used "
          "%s of %s live capacity (%s) \xc2\xb7 peak %s \xc2\xb7 reallocs %zu in place, %zu "
          "moved</text>\n",
      s.small_live_chunks, P.freed, bytes_txt(s.small_live_used).s,
      bytes_txt(s.small_live_capacity).s, pct_txt(s.small_live_used, s.small_live_capacity).s,
      bytes_txt(s.small_peak_capacity).s, s.realloc_inplace, s.realloc_moved);
  put(&o, "<text class=\"sub\" x=\"200\" y=\"640\">large blocks: %zu live, %s used of %s "
          "(%s), %s cached \xc2\xb7 OS: %s reserved, %s purged, %s remapped</text>\n",
      s.large_live, bytes_txt(s.large_used).s, bytes_txt(s.large_capacity).s,
      pct_txt(s.large_used, s.large_capacity).s, bytes_txt(s.large_cached).s,
      bytes_txt(s.os_reserved).s, bytes_txt(s.os_purged).s, bytes_txt(s.os_remapped).s);

  if (P.n_compact > 1)
    put(&o, "<text class=\"h2\" x=\"200\" y=\"%ld\">regions %zu-%zu: one row per region (all "
            "its channels summed)</text>\n",
        P.compact_y - 100, P.n, P.n + P.n_compact - 1);
  else if (P.n_compact)
    put(&o, "<text class=\"h2\" x=\"200\" y=\"%ld\">region %zu: all its channels summed</text>\n",
        P.compact_y - 100, P.n);
  void *ctx[2] = {&P, &o};
  vcmi_heap_each_region(draw_region, ctx);

  y = large_y;
  put(&o, "<text class=\"h2\" x=\"200\" y=\"%ld\">large blocks</text>\n", y + 200);
  y += 300;
  if (large_rows) {
    y = draw_large(&o, &P, y);
    put(&o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">one row per block, biggest first; width "
            "in proportion to capacity</text>\n",
        DATA_X, y + 110);
  } else if (large_rows) {
    /* Totals only: live used | live unused | cached, in proportion to bytes. */
    ull tot = (ull)s.large_capacity + s.large_cached;
    long wu = (long)((ull)s.large_used * DATA_W / tot);
    long wc = (long)((ull)s.large_capacity * DATA_W / tot);
    put(&o, "<rect class=\"large l9\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"160\"/>", DATA_X,
        y, wu);
    put(&o, "<rect class=\"large l0\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"160\"/>",
        DATA_X + wu, y, wc - wu);
    put(&o, "<rect class=\"cached\" x=\"%ld\" y=\"%ld\" width=\"%ld\" height=\"160\"/>\n",
        DATA_X + wc, y, DATA_W - wc);
    put(&o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">totals only: used | unused capacity | "
            "cached</text>\n",
        DATA_X, y + 310);
  } else {
    put(&o, "<text class=\"note\" x=\"%ld\" y=\"%ld\">none</text>\n", DATA_X, y + 80);
  }
  legend(&o, h - LEGEND_H - 200, 1, 1);
  if (P.skipped || o.clipped)
    put(&o, "<text class=\"note\" x=\"200\" y=\"%ld\">%zu more regions not drawn (their "
            "chunks are in the totals)%s</text>\n",
        h - 60, P.skipped, o.clipped ? "; picture cut at 1.9 MiB" : "");
  put(&o, "</svg>\n");
  flush(&o);
  return o.err ? -1 : 0;
}

/* ---- VCM_SVG at exit ---- */

static void say2(const char *a, const char *b) {
  char line[512];
  size_t n = 0;
  for (const char *s = a; *s && n < 300; s++) line[n++] = *s;
  for (const char *s = b; *s && n < sizeof line - 2; s++) line[n++] = *s;
  line[n++] = '\n';
  ssize_t w = write(2, line, n);
  (void)w;
}

void vcmi_svg_at_exit(void) {
  const char *f = getenv("VCM_SVG");
  if (!f || !*f) return;
  char path[4096];
  size_t n = 0;
  for (; *f && n < sizeof path - 24; f++) { /* %p: the pid, %%: a % */
    if (f[0] == '%' && f[1] == 'p') {
      n += (size_t)snprintf(path + n, 24, "%ld", (long)getpid());
      f++;
    } else if (f[0] == '%' && f[1] == '%') {
      path[n++] = '%';
      f++;
    } else {
      path[n++] = *f;
    }
  }
  path[n] = 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    say2("vcm: VCM_SVG: cannot open ", path);
    return;
  }
  if (vcm_svg(fd) != 0) say2("vcm: VCM_SVG: write failed: ", path);
  close(fd);
}
