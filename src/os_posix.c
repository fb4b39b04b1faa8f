/* The POSIX (Linux) side of the OS contract in os.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "os.h"

static size_t st_reserved, st_purged, st_remapped, st_calls, st_failed;
static long fail_countdown; /* > 0: the call that brings it to 0 fails */
static int fail_on;         /* and every one after it (vcmi_os_fail_at with n < 0) */

#define ADD(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)
#define SUB(x, v) __atomic_fetch_sub(&(x), (v), __ATOMIC_RELAXED)

void vcmi_os_fail_at(long n) {
  __atomic_store_n(&fail_on, n < 0, __ATOMIC_RELAXED);
  __atomic_store_n(&fail_countdown, n < 0 ? -n : n, __ATOMIC_RELAXED);
}

/* Fault injection: decide whether this acquiring call fails. */
static int injected_failure(void) {
  ADD(st_calls, 1);
  long c = __atomic_load_n(&fail_countdown, __ATOMIC_RELAXED);
  if (c <= 0) return 0;
  if ((c == 1 && __atomic_load_n(&fail_on, __ATOMIC_RELAXED)) ||
      __atomic_sub_fetch(&fail_countdown, 1, __ATOMIC_RELAXED) == 0) {
    ADD(st_failed, 1);
    errno = ENOMEM;
    return 1;
  }
  return 0;
}

static void *map_raw(size_t size, int prot) {
  void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    ADD(st_failed, 1);
    errno = ENOMEM;
    return NULL;
  }
  return p;
}

/* Map size + align, then trim both ends so an aligned size-byte mapping remains. */
static void *map_aligned(size_t size, size_t align, int prot) {
  if (size + align < size) {
    errno = ENOMEM;
    return NULL;
  }
  if (align <= VCMI_PAGE) return map_raw(size, prot);
  unsigned char *p = map_raw(size + align, prot);
  if (!p) return NULL;
  uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
  size_t head = a - (uintptr_t)p, tail = align - head;
  if (head) munmap(p, head);
  if (tail) munmap((unsigned char *)a + size, tail);
  return (void *)a;
}

void *vcmi_os_reserve(size_t size, size_t align) {
  if (injected_failure()) return NULL;
  void *p = map_aligned(size, align, PROT_READ | PROT_WRITE);
  if (p) ADD(st_reserved, size);
  return p;
}

void *vcmi_os_reserve_closed(size_t size, size_t align) {
  if (injected_failure()) return NULL;
  void *p = map_aligned(size, align, PROT_NONE);
  if (p) ADD(st_reserved, size);
  return p;
}

int vcmi_os_open(void *p, size_t size, int write) {
  int saved = errno;
  if (injected_failure()) {
    errno = saved;
    return -1;
  }
  int r = mprotect(p, size, write ? PROT_READ | PROT_WRITE : PROT_READ); /* ENOMEM: past
                                                                          * vm.max_map_count */
  if (r != 0) ADD(st_failed, 1);
  errno = saved;
  return r;
}

