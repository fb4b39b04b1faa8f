/* Free of an interior pointer of a small block (16 bytes in) by a thread that does not own
 * it: the remote path reports it as the owner's free does, and pushes nothing.
 * expect: interior pointer (not the start of a chunk) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(100);
  if (free_in_other_thread(p + 16, 1)) return 2;
  return survived();
}
