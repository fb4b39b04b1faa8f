/* vcm — the vector malloc.
 *
 * Every allocation is a reserved-capacity vector: a chunk of a power-of-two size class whose
 * bytes *used* and *capacity* are recorded out of line, in a map apart from the chunks. A
 * realloc that fits the capacity stays in place; a bigger one moves to the next class over and
 * copies only the used bytes.
 *
 * Two layers share one core:
 *  - the region API (vcm_region_*): the allocator over a caller-given block of memory, with no
 *    operating system underneath (builds freestanding). Not thread-safe: one region, one user
 *    at a time (or a lock of the caller's).
 *  - the process API (vcm_malloc, …): the whole process's heap, made of OS-backed regions, one
 *    set per thread, plus large blocks. Thread-safe. The libc names (malloc, free, …) are the
 *    same functions when libvcm is linked or preloaded.
 *
 * Misuse (freeing a pointer that is not the start of a live chunk) is always detected and sent
 * to a handler; the default prints the pointer and the reason and aborts.
 */
#ifndef VCM_H
#define VCM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#ifdef VCM_BUILD /* the library is built -fvisibility=hidden: only this API is exported */
#pragma GCC visibility push(default)
#endif

/* ---------------------------------------------------------------------------------------- */
/* Geometry and errors                                                                       */

/* Size classes are powers of two from size_min to size_max; grow_factor must be 2.
 * size_min >= 16 (the map's granule: a caller region keeps a 16-bit slot per 16 bytes), and
 * size_max <= VCM_CLASS_MAX. */
typedef struct vcm_geometry {
  size_t size_min;      /* smallest chunk capacity, power of two, >= 16 */
  size_t size_max;      /* largest chunk capacity, power of two, >= size_min */
  unsigned grow_factor; /* capacity ratio between neighbouring classes; only 2 is supported */
} vcm_geometry;

#define VCM_MAX_CLASSES 24           /* 2^4 … 2^27 */
#define VCM_CLASS_MAX ((size_t)1 << 27)
#define VCM_DEFAULT_MIN 16u
#define VCM_DEFAULT_MAX 1024u

/* Why a geometry or a region was refused. vcm_strerror() names each one. */
typedef enum vcm_status {
  VCM_OK = 0,
  VCM_E_NULL,      /* a required pointer argument is NULL */
  VCM_E_ALIGN,     /* disc not aligned to 16 bytes */
  VCM_E_POW2,      /* size_min or size_max is not a power of two */
  VCM_E_ORDER,     /* size_max < size_min */
  VCM_E_MIN,       /* size_min < 16: the map's granule is 16 bytes */
  VCM_E_MAX,       /* size_max > VCM_CLASS_MAX */
  VCM_E_FACTOR,    /* grow_factor is not 2 */
  VCM_E_SMALL,     /* disc too small for one channel */
  VCM_E_TOO_MANY   /* more chunks than a 32-bit map index can name (use a smaller disc) */
} vcm_status;

/* A static string naming the status. Never NULL. Thread-safe, O(1). */
const char *vcm_strerror(vcm_status s);

/* What a disc of a given size yields under a geometry (see docs/DESIGN.md, "Geometry").
 * A channel is n_classes blocks of size_max plus a map share (the channel's map rounded up to
 * whole size_max: one for the seed's geometry, so channel_factor = n_classes + 1);
 * n_channels = floor(disc_size / channel_size) (the head lives in the vcm_region object, not
 * in the disc, so the whole disc is map and channels). */
typedef struct vcm_plan {
  size_t n_classes;          /* log2(max) - log2(min) + 1 */
  size_t channel_factor;     /* n_classes + map share / size_max (seed: 7 + 1) */
  size_t channel_size;       /* channel_factor * size_max bytes */
  size_t chunks_per_channel; /* 2^n_classes - 1: the seed's channel, each block pre-split */
  size_t map_entry_bytes;    /* 2: a 16-bit slot per 16 bytes of data (plus the free bitmap) */
  size_t n_channels;         /* channels that fit */
  size_t data_bytes;         /* n_channels * n_classes * size_max: the chunks */
  size_t map_bytes;          /* slots + free bitmap (docs/DESIGN.md §2) */
  size_t slack_bytes;        /* disc bytes left over (map share unused + tail) */
} vcm_plan;

