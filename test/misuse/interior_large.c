/* Free of an interior pointer of a large block (4 KiB into an 8 MiB block: inside its first
 * 2 MiB granule, which the pagemap maps to the block).
 * expect: interior pointer (not the start of a block) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block((size_t)8 << 20);
  show(p + 4096);
  free_(p + 4096);
  return survived();
}
