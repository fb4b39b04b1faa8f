/* Process geometry, the size-class header: classes 16 B … 256 KiB; a segment is one region of
 * 32 channels; the pagemap's granule. Constants only (floor 1: includes nothing of vcm). */
#ifndef VCMI_SIZES_H
#define VCMI_SIZES_H
#include <stddef.h>

#define VCMI_LMIN 4u
#define VCMI_LMAX 18u
#define VCMI_NCLASS (VCMI_LMAX - VCMI_LMIN + 1u)
#define VCMI_SMALL_MAX ((size_t)1 << VCMI_LMAX)
/* Channels of a segment: 32 (class areas of 8 MiB). On 32-bit targets 4 (areas of 1 MiB): a
 * thread's segments of every scale reserve 264 MiB there, not 1.9 GiB, which two threads'
 * would have taken from a 4 GiB address space (malloc failing with two threads). */
#if defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 4
#define VCMI_SEG_CHANNELS_LOG2 2u
#else
#define VCMI_SEG_CHANNELS_LOG2 5u
#endif
#define VCMI_SEG_CHANNELS (1u << VCMI_SEG_CHANNELS_LOG2)
#define VCMI_GRANULE_SHIFT 21u /* pagemap granule: 2 MiB */
#define VCMI_GRANULE ((size_t)1 << VCMI_GRANULE_SHIFT)
/* A segment's class areas: channels x 256 KiB (2^23 bytes each on 64-bit). */
#define VCMI_SEG_STRIDE_LOG2 (VCMI_LMAX + VCMI_SEG_CHANNELS_LOG2)
#endif