/* Compute the plan for a disc of disc_size bytes. geometry NULL means the seed's default
 * (16, 1024, 2). Returns VCM_OK and fills *out, or the reason the geometry is refused
 * (VCM_E_SMALL if not even one channel fits). O(1), thread-safe, no side effects. */
vcm_status vcm_region_plan(size_t disc_size, const vcm_geometry *geometry, vcm_plan *out);

/* ---------------------------------------------------------------------------------------- */
/* Regions: the allocator over caller memory                                                */

/* The head of a region: caller-owned storage (static, stack or anywhere), opaque. */
#define VCM_REGION_BYTES 1024
typedef struct vcm_region {
  union {
    void *p;
    uint64_t u;
  } opaque_[VCM_REGION_BYTES / 8];
} vcm_region;

/* Called on misuse with the region, the offending pointer and a short reason ("double free",
 * "use after free", "interior pointer", "foreign pointer"). If it returns, the operation is ignored and the
 * region is unchanged (realloc and expand then fail; queries return 0). */
typedef void (*vcm_misuse_fn)(void *ctx, const void *ptr, const char *reason);

/* Lay the map and the channels into disc[0, size): the map first, the data after it. disc
 * must be 16-byte aligned and stay valid while the region is used; its contents need not be
 * zeroed. geometry NULL = default. Returns VCM_OK or the reason (the region is then
 * unusable). O(map bytes) (about size / 8): the map is zeroed, the data is not touched. */
vcm_status vcm_region_init(vcm_region *r, void *disc, size_t size, const vcm_geometry *geometry);

/* Replace the misuse handler (NULL restores the default: message to stderr, then abort). */
void vcm_region_set_handler(vcm_region *r, vcm_misuse_fn fn, void *ctx);

/* A chunk of the smallest class with capacity >= n, recording used = n: the class's most
 * recently freed chunk kept in its reserve (O(1)), else split from the smallest free chunk
 * that holds it (class n's own area of the disc first). n == 0 gives a unique smallest chunk
 * with used 0. Returns NULL if n > size_max or no free chunk is big enough. O(n_classes * D)
 * map steps, D <= 7 the free bitmap's depth (docs/DESIGN.md §2, §3).
 * Chunks of capacity c are aligned to min(c, alignment of the data). */
void *vcm_region_alloc(vcm_region *r, size_t n);

/* alloc(count * size) zeroed; NULL if the product overflows or alloc fails. O(n). */
void *vcm_region_calloc(vcm_region *r, size_t count, size_t size);

/* A chunk aligned to align (a power of two <= min(size_max, disc alignment)). NULL if align
 * is not such a power of two or no chunk is free. O(1). */
void *vcm_region_aligned_alloc(vcm_region *r, size_t align, size_t n);

/* Resize p to n bytes. n <= capacity: same pointer, used = n, O(1) (n <= capacity/4 gives
 * the right halves back in place, O(n_classes * D)). n > capacity: same pointer if p's free
 * buddies (up to n's class) can be absorbed, nothing copied; else moves to a chunk of n's
 * class, copying only the used bytes, O(used + n_classes * D); returns NULL and leaves p
 * untouched if nothing fits. p NULL: alloc(n). p invalid: handler, NULL. */
void *vcm_region_realloc(vcm_region *r, void *p, size_t n);

/* Grow (or shrink) p to n bytes in place: 0 and used = n if n <= capacity or p's free buddies
 * can be absorbed to hold n, else -1 and p unchanged. Never moves. O(n_classes * D). */
int vcm_region_expand(vcm_region *r, void *p, size_t n);

/* Free p (NULL is a no-op); it merges with its free buddies, or, if its buddy is not free,
 * waits unmerged in its class's reserve for the next allocation of the class (O(1)). A
 * pointer that is not the start of a live chunk of r goes to the handler and changes
 * nothing. O(n_classes * D). */
void vcm_region_free(vcm_region *r, void *p);

/* Bytes used / capacity of the live chunk p; 0 (after the handler) if p is not one. O(1). */
size_t vcm_region_used(vcm_region *r, const void *p);
size_t vcm_region_capacity(vcm_region *r, const void *p);

