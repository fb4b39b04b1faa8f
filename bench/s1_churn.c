/* s1: small-object churn. 100,000 live objects of 8..512 B (3/4 of them
 * <= 64 B); each op frees a random one (checking its fill) and allocates a
 * new one (filled with its tag byte). 10M ops = 20M malloc/free calls at full
 * scale. */
#include "common.h"

#define LIVE 100000

static size_t pick_size(rng_t *r) {
  return rng_below(r, 4) ? rng_range(r, 8, 64) : rng_range(r, 65, 512);
}

static void fill(uint8_t *p, size_t n, uint64_t tag) {
  memset(p, (int)(tag & 0xFF), n);
  memcpy(p, &tag, 8);
}
static int ok(const uint8_t *p, size_t n, uint64_t tag) {
  uint64_t t;
  memcpy(&t, p, 8);
  if (n == 8) return t == tag;
  return t == tag && p[n - 1] == (uint8_t)tag && p[8 + (n - 8) / 2] == (uint8_t)tag;
}

int main(int argc, char **argv) {
  double scale = bench_init("s1", argc, argv);
  size_t live = scaled(LIVE, scale, 1000), nops = scaled(10000000, scale, 20000);
  rng_t r = {11};
  uint8_t **p = xmalloc(live * sizeof *p);
  uint32_t *sz = xmalloc(live * sizeof *sz);
  uint64_t *tags = xmalloc(live * sizeof *tags), tag = 0;
  for (size_t i = 0; i < live; i++) {
    sz[i] = (uint32_t)pick_size(&r);
    p[i] = xmalloc(sz[i]);
    tags[i] = ++tag * 0x100 + i % 251;
    fill(p[i], sz[i], tags[i]);
  }
  for (size_t op = 0; op < nops; op++) {
    size_t i = rng_below(&r, live);
    if (!ok(p[i], sz[i], tags[i])) bench_fail("object %zu corrupted", i);
    free(p[i]);
    sz[i] = (uint32_t)pick_size(&r);
    p[i] = xmalloc(sz[i]);
    tags[i] = ++tag * 0x100 + op % 251;
    fill(p[i], sz[i], tags[i]);
  }
  for (size_t i = 0; i < live; i++) {
    if (!ok(p[i], sz[i], tags[i])) bench_fail("object %zu corrupted", i);
    free(p[i]);
  }
  free(p);
  free(sz);
  free(tags);
  bench_result(2 * nops, 0);
  return 0;
}
