/* Replay fuzz inputs without libFuzzer: each argument is a file or a directory of files (taken
 * in name order), each file is fed to LLVMFuzzerTestOneInput. By default every input runs in
 * its own child process, so that a trap is counted as a failure and the others still run, and
 * so that each input starts from a fresh process heap (as after -minimize_crash). With -s, all
 * inputs run in this one process, one after another, as libFuzzer runs them. With -a, each in
 * its own process and then, as one more case, all in one child process in name order: the
 * process heap's state carried from input to input (purges, fitted classes, cached blocks)
 * reaches paths no single input does (two divergences of the model were found so).
 * The last line is "N passed, N failed"; the exit status is 1 if any failed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int passed, failed, sequential, verbose, also_one;
static const char *current; /* the input running in -s mode */

static unsigned char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  for (;;) {
    if (n == cap) {
      unsigned char *more = realloc(buf, cap *= 2);
      if (!more) break;
      buf = more;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (got == 0) break;
    n += got;
  }
  fclose(f);
  *size = n;
  return buf;
}

/* Fork; the child runs fn(a, b) and exits 0 if it returns; the parent counts the child's end
 * as one case, named what. */
static void in_child(void (*fn)(void *, void *), void *a, void *b, const char *what) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    fn(a, b);
    _exit(0);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    if (verbose) printf("PASS %s\n", what);
    passed++;
  } else {
    printf("FAIL %s (%s %d)\n", what, WIFSIGNALED(st) ? "signal" : "exit",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    failed++;
  }
}

static void one_input(void *data, void *size) {
  LLVMFuzzerTestOneInput(data, *(size_t *)size);
}

static void run_one(const char *path) {
  size_t size = 0;
  unsigned char *data = read_file(path, &size);
  if (!data) {
    fprintf(stderr, "FAIL %s: cannot read: %s\n", path, strerror(errno));
    failed++;
    return;
  }
  if (sequential) {
    current = path;
    LLVMFuzzerTestOneInput(data, size); /* a divergence traps: the process dies here */
    if (verbose) printf("PASS %s\n", path);
    passed++;
    free(data);
    return;
  }
  in_child(one_input, data, &size, path);
  free(data);
}

static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_path(const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0) {
    fprintf(stderr, "FAIL %s: %s\n", path, strerror(errno));
    failed++;
    return;
  }
  if (!S_ISDIR(sb.st_mode)) {
    run_one(path);
    return;
  }
  struct dirent **names;
  int n = scandir(path, &names, NULL, by_name);
  if (n < 0) {
    fprintf(stderr, "FAIL %s: %s\n", path, strerror(errno));
    failed++;
    return;
  }
  for (int i = 0; i < n; i++) {
    if (names[i]->d_name[0] != '.') {
      size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
      char *full = malloc(len);
      snprintf(full, len, "%s/%s", path, names[i]->d_name);
      if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode)) run_one(full);
      free(full);
    }
    free(names[i]);
  }
  free(names);
}

/* A divergence traps: say which input the one process died in, then die of the signal. */
static void died(int sig) {
  static const char at[] = "FAIL in one process, at ";
  ssize_t w = write(2, at, sizeof at - 1);
  if (current) w = write(2, current, strlen(current));
  w = write(2, "\n", 1);
  (void)w;
  raise(sig);
}

struct paths {
  int argc, i;
  char **argv;
};
/* The child of -a: every path in this process; a divergence traps, after died() named it. */
static void all_inputs(void *ps, void *unused) {
  (void)unused;
  struct paths *p = ps;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = died;
  sa.sa_flags = (int)SA_RESETHAND;
  static const int sigs[] = {SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE};
  for (size_t j = 0; j < sizeof sigs / sizeof *sigs; j++) sigaction(sigs[j], &sa, NULL);
  sequential = 1, verbose = 0;
  for (int i = p->i; i < p->argc; i++) run_path(p->argv[i]);
  if (failed) _exit(1);
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "-s"))
      sequential = 1;
    else if (!strcmp(argv[i], "-v"))
      verbose = 1;
    else if (!strcmp(argv[i], "-a"))
      also_one = 1;
    else {
      fprintf(stderr, "usage: %s [-s | -a] [-v] FILE|DIR...\n", argv[0]);
      return 2;
    }
  }
  if (i == argc) {
    fprintf(stderr, "usage: %s [-s | -a] [-v] FILE|DIR...\n", argv[0]);
    return 2;
  }
  int first = i;
  for (; i < argc; i++) run_path(argv[i]);
  if (also_one && !sequential) {
    struct paths ps = {argc, first, argv};
    in_child(all_inputs, &ps, NULL, "all inputs in one process");
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
