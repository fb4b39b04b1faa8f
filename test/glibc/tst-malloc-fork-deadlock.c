/* fork while other threads allocate and free (small and large blocks, and stdio, which
 * allocates behind its own locks): the malloc holds its locks across fork, so the parent goes
 * on and the child, whose only thread is the forking one, can allocate and use stdio. 4
 * threads churn while the main thread forks 200 times; every child must exit cleanly. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/wait.h>

#include "check.h"

#define THREADS 4
#define FORKS 200

static volatile int stop;

static void *churn(void *a) {
  unsigned seed = (unsigned)(size_t)a;
  void *keep[16] = {0};
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    seed = seed * 1103515245u + 12345u;
    unsigned i = (seed >> 8) % 16;
    free(keep[i]);
    size_t n = (seed >> 16) % 7 == 0 ? (size_t)700000 + (seed & 0xffff) : (seed >> 12) % 3000;
    keep[i] = malloc(n);
    if (keep[i]) memset(keep[i], 1, n < 64 ? n : 64);
    if ((seed & 0xff) == 0) { /* stdio allocates under its own lock */
      FILE *f = fopen("/dev/null", "w");
      if (f) {
        fprintf(f, "%u\n", seed);
        fclose(f);
      }
    }
  }
  for (int i = 0; i < 16; i++) free(keep[i]);
  return NULL;
}

int main(void) {
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    CHECK(pthread_create(&t[i], NULL, churn, (void *)(size_t)(i + 1)) == 0);
  int bad = 0;
  for (int i = 0; i < FORKS; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      void *p = malloc(1 << 20), *q = malloc(100);
      FILE *f = fopen("/dev/null", "w");
      int ok = p && q && f && fprintf(f, "child %d\n", i) > 0;
      if (f) fclose(f);
      free(q);
      free(p);
      _exit(ok ? 0 : 3);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
      bad++;
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  printf("%d forks while %d threads allocate, %d children failed\n", FORKS, THREADS, bad);
  CHECK(bad == 0);
  return tst_result();
}
