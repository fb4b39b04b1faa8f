/* A program built against an installed vcm with pkg-config (test/install_test.sh): the vector
 * API, and malloc itself being vcm's once the program is linked with -lvcm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcm.h>

int main(void) {
  char *v = vcm_malloc(100);
  if (!v) return 1;
  printf("vcm_malloc(100): used %zu, capacity %zu\n", vcm_used(v), vcm_capacity(v));
  char *w = vcm_realloc(v, vcm_capacity(v)); /* fits the capacity: stays */
  printf("vcm_realloc(capacity): %s\n", w == v ? "in place" : "moved");

  char *m = malloc(40); /* vcm's malloc: it knows the block */
  if (!m) return 1;
  strcpy(m, "hello");
  printf("malloc(40) is vcm's: %s, capacity %zu\n", vcm_capacity(m) >= 40 ? "yes" : "no",
         vcm_capacity(m));
  free(m);
  vcm_free(w);
  printf("ok\n");
  return 0;
}
