/* malloc_usable_size of a pointer vcm never gave (static storage).
 * expect: size query of a foreign pointer (not allocated by vcm) */
#include "misuse.h"

static char buf[64];

int main(void) {
  show(buf);
  size_t n = usable_(buf);
  (void)n;
  return survived();
}
