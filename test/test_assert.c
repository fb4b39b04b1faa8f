/* Internal invariants are checked in test builds (VCMI_ASSERT, src/misuse.h): this program is
 * linked with libvcm-api-test.a, where a broken invariant stops the process with
 * "vcm: internal error: ..." and SIGABRT. Each case runs in a child process. The release
 * library (libvcm.a, libvcm.so) has no such checks. */
#define _GNU_SOURCE
#define VCMI_ASSERTS /* region.h's inline functions, as libvcm-test.a's objects compile them */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "region.h"

static _Alignas(64) unsigned char data[1 << 16];
static vcmi_entry map[256];

/* Run fn in a child with stderr to a pipe: 1 if it died by SIGABRT saying "internal error". */
static int aborts(void (*fn)(void)) {
  int fds[2];
  if (pipe(fds) != 0) return 0;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    fn();
    _exit(0);
  }
  close(fds[1]);
  char buf[512];
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  buf[n > 0 ? n : 0] = 0;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
         strstr(buf, "vcm: internal error: ") != NULL;
}

static void setup_no_channels(void) {
  vcmi_region r;
  vcmi_region_setup(&r, data, map, 0, 4, 8);
}

static void setup_lmin_above_lmax(void) {
  vcmi_region r;
  vcmi_region_setup(&r, data, map, 1, 9, 8);
}

static void release_free_chunk(void) {
  vcmi_region r;
  vcmi_region_setup(&r, data, map, 1, 4, 8);
  vcmi_loc loc = {0, 0, vcmi_entry_at(&r, 0, 0)};
  vcmi_release(&r, &loc); /* never handed out: not LIVE */
}

static void class_of_too_big(void) {
  vcmi_region r;
  vcmi_region_setup(&r, data, map, 1, 4, 8);
  volatile unsigned k = vcmi_class_of(&r, 257);
  (void)k;
}

static void valid_setup(void) {
  vcmi_region r;
  vcmi_region_setup(&r, data, map, 1, 4, 8);
  vcmi_loc loc;
  void *p = vcmi_take_fresh(&r, 0, 100);
  if (!p || vcmi_locate(&r, p, &loc) != 0) _exit(1);
  vcmi_release(&r, &loc);
}

int main(void) {
  CHECK(aborts(setup_no_channels));
  CHECK(aborts(setup_lmin_above_lmax));
  CHECK(aborts(release_free_chunk));
  CHECK(aborts(class_of_too_big));
  CHECK(!aborts(valid_setup)); /* a correct sequence passes every assertion */
  return t_report();
}
