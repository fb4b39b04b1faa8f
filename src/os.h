/* The OS contract: the only primitives vcm needs from the platform. src/os_posix.c is the only
 * file that calls the OS (mmap, mremap, munmap, madvise, sysconf, /proc, write, open). Each
 * call that acquires memory returns NULL (errno ENOMEM) on failure; the others return 0 or -1
 * and keep errno (free calls them) unless said otherwise. None takes a lock or allocates; any
 * thread may call any of them. */
#ifndef VCMI_OS_H
#define VCMI_OS_H
#include <stddef.h>
#include <stdint.h>

/* The smallest page vcm expects: the least alignment of a reservation; a segment header fits
 * in one. What depends on the real page size (guards, purges, valloc) asks vcmi_os_page(). */
#define VCMI_PAGE 4096u

/* Reserve size bytes of zeroed, readable and writable address space aligned to align (a power
 * of two >= VCMI_PAGE). Pages cost nothing until touched. */
void *vcmi_os_reserve(size_t size, size_t align);
/* vcmi_os_reserve's address space, closed: no access and never resident, even in a process
 * that locks its memory (mlockall populates every open page of a reservation, MCL_FUTURE as it
 * is mapped); opened in parts by vcmi_os_open. NULL (errno ENOMEM) on failure. */
void *vcmi_os_reserve_closed(size_t size, size_t align);
/* Make [p, p + size) (page aligned: a closed reservation, or vcm's own static pages) readable,
 * and writable if write:
 * pages reading zero that cost nothing until touched, unless the process locks its memory and
 * write is set (then resident now, as locked memory must be; readable only, they share the
 * OS's zero page). 0, or -1 (the range may be open in part). Keeps errno. Acquires memory
 * (fault injection counts it). */
int vcmi_os_open(void *p, size_t size, int write);
/* Close [p, p + size) (page aligned, of a reservation) again, readable if read: its pages go,
 * locked or not (a new mapping replaces them), and it reads zero where readable. 0, or -1
 * (unchanged). Keeps errno. */
int vcmi_os_shut(void *p, size_t size, int read);
/* Return [p, p + size) to the OS. */
int vcmi_os_release(void *p, size_t size);
/* Drop the pages of [p, p + size): they read as zero again and leave RSS. Pages the OS will
 * not drop (locked by mlock: EINVAL) are zeroed instead: they read zero all the same (callers
 * count on it: calloc skips clearing what was dropped) and stay resident; then -1. */
int vcmi_os_purge(void *p, size_t size);
/* Back [p, p + size) with written (zero) pages now, in one call instead of a fault per page
 * (Linux: MADV_POPULATE_WRITE). A hint: on failure (an older kernel, no memory now) the pages
 * fault in when touched. Keeps errno. */
void vcmi_os_populate(void *p, size_t size);
/* How many pages of [p, p + size) (p page aligned) are resident now; (size_t)-1 if unknown.
 * A page swapped out counts as not resident. Keeps errno. */
size_t vcmi_os_resident_pages(const void *p, size_t size);
/* Drop the pages of n ranges (n <= VCMI_OS_PURGE_BATCH), as vcmi_os_purge does each (zeroed
 * where refused): in one
 * system call where the OS has one (Linux 6.14 on: process_madvise on the calling thread, one
 * TLB flush for all), else one call a range. Keeps errno. */
#define VCMI_OS_PURGE_BATCH 64u
typedef struct vcmi_os_range {
  void *p;
  size_t size;
} vcmi_os_range;
void vcmi_os_purge_ranges(const vcmi_os_range *r, size_t n);
/* Drop the pages of [p, p + size) as vcmi_os_purge does, but keep their page tables: Linux
 * (6.14 on) frees the page table of a range one zap empties whole (2 MiB of 4 KiB pages), and
 * the next fault there must allocate and charge a new one (s7: 17 % of its time). The range is
 * cut one page past each such boundary, so that no piece holds a table whole, and dropped as
 * one batch (vcmi_os_purge_ranges);
 * where the batch call is refused, in one madvise (the tables may go). Keeps errno. */
void vcmi_os_purge_keep_tables(void *p, size_t size);
/* Make [p, p + size) inaccessible (a guard). */
int vcmi_os_guard(void *p, size_t size);
/* Ask for transparent huge pages on [p, p + size) (a hint; failure is ignored). */
void vcmi_os_hugepage(void *p, size_t size);
/* The huge page vcmi_os_populate_huge makes (Linux x86-64 and arm64 with 4 KiB pages: 2 MiB),
 * or 0 where vcm makes none. */
size_t vcmi_os_huge(void);
/* Mark the mapping [p, p + size) (whole: all of one reservation) for small pages: faults there
 * take small pages whatever the system's huge page mode. A hint; keeps errno. */
void vcmi_os_small_pages(void *p, size_t size);
/* As vcmi_os_populate, with huge pages where the OS has them free: [p, p + size) (aligned to
 * vcmi_os_huge()) lies in a mapping marked by vcmi_os_small_pages, and is marked so again
 * after (later faults take small pages; the mapping is one for remaps again). While it runs,
 * the mapping is not one (a remap of it whole would fail): the caller keeps remaps out. A
 * hint; keeps errno. */
