/* Double free of a medium block (100 KiB, class 128 KiB: still a chunk of a segment).
 * expect: double free (chunk is not live) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(100 << 10);
  free_(p);
  show(p);
  free_(p);
  return survived();
}