int vcmi_os_shut(void *p, size_t size, int read) {
  int saved = errno;
  void *q = mmap(p, size, read ? PROT_READ : PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
  errno = saved;
  return q == MAP_FAILED ? -1 : 0;
}

/* By syscall(), not getrlimit: every process asks at its first segment, and syscall() lies
 * where mmap does in libc (os.h: a call the program never makes costs libc's pages). */
size_t vcmi_os_space_limit_last;
size_t vcmi_os_space_limit(void) {
  int saved = errno;
  struct {
    uint64_t cur, max;
  } as;
  size_t n = syscall(SYS_prlimit64, 0, RLIMIT_AS, NULL, &as) == 0 && as.cur < SIZE_MAX
                 ? (size_t)as.cur
                 : SIZE_MAX;
  errno = saved;
  __atomic_store_n(&vcmi_os_space_limit_last, n, __ATOMIC_RELAXED);
  return n;
}

/* Release and purge run inside free, which must keep errno (POSIX.1-2024): munmap fails with
 * ENOMEM when splitting a mapping would pass vm.max_map_count. The pages then stay mapped. */
int vcmi_os_release(void *p, size_t size) {
  int saved = errno, r = munmap(p, size);
  if (r == 0) SUB(st_reserved, size);
  errno = saved;
  return r;
}

int vcmi_os_purge(void *p, size_t size) {
  int saved = errno, r = madvise(p, size, MADV_DONTNEED);
  if (r == 0)
    ADD(st_purged, size);
  else /* locked pages (or a kernel out of some resource): what was not dropped may hold data */
    memset(p, 0, size);
  errno = saved;
  return r;
}

/* madvise as a hint: a failure is ignored (EINVAL where the kernel lacks the advice or THP is
 * not built in: the caller succeeds all the same); keeps errno. */
static void hint(void *p, size_t size, int advice) {
  int saved = errno;
  (void)madvise(p, size, advice);
  errno = saved;
}

void vcmi_os_populate(void *p, size_t size) {
#ifdef MADV_POPULATE_WRITE
  hint(p, size, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)size;
#endif
}

size_t vcmi_os_resident_pages(const void *p, size_t size) {
  unsigned char vec[1024]; /* one byte a page: 4 MiB of 4 KiB pages a call */
  size_t page = vcmi_os_page(), pages = (size + page - 1u) / page, n = 0;
  int saved = errno;
  for (size_t at = 0; at < pages; at += sizeof vec) {
    size_t k = pages - at < sizeof vec ? pages - at : sizeof vec;
    if (mincore((unsigned char *)(uintptr_t)p + at * page, k * page, vec) != 0) {
      errno = saved;
      return (size_t)-1;
    }
    for (size_t i = 0; i < k; i++) n += vec[i] & 1u;
  }
  return n;
}

/* process_madvise on PIDFD_SELF_THREAD (-10000, Linux 6.14): the calling thread's own memory,
 * no file descriptor (nothing for a fork or a closefrom to break). Older kernels refuse the
 * descriptor (EBADF), kernels without the call say ENOSYS: then per-range madvise, for good. */
#define SELF_THREAD (-10000)
static int batch_off; /* set once process_madvise failed */

void vcmi_os_purge_ranges(const vcmi_os_range *r, size_t n) {
  size_t done = 0;
  int saved = errno;
#ifdef SYS_process_madvise
  struct iovec iov[VCMI_OS_PURGE_BATCH];
  for (size_t i = 0; i < n && i < VCMI_OS_PURGE_BATCH; i++) {
    iov[i].iov_base = r[i].p;
    iov[i].iov_len = r[i].size;
  }
  if (n <= VCMI_OS_PURGE_BATCH && !__atomic_load_n(&batch_off, __ATOMIC_RELAXED)) {
    long got = syscall(SYS_process_madvise, SELF_THREAD, iov, n, MADV_DONTNEED, 0u);
    if (got >= 0) {
      ADD(st_purged, (size_t)got), done = (size_t)got;
    } else if (errno == EINVAL) {
      /* The call refused MADV_DONTNEED (kernels before 6.13), or the first range is locked: a
       * lock elsewhere must not end batching for good. madvise tells which. */
      if (vcmi_os_purge(r[0].p, r[0].size) == 0)
        __atomic_store_n(&batch_off, 1, __ATOMIC_RELAXED);
      done = r[0].size;
    } else {
      __atomic_store_n(&batch_off, 1, __ATOMIC_RELAXED);
    }
  }
#endif
  /* what the batch did not cover (all of it if it failed): one range at a time */
  for (size_t i = 0; i < n; i++) {
    if (done >= r[i].size) {
      done -= r[i].size;
      continue;
    }
    vcmi_os_purge((unsigned char *)r[i].p + done, r[i].size - done);
    done = 0;
  }
  errno = saved;
}

/* A page table maps page * (page / 8) bytes (2 MiB of 4 KiB pages; 4 MiB on 32-bit x86 without
 * PAE, where cutting at every 2 MiB cuts at every 4 MiB too). */
void vcmi_os_purge_keep_tables(void *p, size_t size) {
  if (__atomic_load_n(&batch_off, __ATOMIC_RELAXED)) {
    (void)vcmi_os_purge(p, size);
    return;
  }
  size_t page = vcmi_os_page(), span = page * (page / 8u);
  vcmi_os_range r[VCMI_OS_PURGE_BATCH];
  size_t n = 0;
  unsigned char *at = p, *end = at + size;
  while (at < end) {
    /* To one page into the next table, so that the piece empties no table whole (each table
     * is split between two pieces): one piece a table. From a table's start, one page short
     * of its end. */
    size_t off = (uintptr_t)at & (span - 1u), len = off ? span - off + page : span - page;
    unsigned char *next = (size_t)(end - at) < len ? end : at + len;
    r[n++] = (vcmi_os_range){at, (size_t)(next - at)};
    at = next;
    if (n == VCMI_OS_PURGE_BATCH) {
      vcmi_os_purge_ranges(r, n);
      n = 0;
    }
  }
  if (n) vcmi_os_purge_ranges(r, n);
}

int vcmi_os_guard(void *p, size_t size) { return mprotect(p, size, PROT_NONE); }

#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE) && defined(MADV_POPULATE_WRITE)
size_t vcmi_os_huge(void) {
  return sizeof(void *) == 8 && vcmi_os_page() == 4096u ? (size_t)2 << 20 : 0;
}

void vcmi_os_small_pages(void *p, size_t size) { hint(p, size, MADV_NOHUGEPAGE); }

/* The range is marked for huge pages only while it is populated: khugepaged, which collapses
 * a marked range holding one small page or more into a huge page (max_ptes_none 511), never
 * sees it, and a drop never finds a huge page where it was not populated. */
void vcmi_os_populate_huge(void *p, size_t size) {
  hint(p, size, MADV_HUGEPAGE);
  hint(p, size, MADV_POPULATE_WRITE);
  hint(p, size, MADV_NOHUGEPAGE);
}
#else
size_t vcmi_os_huge(void) { return 0; }
void vcmi_os_small_pages(void *p, size_t size) {
  (void)p;
  (void)size;
}
void vcmi_os_populate_huge(void *p, size_t size) { vcmi_os_populate(p, size); }
#endif

void vcmi_os_hugepage(void *p, size_t size) {
#ifdef MADV_HUGEPAGE
  hint(p, size, MADV_HUGEPAGE);
#else
  (void)p;
  (void)size;
#endif
}

void *vcmi_os_remap(void *p, size_t old, size_t new_size, int move, void *dest) {
  if (injected_failure()) return NULL;
  void *q = dest   ? mremap(p, old, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dest)
            : move ? mremap(p, old, new_size, MREMAP_MAYMOVE)
                   : mremap(p, old, new_size, 0);
  if (q == MAP_FAILED) {
    if (move || dest) ADD(st_failed, 1);
    errno = ENOMEM;
    return NULL;
  }
  if (dest) /* dest was counted when it was reserved; the old mapping is gone */
    SUB(st_reserved, old);
  else
    ADD(st_reserved, new_size - old);
  ADD(st_remapped, old);
  return q;
}

int vcmi_os_refill(void *p, size_t size) {
  int saved = errno;
  void *q = mmap(p, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (q != MAP_FAILED && q != p) munmap(q, size); /* a kernel before 4.17 took it as a hint */
  errno = saved;
  return q == p ? 0 : -1;
}

/* File calls as raw system calls: open, read, write and close are cancellation points in
 * libc, and malloc, free and realloc reach these (a purge reads /proc/self/statm, a move
 * /proc/self/maps): a thread with a cancel pending would be cancelled inside the allocator,
 * its heap half updated (test_no_cancellation). syscall() is not one. errno as the libc call. */
static int sys_open(const char *path, int flags) {
  return (int)syscall(SYS_openat, AT_FDCWD, path, flags, 0644);
}
static ssize_t sys_read(int fd, void *buf, size_t n) { return (ssize_t)syscall(SYS_read, fd, buf, n); }
static void sys_close(int fd) { (void)syscall(SYS_close, fd); }

/* Lines of a /proc file (each mapping is one line of /proc/self/maps); -1 if unreadable. */
static long proc_lines(const char *path) {
  char buf[4096];
  long lines = 0;
  ssize_t n;
  int fd = sys_open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  while ((n = sys_read(fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
  sys_close(fd);
  return n < 0 ? -1 : lines;
}

/* vm.max_map_count (the kernel's default if unreadable). */
/* The number a /proc file starts with; -1 if unreadable. */
static long proc_number(const char *path) {
  char buf[32];
  long v = -1;
  int fd = sys_open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : sys_read(fd, buf, sizeof buf);
  if (fd >= 0) sys_close(fd);
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) v = (v < 0 ? 0 : v * 10) + (buf[i] - '0');
  return v;
}
static long map_limit(void) {
  long v = proc_number("/proc/sys/vm/max_map_count");
  return v > 0 ? v : 65530;
}

int vcmi_os_refused_early(void) {
  int saved = errno;
  long used = proc_lines("/proc/self/maps");
  errno = saved;
  return used < 0 || used + 5 >= map_limit();
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4 /* Linux 5.7; private anonymous mappings since 5.13 */
#endif
/* A move splits mappings: around dst, and maybe around src. The moves allowed before the
 * mappings are counted again (they may have gone since), and moves refused since they were. */
#define MOVE_SPLITS 4
#define MOVE_RECOUNT 256 /* the room a count must find for the next to come when it runs out */
static long move_room, move_refused;
static int move_unsupported;

/* Whether a move may be one call (MREMAP_FIXED onto dst). The kernel unmaps dst before its
 * other checks, so a move it refuses leaves a hole in the segment, which the next chunk there
 * faults on (test_move_refused: SIGSEGV). It refuses a move whose source is several mappings
 * before Linux 6.17 (moves make mappings: a third of g2's sources), a DONTUNMAP move's charge
 * of n bytes under strict overcommit, and its n bytes of address space under an RLIMIT_AS or
 * RLIMIT_DATA below what is mapped (a program may lower one). Then a move is two calls: to
 * where the kernel chooses (every check made; a refusal unmaps nothing of ours; a source of
 * several mappings is refused, and copied), then onto dst (the same size and not DONTUNMAP:
 * nothing to charge or check). The limits are read at every move (a call each, next to a
 * move's ~6 us); the kernel and the overcommit mode once. */
static int one_call(void) {
  static int known; /* 0: not read yet, 1: one call may do, 2: two calls always */
  int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
  if (!k) {
    struct utsname u;
    unsigned v[2] = {0, 0}; /* major, minor */
    const char *c = uname(&u) == 0 ? u.release : "";
    for (int i = 0; i < 2; i++, c += *c == '.')
      for (; *c >= '0' && *c <= '9'; c++) v[i] = v[i] * 10u + (unsigned)(*c - '0');
    long mode = proc_number("/proc/sys/vm/overcommit_memory");
    k = (v[0] > 6 || (v[0] == 6 && v[1] >= 17)) && (mode == 0 || mode == 1) ? 1 : 2;
    __atomic_store_n(&known, k, __ATOMIC_RELAXED);
  }
  struct rlimit as, data;
  return k == 1 && getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur == RLIM_INFINITY &&
         getrlimit(RLIMIT_DATA, &data) == 0 && data.rlim_cur == RLIM_INFINITY;
}

/* The kibibytes after field (as "VmLck:") in /proc/self/status; -1 if unreadable. */
static long status_kib(const char *field) {
  char buf[4096];
  size_t len = 0, f = 0;
  int fd = sys_open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : sys_read(fd, buf, sizeof buf - 1);
  if (fd >= 0) sys_close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  while (field[len]) len++;
  for (const char *c = buf; *c; c++) { /* at a line's start: field? */
    for (f = 0; f < len && c[f] == field[f]; f++) {}
    if (f == len) {
      long v = 0;
      for (c += len; *c == ' ' || *c == '\t'; c++) {}
      for (; *c >= '0' && *c <= '9'; c++) v = v * 10 + (*c - '0');
      return v;
    }
    while (*c && *c != '\n') c++;
    if (!*c) break;
  }
  return -1;
}

/* mlock: a DONTUNMAP move clears the lock of the whole mapping it moves from (Linux), so while
 * the process has locked memory (VmLck) no page moves (a locked segment could otherwise be
 * swapped out: test_moves_locked). Read before the first move and every MOVE_LOCK_EVERY calls
 * after (a read costs about a move), and set at once by a segment made under MCL_FUTURE. */
#define MOVE_LOCK_EVERY 64
static long move_lock_left;
static int moves_locked;
void vcmi_os_moves_locked(void) { __atomic_store_n(&moves_locked, 1, __ATOMIC_RELAXED); }

int vcmi_os_move(void *src, void *dst, size_t n) {
  if (__atomic_load_n(&move_unsupported, __ATOMIC_RELAXED)) return -1;
  if (__atomic_sub_fetch(&move_lock_left, 1, __ATOMIC_RELAXED) < 0) {
    int saved = errno;
    __atomic_store_n(&moves_locked, status_kib("VmLck:") > 0, __ATOMIC_RELAXED);
    errno = saved;
    __atomic_store_n(&move_lock_left, MOVE_LOCK_EVERY - 1, __ATOMIC_RELAXED);
  }
  if (__atomic_load_n(&moves_locked, __ATOMIC_RELAXED)) return -1;
  if (__atomic_sub_fetch(&move_room, 1, __ATOMIC_RELAXED) < 0) {
    /* Count the mappings: at the first move, when the moves allowed run out, and once per
     * 4,096 refused after a count that found little room (a count reads a line per mapping:
     * near the limit it must stay rare next to the copies it spares). A move makes fewer than
     * MOVE_SPLITS mappings (g2: 2.1-2.6), so the room counted runs out long before the limit:
     * counted again only after 4,096 refusals, g2 at scale 2 moved 152 MB, copying the rest
     * (252k faults); 352 MB now (218k). */
    if (__atomic_fetch_add(&move_refused, 1, __ATOMIC_RELAXED) % 4096 != 0) return -1;
    int saved = errno;
    long used = proc_lines("/proc/self/maps"), room = (map_limit() / 4 - used) / MOVE_SPLITS;
    errno = saved;
    if (used < 0 || room <= 0) return -1;
    if (room >= MOVE_RECOUNT) __atomic_store_n(&move_refused, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&move_room, room - 1, __ATOMIC_RELAXED);
  }
  int saved = errno, err = 0;
  void *q, *t = MAP_FAILED;
  if (one_call()) {
    q = mremap(src, n, n, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, dst);
    err = errno;
  } else if ((t = q = mremap(src, n, n, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, (void *)0)) == MAP_FAILED) {
    err = errno;
  } else if ((q = mremap(t, n, n, MREMAP_MAYMOVE | MREMAP_FIXED, dst)) == MAP_FAILED) {
    /* Not expected: the bytes back, copied (src stays mapped: DONTUNMAP). A move back could be
     * refused after the kernel unmapped src, as this one may have unmapped dst, and the caller
     * then read the bytes from a hole (test_move_back_refused). */
    memcpy(src, t, n);
    munmap(t, n);
  }
  if (q == MAP_FAILED) vcmi_os_refill(dst, n); /* not expected to have unmapped dst */
  if (q == MAP_FAILED && err == EINVAL) /* a kernel without DONTUNMAP: never again */
    __atomic_store_n(&move_unsupported, 1, __ATOMIC_RELAXED);
  errno = saved;
  if (q == MAP_FAILED) return -1;
  ADD(st_remapped, n);
  return 0;
}

void vcmi_os_stats_get(vcmi_os_stats *out) {
  out->reserved = __atomic_load_n(&st_reserved, __ATOMIC_RELAXED);
  out->purged = __atomic_load_n(&st_purged, __ATOMIC_RELAXED);
  out->remapped = __atomic_load_n(&st_remapped, __ATOMIC_RELAXED);
  out->calls = __atomic_load_n(&st_calls, __ATOMIC_RELAXED);
  out->failed = __atomic_load_n(&st_failed, __ATOMIC_RELAXED);
}

size_t vcmi_os_page(void) {
  static size_t page; /* 0 until asked; every thread gets the same answer, so a race is benign */
  size_t p = __atomic_load_n(&page, __ATOMIC_RELAXED);
  if (!p) {
    unsigned long v = getauxval(AT_PAGESZ); /* not sysconf (os.h: fault-around) */
    p = v ? (size_t)v : VCMI_PAGE;
    __atomic_store_n(&page, p, __ATOMIC_RELAXED);
  }
  return p;
}

#ifdef CLOCK_MONOTONIC_COARSE
#define COARSE CLOCK_MONOTONIC_COARSE
#else
#define COARSE CLOCK_MONOTONIC
#endif
uint64_t vcmi_os_coarse_ns(void) {
  struct timespec t;
  int saved = errno;
  int r = clock_gettime(COARSE, &t);
  errno = saved;
  return r != 0 ? 0 : (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t vcmi_os_fine_ns(void) {
  struct timespec t;
  int saved = errno;
  long r = syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
  errno = saved;
  return r != 0 ? 0 : (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t vcmi_os_coarse_tick(void) {
  static uint64_t tick; /* + 1: asked */
  uint64_t t = __atomic_load_n(&tick, __ATOMIC_RELAXED);
  if (!t) {
    struct timespec r;
    int saved = errno;
    t = clock_getres(COARSE, &r) != 0
            ? 1u
            : (uint64_t)r.tv_sec * 1000000000u + (uint64_t)r.tv_nsec + 1u;
    errno = saved;
    __atomic_store_n(&tick, t, __ATOMIC_RELAXED);
  }
  return t - 1u;
}

/* The second field of /proc/self/statm: resident pages. */
size_t vcmi_os_resident(void) {
  char buf[128];
  int saved = errno, fd = sys_open("/proc/self/statm", O_RDONLY | O_CLOEXEC); /* free calls it */
  ssize_t n = fd < 0 ? -1 : sys_read(fd, buf, sizeof buf - 1);
  if (fd >= 0) sys_close(fd);
  errno = saved;
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *p = buf;
  while (*p && *p != ' ') p++;
  size_t pages = 0;
  for (p++; *p >= '0' && *p <= '9'; p++) pages = pages * 10 + (size_t)(*p - '0');
  return pages * vcmi_os_page();
}

int vcmi_os_write(int fd, const void *buf, size_t n) {
  const char *b = buf;
  while (n) {
    ssize_t w = (ssize_t)syscall(SYS_write, fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

int vcmi_os_create(const char *path) {
  return sys_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
}

void vcmi_os_close(int fd) { sys_close(fd); }

long vcmi_os_pid(void) { return syscall(SYS_getpid); } /* not getpid (os.h) */

void vcmi_os_yield(void) { (void)syscall(SYS_sched_yield); } /* not sched_yield (os.h) */

long vcmi_os_thread_id(void) { return (long)syscall(SYS_gettid); }

int vcmi_os_thread_alive(long tid) {
  int saved = errno;
  int gone = syscall(SYS_tgkill, vcmi_os_pid(), tid, 0) != 0 && errno == ESRCH;
  errno = saved;
  return !gone;
}
