/* Free of an interior pointer of a small block (16 bytes in).
 * expect: interior pointer (not the start of a chunk) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(100);
  show(p + 16);
  free_(p + 16);
  return survived();
}
