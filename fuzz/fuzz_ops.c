/* Operation fuzzer for vcm: the input bytes are a program of allocator operations, run on a
 * caller region (vcm_region_*) and on the process heap (vcm_*), each checked against a model.
 *
 * The model knows, for every live block: its address, used bytes, capacity and an id whose
 * byte pattern fills the block. After every operation it checks the region's invariants
 * (vcm_region_check), its counters (vcm_region_stats_get) and that the handler was not
 * called; every 32 operations and at the end, vcm_check(NULL). Region predictions are exact:
 * the model counts live chunks per class, so it knows which class an allocation lands in and
 * when the region is full (vcm_region_append and vcm_region_reserve included: a query of a live
 * slot, 1 in 4). Process predictions are exact too (classes 16 B … 256 KiB; large
 * blocks a power of two >= 512 KiB, or a cached block of up to 4 times that), except while
 * OS failures are injected. Process operations include frees, resizes and allocations from
 * other threads, a fork whose child must find the heap intact, malloc_trim (vcm_trim: live
 * blocks intact, no large block left cached), vcm_append (from a buffer or from the block's
 * own bytes), and misuse that must reach
 * the handler once, with the pointer. Any divergence traps (__builtin_trap) so that
 * libFuzzer, or the replay program, reports it.
 *
 * Files: this one (the operation table and the entry point), fuzz_common.c (input, patterns,
 * misuse log), fuzz_region.c (region operations), fuzz_process.c (process operations), fuzz.h. Builds two ways, both Makefile
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
