/* Free of an interior pointer of a large block beyond its first 2 MiB granule (3 MiB into
 * an 8 MiB block): the pagemap maps every granule of the block, so it is an interior pointer.
 * expect: interior pointer (not the start of a block) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block((size_t)8 << 20);
  show(p + (3 << 20));
  free_(p + (3 << 20));
  return survived();
}
