/* The OS contract: the only primitives vcm needs from the platform. src/os_posix.c is the only
 * file that calls mmap, mremap, munmap or madvise. Each call that acquires memory returns NULL
 * (errno ENOMEM) on failure; the others return 0 or -1 and keep errno (free calls them). */
#ifndef VCMI_OS_H
#define VCMI_OS_H
#include <stddef.h>

#define VCMI_PAGE 4096u

/* Reserve size bytes of zeroed, readable and writable address space aligned to align (a power
 * of two >= VCMI_PAGE). Pages cost nothing until touched. */
void *vcmi_os_reserve(size_t size, size_t align);
/* Return [p, p + size) to the OS. */
int vcmi_os_release(void *p, size_t size);
/* Drop the pages of [p, p + size): they read as zero again and leave RSS. */
int vcmi_os_purge(void *p, size_t size);
/* Make [p, p + size) inaccessible (a guard). */
int vcmi_os_guard(void *p, size_t size);
/* Ask for transparent huge pages on [p, p + size) (a hint; failure is ignored). */
void vcmi_os_hugepage(void *p, size_t size);
/* Grow the mapping [p, p + old) to new_size bytes, moving page tables, never bytes. dest NULL:
 * in place, if the address space after it is free. dest set: onto dest, a reservation of
 * new_size bytes from vcmi_os_reserve, which the move consumes. NULL on failure, and the old
 * mapping (and dest) are untouched. */
void *vcmi_os_remap(void *p, size_t old, size_t new_size, void *dest);

/* Counters of OS memory, bytes (relaxed; for stats). */
typedef struct vcmi_os_stats {
  size_t reserved, purged, remapped, calls, failed;
} vcmi_os_stats;
void vcmi_os_stats_get(vcmi_os_stats *out);

/* Fault injection for tests: the n-th call from now that acquires memory fails (n >= 1);
 * 0 disables. Exposed as vcm_debug_fail_os(). */
void vcmi_os_fail_at(long n);
#endif
