/* The heap pictures' shared drawing (picture_region.c), used by the region picture and the
 * heap picture (picture_heap.c). Never allocates: text goes through out.h. Integer arithmetic
 * only: coordinates are in tenths of a pixel (the viewBox is 10x the size). The short macro
 * names are private to the picture_*.c files. Not installed. */
#ifndef VCMI_PICTURE_H
#define VCMI_PICTURE_H
#include "out.h"
#include "region.h"

typedef unsigned long long vcmi_ull;

#define OUT_LIMIT ((size_t)1900 << 10) /* past this, cells are left out (tags stay balanced) */
/* Room for more cells? Past OUT_LIMIT the picture is clipped (o->clipped, noted at the end). */
int vcmi_pic_room(vcmi_out *o);

/* Numbers as text: bytes with a binary unit ("1.5 KiB"), a/b as a percentage. */
typedef struct {
  char s[48];
} vcmi_pic_txt;
vcmi_pic_txt vcmi_pic_bytes(vcmi_ull v);
vcmi_pic_txt vcmi_pic_pct(vcmi_ull a, vcmi_ull b);
/* Shade 0..9 of a cell: used / capacity in tenths. */
unsigned vcmi_pic_shade(vcmi_ull used, vcmi_ull cap);

/* Page geometry (tenths of a pixel). */
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

#define TITLE_H 780L
#define LEGEND_H 1150L

/* The SVG header, style and patterns, for a page height tall. */
void vcmi_pic_open(vcmi_out *o, long height);

/* One region's layout. */
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
  int split;                 /* a caller region's split/merge map: no chunk is never used */
} vcmi_pic_lay;

/* Plan a region's rows: channels never touched are collapsed (when there are many), at most
 * row_cap rows (consecutive channels share a row beyond that), and classes whose cells are
 * wide enough drawn chunk by chunk while *cells allows. Walks the region (vcm_region_visit). */
void vcmi_pic_plan(vcmi_pic_lay *l, vcm_region *r, const vcm_region_stats *st, size_t row_cap,
                   size_t show_all, size_t *cells, int big_rows);
long vcmi_pic_rows_height(const vcmi_pic_lay *l);
/* Draw a planned region's column heads (heads), rows and never-used note from y down. sid makes
 * the section's pattern ids unique. Returns the height used (vcmi_pic_rows_height). */
long vcmi_pic_rows(vcmi_out *o, const vcmi_pic_lay *l, long y, unsigned sid, int heads);
/* The legend at y (large: explain large blocks; agg: explain aggregated columns). */
void vcmi_pic_legend(vcmi_out *o, long y, int large, int agg);

/* VCM_SVG=FILE, file its value (set, not empty): write the heap picture to FILE at exit (%p in
 * FILE: the pid, %% a %); a file that cannot be opened or written gets a line on stderr. The
 * destructor reads the variable (lifecycle.c): its name lies with the constants every run reads,
 * not in this object's cold strings, which reading it at every exit faulted in (28 KiB). */
void vcmi_svg_at_exit(const char *file);
#endif
