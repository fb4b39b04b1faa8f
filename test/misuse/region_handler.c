/* Region mode: misuse goes to the handler set with vcm_region_set_handler, with the exact
 * pointer and reason; the operation is ignored, and the region still passes vcm_region_check
 * with unchanged counters. Double free and use after free, interior and foreign pointers, and every entry point
 * that takes a chunk (free, realloc, expand, used, capacity).
 * expect: handler (exits 0, last line "N passed, 0 failed") */
#include "misuse.h"

#include <string.h>

#include "../harness.h"

static _Alignas(64) unsigned char disc[65536], other_disc[32768];
static char static_buf[32];

static struct {
  int calls;
  void *ctx;
  const void *ptr;
  const char *reason;
} seen;

static void on_misuse(void *ctx, const void *ptr, const char *reason) {
  seen.calls++;
  seen.ctx = ctx;
  seen.ptr = ptr;
  seen.reason = reason;
}

static const char *const DOUBLE = "double free (chunk is not live)";
static const char *const USE_FREED = "use after free (chunk is not live)";
static const char *const INTERIOR = "interior pointer (not the start of a chunk)";
static const char *const FOREIGN = "foreign pointer (not from this heap)";

static vcm_region r;
static vcm_region_stats before;
static int ctx_token;

/* After one misuse: one call, this pointer, this reason, and the region as it was. */
static void expect(const void *p, const char *reason, int line) {
  vcm_region_stats now;
  const char *why = NULL;
  if (seen.calls != 1 || seen.ptr != p || !seen.reason || strcmp(seen.reason, reason) != 0 ||
      seen.ctx != &ctx_token)
    fprintf(stderr, "line %d: handler calls %d, ptr %p (want %p), reason \"%s\" (want \"%s\")\n",
            line, seen.calls, seen.ptr, p, seen.reason ? seen.reason : "(null)", reason);
  CHECK_EQ(seen.calls, 1);
  CHECK(seen.ptr == p);
  CHECK(seen.ctx == &ctx_token);
  CHECK(seen.reason && strcmp(seen.reason, reason) == 0);
  CHECK(vcm_region_check(&r, &why) == 0);
  if (why) fprintf(stderr, "line %d: vcm_region_check: %s\n", line, why);
  vcm_region_stats_get(&r, &now);
  CHECK_EQ(now.live_chunks, before.live_chunks);
  CHECK_EQ(now.live_used, before.live_used);
  CHECK_EQ(now.live_capacity, before.live_capacity);
  seen.calls = 0;
}
#define EXPECT(p, reason) expect(p, reason, __LINE__)

/* Every entry point that takes a chunk, on a pointer that is not a live chunk start: free
 * reports freeing, the others use. */
static void all_uses(void *p, const char *freeing, const char *reason, int line) {
  vcm_region_free(&r, p);
  expect(p, freeing, line);
  CHECK(vcm_region_realloc(&r, p, 10) == NULL);
  expect(p, reason, line);
  CHECK_EQ(vcm_region_expand(&r, p, 10), -1);
  expect(p, reason, line);
  CHECK_EQ(vcm_region_used(&r, p), 0);
  expect(p, reason, line);
  CHECK_EQ(vcm_region_capacity(&r, p), 0);
  expect(p, reason, line);
}
#define ALL_USES(p, reason) all_uses(p, reason, reason, __LINE__)

int main(void) {
  vcm_region second;
  char local[16];
  CHECK(vcm_region_init(&r, disc, sizeof disc, NULL) == VCM_OK);
  CHECK(vcm_region_init(&second, other_disc, sizeof other_disc, NULL) == VCM_OK);
  vcm_region_set_handler(&r, on_misuse, &ctx_token);

  char *keep = vcm_region_alloc(&r, 100); /* live throughout: must stay intact */
  CHECK(keep != NULL);
  memset(keep, 0x5a, 100);
  char *big = vcm_region_alloc(&r, 1000);
  CHECK(big != NULL);
  char *freed = vcm_region_alloc(&r, 100);
  CHECK(freed != NULL);
  vcm_region_free(&r, freed);
  vcm_region_stats_get(&r, &before);
  CHECK_EQ(before.live_chunks, 2);

  /* Double free, and every other use of the freed chunk (a use after free). */
  all_uses(freed, DOUBLE, USE_FREED, __LINE__);
  /* Interior pointers: 1 and 16 bytes into a live chunk, the last byte of a 1024 chunk. */
  ALL_USES(keep + 1, INTERIOR);
  ALL_USES(keep + 16, INTERIOR);
  ALL_USES(big + 1023, INTERIOR);
  /* Foreign: stack, static, the region's own map, another region's chunk, the process heap. */
  ALL_USES(local, FOREIGN);
  ALL_USES(static_buf, FOREIGN);
  vcm_plan plan;
  CHECK(vcm_region_plan(sizeof disc, NULL, &plan) == VCM_OK);
  ALL_USES(disc, FOREIGN);                  /* the map's first slot: the map precedes the data */
  ALL_USES(disc + plan.map_bytes, FOREIGN); /* the gap between the map and the data */
  void *theirs = vcm_region_alloc(&second, 64);
  CHECK(theirs != NULL);
  ALL_USES(theirs, FOREIGN);
  void *heap = vcm_malloc(64);
  CHECK(heap != NULL);
  ALL_USES(heap, FOREIGN);
  vcm_free(heap);
  /* Another region does not know ours either. */
  vcm_region_set_handler(&second, on_misuse, &ctx_token);
  vcm_region_free(&second, keep);
  CHECK(seen.calls == 1 && seen.ptr == keep && strcmp(seen.reason, FOREIGN) == 0);
  seen.calls = 0;

  /* NULL is not misuse. */
  vcm_region_free(&r, NULL);
  CHECK_EQ(seen.calls, 0);

  /* The live chunks are untouched and still work. */
  int intact = 1;
  for (int i = 0; i < 100; i++) intact &= keep[i] == 0x5a;
  CHECK(intact);
  CHECK_EQ(vcm_region_used(&r, keep), 100);
  CHECK_EQ(vcm_region_capacity(&r, keep), 128);
  keep = vcm_region_realloc(&r, keep, 120);
  CHECK(keep != NULL && vcm_region_used(&r, keep) == 120);
  vcm_region_free(&r, keep);
  vcm_region_free(&r, big);
  vcm_region_free(&r, theirs); /* foreign to r: reported, r unchanged */
  CHECK(seen.calls == 1 && seen.ptr == theirs);
  seen.calls = 0;
  vcm_region_free(&second, theirs);
  CHECK_EQ(seen.calls, 0);
  const char *why = NULL;
  CHECK(vcm_region_check(&r, &why) == 0);
  CHECK(vcm_region_check(&second, &why) == 0);
  vcm_region_stats_get(&r, &before);
  CHECK_EQ(before.live_chunks, 0);
  CHECK_EQ(before.live_used, 0);
  return t_report();
}
