/* Free, by a thread that does not own it, of the address where the next chunk of a 256 KiB
 * block's class would start: a chunk start the owner has never handed out (at or above the
 * class's fresh mark), so it is no block; the remote path must not take it for a freed one.
 * expect: interior pointer (not the start of a chunk) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(200000); /* the largest small class: one chunk handed out at a time */
  if (free_in_other_thread(p + vcm_capacity(p), 1)) return 2;
  return survived();
}