void vcmi_os_populate_huge(void *p, size_t size);
/* Grow the mapping [p, p + old) to new_size bytes, moving page tables, never bytes. dest NULL
 * and move 0: in place, if the address space after it is free; move 1: where the kernel
 * chooses (it checks all before it unmaps anything: a refusal changes nothing). dest set:
 * onto dest, a reservation of new_size bytes from vcmi_os_reserve, which the move consumes.
 * NULL on failure, and the old mapping is untouched; dest may be unmapped already (the kernel
 * unmaps it before its other checks, vcmi_os_move; then another thread may map there), so
 * such a move is made only where nothing is left to refuse: the same size. */
void *vcmi_os_remap(void *p, size_t old, size_t new_size, int move, void *dest);
/* Map [p, p + size) afresh (zero pages) if none of it is mapped, touching no mapping there
 * (MAP_FIXED_NOREPLACE): after a move onto p the kernel refused, maybe having unmapped p
 * first. 0: mapped, p is the caller's again; -1: something is mapped there (the caller's
 * still, or another thread's since the unmap). Keeps errno. */
int vcmi_os_refill(void *p, size_t size);
/* Whether a move onto a fixed address the kernel just refused was refused before anything
 * there was unmapped: its one such check (of those vcm's moves can fail) is the mapping count,
 * within 5 of vm.max_map_count (Linux mremap_to). 1 also if the mappings cannot be counted.
 * Keeps errno. */
int vcmi_os_refused_early(void);

/* Move the pages of [src, src + n) onto dst (both aligned to vcmi_os_page(), n a multiple of
 * it, inside reservations): dst's old pages go, [src, src + n) stays mapped and reads zero, its
 * pages gone from it. Page tables move, never bytes. 0, or -1 with nothing changed (the caller
 * copies; dst stays mapped, which a one-call move refused did not ensure): unsupported,
 * refused, or the process holds over a quarter of vm.max_map_count mappings (a move may split
 * them; counted at most once per 4,096 refusals). Keeps errno. */
int vcmi_os_move(void *src, void *dst, size_t n);
/* The process locks what it maps (a segment made under mlockall MCL_FUTURE): no more moves
 * until vcmi_os_move next reads that none of its memory is locked. Any thread. */
void vcmi_os_moves_locked(void);

/* Counters of OS memory, bytes (relaxed; for stats). */
typedef struct vcmi_os_stats {
  size_t reserved, purged, remapped, calls, failed;
} vcmi_os_stats;
void vcmi_os_stats_get(vcmi_os_stats *out); /* a snapshot; never fails */

/* Calls into libc that the program itself may never make cost resident pages: the OS maps a
 * library's cached pages around each one a process touches (fault-around, 64 KiB), so a call
 * to a function in a part of libc the program leaves alone brings up to 16 pages. So the
 * allocator's calls made in every process go where the program's own calls go (mmap and
 * syscall() share a part of glibc; sched_yield, sysconf and getpid lie elsewhere: s3's peak
 * held 31 more libc pages for them, docs/DESIGN.md §6). */
/* The OS's page size, asked once (later calls return the first answer). Any thread. */
size_t vcmi_os_page(void);
/* The address space the process may hold (RLIMIT_AS, which counts closed reservations too),
 * asked now; SIZE_MAX if unlimited or unknown. Keeps errno. */
size_t vcmi_os_space_limit(void);
/* Its last answer, 0 before the first (a process asks at its first segment, large.c at each
 * refusal): for what reads it too often to ask the OS each time (large.c, cap_for). */
extern size_t vcmi_os_space_limit_last;
/* Give the processor up (a spinlock waiting). */
void vcmi_os_yield(void);
/* A monotonic clock read cheaply (Linux: CLOCK_MONOTONIC_COARSE, ticks of 1-10 ms), ns; 0 if
 * unknown. Keeps errno. Not the fine clock: its vDSO read retries while the kernel updates the
 * time, and single-stepped (a fork at each step, test_fork_every_step) it retried for ever. */
uint64_t vcmi_os_coarse_ns(void);
/* The monotonic clock to the nanosecond, by a system call (not the vDSO read, which retries:
 * above), ns; 0 if unknown. Keeps errno. For timing calls of 100 µs and more (large.c). */
uint64_t vcmi_os_fine_ns(void);
/* The coarse clock's tick (its resolution), ns, asked once: two reads a tick apart may be
 * a moment apart. 0 if unknown. Keeps errno. */
uint64_t vcmi_os_coarse_tick(void);
/* The process's resident bytes (Linux: /proc/self/statm times the page size); 0 if unknown.
 * Keeps errno (a purge in free asks it). */
size_t vcmi_os_resident(void);
/* Write all n bytes of buf to fd, retrying after EINTR and short writes: 0, or -1 (errno set,
 * some bytes may have been written). No allocation. */
int vcmi_os_write(int fd, const void *buf, size_t n);
/* Create or truncate path for writing (0644, close-on-exec): the fd, or -1 (errno). */
int vcmi_os_create(const char *path);
void vcmi_os_close(int fd); /* errors ignored */
long vcmi_os_pid(void);     /* never fails */
/* The calling thread's id (Linux: gettid), and whether thread tid of this process still
 * exists: 0 only if it certainly does not (a reused id counts as alive). Keeps errno. */
long vcmi_os_thread_id(void);
int vcmi_os_thread_alive(long tid);

/* Fault injection for tests: the n-th call from now that acquires memory fails (n >= 1), or
 * the -n-th and every one after it (n <= -1: vcm retries a refusal where another try may
 * serve, so one failure alone may never show); 0 disables. Exposed as vcm_debug_fail_os(). */
void vcmi_os_fail_at(long n);
#endif
