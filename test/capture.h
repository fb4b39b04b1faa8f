/* Misuse reports captured by a handler, for tests that provoke misuse on purpose. */
#ifndef VCM_TEST_CAPTURE_H
#define VCM_TEST_CAPTURE_H

static struct {
  int calls;
  const void *ptr;
  const char *reason;
} misuse;

static void on_misuse(void *ctx, const void *ptr, const char *reason) {
  (void)ctx;
  misuse.calls++;
  misuse.ptr = ptr;
  misuse.reason = reason;
}
#endif
