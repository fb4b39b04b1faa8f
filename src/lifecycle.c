/* The process heap's life (floor 5, the top): set-up at load, the reports at exit, and fork.
 *
 * Lock order, taken in this order by fork_prepare and by any path that holds several:
 * heaps_lock (heap.c), then large_lock (large.c), then meta_lock (meta.c). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include "heap.h"
#include "large.h"
#include "meta.h"
#include "options.h"
#include "picture.h"

/* fork: hold every lock across it, so the child finds no structure half-changed (but for a
 * lock the forking thread holds itself, in a signal handler that interrupted malloc: meta.h). */
static void fork_prepare(void) {
  vcmi_heap_fork_prepare();
  vcmi_large_fork_prepare();
  vcmi_meta_fork_prepare();
}
static void fork_parent(void) {
  vcmi_meta_fork_parent();
  vcmi_large_fork_parent();
  vcmi_heap_fork_parent();
}
static void fork_child(void) {
  vcmi_meta_fork_child();
  vcmi_large_fork_child();
  vcmi_heap_fork_child();
}

int vcm_trim(void) {
  int heap = vcmi_heap_trim();
  return (vcmi_large_trim() != 0) | heap;
}

/* At load: options, and fork handlers (pthread_atfork may allocate, so not from inside
 * malloc). Allocation before this runs uses the defaults. */
__attribute__((constructor)) static void vcmi_init(void) {
  vcmi_options_init();
  vcmi_segmap_init();
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* At exit: VCM_STATS and VCM_SVG. */
__attribute__((destructor)) static void vcmi_fini(void) {
  if (vcmi_opt[VCMI_OPT_STATS]) vcm_stats_print(2, vcmi_opt[VCMI_OPT_STATS] == 2);
  const char *svg = getenv("VCM_SVG");
  if (svg && *svg) vcmi_svg_at_exit(svg);
}
