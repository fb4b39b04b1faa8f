/* Internal interface of purging (purge.c): a heap's free pages back to the OS. Not installed.
 * Owner only (the thread whose heap holds the segment); no lock taken. */
#ifndef VCMI_PURGE_H
#define VCMI_PURGE_H
#include "segment.h"
#include "os.h"

/* The ranges one heap purge drops, given to the OS together (one call where it has one:
 * scattered free chunks make thousands of ranges, and a call each cost g8 +9 % CPU). */
typedef struct vcmi_purge_batch {
  vcmi_os_range r[VCMI_OS_PURGE_BATCH];
  size_t n;
} vcmi_purge_batch;

/* Hand the batch's ranges to the OS and empty it. O(ranges). */
void vcmi_purge_flush(vcmi_purge_batch *b);

/* One class k of segment s at a heap purge: age the chunks freed since the last purge, drop
 * (into bt) the spans free since the last (if drop; inside the class only if !check), cut the
 * class's top. O(chunks freed since the last purge + groups + chunks dropped). Returns whether
 * it aged any (the next purge must look at the class again, frees or not). */
int vcmi_purge_class(vcmi_segment *s, unsigned k, int drop, int check, vcmi_purge_batch *bt);

#endif
