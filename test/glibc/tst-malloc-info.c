/* malloc_info(0, fp) writes well-formed XML in glibc's shape: a <malloc version="1"> root
 * holding <heap> elements and the totals, among them <total type="mmap" count size>, whose
 * count rises by one and size by at least 4 MiB while a 4 MiB block lives; <total
 * type="rest" size> (free space) rises after blocks are freed. Options other than 0 fail
 * (nonzero). Checked by a small parser: every element closed in order, attributes quoted,
 * nothing but white space between tags. */
#define _GNU_SOURCE
#include <malloc.h>

#include "check.h"

static char xml[1 << 20];

/* malloc_info's output, NUL-terminated, in xml; its length, or 0. */
static size_t info(void) {
  FILE *f = tmpfile();
  size_t n = 0;
  if (!f) return 0;
  if (malloc_info(0, f) == 0) {
    rewind(f);
    n = fread(xml, 1, sizeof xml - 1, f);
  }
  fclose(f);
  xml[n] = 0;
  return n;
}

/* Well-formed: 1, and the number of elements in *n. */
static int well_formed(size_t *n) {
  const char *stack[64], *p = xml;
  size_t len[64];
  int depth = 0, root_done = 0;
  *n = 0;
  for (;;) {
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    if (!*p) return depth == 0 && root_done;
    if (*p != '<' || root_done) return 0;
    p++;
    int end = *p == '/';
    p += end;
    const char *name = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_') p++;
    size_t nl = (size_t)(p - name);
    if (!nl) return 0;
    if (end) {
      if (*p++ != '>' || depth == 0 || len[depth - 1] != nl || memcmp(stack[depth - 1], name, nl))
        return 0;
      if (--depth == 0) root_done = 1;
      continue;
    }
    for (;;) { /* attributes: name="value" */
      while (*p == ' ') p++;
      if (*p == '/' || *p == '>') break;
      const char *a = p;
      while ((*p >= 'a' && *p <= 'z') || *p == '_') p++;
      if (p == a || *p++ != '=' || *p++ != '"') return 0;
      while (*p && *p != '"' && *p != '<' && *p != '&') p++;
      if (*p++ != '"') return 0;
    }
    (*n)++;
    if (*p == '/') {
      if (p[1] != '>') return 0;
      p += 2;
      if (depth == 0) root_done = 1;
      continue;
    }
    p++;
    if (depth == 64) return 0;
    stack[depth] = name, len[depth++] = nl;
  }
}

/* The attribute attr of the top-level element <total type="type" ...> (after the last
 * </heap>), or -1. */
static long long total(const char *type, const char *attr) {
  const char *p = xml, *q;
  while ((q = strstr(p, "</heap>"))) p = q + 7;
  char key[64];
  snprintf(key, sizeof key, "<total type=\"%s\"", type);
  if (!(p = strstr(p, key))) return -1;
  const char *e = strchr(p, '>');
  snprintf(key, sizeof key, " %s=\"", attr);
  if (!(q = strstr(p, key)) || q > e) return -1;
  return atoll(q + strlen(key));
}

int main(void) {
  size_t n = 0;
  enum { N = 20000 };
  static char *b[N];
  for (int i = 0; i < N; i++) b[i] = malloc(200);
  CHECK(info() > 0);
  CHECK(well_formed(&n) && n >= 5);
  CHECK(strncmp(xml, "<malloc version=\"1\">", 20) == 0);
  CHECK(strstr(xml, "<heap nr=\"0\">") != NULL);
  long long mmap_n = total("mmap", "count"), mmap_b = total("mmap", "size");
  long long rest = total("rest", "size");
  CHECK(mmap_n >= 0 && mmap_b >= 0 && rest >= 0);
  CHECK(strstr(xml, "<system type=\"current\"") != NULL);

  size_t big = (size_t)4 << 20;
  char *p = malloc(big);
  CHECK(p != NULL);
  if (p) memset(p, 1, big);
  CHECK(info() > 0 && well_formed(&n));
  CHECK(total("mmap", "count") == mmap_n + 1);
  CHECK(total("mmap", "size") >= mmap_b + (long long)big);
  free(p);

  for (int i = 0; i < N; i++) free(b[i]);
  CHECK(info() > 0 && well_formed(&n));
  CHECK(total("rest", "size") >= rest + (N - 100) * 200LL);
  if (!well_formed(&n)) printf("%s", xml);

  FILE *f = tmpfile();
  CHECK(f && malloc_info(1, f) != 0);
  if (f) fclose(f);
  return tst_result();
}
