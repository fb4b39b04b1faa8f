/* Realloc of a pointer vcm never gave (the stack).
 * expect: realloc of a foreign pointer (not allocated by vcm) */
#include "misuse.h"

int main(void) {
  char buf[64];
  buf[0] = 1;
  show(buf);
  void *q = realloc_(buf, 200);
  (void)q;
  return survived() + buf[0];
}
