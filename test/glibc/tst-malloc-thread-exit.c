/* Thread exit gives the thread's memory back for reuse, also when key destructors allocate
 * after the allocator's own destructor ran (glibc runs up to four destructor rounds; a value
 * set again in a round brings another round). Checks: 3000 threads one after the other, each
 * leaving a key value whose destructor frees it and sets a new one; 2000 threads whose first
 * allocation comes in the last destructor round (no round follows it); then threads exiting
 * while others allocate what they freed: the mapping count stays flat. */
#define _GNU_SOURCE
#include <pthread.h>

#include "check.h"

static pthread_key_t key;

static void dtor(void *v) {
  free(v);
  CHECK(pthread_setspecific(key, malloc(32)) == 0);
}

static void *setter(void *a) {
  (void)a;
  pthread_setspecific(key, malloc(32));
  return NULL;
}

/* Key values that are not allocated, set again for three rounds; the fourth allocates. */
static pthread_key_t late_key;
static __thread int late_rounds;
static char late_value;

static void late_dtor(void *v) {
  (void)v;
  if (++late_rounds < 4)
    pthread_setspecific(late_key, &late_value);
  else
    free(malloc(40));
}

static void *late_setter(void *a) {
  (void)a;
  pthread_setspecific(late_key, &late_value);
  return NULL;
}

/* Allocates a mix of sizes, frees half, hands the rest to the next thread to free. */
static void *worker(void *a) {
  void **in = a;
  static void *out[64];
  for (int i = 0; i < 64; i++) free(in[i]);
  for (int i = 0; i < 64; i++) {
    out[i] = malloc((size_t)16 << (i % 15));
    CHECK(out[i] != NULL);
    if (out[i]) memset(out[i], i, 16);
  }
  memcpy(in, out, sizeof out);
  return NULL;
}

static void run(void *(*fn)(void *), void *arg, int n) {
  for (int i = 0; i < n; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, fn, arg) != 0) {
      CHECK(!"pthread_create");
      return;
    }
    pthread_join(t, NULL);
  }
}

int main(void) {
  free(malloc(1));
  CHECK(pthread_key_create(&key, dtor) == 0);
  run(setter, NULL, 200); /* warm up */
  int m0 = tst_mappings();
  run(setter, NULL, 3000);
  int m1 = tst_mappings();
  printf("key destructors that allocate: %d mappings after 200 threads, %d after 3200\n", m0,
         m1);
  CHECK(m1 <= m0 + 16);

  CHECK(pthread_key_create(&late_key, late_dtor) == 0);
  run(late_setter, NULL, 200);
  m0 = tst_mappings();
  run(late_setter, NULL, 2000);
  m1 = tst_mappings();
  printf("first allocation in the last destructor round: %d mappings after 200 threads, %d "
         "after 2200\n", m0, m1);
  CHECK(m1 <= m0 + 16);

  void *pass[64] = {0};
  run(worker, pass, 100);
  m0 = tst_mappings();
  run(worker, pass, 1000);
  m1 = tst_mappings();
  printf("threads handing memory on: %d mappings after 100 threads, %d after 1100\n", m0, m1);
  CHECK(m1 <= m0 + 16);
  for (int i = 0; i < 64; i++) free(pass[i]);
  return tst_result();
}
