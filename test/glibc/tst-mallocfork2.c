/* fork from a signal handler that interrupted malloc or free. A single-threaded process
 * allocates and frees in a loop (large blocks, which take the allocator's locks, and small
 * ones) while a timer interrupts it 2 ms after each handler ends; the handler forks and the
 * child allocates and frees before it exits. The malloc must not deadlock (the forking thread
 * holds the lock the fork handlers want) and every child must exit cleanly: 300 forks finish. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "check.h"

#define FORKS 300

static volatile sig_atomic_t forks, bad;

static void handler(int sig) {
  (void)sig;
  int saved = errno;
  pid_t pid = fork();
  if (pid == 0) {
    void *p = malloc(1 << 20), *q = malloc(40);
    free(q);
    free(p);
    _exit(p && q ? 0 : 3);
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
    bad++;
  forks++;
  /* the next signal 2 ms after this handler, not 2 ms after the last one: a periodic timer
   * whose period a fork and wait outlast (a loaded machine; vcm's larger address space) left
   * main no time between handlers, and the run never ended */
  struct itimerval next = {{0, 0}, {0, 2000}};
  setitimer(ITIMER_REAL, &next, NULL);
  errno = saved;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  struct itimerval it = {{0, 0}, {0, 2000}}; /* re-armed by the handler */
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
  for (unsigned i = 0; forks < FORKS; i++) {
    void *p = malloc(i & 1 ? 600000 : 100 + i % 5000);
    CHECK(p != NULL);
    free(p);
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("%d forks from the signal handler, %d children failed\n", (int)forks, (int)bad);
  CHECK(bad == 0);
  return tst_result();
}
