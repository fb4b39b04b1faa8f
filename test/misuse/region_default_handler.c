/* Double free in a caller region left with the default handler (no
 * vcm_region_set_handler): the region core reports like the process heap.
 * expect: double free (chunk is not live) */
#include "misuse.h"

static _Alignas(16) unsigned char disc[32768];

int main(void) {
  vcm_region r;
  if (vcm_region_init(&r, disc, sizeof disc, NULL) != VCM_OK) return 2;
  void *p = vcm_region_alloc(&r, 100);
  if (!p) return 2;
  vcm_region_free(&r, p);
  show(p);
  vcm_region_free(&r, p);
  return survived();
}
