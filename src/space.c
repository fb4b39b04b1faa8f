/* Segments under an address-space limit (RLIMIT_AS, `ulimit -v`, which counts reservations):
 * the shares a wide or fine segment may take, and the narrow segments of a power of two's class
 * that is refused one, compact where they can be (docs/DESIGN.md §6, "Address space"). Unlimited,
 * only vcmi_space_fit's test runs, once a new segment. heap.c makes the segments. */
#define _GNU_SOURCE
#include <stddef.h>

#include "large.h"
#include "meta.h"
#include "os.h"
#include "purge.h"
#include "space.h"

#define SEG_ZERO_N ((size_t)1 << 17)
/* SEG_ZERO_N entries of read-only zero pages (the OS's zero page: no memory, even where the
 * process locks its memory, as a static block in .bss would take), mapped at the first compact
 * segment; NULL if the OS refuses them (then no segment is compact). */
static vcmi_entry *seg_zero;
static vcmi_entry *seg_zero_get(void) {
  vcmi_entry *z = __atomic_load_n(&seg_zero, __ATOMIC_ACQUIRE), *none = NULL;
  size_t n = SEG_ZERO_N * sizeof(vcmi_entry);
  unsigned char *p;
  if (z || !(p = vcmi_os_reserve_closed(n, VCMI_PAGE))) return z;
  if (vcmi_os_open(p, n, 0) != 0) {
    vcmi_os_release(p, n);
    return NULL;
  }
  if (__atomic_compare_exchange_n(&seg_zero, &none, (vcmi_entry *)(void *)p, 0, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE))
    return (vcmi_entry *)(void *)p;
  vcmi_os_release(p, n); /* another thread's came first */
  return none;
}
/* A compact narrow segment (vcmi_seg_create): one unit of the segment map holding its one class's
 * entries from the header page on, one for every chunk start in the unit (a free's locate may
 * read any), then the class's groups, a guard page, and the chunks from the first multiple of
 * their capacity (64 KiB at least) on: 5.8 MiB of 16-byte chunks, 7.75 MiB of 256 KiB ones,
 * where the wide header leaves 2 MiB. Its header lies where class k - 1's last chunks would:
 * their entries are read from seg_zero. Returns the data's offset (*group_at the groups'), or
 * 0 where the unit is more than class k's area (32-bit: areas of 1 MiB). */
static size_t compact_at(unsigned k, size_t *group_at) {
  size_t cap = (size_t)1 << (VCMI_LMAX - k), page = VCMI_SEG_PAGE_MAX, size = VCMI_SEGMAP_UNIT;
  size_t off = vcmi_purge_fine_map_off(), align = cap > page ? cap : page;
  size_t g = (off + ((size - off) / cap + 1u) * sizeof(vcmi_entry) + page - 1u) & ~(page - 1u);
  size_t d = (g + vcmi_purge_group_bytes() + page + align - 1u) & ~(align - 1u);
  if (d >= size || size - d > ((size_t)1 << VCMI_SEG_STRIDE_LOG2) ||
      (k && d / (2u * cap) + 2u > SEG_ZERO_N))
    return 0;
  *group_at = g;
  return d;
}
/* A compact segment s of class k, data at doff: its groups at group_at (compact_at), and the
 * entries of class k - 1's last chunks, where its header and entries lie, read zero, so that
 * no free of a pointer there finds a LIVE one. Cold: only under a limit. */
void vcmi_space_compact_setup(vcmi_segment *s, unsigned k, size_t doff, size_t group_at) {
  size_t gb;
  s->group_shift = (int32_t)((ptrdiff_t)group_at -
                             ((unsigned char *)vcmi_purge_groups_at(s, k, &gb) - (unsigned char *)s));
  if (k)
    vcmi_seg_region(s)->mapk[k - 1u] =
        __atomic_load_n(&seg_zero, __ATOMIC_ACQUIRE) -
        (((size_t)1 << VCMI_SEG_STRIDE_LOG2) - doff) / s->cap[k - 1u];
}

