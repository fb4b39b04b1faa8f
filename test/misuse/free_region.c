/* Free of memory from another allocator: a chunk of a caller region (vcm_region_alloc on a
 * static disc) passed to the process heap's free.
 * expect: foreign pointer (not allocated by vcm) */
#include "misuse.h"

static _Alignas(16) unsigned char disc[32768];

int main(void) {
  vcm_region r;
  if (vcm_region_init(&r, disc, sizeof disc, NULL) != VCM_OK) return 2;
  void *p = vcm_region_alloc(&r, 64);
  if (!p) return 2;
  show(p);
  free_(p);
  return survived();
}
