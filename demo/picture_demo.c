/* The demo region (demo/demo.c: the seed's default geometry on a 32 KiB disc, a growing
 * vector of ints and twelve strings built by appending words, every other string freed), drawn
 * as SVG with vcm_region_svg. Usage: picture_demo [FILE] (default docs/heap.svg). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vcm.h"

/* In include/vcm.h once the lead adds them; repeated here so this builds either way. */
int vcm_region_svg(vcm_region *r, int fd);

static _Alignas(4096) unsigned char disc[32 * 1024];

int main(int argc, char **argv) {
  const char *file = argc > 1 ? argv[1] : "docs/heap.svg";
  vcm_region r;
  if (vcm_region_init(&r, disc, sizeof disc, NULL) != VCM_OK) return 1;

  /* A vector of ints grown one element at a time (as demo.c). */
  int *v = NULL;
  size_t n = 0;
  for (int i = 0; i < 200; i++) {
    int *nv = vcm_region_realloc(&r, v, (n + 1) * sizeof *v);
    if (!nv) break;
    v = nv;
    v[n++] = i * i;
  }

  /* Strings built by appending words; every other one freed, leaving holes (as demo.c). */
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
  for (int j = 0; j < 12; j += 2) vcm_region_free(&r, str[j]);

  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    perror(file);
    return 1;
  }
  int rc = vcm_region_svg(&r, fd);
  if (close(fd) != 0) rc = -1;
  if (rc != 0) {
    fprintf(stderr, "%s: write failed\n", file);
    return 1;
  }
  vcm_region_stats st;
  vcm_region_stats_get(&r, &st);
  printf("wrote %s: %zu channels, %zu live chunks, %zu B used of %zu B\n", file, st.n_channels,
         st.live_chunks, st.live_used, st.live_capacity);
  return 0;
}
