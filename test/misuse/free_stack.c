/* Free of a stack pointer.
 * expect: foreign pointer (not allocated by vcm) */
#include "misuse.h"

int main(void) {
  char buf[64];
  buf[0] = 1;
  show(buf);
  free_(buf);
  return survived() + buf[0];
}
