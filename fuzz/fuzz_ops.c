/* Operation fuzzer for vcm: the input bytes are a program of allocator operations, run on a
 * caller region (vcm_region_*) and on the process heap (vcm_*), each checked against a model.
 *
 * The model knows, for every live block: its address, used bytes, capacity and an id whose
 * byte pattern fills the block. After every operation it checks the region's invariants
 * (vcm_region_check), its counters (vcm_region_stats_get) and that the handler was not
 * called; every 32 operations and at the end, vcm_check(NULL). Region predictions are exact:
 * the model counts live chunks per class, so it knows which class an allocation lands in and
 * when the region is full. Process predictions are exact too (classes 16 B … 256 KiB; large
 * blocks a power of two >= 512 KiB, or a cached block of up to 4 times that), except while
 * OS failures are injected. Process operations include frees, resizes and allocations from
 * other threads, a fork whose child must find the heap intact, and misuse that must reach
 * the handler once, with the pointer. Any divergence traps (__builtin_trap) so that
 * libFuzzer, or the replay program, reports it.
 *
 * Files: this one (input, patterns, misuse log, the operation table), fuzz_region.c (region
 * operations), fuzz_process.c (process operations), fuzz.h. Builds two ways, both Makefile
 * targets (see fuzz/run.sh): with libFuzzer (clang, over a libvcm-api-test.a built with
 * coverage and sanitizers, without src/override.c so that ASan keeps its malloc), or with any
 * compiler against build/libvcm-api-test.a and fuzz/replay_main.c. Uses only the public API
 * (include/vcm.h).
 *
 * fuzz/run.sh runs both with VCM_PURGE_MB=2 VCM_LARGE_CACHE_MB=16, so that purges (class
 * resets, segment unmaps) and large-cache evictions happen within a few inputs; replay a crash
 * with the same environment.
 *
 * Input format: byte 0..3 choose the region (disc 64 KiB or 1 MiB, offset, size, geometry,
 * sometimes a refused geometry first); then each operation is an opcode byte followed by the
 * bytes that operation reads (slot, sizes, variants). Reading past the end yields zeros. */
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

/* Byte i of the block with this id. Ids are never reused within a run. */
static unsigned char pat(uint32_t id, size_t i) {
  uint32_t x = (id + 1u) * 0x9E3779B1u ^ (uint32_t)(i >> 8) * 0x85EBCA6Bu;
  return (unsigned char)((x >> 24) ^ i);
}

/* The tracked bytes of [from, to): all of the first 64 KiB, then the first 8 bytes of each
 * 4 KiB page (large blocks move by remapping whole pages: one sample per page finds a lost or
 * stale page without writing megabytes per operation). */
#if defined(__clang__) && __clang_major__ >= 13
/* Not traced by libFuzzer: comparing every byte through its hooks made span most of the run
 * time, and the bytes are no coverage worth having. */
__attribute__((no_sanitize("coverage")))
#endif
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
    switch (mode) {
    case FILL:
      for (; i < end; i++) p[i] = pat(id, i);
      break;
    case VERIFY:
      for (; i < end; i++)
        if (p[i] != pat(id, i)) return 0;
      break;
    default:
      for (; i < end; i++)
        if (p[i]) return 0;
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
/* ---- the program: one operation per opcode byte ---- */

typedef void (*op_fn)(input *);
static const op_fn ops[] = {
    r_op_alloc,   r_op_alloc,   r_op_calloc,  r_op_aligned, r_op_realloc,      r_op_realloc,
    r_op_expand,  r_op_free,    r_op_free,    r_op_query,   r_op_fill,         r_op_drain,
    r_op_misuse,  p_op_malloc,  p_op_bulk,    p_op_calloc,  p_op_realloc,      p_op_realloc,
    p_op_realloc0, p_op_reallocarray, p_op_reserve, p_op_expand, p_op_aligned, p_op_free,
    p_op_fork,    p_op_query,   p_op_misuse,  p_op_remote,  p_op_inject,
};
#define N_OPS (sizeof ops / sizeof *ops)
#define MAX_OPS 3000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  input in = {data, size, 0};
  vcm_stats st0;
  vcm_set_misuse_handler(on_misuse, &proc_log);
  proc_log.calls = reg_log.calls = 0;
  p_begin();
  vcm_stats_get(&st0);
  CHECK(st0.large_live == 0);
  r_setup(&in);
  for (unsigned n = 0; in.i < in.n && n < MAX_OPS; n++) {
    ops[in8(&in) % N_OPS](&in);
    r_check();
    CHECK(proc_log.calls == 0);
    if (n % 32 == 31) p_check();
  }
  r_teardown();
  p_end(&st0);
  vcm_set_misuse_handler(NULL, NULL);
  return 0;
}
