/* Double free by a thread that does not own the block, twice: the first free puts it on the
 * owner's remote list, the second finds it no longer live.
 * expect: double free (chunk is not live) */
#include "misuse.h"

int main(void) {
  char *p = vcm_block(100);
  if (free_in_other_thread(p, 2)) return 2;
  return survived();
}
