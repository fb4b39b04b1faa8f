/* Run under valgrind with the library built -DVCM_VALGRIND (make valgrind-client): memcheck
 * must see region chunks as blocks of their used size. The two errors below are reported only
 * thanks to vcm's client requests; the make target checks the report (and that there are no
 * others, e.g. after the in-place realloc). */
#include <stdio.h>
#include <string.h>

#include "vcm.h"

static _Alignas(4096) unsigned char disc[32 * 1024];

int main(void) {
  vcm_region r;
  if (vcm_region_init(&r, disc, sizeof disc, NULL) != VCM_OK) return 1;
  char *p = vcm_region_alloc(&r, 20); /* capacity 32, used 20 */
  memset(p, 1, 20);
  ((volatile char *)p)[24] = 2;       /* 1: invalid write past the used size */
  p = vcm_region_realloc(&r, p, 30);  /* in place: bytes 20..29 become accessible */
  ((volatile char *)p)[28] = 3;       /* fine */
  vcm_region_free(&r, p);
  if (((volatile char *)p)[0] == 9) puts("?"); /* 2: invalid read after free */
  puts("done");
  return 0;
}
