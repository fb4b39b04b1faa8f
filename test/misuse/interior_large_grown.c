/* Free of an interior pointer 5 MiB into a large block that realloc grew from 1 MiB to
 * 8 MiB (by remap, in place or moved): the granules it grew into are the block's too.
 * expect: interior pointer (not the start of a block) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block((size_t)1 << 20);
  p = realloc_(p, (size_t)8 << 20);
  if (!p || vcm_capacity(p) < ((size_t)8 << 20)) return 2;
  show(p + (5 << 20));
  free_(p + (5 << 20));
  return survived();
}
