/* Double free across threads while the first free waits in the freeing thread's batch (the
 * thread allocated, so it has a heap, and is still running): the owner's free must still see
 * the chunk is no longer live.
 * expect: double free (chunk is not live) */
#include "misuse.h"

#include <semaphore.h>

static sem_t freed, never;

static void *free_it(void *p) {
  free_(malloc_(64)); /* a heap of its own */
  free_(p);
  sem_post(&freed);
  sem_wait(&never); /* alive, its batch not pushed, until the process dies */
  return NULL;
}

int main(void) {
  pthread_t t;
  char *p = vcm_block(100);
  if (sem_init(&freed, 0, 0) != 0 || sem_init(&never, 0, 0) != 0) return 2;
  if (pthread_create(&t, NULL, free_it, p) != 0) return 2;
  sem_wait(&freed);
  show(p);
  free_(p);
  return survived();
}
