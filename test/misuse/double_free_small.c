/* Double free of a small block (100 B, class 128 B).
 * expect: double free (chunk is not live) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(100);
  free_(p);
  show(p);
  free_(p);
  return survived();
}
