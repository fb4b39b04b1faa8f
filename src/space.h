/* Segments under an address-space limit (space.c). Not installed. */
#ifndef VCMI_SPACE_H
#define VCMI_SPACE_H
#include <stddef.h>

#include "os.h"
#include "segment.h"

/* The bytes to reserve for a wide segment of size bytes, or a fine one (fine != 0), within its
 * share of RLIMIT_AS for the heap of thread tid (the main thread's has the larger): size, or
 * for a fine one the largest of size, size / 2, ... down to two units of the segment map that
 * fits; 0 if none does. Unlimited: size (one read of the limit, a system call; inline, as it
 * runs in every process). Any thread. */
__attribute__((cold)) size_t vcmi_space_fit_limited(size_t size, int fine, long tid, size_t lim);
static inline size_t vcmi_space_fit(size_t size, int fine, long tid) {
  size_t lim = vcmi_os_space_limit();
  return lim == SIZE_MAX ? size : vcmi_space_fit_limited(size, fine, tid, lim);
}
/* A narrow segment for power of two's class k, refused its wide one or over its share: the
 * reservation (closed), with *size, *doff (the data's offset) and *group_at (its span groups'
 * offset in a compact one, else 0); NULL if the OS refuses every size. Any thread. */
__attribute__((cold)) unsigned char *vcmi_space_reserve_narrow(unsigned k, size_t *size,
                                                               size_t *doff, size_t *group_at);
/* Set up s, made on vcmi_space_reserve_narrow's compact reservation (group_at != 0), for its
 * class k: where its groups lie, and class k - 1's entries under its header read zero. */
__attribute__((cold)) void vcmi_space_compact_setup(vcmi_segment *s, unsigned k, size_t doff,
                                                    size_t group_at);
#endif
