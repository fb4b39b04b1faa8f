/* The heap pictures (src/picture_region.c, src/picture_heap.c): vcm_region_svg on caller regions with known contents and
 * vcm_svg on the process heap write well-formed SVG whose live / free / never-used cells add up
 * to the region's figures. Links build/libvcm.a (malloc is vcm's). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "picture.h" /* vcmi_svg_at_exit (VCM_SVG=FILE at exit): linkable from libvcm.a */
#include "vcm.h"


/* ---- reading an SVG back ---- */

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* A small well-formedness check: one root, tags balanced and properly nested, attribute
 * quotes closed, '&' only as an entity, no '<' in text. 0 if fine, else -1 (and says why). */
static int xml_ok(const char *s) {
  char stack[64][32];
  int depth = 0, roots = 0;
  const char *p = s;
  while (*p) {
    if (*p == '&') {
      if (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) &&
          strncmp(p, "&quot;", 6) && strncmp(p, "&#", 2)) {
        fprintf(stderr, "xml: bare '&' at %ld\n", (long)(p - s));
        return -1;
      }
      p++;
      continue;
    }
    if (*p != '<') {
      if (*p == '>') {
        fprintf(stderr, "xml: stray '>' at %ld\n", (long)(p - s));
        return -1;
      }
      p++;
      continue;
    }
    if (!strncmp(p, "<?", 2)) {
      const char *e = strstr(p, "?>");
      if (!e) return -1;
      p = e + 2;
      continue;
    }
    if (!strncmp(p, "<!--", 4)) {
      const char *e = strstr(p, "-->");
      if (!e) return -1;
      p = e + 3;
      continue;
    }
    int closing = p[1] == '/';
    const char *n = p + 1 + closing;
    size_t nl = strcspn(n, " \t\n/>");
    if (nl == 0 || nl >= 32) {
      fprintf(stderr, "xml: bad tag name at %ld\n", (long)(p - s));
      return -1;
    }
    const char *q = n + nl; /* attributes: quotes must close before '>' */
    char quote = 0;
    for (; *q && (quote || *q != '>'); q++) {
      if (quote && *q == quote) quote = 0;
      else if (!quote && (*q == '"' || *q == '\'')) quote = *q;
      else if (!quote && *q == '<') {
        fprintf(stderr, "xml: '<' inside a tag at %ld\n", (long)(q - s));
        return -1;
      }
    }
    if (!*q) return -1;
    int self = q[-1] == '/';
    if (closing) {
      if (depth == 0 || strlen(stack[depth - 1]) != nl || strncmp(stack[depth - 1], n, nl)) {
        fprintf(stderr, "xml: </%.*s> does not close <%s>\n", (int)nl, n,
                depth ? stack[depth - 1] : "");
        return -1;
      }
      depth--;
    } else if (!self) {
      if (depth == 0) roots++;
      if (depth == 64) return -1;
      memcpy(stack[depth], n, nl);
      stack[depth++][nl] = 0;
    } else if (depth == 0) {
      roots++;
    }
    p = q + 1;
  }
  if (depth != 0 || roots != 1) {
    fprintf(stderr, "xml: depth %d at the end, %d roots\n", depth, roots);
    return -1;
  }
  return 0;
}

static int have_python = -1;

/* The strict check, when python3 is there. 1 fine, 0 not, -1 no python. */
static int python_ok(const char *path) {
  if (have_python < 0) have_python = system("python3 -c 1 >/dev/null 2>&1") == 0;
  if (!have_python) return -1;
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "python3 -c \"import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])\" '%s'",
           path);
  return system(cmd) == 0;
}

/* Sum over elements whose class attribute starts with `cls` (followed by '"' or ' '): data-n
 * when the element has it, else 1. */
static size_t count_cells(const char *s, const char *cls) {
  char needle[64];
  size_t total = 0, nl;
  snprintf(needle, sizeof needle, "class=\"%s", cls);
  nl = strlen(needle);
  for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) {
    if (p[nl] != '"' && p[nl] != ' ') continue;
    const char *end = strchr(p, '>');
    const char *d = strstr(p, "data-n=\"");
    total += d && d < end ? strtoull(d + 8, NULL, 10) : 1u;
  }
  return total;
}

typedef struct {
  size_t handed, live, freed, used;
} tally;

static void tally_cb(void *ctx, const void *p, size_t cap, size_t used, int live) {
  tally *t = ctx;
  (void)p;
  (void)cap;
  t->handed++;
  if (live) {
    t->live++;
    t->used += used;
  } else {
    t->freed++;
  }
}

static char tmpdir[] = "/tmp/vcm_picture_XXXXXX";

/* Write r's picture to dir/name and check it against the region. Returns the text (freed by
 * the caller) or NULL. */
