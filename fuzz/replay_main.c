/* Replay fuzz inputs without libFuzzer: each argument is a file or a directory of files (taken
 * in name order), each file is fed to LLVMFuzzerTestOneInput. By default every input runs in
 * its own child process, so that a trap is counted as a failure and the others still run, and
 * so that each input starts from a fresh process heap (as after -minimize_crash). With -s, all
 * inputs run in this one process, one after another, as libFuzzer runs them.
 * The last line is "N passed, N failed"; the exit status is 1 if any failed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int passed, failed, sequential, verbose;

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

static void run_one(const char *path) {
  size_t size = 0;
  unsigned char *data = read_file(path, &size);
  if (!data) {
    fprintf(stderr, "FAIL %s: cannot read: %s\n", path, strerror(errno));
    failed++;
    return;
  }
  if (sequential) {
    LLVMFuzzerTestOneInput(data, size); /* a divergence traps: the process dies here */
    if (verbose) printf("PASS %s\n", path);
    passed++;
    free(data);
    return;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    LLVMFuzzerTestOneInput(data, size);
    _exit(0);
  }
  free(data);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    if (verbose) printf("PASS %s\n", path);
    passed++;
  } else {
    if (WIFSIGNALED(st))
      printf("FAIL %s (signal %d)\n", path, WTERMSIG(st));
    else
      printf("FAIL %s (exit %d)\n", path, WEXITSTATUS(st));
    failed++;
  }
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

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "-s"))
      sequential = 1;
    else if (!strcmp(argv[i], "-v"))
      verbose = 1;
    else {
      fprintf(stderr, "usage: %s [-s] [-v] FILE|DIR...\n", argv[0]);
      return 2;
    }
  }
  if (i == argc) {
    fprintf(stderr, "usage: %s [-s] [-v] FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (; i < argc; i++) run_path(argv[i]);
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
