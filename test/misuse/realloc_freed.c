/* Realloc of a freed (small) pointer.
 * expect: use after free (chunk is not live) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(100);
  free_(p);
  show(p);
  void *q = realloc_(p, 200);
  (void)q;
  return survived();
}
