/* Process geometry, the size-class header: classes 16 B … 256 KiB; a segment is one region of
 * 32 channels; the pagemap's granule. Constants only (floor 1: includes nothing of vcm). */
#ifndef VCMI_SIZES_H
#define VCMI_SIZES_H
#include <stddef.h>

#define VCMI_LMIN 4u
#define VCMI_LMAX 18u
#define VCMI_NCLASS (VCMI_LMAX - VCMI_LMIN + 1u)
#define VCMI_SMALL_MAX ((size_t)1 << VCMI_LMAX)
#define VCMI_SEG_CHANNELS 32u
#define VCMI_GRANULE_SHIFT 21u /* pagemap granule: 2 MiB */
#define VCMI_GRANULE ((size_t)1 << VCMI_GRANULE_SHIFT)
/* A segment's class areas: 32 channels x 256 KiB = 2^23 bytes each. */
#define VCMI_SEG_STRIDE_LOG2 (VCMI_LMAX + 5u)
_Static_assert(VCMI_SEG_CHANNELS == 32u, "stride is 2^5 channels of the largest class");
#endif