static char *check_region(vcm_region *r, const char *name, size_t *len) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  if (fd < 0) return NULL;
  CHECK_EQ(vcm_region_svg(r, fd), 0);
  close(fd);
  char *s = slurp(path, len);
  CHECK(s != NULL);
  if (!s) return NULL;
  CHECK(!strncmp(s, "<?xml", 5));
  CHECK(*len > 8 && !strcmp(s + *len - 7, "</svg>\n"));
  CHECK_EQ(xml_ok(s), 0);
  int py = python_ok(path);
  if (py >= 0) CHECK_EQ(py, 1);
  CHECK(*len < ((size_t)2 << 20));

  vcm_region_stats st;
  vcm_region_stats_get(r, &st);
  tally t = {0, 0, 0, 0};
  vcm_region_visit(r, tally_cb, &t);
  size_t total = 0;
  for (size_t i = 0; i < st.n_classes; i++) total += st.class_total[i];
  CHECK_EQ(count_cells(s, "live"), st.live_chunks);
  CHECK_EQ(count_cells(s, "free"), t.freed);
  CHECK_EQ(count_cells(s, "never"), total - t.handed);
  char title[160];
  snprintf(title, sizeof title, "chunks: %zu live, %zu free, %zu never used", st.live_chunks,
           t.freed, total - t.handed);
  CHECK(strstr(s, title) != NULL);
  return s;
}

static void test_seed_region(void) {
  static _Alignas(4096) unsigned char disc[32 * 1024];
  vcm_region r;
  CHECK_EQ(vcm_region_init(&r, disc, sizeof disc, NULL), VCM_OK);
  size_t len;

  /* Empty: 28 whole free blocks (4 channels x 7 class areas); the split/merge map has no
   * never-used chunks. */
  char *s = check_region(&r, "empty.svg", &len);
  CHECK(s && strstr(s, "chunks: 0 live, 28 free, 0 never used"));
  free(s);

  /* Known contents: 10 chunks of 16 B, 3 of 100 B, one of 1000 B; free 4 of the 16s and one
   * 128; one grown in place and one moved. */
  void *p16[10], *p100[3];
  for (int i = 0; i < 10; i++) p16[i] = vcm_region_alloc(&r, 10);
  for (int i = 0; i < 3; i++) p100[i] = vcm_region_alloc(&r, 100);
  void *big = vcm_region_alloc(&r, 1000);
  CHECK(big && p16[9] && p100[2]);
  for (int i = 0; i < 10; i += 3) vcm_region_free(&r, p16[i]); /* 0 3 6 9 */
  vcm_region_free(&r, p100[1]);
  CHECK(vcm_region_realloc(&r, p100[0], 128) == p100[0]);
  p16[1] = vcm_region_realloc(&r, p16[1], 40); /* moves to 64 */
  s = check_region(&r, "known.svg", &len);
  /* live: 16 B x 5 (2 4 5 7 8), 64 B x 1, 128 B x 2, 1 KiB x 1 = 9. The 128s are split from
   * the 16s' block (the smallest free piece that fits); free in that block: 16 B x 3 (3 6 9),
   * 32 B x 2 (0 merged with 1's old chunk; a split's), 128 x 2, 256 = 8, and 26 untouched
   * blocks: 34. */
  CHECK(s && strstr(s, "chunks: 9 live, 34 free, 0 never used"));
  /* The seed geometry is small enough to draw chunk by chunk: no aggregated bar at all. */
  CHECK(s && strstr(s, "<g><title>") == NULL);
  /* Shades: tenths of the capacity used. 16 B chunks with 10 B and the 64 B one with 40 B: 6;
   * 100 of 128: 7; 128 of 128 and 1000 of 1024: 9. */
  if (s) {
    CHECK_EQ(count_cells(s, "live l6"), 6);
    CHECK_EQ(count_cells(s, "live l7"), 1);
    CHECK_EQ(count_cells(s, "live l9"), 2);
  }
  free(s);

  /* Full region: every chunk live, nothing never used. */
  while (vcm_region_alloc(&r, 16)) {
  }
  s = check_region(&r, "full.svg", &len);
  CHECK(s && strstr(s, " 0 never used"));
  free(s);
}

/* A region too fine to draw chunk by chunk (small classes become bars) with many channels
 * (rows of several channels), filled at random. */
