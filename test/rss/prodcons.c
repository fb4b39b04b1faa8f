/* Issue 11's producer/consumer: main allocates 96 MiB of one size, a consumer thread frees it
 * all; then the next size class. Prints the RSS after each round. Built -O0 -fno-builtin and
 * run under glibc and under LD_PRELOAD of libvcm.so by run.sh, which compares the peaks. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long rss_mb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long a = 0, b = 0;
  if (!f || fscanf(f, "%ld %ld", &a, &b) != 2) b = -1;
  if (f) fclose(f);
  return b * 4 / 1024;
}

static void **v;
static size_t nv;
static sem_t go, done;

static void *consumer(void *a) {
  (void)a;
  for (;;) {
    sem_wait(&go);
    if (!v) return NULL;
    for (size_t i = 0; i < nv; i++) free(v[i]);
    sem_post(&done);
  }
}

int main(void) {
  sem_init(&go, 0, 0);
  sem_init(&done, 0, 0);
  pthread_t t;
  pthread_create(&t, NULL, consumer, NULL);
  void **arr = malloc(sizeof(void *) * (96u << 20) / 16);
  if (!arr) return 1;
  for (size_t sz = 16; sz <= 262144; sz *= 2) {
    nv = (96u << 20) / sz;
    for (size_t i = 0; i < nv; i++) {
      arr[i] = malloc(sz);
      if (!arr[i]) return 1;
      memset(arr[i], 1, sz);
    }
    v = arr;
    sem_post(&go);
    sem_wait(&done);
    printf("size %6zu: all freed by the other thread, RSS %ld MiB\n", sz, rss_mb());
  }
  v = NULL;
  sem_post(&go);
  pthread_join(t, NULL);
  free(arr);
  for (int i = 0; i < 1000; i++) free(malloc(100));
  for (int i = 0; i < 1100; i++) free(malloc(65536));
  printf("end: RSS %ld MiB\n", rss_mb());
  return 0;
}
