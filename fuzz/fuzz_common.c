/* The operation fuzzer's common parts (fuzz.h): the divergence report, input bytes, block
 * patterns and the misuse log, used by the region and the process operations. */
#include "fuzz.h"

void fuzz_fail(const char *file, int line, const char *what, const char *extra) {
  const char *base = strrchr(file, '/');
  fprintf(stderr, "%s:%d: model divergence: %s%s%s\n", base ? base + 1 : file, line, what,
          extra ? ": " : "", extra ? extra : "");
  __builtin_trap();
}

/* ---- input ---------------------------------------------------------------------------- */

unsigned in8(input *in) { return in->i < in->n ? in->d[in->i++] : 0u; }
unsigned in16(input *in) {
  unsigned lo = in8(in);
  return lo | in8(in) << 8;
}


/* ---- block contents ------------------------------------------------------------------- */

/* Byte i of the block with this id is pat_hi(id, i >> 8) ^ (i & 255). Ids are never reused
 * within a run. */
static unsigned char pat_hi(uint32_t id, size_t run) {
  uint32_t x = (id + 1u) * 0x9E3779B1u ^ (uint32_t)run * 0x85EBCA6Bu;
  return (unsigned char)(x >> 24);
}

/* The tracked bytes of [from, to): all of the first 64 KiB, then the first 8 bytes of each
 * 4 KiB page (large blocks move by remapping whole pages: one sample per page finds a lost or
 * stale page without writing megabytes per operation). */
int span(unsigned char *p, uint32_t id, size_t from, size_t to, int mode) {
  size_t i = from;
  while (i < to) {
    size_t end;
    if (i < 65536) {
      end = to < 65536 ? to : 65536;
    } else {
      size_t pg = i & ~(size_t)4095;
      if (i >= pg + 8) {
        i = pg + 4096;
        continue;
      }
      end = pg + 8 < to ? pg + 8 : to;
    }
    while (i < end) { /* a run of 256 bytes shares its high byte: loops the compiler widens */
      size_t stop = (i | 255u) + 1u < end ? (i | 255u) + 1u : end;
      unsigned char hi = pat_hi(id, i >> 8), bad = 0;
      switch (mode) {
      case FILL:
        for (; i < stop; i++) p[i] = (unsigned char)(hi ^ i);
        break;
      case VERIFY:
        for (; i < stop; i++) bad |= (unsigned char)(p[i] ^ hi ^ i);
        break;
      default:
        for (; i < stop; i++) bad |= p[i];
      }
      if (bad) return 0;
    }
  }
  return 1;
}

uint32_t next_id;

/* ---- misuse handlers ------------------------------------------------------------------ */

misuse_log proc_log, reg_log;

void on_misuse(void *ctx, const void *ptr, const char *reason) {
  misuse_log *m = ctx;
  m->calls++;
  m->ptr = ptr;
  m->reason = reason;
}

void expect_misuse(misuse_log *m, const void *p, const char *want, int line) {
  if (m->calls != 1) fail_at(line, "misuse reported once", m->calls ? "more" : "none");
  if (m->ptr != p) fail_at(line, "misuse reported for the pointer", m->reason);
  if (!m->reason) fail_at(line, "misuse has a reason", NULL);
  if (want && strncmp(m->reason, want, strlen(want)) != 0) fail_at(line, want, m->reason);
  m->calls = 0;
}

const unsigned char *append_src(input *in, unsigned v, unsigned a, const unsigned char *p,
                                size_t old, size_t *k, unsigned char *want) {
  static unsigned char ext[APPEND_MAX];
  const unsigned char *src = ext;
  if ((v & 16) && old) {
    size_t off = (old * in8(in)) >> 8;
    if (*k > old - off) *k = old - off;
    src = p + off;
  } else {
    for (size_t i = 0; i < *k; i++) ext[i] = (unsigned char)(i * 7u + a);
  }
  memcpy(want, src, *k);
  return src;
}