typedef struct vcm_region_stats {
  size_t region_bytes;   /* map + data */
  size_t map_bytes, data_bytes;
  size_t n_channels, n_classes;
  size_t live_chunks;    /* chunks handed out and not freed */
  size_t live_capacity;  /* bytes reserved by live chunks (sum of capacities; a segment's also
                            counts its held pair halves and the remote frees its owner has not
                            collected yet, which live_chunks and live_used do not) */
  size_t live_used;      /* bytes requested by live chunks (sum of used) */
  size_t peak_capacity;  /* highest live_capacity seen */
  size_t failed;         /* allocations and moves that found no chunk */
  size_t realloc_inplace, realloc_moved, bytes_copied;
  size_t max_steps;      /* caller region: most map steps one alloc, free or realloc took
                            (a reserve's push or pop alone counts none) */
  size_t steps_bound;    /* caller region: the bound on them (docs/DESIGN.md §3); 0: segment */
  size_t class_size[VCM_MAX_CLASSES];  /* class i: capacity size_min << i */
  size_t class_live[VCM_MAX_CLASSES];  /* live chunks of class i */
  size_t class_used[VCM_MAX_CLASSES];  /* bytes used (requested) by them */
  size_t class_peak[VCM_MAX_CLASSES];  /* caller region: most live chunks of class i at once;
                                        * segment: chunks of class i ever handed out */
  size_t class_total[VCM_MAX_CLASSES]; /* chunks of class i in the region now (caller region:
                                        * live and free, as split; segment: fixed) */
} vcm_region_stats;

/* Fill *out. O(chunks): the used bytes per class are summed from the map. */
void vcm_region_stats_get(vcm_region *r, vcm_region_stats *out);

/* Walk the whole map and check every invariant (chunks tile the data, each live or free
 * exactly once, the free bitmap and its summaries, buddies merged, counters equal to the map).
 * Returns 0, or -1 with *why (if why != NULL) set to a static description of the first
 * violation. O(map bytes) for a caller region, O(chunks handed out) for a segment. */
int vcm_region_check(vcm_region *r, const char **why);

/* Visit every chunk: a caller region's in address order, live and free (used 0); a segment's
 * chunks handed out so far, class by class (a chunk grown over its buddies once, at its
 * capacity; a buddy held for a live neighbour, free). fn(ctx, ptr, capacity, used, live). For
 * pictures and debugging. O(chunks). */
typedef void (*vcm_visit_fn)(void *ctx, const void *ptr, size_t capacity, size_t used, int live);
void vcm_region_visit(vcm_region *r, vcm_visit_fn fn, void *ctx);

/* Which channel (0-based) holds p, or -1 if p is not inside the region's chunks. O(1). */
long vcm_region_channel_of(vcm_region *r, const void *p);

/* Write an SVG picture of the region to file descriptor fd: each channel a row, each chunk a
 * cell as wide as its capacity, shaded by used/capacity; free chunks hatched (a caller
 * region's chunks are all live or free: the columns are its class areas, each cell where its
 * chunk lies in its block); totals in the title, a legend. Small classes of big regions are drawn as one bar per
 * row and class (live | free | never used). Elements carry class="live"/"free"/"never".
 * Does not allocate; not thread-safe (as the region). O(chunks handed out), under ~2 MB.
 * Returns 0, or -1 if a write failed. */
int vcm_region_svg(vcm_region *r, int fd);

/* ---------------------------------------------------------------------------------------- */
/* The process heap                                                                          */
/*
 * Thread-safe. Each thread allocates from its own regions without locks; a block freed by
 * another thread goes back through a lock-free list. Sizes up to 256 KiB come from classes of
 * 16 B … 256 KiB (four a doubling, eight from 1 to 8 KiB, and there a class of its own for a
 * size allocated over and over; a growing realloc and an aligned allocation take the powers of
 * two); bigger blocks get their own mapping with a power-of-two capacity (the size's pages
 * where the OS refuses that or locks new mappings, mlockall MCL_FUTURE), grown by moving page
 * tables (mremap), never by copying. Unless noted, failures return NULL with errno =
 * ENOMEM, and the O(1) bounds exclude the OS calls made when a thread's regions are full (a
 * new region) or for large blocks (one mmap/mremap/munmap).
 * The libc names (malloc, free, …) are these functions when libvcm is linked or preloaded.
 */

/* A block of capacity >= n (the tightest class: 16, 32, 48 or 64 B, then under 1.25 n, and n
 * rounded up to 16 B (32 over 4 KiB) for up to 8 sizes in (1 KiB, 8 KiB] that the process
 * allocates most; 129/128 of a power of two from 2 to 32 KiB, so that such blocks start at
 * different offsets in their pages; a large block the next power of two, at least 512 KiB),
 * used = n. O(1). */
