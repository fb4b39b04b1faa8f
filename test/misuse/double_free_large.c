/* Double free of a large block (8 MiB: its own mapping, kept in the large cache after the
 * first free, so the second finds it not live).
 * expect: double free (block is not live) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block((size_t)8 << 20);
  free_(p);
  show(p);
  free_(p);
  return survived();
}
