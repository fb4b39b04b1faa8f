/* Large blocks (large.c): above VCMI_SMALL_MAX, each its own mapping with a power-of-two
 * capacity, grown by remap. Not installed. */
#ifndef VCMI_LARGE_H
#define VCMI_LARGE_H
#include <stddef.h>
#include <stdint.h>

#include "sizes.h"

#define VCMI_LARGE_MAGIC 0x76636d4cu /* "vcmL" */

/* The descriptor lives in metadata pages; the pagemap maps each of the block's granules to it. */
typedef struct vcmi_large {
  uint32_t magic; /* VCMI_LARGE_MAGIC while live, 0 when freed */
  uint32_t zeroed; /* taken by calloc: measured when freed (large.c, calloc_dense) */
  unsigned char *p;
  size_t used, cap;
  size_t dirty;   /* bytes at or past max(dirty, used) read as zero (never written since the OS
                   * gave or dropped them): calloc clears only below that */
  size_t taken;   /* its written extent when allocated, page_up(max(dirty, used)): live_taken */
  uint64_t born;  /* when it was last allocated (vcmi_os_coarse_ns): see large.c, written_all */
  size_t huge;    /* huge pages only below p + huge (a multiple of vcmi_os_huge(); 0: none and
                   * the mapping maybe not marked for small pages): large.c, populate */
  uint32_t idle;  /* cached: freed while no block was live, its pages dropped (1) or kept (2);
                   * large.c, idle_keep */
  struct vcmi_large *next, *prev; /* live list (for stats); next: free or cached list */
} vcmi_large;
/* A block of capacity >= n (a power of two, at least 512 KiB; n's pages where the OS refuses
 * that or locks new mappings) aligned to max(align, 2 MiB),
 * used = n, zeroed if zero; from the cache or the OS. NULL with errno ENOMEM if the OS or the
 * pagemap refuses or the capacity would overflow. Takes large_lock, then meta_lock. */
void *vcmi_large_alloc(size_t n, size_t align, int zero);
/* Free p, the start of the live block b (from the pagemap): cached, or unmapped. Not b's live
 * start: reported (interior pointer, double free), nothing done. Takes large_lock. */
void vcmi_large_free(vcmi_large *b, void *p);
/* Resize within the large blocks: in place (shrinking, or growing by remap) or, shrunk to a
 * quarter of the capacity or less (and n > VCMI_SMALL_MAX), moved to a smaller large block.
 * n <= VCMI_SMALL_MAX only shrinks in place (alloc.c moves such blocks to the small classes).
 * NULL if p is not b's live start (reported) or the OS refuses (errno ENOMEM; p untouched). */
/* Growth by VCMI_LARGE_STEP_MIN or more (a buffer appended to in big steps) takes
 * vcmi_large_realloc, which faults the step's pages in by one call; less stays inline. */
#define VCMI_LARGE_STEP_MIN ((size_t)64 << 10)
void *vcmi_large_realloc(vcmi_large *b, void *p, size_t n);
/* 0 and *used if p is the start of the live block b; else -1, reported. */
int vcmi_large_used(vcmi_large *b, const void *p, size_t *used);
/* used = n: 0, or -1 if n exceeds the capacity or p is not b's live start (reported). */
int vcmi_large_expand(vcmi_large *b, void *p, size_t n);
/* Used or capacity (claim as vcmi_seg_size); 0 if p is not b's live start (reported). */
size_t vcmi_large_size(vcmi_large *b, const void *p, int capacity, int claim);
/* malloc_trim: every cached block goes back to the OS. Returns the bytes of their pages that
 * may have been resident (written). Takes large_lock. */
size_t vcmi_large_trim(void);
/* Set the costs (ns per MiB) that populates measure and choose huge pages by (large.c: small,
 * huge; 0: not measured), and start the count to the next try of the dearer kind again. For
 * tests, which need a choice the machine's memory does not make. Any thread. */
void vcmi_large_set_costs(uint64_t small, uint64_t huge);
/* fork hooks (lifecycle.c): large_lock across fork. */
void vcmi_large_fork_prepare(void);
void vcmi_large_fork_parent(void);
void vcmi_large_fork_child(void);

/* Totals of the live blocks, and the capacity cached (under large_lock); for stats. */
void vcmi_large_stats(size_t *count, size_t *cap, size_t *used, size_t *cached);
/* Visit the live and the cached large blocks; for the heap picture. fn runs under large_lock:
 * it must not allocate or free a large block. */
void vcmi_large_each(void (*fn)(void *ctx, const void *p, size_t used, size_t cap, int cached),
                     void *ctx);
#endif