static void test_big_region(void) {
  size_t size = (size_t)64 << 20;
  unsigned char *disc = aligned_alloc(4096, size);
  CHECK(disc != NULL);
  if (!disc) return;
  vcm_region r;
  vcm_geometry g = {16, 4096, 2};
  CHECK_EQ(vcm_region_init(&r, disc, size, &g), VCM_OK);
  size_t len;
  unsigned long long seed = 42;
  static void *ptrs[200000];
  size_t n = 0;
  for (int i = 0; i < 200000; i++) {
    size_t sz = 1 + t_rand(&seed) % (1u << (t_rand(&seed) % 12 + 1));
    void *p = vcm_region_alloc(&r, sz);
    if (p) ptrs[n++] = p;
    if (n && t_rand(&seed) % 3 == 0) {
      size_t j = t_rand(&seed) % n;
      vcm_region_free(&r, ptrs[j]);
      ptrs[j] = ptrs[--n];
    }
  }
  char *s = check_region(&r, "big.svg", &len);
  CHECK(s && strstr(s, "<g><title>") != NULL); /* bars */
  CHECK(s && strstr(s, ">ch 0-") != NULL);     /* rows of several channels */
  printf("big region picture: %zu bytes\n", len);
  free(s);
  free(disc);
}

/* Write errors are reported. */
static void test_errors(void) {
  static _Alignas(64) unsigned char disc[32 * 1024];
  vcm_region r;
  CHECK_EQ(vcm_region_init(&r, disc, sizeof disc, NULL), VCM_OK);
  CHECK_EQ(vcm_region_svg(&r, -1), -1);
  int fd = open("/dev/null", O_RDONLY);
  CHECK_EQ(vcm_region_svg(&r, fd), -1);
  CHECK_EQ(vcm_svg(fd), -1);
  close(fd);
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  close(fds[0]);
  signal(SIGPIPE, SIG_IGN);
  CHECK_EQ(vcm_region_svg(&r, fds[1]), -1);
  close(fds[1]);
}

/* The process heap after some mallocs. */
static void test_process(void) {
  static void *keep[5000];
  for (int i = 0; i < 5000; i++) keep[i] = malloc(1 + (size_t)(i * 37) % 3000);
  for (int i = 0; i < 5000; i += 4) free(keep[i]);
  void *volatile large = malloc((size_t)3 << 20); /* volatile: not elided */
  void *volatile large2 = malloc((size_t)600 << 10); /* volatile: the pair is not elided */
  free(large2); /* cached for reuse */
  CHECK(large != NULL);

  char path[256];
  snprintf(path, sizeof path, "%s/process.svg", tmpdir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  vcm_stats st;
  vcm_stats_get(&st); /* nothing allocates between this and vcm_svg */
  CHECK_EQ(vcm_svg(fd), 0);
  close(fd);
  size_t len;
  char *s = slurp(path, &len);
  CHECK(s != NULL);
  if (!s) return;
  CHECK_EQ(xml_ok(s), 0);
  int py = python_ok(path);
  if (py >= 0) CHECK_EQ(py, 1);
  CHECK(len < ((size_t)2 << 20));
  CHECK_EQ(count_cells(s, "live"), st.small_live_chunks);
  char title[160];
  snprintf(title, sizeof title, "small chunks: %zu live, %zu free", st.small_live_chunks,
           count_cells(s, "free"));
  CHECK(strstr(s, title) != NULL);
  snprintf(title, sizeof title, "%zu thread heap%s, %zu region%s, %zu large block%s", st.heaps,
           st.heaps == 1 ? "" : "s", st.regions, st.regions == 1 ? "" : "s", st.large_live,
           st.large_live == 1 ? "" : "s");
  CHECK(strstr(s, title) != NULL);
  CHECK_EQ(st.large_live, 1);
  CHECK(st.large_cached > 0);
  CHECK_EQ(count_cells(s, "large"), st.large_live);
  CHECK(count_cells(s, "cached") >= 1);
  printf("process picture: %zu bytes\n", len);
  free(s);

  /* VCM_SVG=FILE, %p the pid (the destructor reads the variable: install_test.sh). */
  char pattern[256], want[256];
  snprintf(pattern, sizeof pattern, "%s/at-exit-%%p.svg", tmpdir);
  snprintf(want, sizeof want, "%s/at-exit-%ld.svg", tmpdir, (long)getpid());
  vcmi_svg_at_exit(pattern);
  s = slurp(want, &len);
  CHECK(s != NULL);
  CHECK(s && xml_ok(s) == 0);
  free(s);
  for (int i = 0; i < 5000; i++)
    if (i % 4) free(keep[i]);
  free(large);
}

int main(void) {
  CHECK(mkdtemp(tmpdir) != NULL);
  test_seed_region();
  test_big_region();
  test_errors();
  test_process();
  const char *keep = getenv("VCM_PICTURE_KEEP");
  if (!keep || !*keep) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  } else {
    printf("pictures kept in %s\n", tmpdir);
  }
  return t_report();
}
