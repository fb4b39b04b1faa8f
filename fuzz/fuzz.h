/* The operation fuzzer (fuzz/fuzz_ops.c): its common parts (fuzz_common.c: input bytes, block
 * patterns, the misuse log, the model's CHECK), the region operations (fuzz_region.c) and the
 * process operations (fuzz_process.c). */
#ifndef VCM_FUZZ_H
#define VCM_FUZZ_H
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vcm.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* A model divergence: print where and trap (libFuzzer or the replay reports it). */
__attribute__((noreturn)) void fuzz_fail(const char *file, int line, const char *what,
                                         const char *extra);
#define fail_at(line, what, extra) fuzz_fail(__FILE__, line, what, extra)
#define CHECK(c)                                                                             \
  do {                                                                                       \
    if (!(c)) fail_at(__LINE__, #c, NULL);                                                   \
  } while (0)

/* ---- input: reading past the end yields zeros ---- */
typedef struct {
  const uint8_t *d;
  size_t n, i;
} input;
unsigned in8(input *in);
unsigned in16(input *in);

static inline int pow2(size_t x) { return x && !(x & (x - 1)); }
static inline size_t lowbit(uintptr_t x) { return (size_t)(x & (~x + 1u)); }
static inline unsigned log2_ceil(size_t n) { /* n >= 1 */
  unsigned c = 0;
  while (((size_t)1 << c) < n) c++;
  return c;
}

/* ---- block contents: byte i of the block with id is a pattern; ids are never reused ---- */
enum { FILL, VERIFY, ZERO };
/* FILL, VERIFY or check ZERO the tracked bytes of [from, to) of p: 1, or 0 if one differs. */
int span(unsigned char *p, uint32_t id, size_t from, size_t to, int mode);
extern uint32_t next_id;

/* The source of an append of *k bytes to block p, whose used bytes are old (v, a: bytes the
 * operation read): with v & 16, p's own used bytes from an offset read from in (*k cut to end
 * within them), else a buffer of *k bytes made from a. Its bytes are copied to want, for the
 * check after the append. *k <= APPEND_MAX. */
#define APPEND_MAX (64 * KiB)
const unsigned char *append_src(input *in, unsigned v, unsigned a, const unsigned char *p,
                                size_t old, size_t *k, unsigned char *want);

/* ---- misuse handlers ---- */
typedef struct {
  int calls;
  const void *ptr;
  const char *reason;
} misuse_log;
extern misuse_log proc_log, reg_log;
void on_misuse(void *ctx, const void *ptr, const char *reason);
/* Exactly one report, for p, and (if want is set) a reason starting with want. */
void expect_misuse(misuse_log *m, const void *p, const char *want, int line);
#define EXPECT_MISUSE(m, p, want) expect_misuse(m, p, want, __LINE__)

/* ---- the region (fuzz_region.c) ---- */
void r_setup(input *in);
void r_check(void);
void r_teardown(void);
const void *r_data(void); /* the region's data: never a process heap pointer */
void r_op_alloc(input *in);
void r_op_calloc(input *in);
void r_op_aligned(input *in);
void r_op_realloc(input *in);
void r_op_expand(input *in);
void r_op_free(input *in);
void r_op_query(input *in);
void r_op_fill(input *in);
void r_op_drain(input *in);
void r_op_misuse(input *in);

/* ---- the process heap (fuzz_process.c) ---- */
void p_begin(void);
void p_check(void);
void p_end(const vcm_stats *before);
void p_op_malloc(input *in);
void p_op_bulk(input *in);
void p_op_calloc(input *in);
void p_op_realloc(input *in);
void p_op_realloc0(input *in);
void p_op_reallocarray(input *in);
void p_op_reserve(input *in);
void p_op_expand(input *in);
void p_op_aligned(input *in);
void p_op_free(input *in);
void p_op_fork(input *in);
void p_op_query(input *in);
void p_op_misuse(input *in);
void p_op_remote(input *in);
void p_op_inject(input *in);
#endif