void *vcm_malloc(size_t n);
/* Free p (NULL: no-op). Invalid, interior or double frees go to the misuse handler. O(1). */
void vcm_free(void *p);
/* Zeroed count*size bytes; NULL/ENOMEM if the product overflows. O(n). A large block's pages
 * are made resident at once (up to VCM_LARGE_CACHE_MB) while the calloc'd blocks freed last
 * were found used densely; else they stay lazy zero pages. */
void *vcm_calloc(size_t count, size_t size);
/* Resize: within the capacity, in place (O(1)), except that a block over 16 B shrunk to a
 * quarter of its capacity or less (a half, for malloc's classes that are no power of two)
 * moves down to a smaller class or large block, as does a large one shrunk into the small
 * classes; beyond it, grows in place into a free neighbour (a small chunk's buddy) or moves to
 * the class that fits, copying only the used bytes (32 KiB or more of them, or over half of a
 * 32 KiB chunk moving onto a chunk never written: remapping their pages, no copy, while the
 * process holds under a quarter of vm.max_map_count mappings), or remaps a large block (no
 * copy). Failure: NULL, ENOMEM, p intact. p NULL: malloc(n). n == 0: frees p and returns NULL
 * (as glibc). */
void *vcm_realloc(void *p, size_t n);
void *vcm_reallocarray(void *p, size_t count, size_t size);
/* Aligned blocks; align must be a power of two (posix_memalign: also a multiple of
 * sizeof(void *)), else EINVAL. Any alignment the address space allows. */
int vcm_posix_memalign(void **out, size_t align, size_t n);
void *vcm_aligned_alloc(size_t align, size_t n);
void *vcm_memalign(size_t align, size_t n);
void *vcm_valloc(size_t n);
void *vcm_pvalloc(size_t n);
/* The capacity of p. The program may now use all of it, so vcm records used = capacity (a
 * later move copies every byte). 0 for NULL. */
size_t vcm_malloc_usable_size(void *p);
/* free() that also checks size (C23): a size other than the used one (the one requested, or
 * the last realloc's) is reported as misuse, except that a full block (used = capacity: after
 * malloc_usable_size, or requested at its capacity) accepts any size up to the capacity. */
void vcm_free_sized(void *p, size_t size);
void vcm_free_aligned_sized(void *p, size_t align, size_t size);

/* The vector API. */
/* Bytes used / capacity of a live block; 0 for NULL. O(1). */
size_t vcm_used(const void *p);
size_t vcm_capacity(const void *p);
/* Set used = n if n <= capacity, returning 0; else -1, and p unchanged. Never moves. O(1). */
int vcm_expand(void *p, size_t n);

/* Misuse handler for the process heap (NULL: the default, which prints and aborts). */
void vcm_set_misuse_handler(vcm_misuse_fn fn, void *ctx);

/* Give free memory back to the OS now: the calling thread's free pages (the spans of its heap
 * with no chunk in use, its empty segments: what its purges would give back over time, and its
 * exit), those of a heap whose thread ended without giving it up (a thread whose first
 * allocation came in its last round of key destructors; a thread has ended once the kernel
 * released it, which may come a moment after pthread_join returns: until then its heap waits
 * for the next trim or a thread's first allocation), and every cached large block. Other
 * threads' heaps are theirs (each purges as it frees, and at its exit). 1 if any memory went
 * back, else 0. The libc name is malloc_trim (its pad is not used). Thread-safe. O(the caller's
 * free chunks and segments (and a dead thread's heap's) + cached blocks). */
int vcm_trim(void);

/* Process statistics. O(chunks carved). Thread-safe: may run while other threads allocate and
 * free. It reads every heap under the heap list lock, which keeps every segment mapped, but
 * other running threads change their heaps without a lock: each of their counters and map
 * entries is read whole (one value it had during the call), not all at one instant, so totals
 * may mix moments (a chunk moving between classes counted in both or neither), and another
 * running thread's in-place reallocs are counted as of its last purge (in a fork child, so are
 * the other threads' of the parent). The caller's heap and those no thread holds are exact.
 * Never changes a heap. */
