/* Hosted diagnostics: the default misuse handler prints to stderr without allocating. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "region.h"

/* Format "vcm: <what>: <reason> <ptr>\n" into buf; returns the length. No allocation. */
static size_t format_ptr(char *buf, size_t size, const char *what, const char *reason,
                       const void *ptr) {
  size_t n = 0;
  const char *parts[] = {"vcm: ", what, ": ", reason, " at 0x"};
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
    for (const char *s = parts[i]; *s && n + 20 < size; s++) buf[n++] = *s;
  uintptr_t v = (uintptr_t)ptr;
  int started = 0;
  for (int sh = (int)sizeof v * 8 - 4; sh >= 0; sh -= 4) {
    unsigned d = (unsigned)(v >> sh) & 15u;
    if (d || started || sh == 0) {
      buf[n++] = "0123456789abcdef"[d];
      started = 1;
    }
  }
  buf[n++] = '\n';
  return n;
}

void vcmi_misuse_default(void *ctx, const void *ptr, const char *reason) {
  char buf[256];
  (void)ctx;
  size_t n = format_ptr(buf, sizeof buf, "invalid free or use", reason, ptr);
  ssize_t w = write(2, buf, n);
  (void)w;
  abort();
}
