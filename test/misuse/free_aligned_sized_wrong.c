/* free_aligned_sized with an alignment the block does not have (twice the lowest set bit
 * of its address).
 * expect: free_aligned_sized with an alignment the block does not have */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(100);
  uintptr_t a = (uintptr_t)p;
  show(p);
  free_aligned_sized_(p, (size_t)(a & (~a + 1u)) << 1, 100);
  return survived();
}