typedef struct vcm_stats {
  size_t heaps;            /* thread heaps created (live and waiting for adoption) */
  size_t regions;          /* segments (regions) mapped */
  size_t small_live_chunks, small_live_capacity, small_live_used, small_peak_capacity;
  size_t class_size[VCM_MAX_CLASSES], class_live[VCM_MAX_CLASSES];
  size_t class_used[VCM_MAX_CLASSES], class_peak[VCM_MAX_CLASSES]; /* as vcm_region_stats */
  size_t large_live, large_capacity, large_used, large_cached;
  size_t realloc_inplace, realloc_moved, bytes_copied; /* small blocks (copied, not remapped) */
  size_t os_reserved, os_purged, os_remapped, os_failed; /* bytes (failed: calls) */
  size_t os_resident;      /* the process's resident bytes (/proc/self/statm), 0 if unknown */
  size_t os_calls;         /* OS memory requests made (reserve, remap) */
} vcm_stats;
void vcm_stats_get(vcm_stats *out);
/* Print the stats to file descriptor fd, as text or (json != 0) one JSON object. Does not
 * allocate. Set VCM_STATS=1 (text) or 2 (JSON) to print them to stderr at exit. The libc name
 * malloc_stats prints the text to stderr; mallinfo2, mallinfo and malloc_info report the same
 * heaps in glibc's fields and XML (docs/DESIGN.md §6 maps them). */
void vcm_stats_print(int fd, int json);

/* Write an SVG picture of the whole process heap to fd: every thread heap's regions (the
 * channels ever used), then the large blocks, under a title with vcm_stats_get's totals. Does
 * not allocate (safe at exit and under LD_PRELOAD); holds the heap list lock while writing.
 * Other running threads' heaps are read as vcm_stats_get reads them: a mix of moments.
 * VCM_SVG=FILE writes it at exit. Returns 0, or -1 if a write failed. */
int vcm_svg(int fd);

/* Check the segments of the calling thread's heap and of the heaps no thread holds (those
 * given up at a thread's exit and not yet adopted): vcm_region_check on each (free lists
 * acyclic and within the carved chunks, every chunk in exactly one state, live counts and used
 * sizes true). The heaps of other running threads are not checked: their threads change them
 * without a lock, so no consistent view of them exists while they run (a joined thread's heap
 * is checked until a thread adopts it: then as that thread's). Large blocks are not checked. Thread-safe: may run while other threads
 * allocate and free, also the caller's chunks (their remote frees are seen as live or freed
 * chunks, never as an error). Takes the heap list lock; O(chunks carved in those heaps).
 * 0, or -1 with *why set. */
int vcm_check(const char **why);

/* Testing: make the n-th OS memory request from now fail, or with n < 0 the -n-th and every
 * one after it (0 disables). Not thread-safe against other threads' requests: they count. */
void vcm_debug_fail_os(long n);

/* ---------------------------------------------------------------------------------------- */
/* The append API: the allocator is the vector                                               */
/*
 * A chunk's used bytes are its length: appending writes after them, and the chunk moves only
 * when the capacity is exceeded (to the class that fits, copying the used bytes; a large block
 * remaps). Each function exists for both faces, vcm_x(p, …) on the process heap (thread-safe as
 * vcm_realloc: one thread per chunk at a time) and vcm_region_x(r, p, …) on a region (as the
 * region: not thread-safe). p must be NULL or the start of a live chunk; anything else goes to
 * the misuse handler, as free does, and the call fails (NULL or -1, errno EINVAL) changing
 * nothing. A failed allocation returns NULL (or -1) with errno ENOMEM and p untouched; sizes
 * that would overflow fail the same way. O(1) plus the bytes copied (O(used) on a move).
 */

/* Append n bytes from src after the used bytes of p (p NULL: a new chunk with used n).
 * Returns the chunk (p, or where it moved). src may point into p's used bytes. */
void *vcm_append(void *p, const void *src, size_t n);
void *vcm_region_append(vcm_region *r, void *p, const void *src, size_t n);

/* Make the capacity at least n without changing used: p itself if it already is, else the
 * moved chunk (used bytes copied, or pages remapped). p NULL: a new chunk, used 0. */
void *vcm_reserve(void *p, size_t n);
void *vcm_region_reserve(vcm_region *r, void *p, size_t n);

/* Set the length (used) of p to n <= capacity: 0, or -1 (n > capacity, or p NULL with n > 0)
 * with p unchanged. Never moves, never changes the capacity (a region's expand may grow it). */
int vcm_truncate(void *p, size_t n);
int vcm_region_truncate(vcm_region *r, void *p, size_t n);

