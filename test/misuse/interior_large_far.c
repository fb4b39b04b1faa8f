/* Free of an interior pointer of a large block beyond its first 2 MiB granule (3 MiB into
 * an 8 MiB block). The pagemap records only a large block's first granule, so vcm reports
 * this one as foreign, not interior.
 * expect: foreign pointer (not allocated by vcm) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block((size_t)8 << 20);
  show(p + (3 << 20));
  free_(p + (3 << 20));
  return survived();
}
