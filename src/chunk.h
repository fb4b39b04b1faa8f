/* A live chunk of a segment (chunk.c): used bytes, size, realloc within the small classes. */
#ifndef VCM_CHUNK_H
#define VCM_CHUNK_H

#include <string.h>

#include "heap.h"

/* Resize a chunk of a segment region within the small classes (n <= VCMI_SMALL_MAX): in place,
 * or moved to another class of this thread's heap. NULL if p is not a live chunk start
 * (reported) or no chunk is to be had (p untouched). No lock. */
void *vcmi_seg_realloc(vcmi_region *r, void *p, size_t n);
/* vcmi_seg_realloc of p, which vcmi_seg_find located at loc (not located again; a chunk that is
 * not LIVE is reported). */
void *vcmi_seg_realloc_at(vcmi_region *r, const vcmi_loc *loc, void *p, size_t n);
/* A realloc moving p, a LIVE chunk of r (not MERGED) at loc whose entry read state (LIVE), to n
 * bytes, from h, this thread's heap (not vcmi_no_heap, not check mode), to the head of class t's
 * free list and p freed, as vcmi_seg_realloc does, without locating p again. NULL if that list
 * is empty, or p was freed since state was read (p untouched: then vcmi_seg_realloc, which
 * reports). No lock. Inline: its callers (vcm_realloc's shrink and small growth) keep one
 * frame, not two (r1's python: 60,176 shrinking reallocs at 0.2). */
static inline __attribute__((always_inline)) void *
vcmi_seg_move(vcmi_heap *h, vcmi_region *r, const vcmi_loc *loc, void *p, size_t n,
              uint32_t state, unsigned t) {
  VCMI_ASSERT((state & VCMI_LIVE) && h == vcmi_tls_heap && h != &vcmi_no_heap && !h->check);
  size_t used = state & VCMI_USED_MASK;
  void *q = vcmi_heap_pop(h, t, n);
  if (!q) return NULL;
  size_t keep = used < n ? used : n;
  /* libc's memcpy, not an inline `rep movsq` (gcc's choice for a copy it knows is at most
   * 2 KiB): 2-6 ns slower at most sizes from 16 to 512 bytes here (DESIGN §6) */
  VCMI_OPAQUE(keep);
  memcpy(q, p, keep);
  h->realloc_moved++; /* vcmi_heap_count_move, h known */
  h->bytes_copied += keep;
  /* free's fast path from the entry in hand, its purge credit as free's, but by a CAS from the
   * state seen before the copy: a remote free of p racing this realloc is a double free */
  ptrdiff_t cap = (ptrdiff_t)((const vcmi_segment *)(const void *)r)->cap[loc->k];
  if (VCMI_LIKELY(VCMI_PEEK(r->owner) == (void *)h)) {
    if (VCMI_LIKELY((h->credit -= cap) >= 0 && vcmi_release_live(r, loc, state))) return q;
    h->credit += cap;
    if (!(__atomic_load_n(&loc->e->state, __ATOMIC_RELAXED) & VCMI_LIVE)) {
      h->realloc_moved--; /* nothing done: the slow way reports p */
      h->bytes_copied -= keep;
      vcm_free(q);
      return NULL;
    }
  }
  vcmi_seg_free_slow(p, r); /* another thread's chunk, or the free that makes a purge due */
  return q;
}
/* vcmi_seg_move shrinking p to n (0 < n <= vcmi_shrink_floor of its capacity, which is over
 * 16), keeping its intent, as vcmi_seg_realloc: a vector's power of two, else malloc's class. */
static inline void *vcmi_seg_shrink(vcmi_heap *h, vcmi_region *r, const vcmi_loc *loc, void *p,
                                    size_t n, uint32_t state) {
  return vcmi_seg_move(h, r, loc, p, n, state,
                       r->xscale ? vcmi_tight_class(n) : vcmi_pow2_class(n));
}
/* 0 and *used if p is a live chunk start of r, about to move out of the small classes (check
 * mode: its slack verified); else -1, reported. No lock. */
int vcmi_seg_used(vcmi_region *r, const void *p, size_t *used);
/* Set the used bytes of a live chunk to n: 0, or -1 if n exceeds its capacity or p is not a
 * live chunk start (reported). */
int vcmi_seg_expand(vcmi_region *r, void *p, size_t n);
/* Used/capacity of a live chunk; claim = 1 sets used to the capacity (malloc_usable_size:
 * the program may now write all of it, so a later move must copy all of it). 0 if p is not a
 * live chunk start (reported). */
size_t vcmi_seg_size(vcmi_region *r, const void *p, int capacity, int claim);
/* Set the costs that a small vector's moves measure and choose by (copying, ns a page with
 * its drop; remapping, ns a move: 0, not measured), and restart the count to the next try of
 * the dearer way. For tests, which need a choice the machine does not make. Any thread. */
void vcmi_move_set_costs(uint64_t copy, uint64_t remap);

#endif