/* Typed vectors: T *v = NULL is an empty vector of T; its length is vcm_used(v) / sizeof(T).
 * No fields of its own: pass v to any vcm function (vcm_free frees it). The macros evaluate v
 * more than once (use a plain variable) and x once. push and pop return 0, or -1 with errno as
 * above and v unchanged. pop copies the last element to *out, then drops it. at(v, i) is the
 * element i (an lvalue); i >= length prints the index and aborts. The vcm_region_vec_ forms
 * take the region first. */
#define vcm_vec_len(v) (vcm_used(v) / sizeof *(v))
#define vcm_vec_cap(v) (vcm_capacity(v) / sizeof *(v))
#define vcm_vec_push(v, x) \
  (vcm_vec_grow_(NULL, &(v), sizeof *(v)) == 0 ? ((v)[vcm_vec_len(v) - 1] = (x), 0) : -1)
#define vcm_vec_pop(v, out)                                                                  \
  (vcm_vec_len(v) ? (*(out) = (v)[vcm_vec_len(v) - 1],                                       \
                     vcm_truncate((v), vcm_used(v) - sizeof *(v)))                           \
                  : -1)
#define vcm_vec_at(v, i) ((v)[vcm_vec_index_(NULL, (v), (i), sizeof *(v))])
#define vcm_vec_reserve(v, n) vcm_vec_reserve_(NULL, &(v), (n), sizeof *(v))
#define vcm_vec_free(v) (vcm_free(v), (v) = NULL)

#define vcm_region_vec_len(r, v) ((v) ? vcm_region_used((r), (v)) / sizeof *(v) : 0)
#define vcm_region_vec_cap(r, v) ((v) ? vcm_region_capacity((r), (v)) / sizeof *(v) : 0)
#define vcm_region_vec_push(r, v, x)                                                         \
  (vcm_vec_grow_((r), &(v), sizeof *(v)) == 0                                                \
       ? ((v)[vcm_region_vec_len((r), (v)) - 1] = (x), 0)                                    \
       : -1)
#define vcm_region_vec_pop(r, v, out)                                                        \
  (vcm_region_vec_len((r), (v))                                                              \
       ? (*(out) = (v)[vcm_region_vec_len((r), (v)) - 1],                                    \
          vcm_region_truncate((r), (v), vcm_region_used((r), (v)) - sizeof *(v)))            \
       : -1)
#define vcm_region_vec_at(r, v, i) ((v)[vcm_vec_index_((r), (v), (i), sizeof *(v))])
#define vcm_region_vec_reserve(r, v, n) vcm_vec_reserve_((r), &(v), (n), sizeof *(v))
#define vcm_region_vec_free(r, v) (vcm_region_free((r), (v)), (v) = NULL)

/* The macros' helpers (r NULL: the process heap). pv is the address of the vector variable.
 * grow_: length + 1 element; reserve_: capacity >= n elements; 0 or -1 (errno), *pv moved on
 * success only. index_: i if i < length, else prints and aborts. */
int vcm_vec_grow_(vcm_region *r, void *pv, size_t size);
int vcm_vec_reserve_(vcm_region *r, void *pv, size_t n, size_t size);
size_t vcm_vec_index_(vcm_region *r, const void *v, size_t i, size_t size);

/* String builders: char *s = NULL is the empty string. The used bytes are the text and its
 * terminating NUL, so s is always a C string (s NULL: vcm_str_cstr gives "") and the length is
 * vcm_used(s) - 1. Each call returns 0, or -1 with errno (ENOMEM, EINVAL on misuse; printf:
 * its own error) and *s unchanged. append: n bytes of src (may point into *s); cat: a C
 * string; printf: formatted text (the arguments must not point into *s). O(bytes appended),
 * plus O(length) when the string moves. */
int vcm_str_append(char **s, const char *src, size_t n);
int vcm_str_cat(char **s, const char *cstr);
int vcm_str_printf(char **s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t vcm_str_len(const char *s);
int vcm_region_str_append(vcm_region *r, char **s, const char *src, size_t n);
int vcm_region_str_cat(vcm_region *r, char **s, const char *cstr);
int vcm_region_str_printf(vcm_region *r, char **s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t vcm_region_str_len(vcm_region *r, const char *s);
#define vcm_str_cstr(s) ((s) ? (const char *)(s) : "")

#ifdef VCM_BUILD
#pragma GCC visibility pop
#endif
#ifdef __cplusplus
}
#endif
#endif /* VCM_H */
