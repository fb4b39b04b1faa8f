/* Free of memory from another allocator: a page from mmap.
 * expect: foreign pointer (not allocated by vcm) */
#include "misuse.h"

#include <sys/mman.h>

int main(void) {
  void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 2;
  show(page);
  free_(page);
  return survived();
}
