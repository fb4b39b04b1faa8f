/* malloc_usable_size of a freed pointer.
 * expect: use after free (chunk is not live) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(100);
  free_(p);
  show(p);
  size_t n = usable_(p);
  (void)n;
  return survived();
}
