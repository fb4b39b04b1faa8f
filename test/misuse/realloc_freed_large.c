/* Realloc of a freed large pointer (8 MiB, kept in the large cache).
 * expect: use after free (block is not live) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block((size_t)8 << 20);
  free_(p);
  show(p);
  void *q = realloc_(p, (size_t)16 << 20);
  (void)q;
  return survived();
}
