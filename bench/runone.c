/* runone: run one benchmark process and measure it.
 *   runone [-p PRELOAD] [-t SECONDS] -o OUTFILE CMD [ARGS...]
 * Forks, sets LD_PRELOAD=PRELOAD in the child only (none when -p is absent or
 * empty), execs CMD with stdin/stdout/stderr inherited, and waits. OUTFILE
 * gets one line: `wall_s=<s> maxrss_kb=<KiB> status=<exit code | -signal>`.
 * Measuring from this small process keeps the child's peak RSS free of the
 * driver's (the kernel carries the pre-exec RSS high-water mark into exec).
 * After -t SECONDS the child is killed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;

static void on_alarm(int sig) {
  (void)sig;
  if (child > 0) kill(child, SIGKILL);
}

int main(int argc, char **argv) {
  const char *preload = NULL, *out = NULL;
  unsigned timeout = 0;
  int opt;
  while ((opt = getopt(argc, argv, "+p:t:o:")) != -1) {
    if (opt == 'p') preload = optarg;
    else if (opt == 't') timeout = (unsigned)atoi(optarg);
    else if (opt == 'o') out = optarg;
    else return 2;
  }
  if (!out || optind >= argc) {
    fprintf(stderr, "usage: runone [-p PRELOAD] [-t SECONDS] -o OUTFILE CMD [ARGS...]\n");
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  child = fork();
  if (child < 0) {
    perror("runone: fork");
    return 2;
  }
  if (child == 0) {
    if (preload && *preload) setenv("LD_PRELOAD", preload, 1);
    else unsetenv("LD_PRELOAD");
    execvp(argv[optind], argv + optind);
    perror("runone: exec");
    _exit(127);
  }
  signal(SIGALRM, on_alarm);
  alarm(timeout);
  int status;
  struct rusage ru;
  while (wait4(child, &status, 0, &ru) < 0)
    if (errno != EINTR) {
      perror("runone: wait4");
      return 2;
    }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  FILE *f = fopen(out, "w");
  if (!f) {
    perror("runone: OUTFILE");
    return 2;
  }
  fprintf(f, "wall_s=%.6f maxrss_kb=%ld status=%d\n", wall, ru.ru_maxrss, code);
  fclose(f);
  return 0;
}
