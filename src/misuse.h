/* Misuse reports (misuse.c, floor 1): every reason vcm reports, as an enum with one string
 * table, and the handlers that receive them. Regions call their own handler (region.c's
 * vcmi_misuse); the process heap calls vcmi_process_misuse. Not installed. */
#ifndef VCMI_MISUSE_H
#define VCMI_MISUSE_H

typedef enum vcmi_why {
  VCMI_WHY_DOUBLE_FREE,      /* a chunk that is not live freed again */
  VCMI_WHY_DOUBLE_FREE_LARGE,
  VCMI_WHY_USE_AFTER_FREE,   /* realloc, expand or a size query of a chunk that is not live */
  VCMI_WHY_USE_AFTER_FREE_LARGE,
  VCMI_WHY_INTERIOR,         /* inside a chunk, not its start */
  VCMI_WHY_INTERIOR_LARGE,
  VCMI_WHY_FOREIGN_REGION,   /* not in the region's chunks at all */
  VCMI_WHY_FOREIGN,          /* free: in no segment and no large block */
  VCMI_WHY_FOREIGN_REALLOC,
  VCMI_WHY_FOREIGN_SIZE,
  VCMI_WHY_FOREIGN_EXPAND,
  VCMI_WHY_FREE_SIZED,       /* free_sized with a size that is not the block's */
  VCMI_WHY_FREE_ALIGNED,
  VCMI_WHY_OVERFLOW,         /* check mode: the slack past the used size was written */
  VCMI_WHY_WRITE_AFTER_FREE, /* check mode: a free chunk was written */
  VCMI_WHY_CORRUPT,          /* caller region: a map word contradicts the map (forged) */
  VCMI_WHY_COUNT
} vcmi_why;

/* The reason's text, as handlers receive it. Never NULL. O(1), any thread. */
const char *vcmi_why_text(vcmi_why why);

/* The default handler: hosted builds print "vcm: invalid free or use: <reason> at 0x<ptr>" to
 * stderr without allocating and abort; freestanding builds trap. Does not return. */
void vcmi_misuse_default(void *ctx, const void *ptr, const char *reason);

/* The process heap's handler (a vcm_misuse_fn; ctx unused): calls the handler set by
 * vcm_set_misuse_handler, else vcmi_misuse_default. Segment regions install it. Any thread,
 * no lock held needed; returns if the program's handler returns. */
void vcmi_process_report(void *ctx, const void *ptr, const char *reason);
/* Misuse outside any region (foreign pointers, large blocks): vcmi_process_report. */
void vcmi_process_misuse(const void *ptr, vcmi_why why);

/* VCMI_ASSERT(c): an internal invariant (not the program's misuse, which is reported). Checked
 * in test builds (-DVCMI_ASSERTS: the Makefile's libvcm-test.a), compiled out of the release
 * library (c is then not evaluated). A failure calls vcmi_assert_fail: hosted, "vcm: internal
 * error: <c> (<file>:<line>)" on stderr and abort; freestanding, a trap. */
#ifdef VCMI_ASSERTS
#define VCMI_ASSERT(c) ((c) ? (void)0 : vcmi_assert_fail(#c, __FILE__, __LINE__))
#else
#define VCMI_ASSERT(c) ((void)sizeof((c) ? 1 : 0))
#endif
__attribute__((noreturn)) void vcmi_assert_fail(const char *what, const char *file, int line);
#endif
