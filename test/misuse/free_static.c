/* Free of a pointer to static storage.
 * expect: foreign pointer (not allocated by vcm) */
#include "misuse.h"

static char buf[64];

int main(void) {
  show(buf);
  free_(buf);
  return survived();
}
