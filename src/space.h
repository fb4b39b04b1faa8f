/* Segments under an address-space limit (space.c). Not installed. */
#ifndef VCMI_SPACE_H
#define VCMI_SPACE_H
#include <stddef.h>

#include "os.h"
#include "segment.h"

/* Whether a wide or fine segment of size bytes is within its share of RLIMIT_AS: at most
 * 1/share of the limit, and vcm's reservations then at most half of it. 1 unlimited (one read
 * of the limit, a system call: inline, as it runs in every process). Any thread. */
__attribute__((cold)) int vcmi_space_fits_limited(size_t size, unsigned share, size_t lim);
static inline int vcmi_space_fits(size_t size, unsigned share) {
  size_t lim = vcmi_os_space_limit();
  return lim == SIZE_MAX || vcmi_space_fits_limited(size, share, lim);
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
