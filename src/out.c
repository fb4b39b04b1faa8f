/* The fd writer shared by stats.c and the pictures (out.h). */
#include <stdarg.h>
#include <stdio.h>

#include "os.h"
#include "out.h"

void vcmi_out_init(vcmi_out *o, int fd) {
  o->fd = fd;
  o->err = o->clipped = 0;
  o->total = o->n = 0;
}

void vcmi_flush(vcmi_out *o) {
  if (o->n && !o->err && vcmi_os_write(o->fd, o->buf, o->n) != 0) o->err = 1;
  o->total += o->n;
  o->n = 0;
}

void vcmi_put(vcmi_out *o, const char *fmt, ...) {
  if (o->n > sizeof o->buf - 1024) vcmi_flush(o);
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(o->buf + o->n, sizeof o->buf - o->n, fmt, ap);
  va_end(ap);
  if (k > 0) o->n += (size_t)k < sizeof o->buf - o->n ? (size_t)k : sizeof o->buf - o->n - 1;
}
