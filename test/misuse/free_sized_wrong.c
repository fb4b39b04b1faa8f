/* free_sized with a size other than the one requested (99 for a 100-byte block).
 * expect: free_sized with a size that is not the block's */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(100);
  show(p);
  free_sized_(p, 99);
  return survived();
}