/* vcmi_space_fit under a limit lim (space.h). A segment takes at most a share of the limit:
 * 1/8 for a wide one (a heap has one of each scale), 1/16 for a fine one (a program may use a
 * dozen fine classes; at 1/64, sqlite's page buffers went to their power of two's class under
 * 4 GB and its peak RSS was 1.6 times its peak unlimited). And vcm's reservations then take at
 * most half of it for the main thread's heap, a quarter for another thread's (32 threads each
 * reserving their wide segments took all: the later ones failed at their first malloc; with
 * the half for all, a malloc of one of them still failed in 2 to 5 runs of 8 under 4 GB, none
 * in 22 now); the rest is for compact narrow segments and large blocks. A fine segment is
 * halved, down to 16 MiB, until both hold (r2 at 0.3 peaked at 19.9 MB under 400 MB to
 * 1.5 GB, against 12.5 unlimited). */
size_t vcmi_space_fit_limited(size_t size, int fine, long tid, size_t lim) {
  vcmi_os_stats os;
  size_t share = lim / (fine ? 16u : 8u), most = lim / (tid == vcmi_os_pid() ? 2u : 4u);
  vcmi_os_stats_get(&os);
  for (;; size /= 2u) {
    if (size <= share && os.reserved + size <= most) return size;
    if (!fine || size <= 2u * VCMI_SEGMAP_UNIT) return 0;
  }
}

/* A power of two's class k whose wide segment was refused or is over its share of RLIMIT_AS:
 * a narrow segment, class k's area alone laid out as a fine one, compact where it can be (one
 * unit of the segment map); else the class's area after the wide header, half of it if
 * refused too; all once more after the cached large blocks' address space went back. Sets
 * *size, *doff (the data's offset) and *group_at (compact_at); NULL if the OS refuses them
 * all. (Any other class goes to its power of two's, scale_refused, in the segments the heap
 * has, once its own is refused, a fine one even halved: narrow segments of 16 to 32 MiB for
 * those, taken whatever the limit, took the address space the powers of two share, and python
 * under `ulimit -v` of 300 to 1,000 MB failed where it ran.) Cold: only under a limit. */
unsigned char *vcmi_space_reserve_narrow(unsigned k, size_t *size, size_t *doff, size_t *group_at) {
  size_t compact = compact_at(k, group_at), n = VCMI_SEGMAP_UNIT;
  if (compact && k && !seg_zero_get()) compact = 0;
  if (!compact) {
    *group_at = 0;
    n = (VCMI_SEG_DATA_OFF + ((size_t)1 << VCMI_SEG_STRIDE_LOG2) + VCMI_SEGMAP_UNIT - 1u) &
        ~(VCMI_SEGMAP_UNIT - 1u);
    if (n > 2u * VCMI_SEGMAP_UNIT) n = 2u * VCMI_SEGMAP_UNIT;
  }
  for (int round = 0; round < 2; round++) {
    if (round) vcmi_large_trim(); /* all refused: the cached large blocks' address space back */
    for (size_t m = n; m >= VCMI_SEGMAP_UNIT; m /= 2u) {
      unsigned char *base = vcmi_os_reserve_closed(m, VCMI_SEGMAP_UNIT);
      if (base) {
        *size = m;
        *doff = compact ? compact : VCMI_SEG_DATA_OFF;
        return base;
      }
    }
  }
  return NULL;
}
_Static_assert(VCMI_SEGMAP_UNIT > VCMI_SEG_DATA_OFF, "a narrow segment of one unit holds data");
_Static_assert(((size_t)VCMI_SEG_CHANNELS << (VCMI_NCLASS - 1u)) * sizeof(vcmi_entry) +
                       VCMI_SEG_PAGE_MAX <=
                   VCMI_SEG_MAP_BYTES,
               "a narrow segment's entries, from its header page, stay in its map");
