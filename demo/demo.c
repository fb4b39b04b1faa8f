/* The main job's first half: the seed's default region on a static 32 KiB disc, growing
 * vectors and strings, then the stats and a text picture of the channels.
 * Usage: demo [--svg FILE] (also draw the region as SVG with vcm_region_svg). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vcm.h"

static _Alignas(4096) unsigned char disc[32 * 1024];

/* One character per chunk: '.' free, digit 0-9 = tenths of the capacity used. */
typedef struct {
  vcm_region *r;
  char rows[64][160];
  int len[64];
} picture;

static void draw(void *ctx, const void *ptr, size_t cap, size_t used, int live) {
  picture *pic = ctx;
  long ch = vcm_region_channel_of(pic->r, ptr);
  if (ch < 0 || ch >= 64 || pic->len[ch] >= 150) return;
  (void)cap;
  char c = live ? (char)('0' + (used * 10 >= cap * 10 ? 9 : used * 10 / cap)) : '.';
  pic->rows[ch][pic->len[ch]++] = c;
}

static void show(vcm_region *r) {
  vcm_region_stats st;
  vcm_region_stats_get(r, &st);
  printf("region: %zu channels × %zu classes, %zu B data + %zu B map\n", st.n_channels,
         st.n_classes, st.data_bytes, st.map_bytes);
  printf("live chunks %zu, used %zu of %zu reserved (%.0f%%), peak %zu, failed %zu\n",
         st.live_chunks, st.live_used, st.live_capacity,
         st.live_capacity ? 100.0 * (double)st.live_used / (double)st.live_capacity : 0.0,
         st.peak_capacity, st.failed);
  printf("reallocs: %zu in place, %zu moved, %zu bytes copied\n", st.realloc_inplace,
         st.realloc_moved, st.bytes_copied);
  printf("class    live/total\n");
  for (size_t i = 0; i < st.n_classes; i++)
    printf("%6zu B %4zu/%zu\n", st.class_size[i], st.class_live[i], st.class_total[i]);

  static picture pic;
  memset(&pic, 0, sizeof pic);
  pic.r = r;
  vcm_region_visit(r, draw, &pic);
  printf("channels (one char per chunk in address order; '.' free, 0-9 fill):\n");
  for (size_t c = 0; c < st.n_channels && c < 64; c++)
    printf("  ch%zu |%.*s|\n", c, pic.len[c], pic.rows[c]);
}

/* Write the region's picture to file. */
static int write_svg(vcm_region *r, const char *file) {
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(file);
    return 1;
  }
  int rc = vcm_region_svg(r, fd);
  if (close(fd) != 0 || rc != 0) {
    fprintf(stderr, "%s: write failed\n", file);
    return 1;
  }
  printf("picture: %s\n", file);
  return 0;
}

int main(int argc, char **argv) {
  vcm_region r;
  vcm_plan plan;
  vcm_status s = vcm_region_plan(sizeof disc, NULL, &plan);
  if (s != VCM_OK || vcm_region_init(&r, disc, sizeof disc, NULL) != VCM_OK) {
    fprintf(stderr, "init: %s\n", vcm_strerror(s));
    return 1;
  }
  printf("seed geometry: channel factor %zu, channel %zu B, %zu channels in a %zu B disc\n",
         plan.channel_factor, plan.channel_size, plan.n_channels, sizeof disc);

  /* A vector of ints grown one element at a time. */
  int *v = NULL;
  size_t n = 0, moves = 0;
  for (int i = 0; i < 200; i++) {
    int *nv = vcm_region_realloc(&r, v, (n + 1) * sizeof *v);
    if (!nv) break;
    moves += nv != v;
    v = nv;
    v[n++] = i * i;
  }
  printf("vector: %zu ints, %zu moves, capacity %zu B\n", n, moves, vcm_region_capacity(&r, v));

  /* Strings built by appending words. */
  const char *words[] = {"vector ", "malloc ", "grows ", "in ", "place "};
  char *str[12] = {0};
  for (int round = 0; round < 30; round++)
    for (int j = 0; j < 12; j++) {
      const char *w = words[(round + j) % 5];
      size_t len = str[j] ? strlen(str[j]) : 0, add = strlen(w);
      char *t = vcm_region_realloc(&r, str[j], len + add + 1);
      if (!t) continue;
      memcpy(t + len, w, add + 1);
      str[j] = t;
    }
  printf("string 0: %.60s… (%zu B used, %zu B capacity)\n", str[0], vcm_region_used(&r, str[0]),
         vcm_region_capacity(&r, str[0]));
  for (int j = 0; j < 12; j += 2) vcm_region_free(&r, str[j]); /* leave holes to see */
  show(&r);
  const char *why = NULL;
  if (vcm_region_check(&r, &why) != 0) {
    printf("invariant check FAILED: %s\n", why);
    return 1;
  }
  printf("invariant check: ok\n");
  return argc > 2 && strcmp(argv[1], "--svg") == 0 ? write_svg(&r, argv[2]) : 0;
}
