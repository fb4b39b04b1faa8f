/* Double free across threads: another thread frees the block (a remote free, waiting on
 * the segment's remote list), then the owner frees it again.
 * expect: double free (chunk is not live) */
#include "misuse.h"

#include <pthread.h>

static void *free_it(void *p) {
  free_(p);
  return NULL;
}

int main(void) {
  pthread_t t;
  char *p = vcm_block(100);
  if (pthread_create(&t, NULL, free_it, p) != 0 || pthread_join(t, NULL) != 0) return 2;
  show(p);
  free_(p);
  return survived();
}
