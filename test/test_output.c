/* Output to a file descriptor (src/out.c, vcmi_os_write): vcm_stats_print and vcm_svg write
 * everything even when a signal interrupts a blocked write (EINTR), as the pictures always did
 * and stats did not. And the options (src/options.c) of a program whose first malloc comes
 * before libc sets environ. Linked with libvcm.a. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "vcm.h"

static void on_signal(int sig) { (void)sig; }

typedef struct {
  int rd;
  pthread_t writer;
  char got[1 << 20];
  size_t n;
} drain_t;

static void nap_ms(long ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* Interrupt the writer (blocked on the full pipe) a few times, then read everything. */
static void *drain(void *arg) {
  drain_t *d = arg;
  for (int i = 0; i < 5; i++) {
    nap_ms(20);
    pthread_kill(d->writer, SIGUSR1);
  }
  ssize_t k;
  char sink[4096];
  while ((k = read(d->rd, sink, sizeof sink)) != 0) {
    if (k < 0) {
      if (errno == EINTR) continue;
      break;
    }
    size_t room = sizeof d->got - 1 - d->n, take = (size_t)k < room ? (size_t)k : room;
    memcpy(d->got + d->n, sink, take);
    d->n += take;
  }
  d->got[d->n] = 0;
  return NULL;
}

/* Run print(fd) into a pipe filled to the brim first, so that its first write blocks and is
 * interrupted (SIGUSR1 without SA_RESTART); d->got receives the pipe's whole content. */
static void through_full_pipe(void (*print)(int fd), drain_t *d) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: a blocked write returns EINTR */
  sigaction(SIGUSR1, &sa, NULL);
  int fds[2];
  CHECK(pipe(fds) == 0);
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  char fill[4096];
  memset(fill, '.', sizeof fill);
  while (write(fds[1], fill, sizeof fill) > 0) {
  }
  while (write(fds[1], fill, 1) > 0) {
  }
  fcntl(fds[1], F_SETFL, 0);
  d->rd = fds[0];
  d->n = 0;
  d->writer = pthread_self();
  pthread_t t;
  CHECK(pthread_create(&t, NULL, drain, d) == 0);
  print(fds[1]);
  close(fds[1]);
  pthread_join(t, NULL);
  close(fds[0]);
  signal(SIGUSR1, SIG_DFL);
}

static void print_stats(int fd) { vcm_stats_print(fd, 0); }
static void print_json(int fd) { vcm_stats_print(fd, 1); }
static void print_svg(int fd) { CHECK_EQ(vcm_svg(fd), 0); }

static drain_t d;

/* The first malloc from a preinit_array function, as a sanitizer's runtime makes (UBSan's
 * dlsym): libc sets environ only after those run, so getenv finds nothing there. The options
 * must still be read (at vcm's constructor), not left at their defaults for good. */
static void *(*volatile early_malloc)(size_t) = malloc;
static void early(void) { free(early_malloc(100)); }
__attribute__((section(".preinit_array"), used)) static void (*early_entry)(void) = early;

/* In a child run with VCM_LARGE_CACHE_MB=0: a freed large block is not cached (by default
 * it is). */
static int early_options_child(void) {
  free(early_malloc((size_t)1 << 20));
  vcm_stats st;
  vcm_stats_get(&st);
  return st.large_cached != 0;
}
/* In a child run with VCM_CHECK=1: the main thread's heap, made at the early malloc, is not
 * in check mode, so check mode stays off for all (a chunk of that heap, realloc'd or freed by
 * another thread in check mode, had its unfilled slack reported as an overflow). */
static void *free_it(void *p) {
  free(p);
  return NULL;
}
static int early_check_child(void) {
  unsigned char *p = early_malloc(100);
  for (int i = 0; i < 100; i++) p[i] = (unsigned char)i;
  p = realloc(p, 60); /* in place: its slack checked in check mode */
  pthread_t t;
  if (!p || pthread_create(&t, NULL, free_it, p) != 0 || pthread_join(t, NULL) != 0) return 2;
  return 0;
}
/* Run this program as `self mode` with env set: 1 if it exited 0. */
static int run_child(const char *mode, const char *env) {
  pid_t pid = fork();
  if (pid == 0) {
    putenv((char *)(uintptr_t)env);
    execl("/proc/self/exe", "test_output", mode, (char *)NULL);
    _exit(5);
  }
  int st = 0;
  return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
static void test_early_options(void) {
  CHECK(run_child("early-options", "VCM_LARGE_CACHE_MB=0"));
  CHECK(run_child("early-check", "VCM_CHECK=1"));
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "early-options") == 0) return early_options_child();
  if (argc > 1 && strcmp(argv[1], "early-check") == 0) return early_check_child();
  test_early_options();
  void *keep = malloc(1000); /* something to report */
  through_full_pipe(print_stats, &d);
  CHECK(strstr(d.got, "vcm stats:") != NULL);
  CHECK(strstr(d.got, "  os: ") != NULL);
  CHECK(strstr(d.got, "thread heap") != NULL);
  through_full_pipe(print_json, &d);
  CHECK(strstr(d.got, "{\"heaps\":") != NULL);
  CHECK(d.n > 2 && strcmp(d.got + d.n - 2, "}\n") == 0);
  through_full_pipe(print_svg, &d);
  CHECK(strstr(d.got, "<?xml") != NULL);
  CHECK(d.n > 7 && strcmp(d.got + d.n - 7, "</svg>\n") == 0);
  free(keep);
  return t_report();
}
