/* Misuse reports, at the bottom (floor 1): the reasons' and statuses' text, the default handler
 * (hosted: print without allocating and abort; freestanding: trap) and the process heap's
 * handler. Everything above reports downward, here. */
#ifndef VCM_FREESTANDING
#include <stdlib.h>

#include "os.h"
#endif
#include <stdint.h>

#include "misuse.h"
#include "vcm.h"

/* Matched byte for byte by test/misuse: change a text only with its test. */
static const char *const why_text[VCMI_WHY_COUNT] = {
    [VCMI_WHY_DOUBLE_FREE] = "double free (chunk is not live)",
    [VCMI_WHY_DOUBLE_FREE_LARGE] = "double free (block is not live)",
    [VCMI_WHY_USE_AFTER_FREE] = "use after free (chunk is not live)",
    [VCMI_WHY_USE_AFTER_FREE_LARGE] = "use after free (block is not live)",
    [VCMI_WHY_INTERIOR] = "interior pointer (not the start of a chunk)",
    [VCMI_WHY_INTERIOR_LARGE] = "interior pointer (not the start of a block)",
    [VCMI_WHY_FOREIGN_REGION] = "foreign pointer (not from this heap)",
    [VCMI_WHY_FOREIGN] = "foreign pointer (not allocated by vcm)",
    [VCMI_WHY_FOREIGN_REALLOC] = "realloc of a foreign pointer (not allocated by vcm)",
    [VCMI_WHY_FOREIGN_SIZE] = "size query of a foreign pointer (not allocated by vcm)",
    [VCMI_WHY_FOREIGN_EXPAND] = "expand of a foreign pointer (not allocated by vcm)",
    [VCMI_WHY_FREE_SIZED] = "free_sized with a size that is not the block's",
    [VCMI_WHY_FREE_ALIGNED] = "free_aligned_sized with an alignment the block does not have",
    [VCMI_WHY_OVERFLOW] = "heap overflow (bytes past the used size were written)",
    [VCMI_WHY_WRITE_AFTER_FREE] = "write after free (a freed chunk was changed)",
    [VCMI_WHY_CORRUPT] = "corrupted map (an entry contradicts the map; the region refuses it)",
};

/* The text of a status from vcm_region_init or vcm_region_plan. */
const char *vcm_strerror(vcm_status s) {
  switch (s) {
  case VCM_OK: return "ok";
  case VCM_E_NULL: return "a required pointer is NULL";
  case VCM_E_ALIGN: return "disc is not 16-byte aligned";
  case VCM_E_POW2: return "size_min and size_max must be powers of two";
  case VCM_E_ORDER: return "size_max is smaller than size_min";
  case VCM_E_MIN: return "size_min is below 16 (the map's granule)";
  case VCM_E_MAX: return "size_max is above VCM_CLASS_MAX";
  case VCM_E_FACTOR: return "grow_factor must be 2";
  case VCM_E_SMALL: return "disc is too small for one channel";
  case VCM_E_TOO_MANY: return "disc holds more chunks than a 32-bit map index can name";
  }
  return "unknown status";
}

const char *vcmi_why_text(vcmi_why why) {
  return (unsigned)why < VCMI_WHY_COUNT ? why_text[why] : "misuse";
}

#ifdef VCM_FREESTANDING
/* No way to print: stop hard. */
void vcmi_misuse_default(void *ctx, const void *ptr, const char *reason) {
  (void)ctx;
  (void)ptr;
  (void)reason;
  __builtin_trap();
}

void vcmi_assert_fail(const char *what, const char *file, int line) {
  (void)what;
  (void)file;
  (void)line;
  __builtin_trap();
}
#else
/* Format "vcm: <what>: <reason> at 0x<ptr>\n" into buf; returns the length. No allocation. */
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
  (void)vcmi_os_write(2, buf, n);
  abort();
}

void vcmi_assert_fail(const char *what, const char *file, int line) {
  char buf[512], num[12];
  size_t n = 0, k = sizeof num;
  unsigned v = line > 0 ? (unsigned)line : 0u;
  num[--k] = 0;
  do num[--k] = (char)('0' + v % 10u); while ((v /= 10u) && k);
  const char *parts[] = {"vcm: internal error: ", what, " (", file, ":", num + k, ")\n"};
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
    for (const char *s = parts[i]; *s && n < sizeof buf - 2; s++) buf[n++] = *s;
  if (buf[n - 1] != '\n') buf[n++] = '\n';
  (void)vcmi_os_write(2, buf, n);
  abort();
}
#endif

static vcm_misuse_fn proc_handler;
static void *proc_ctx;

void vcm_set_misuse_handler(vcm_misuse_fn fn, void *ctx) {
  __atomic_store_n(&proc_ctx, ctx, __ATOMIC_RELAXED);
  __atomic_store_n(&proc_handler, fn, __ATOMIC_RELEASE);
}

void vcmi_process_report(void *ctx, const void *ptr, const char *reason) {
  vcm_misuse_fn fn = __atomic_load_n(&proc_handler, __ATOMIC_ACQUIRE);
  (void)ctx;
  if (fn)
    fn(__atomic_load_n(&proc_ctx, __ATOMIC_RELAXED), ptr, reason);
  else
    vcmi_misuse_default(NULL, ptr, reason);
}

void vcmi_process_misuse(const void *ptr, vcmi_why why) {
  vcmi_process_report(NULL, ptr, vcmi_why_text(why));
}
