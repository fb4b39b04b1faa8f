/* Options, defined once: name, default, description. Each is read from VCM_<NAME> at load. */
#ifndef VCMI_OPTIONS_H
#define VCMI_OPTIONS_H
#include <stddef.h>

#define VCMI_OPTIONS(X)                                                                      \
  X(STATS, 0, "print statistics to stderr at exit (1 = text, 2 = JSON)")                     \
  X(CHECK, 0, "fill slack and freed chunks; report overflows and writes after free (1)")      \
  X(PURGE_MB, 16, "most MiB freed by a thread between returns of memory to the OS; also set by mallopt(M_TRIM_THRESHOLD, bytes)") \
  X(LARGE_CACHE_MB, 64, "MiB of freed large blocks kept mapped for reuse (of blocks written all over: up to half the live blocks' capacity)") \
  X(THP, 0, "ask for transparent huge pages on large blocks of 2 MiB and more (1)")          \
  X(VERBOSE, 0, "print the options in effect at start-up (1) ")

/* Options that are strings, read where used with getenv (not parsed as numbers). */
#define VCMI_STRING_OPTIONS(X)                                                               \
  X(SVG, "", "write a picture of the heap (SVG) to this file at exit; %p = the pid")

typedef enum {
#define VCMI_OPT_ENUM(name, def, doc) VCMI_OPT_##name,
  VCMI_OPTIONS(VCMI_OPT_ENUM) VCMI_OPT_COUNT
#undef VCMI_OPT_ENUM
} vcmi_option;

extern long vcmi_opt[VCMI_OPT_COUNT];
/* Option i, a count of MiB (at most 2^30, as parsed), in bytes: at most SIZE_MAX / 8, so that a
 * 32-bit build's << 20 does not wrap (4,096 MiB read as 0: a purge at every free, no large
 * cache) and the purge credit (heap.c) stays a positive ptrdiff_t with room below zero. */
static inline size_t vcmi_opt_bytes(vcmi_option i) {
  size_t mib = (size_t)__atomic_load_n(&vcmi_opt[i], __ATOMIC_RELAXED); /* mallopt may set it */
  size_t most = ((size_t)-1 / 8u) >> 20;
  return (mib < most ? mib : most) << 20;
}
/* Set option i to v, clamped to [0, 2^30] as parsed (mallopt, override.c). Any thread; each
 * use reads it afresh. */
void vcmi_option_set(vcmi_option i, long v);
/* Read the environment once (later calls return at once; no allocation, no lock): called at
 * load and at the first heap (one before libc has set environ, from a preinit_array function,
 * reads nothing and leaves it to the next). A bad value: a warning on stderr, the default kept. */
void vcmi_options_init(void);
#endif
