/* Internal view of a region, shared by region.c and the process heap. Not installed. */
#ifndef VCMI_REGION_H
#define VCMI_REGION_H

#include "vcm.h"

/* One map entry per chunk, 8 bytes (the seed's min/2 budget). See docs/DESIGN.md, "Map".
 *   state: bits 0..27 used bytes (<= 2^27), bit 28 MARK (checker scratch), bit 29 REMOTE
 *          (freed by another thread, waiting in the region's remote list), bit 30 PURGED
 *          (free and its pages returned to the OS), bit 31 LIVE.
 *   link:  free chunk: class-number of the next free chunk of its class (VCMI_NONE ends);
 *          REMOTE chunk: map index of the next remote-freed chunk. */
typedef struct vcmi_entry {
  uint32_t state;
  uint32_t link;
} vcmi_entry;

#define VCMI_USED_MASK 0x0FFFFFFFu
#define VCMI_MARK 0x10000000u
#define VCMI_REMOTE 0x20000000u
#define VCMI_PURGED 0x40000000u
#define VCMI_LIVE 0x80000000u
#define VCMI_NONE 0xFFFFFFFFu
#define VCMI_MAGIC 0x76636d48u /* "vcmH", the seed's typeof_vcm_head */

/* Class k holds chunks of capacity max >> k (k = 0 is the biggest). Class k's chunks, for all
 * channels, lie in one area of `stride` = n_channels * max bytes at data + k * stride; chunk
 * number g of class k is at data + k*stride + g*(max >> k) and belongs to channel g >> k.
 * Its map entry is map[n_channels * (2^k - 1) + g]. */
typedef struct vcmi_region {
  uint32_t magic;
  uint8_t lmin, lmax, nclass, stride_log2; /* stride_log2 = 0: stride not a power of two */
  uint32_t n_channels;
  uint32_t avail;                    /* bit k: class k may have a chunk to give */
  unsigned char *data;
  vcmi_entry *map;
  size_t stride;
  uint32_t free_head[VCM_MAX_CLASSES]; /* first free class-number, VCMI_NONE if none */
  uint32_t fresh[VCM_MAX_CLASSES];     /* class-numbers >= fresh[k] were never handed out */
  uint32_t live[VCM_MAX_CLASSES];      /* live chunks per class */
  size_t live_used, live_cap, peak_cap, failed;
  size_t realloc_inplace, realloc_moved, bytes_copied;
  vcm_misuse_fn handler;
  void *handler_ctx;
  void *owner;                         /* process heap: the owning thread heap */
  uint32_t remote_head;                /* process heap: map index list of REMOTE chunks */
  uint32_t pad_;
} vcmi_region;

/* Where a pointer falls. */
typedef struct vcmi_loc {
  unsigned k;  /* class */
  uint32_t g;  /* class-number */
  vcmi_entry *e;
} vcmi_loc;

static inline vcmi_region *vcmi_region_of(vcm_region *r) { return (vcmi_region *)(void *)r; }

static inline size_t vcmi_class_cap(const vcmi_region *r, unsigned k) {
  return (size_t)1 << (r->lmax - k);
}
static inline unsigned char *vcmi_chunk_addr(const vcmi_region *r, unsigned k, uint32_t g) {
  return r->data + (size_t)k * r->stride + ((size_t)g << (r->lmax - k));
}
static inline vcmi_entry *vcmi_entry_at(const vcmi_region *r, unsigned k, uint32_t g) {
  return r->map + (size_t)r->n_channels * (((size_t)1 << k) - 1) + g;
}

/* Lay out a region over separate map and data areas (the process heap keeps the map on its
 * own pages). data must hold nclass * n_channels * max bytes, map n_channels*(2^nclass-1)
 * entries; neither needs zeroing. The geometry must already be valid. */
void vcmi_region_setup(vcmi_region *r, void *data, void *map, uint32_t n_channels,
                       unsigned lmin, unsigned lmax);

/* Class for n bytes (n <= max). */
unsigned vcmi_class_of(const vcmi_region *r, size_t n);

/* Take a chunk of exactly class k (no fallback), recording used = n; NULL if none. */
void *vcmi_alloc_class(vcmi_region *r, unsigned k, size_t n);

/* Locate p: 0 and *out if p is the start of a chunk handed out, -1 otherwise (no handler). */
int vcmi_locate(const vcmi_region *r, const void *p, vcmi_loc *out);

/* Return a located live chunk to its class's free list (the entry must be LIVE or REMOTE). */
void vcmi_release(vcmi_region *r, const vcmi_loc *loc);

/* Report misuse through the region's handler. */
void vcmi_misuse(vcmi_region *r, const void *p, const char *why);

/* The default handler: hosted builds print and abort; freestanding builds trap. */
void vcmi_misuse_default(void *ctx, const void *ptr, const char *reason);

#endif
