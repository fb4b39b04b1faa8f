/* s3: larson-like server pattern. 4 threads each own 1,000 slots of
 * 24..1024 B objects and repeatedly replace a random slot. One op in 16 hands
 * the object over through a shared mailbox instead (atomic exchange), so the
 * thread keeps someone else's object and will later free it. 4 x 2M ops at
 * full scale. Each object holds its tag and size at the start and ~tag at the
 * end, so any thread can check it.
 * `s3 SCALE sized`: objects are freed with their size, by the allocator's
 * sized free (free_sized, else jemalloc's sdallocx, mimalloc's mi_free_size,
 * tcmalloc's tc_free_sized; plain free when it has none, e.g. glibc 2.36):
 * the larson-sized pattern. The result line names the call used.
 * `s3 SCALE local` (not in the table): no handoffs (the same random stream, each handoff a
 * replace), so every object is freed by the thread that allocated it: the local paths alone. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

#define THREADS 4
#define SLOTS 1000
#define MAILBOXES 64

static _Atomic(uint8_t *) mailbox[MAILBOXES];
static size_t nops;
static _Atomic size_t bad;
static int sized, local;
static void (*free2)(void *, size_t);      /* free_sized, mi_free_size, tc_free_sized */
static void (*free3)(void *, size_t, int); /* sdallocx(p, n, flags) */
static const char *sized_via = "free";

static void find_sized_free(void) {
  static const char *const two[] = {"free_sized", "mi_free_size", "tc_free_sized"};
  for (size_t i = 0; i < sizeof two / sizeof *two && !free2; i++)
    if ((free2 = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, two[i]))) sized_via = two[i];
  if (!free2 && (free3 = (void (*)(void *, size_t, int))dlsym(RTLD_DEFAULT, "sdallocx")))
    sized_via = "sdallocx";
}

static uint8_t *new_obj(rng_t *r, uint64_t tag) {
  uint32_t n = (uint32_t)rng_range(r, 24, 1024);
  uint8_t *p = xmalloc(n);
  uint64_t nt = ~tag;
  memcpy(p, &tag, 8);
  memcpy(p + 8, &n, 4);
  memcpy(p + n - 8, &nt, 8);
  return p;
}
static void free_obj(uint8_t *p) {
  uint64_t tag, nt;
  uint32_t n;
  memcpy(&tag, p, 8);
  memcpy(&n, p + 8, 4);
  if (n < 24 || n > 1024) {
    atomic_fetch_add(&bad, 1);
    return; /* size field broken: do not trust it */
  }
  memcpy(&nt, p + n - 8, 8);
  if (nt != ~tag) atomic_fetch_add(&bad, 1);
  if (free2)
    free2(p, n);
  else if (free3)
    free3(p, n, 0);
  else
    free(p);
}

static void *worker(void *arg) {
  size_t id = (size_t)(uintptr_t)arg;
  rng_t r = {100 + id};
  uint8_t **slot = xmalloc(SLOTS * sizeof *slot);
  uint64_t tag = (uint64_t)id << 48;
  for (size_t i = 0; i < SLOTS; i++) slot[i] = new_obj(&r, ++tag);
  for (size_t op = 0; op < nops; op++) {
    size_t i = rng_below(&r, SLOTS);
    if (rng_below(&r, 16) == 0 && !local) {
      /* Hand our object over, keep whatever was in the mailbox. */
      uint8_t *got = atomic_exchange(&mailbox[rng_below(&r, MAILBOXES)], slot[i]);
      slot[i] = got ? got : new_obj(&r, ++tag);
    } else {
      free_obj(slot[i]);
      slot[i] = new_obj(&r, ++tag);
    }
  }
  for (size_t i = 0; i < SLOTS; i++) free_obj(slot[i]);
  free(slot);
  return NULL;
}

int main(int argc, char **argv) {
  int variant = 0;
  double scale = bench_init_variant("s3", argc, argv, "sized local", &variant);
  sized = variant == 1;
  local = variant == 2;
  if (sized) find_sized_free();
  nops = scaled(2000000, scale, 5000);
  pthread_t t[THREADS];
  for (size_t i = 0; i < THREADS; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i))
      bench_fail("pthread_create failed");
  for (size_t i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  for (size_t i = 0; i < MAILBOXES; i++) {
    uint8_t *p = atomic_load(&mailbox[i]);
    if (p) free_obj(p);
  }
  if (atomic_load(&bad)) bench_fail("%zu objects corrupted", atomic_load(&bad));
  if (sized) printf("sized_free=%s\n", sized_via);
  bench_result(THREADS * nops, 0);
  return 0;
}
