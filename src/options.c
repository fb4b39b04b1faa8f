/* Options from the environment, read without allocating (getenv and a hand-rolled parser).
 * A bad value gets a one-line warning naming the variable and the value; the default stays. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "os.h"

long vcmi_opt[VCMI_OPT_COUNT] = {
#define VCMI_OPT_DEF(name, def, doc) def,
    VCMI_OPTIONS(VCMI_OPT_DEF)
#undef VCMI_OPT_DEF
};

static const char *const names[VCMI_OPT_COUNT] = {
#define VCMI_OPT_NAME(name, def, doc) "VCM_" #name,
    VCMI_OPTIONS(VCMI_OPT_NAME)
#undef VCMI_OPT_NAME
};

/* One line to stderr from up to five pieces, written at once. */
static void say(const char *a, const char *b, const char *c, const char *d, const char *e) {
  char line[256];
  size_t n = 0;
  const char *parts[] = {a, b, c, d, e};
  for (int i = 0; i < 5; i++)
    for (const char *s = parts[i]; s && *s && n < sizeof line - 1; s++) line[n++] = *s;
  line[n++] = '\n';
  (void)vcmi_os_write(2, line, n);
}

/* A decimal number in [0, 2^30]; -1 if s is not one. */
static long parse(const char *s) {
  long v = 0;
  if (!*s) return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (1L << 30) / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

void vcmi_options_init(void) {
  static int done, early;
  if (done) return;
  /* Not yet: a malloc from a preinit_array function (a sanitizer's runtime: UBSan's dlsym)
   * comes before libc sets environ, and getenv finds nothing; the constructor reads them. A
   * heap made then is not in check mode, and check mode's tests of the slack of the chunks it
   * hands out would fail: VCM_CHECK stays off (said). */
  if (!environ) {
    early = 1;
    return;
  }
  done = 1;
  for (int i = 0; i < VCMI_OPT_COUNT; i++) {
    const char *s = getenv(names[i]);
    if (!s) continue;
    long v = parse(s);
    if (v < 0)
      say("vcm: ignoring ", names[i], "=", s, " (not a non-negative integer; default kept)");
    else if (early && i == VCMI_OPT_CHECK && v != vcmi_opt[i])
      say("vcm: ignoring ", names[i], "=", s, " (the process allocated before it could read it)");
    else
      vcmi_opt[i] = v;
  }
  if (vcmi_opt[VCMI_OPT_VERBOSE]) {
    for (int i = 0; i < VCMI_OPT_COUNT; i++) {
      char num[24];
      int n = 23;
      num[n] = 0;
      long v = vcmi_opt[i];
      do num[--n] = (char)('0' + v % 10); while ((v /= 10) > 0 && n > 0);
      say("vcm: option ", names[i], "=", num + n, 0);
    }
  }
}

void vcmi_option_set(vcmi_option i, long v) {
  __atomic_store_n(&vcmi_opt[i], v < 0 ? 0 : v > (1L << 30) ? 1L << 30 : v, __ATOMIC_RELAXED);
}
