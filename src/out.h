/* Text to a file descriptor without allocating (out.c): formatted with vsnprintf into a buffer
 * on the caller's stack, written with vcmi_os_write. Used by the stats printout and the
 * pictures, which may run inside the allocator (at exit). Not installed. */
#ifndef VCMI_OUT_H
#define VCMI_OUT_H
#include <stddef.h>

typedef struct vcmi_out {
  int fd, err, clipped; /* err: a write failed (later output is dropped); clipped: pictures */
  size_t total, n;      /* bytes flushed so far; bytes in buf */
  char buf[8192];
} vcmi_out;

/* Start writing to fd (nothing is written until a flush; nothing to close). */
void vcmi_out_init(vcmi_out *o, int fd);
/* Append printf-style text (under 1 KiB a call: a longer one is cut, never overflows),
 * flushing first when the buffer is nearly full. */
__attribute__((format(printf, 2, 3))) void vcmi_put(vcmi_out *o, const char *fmt, ...);
/* Write the buffer out (all of it, retrying after EINTR); sets err on failure. */
void vcmi_flush(vcmi_out *o);
#endif
