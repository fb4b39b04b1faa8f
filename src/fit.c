/* Fitted classes (docs/DESIGN.md §6, "Capacity by intent"): a size between 1 and 8 KiB that a
 * program allocates over and over (a page and its header, a record) gets a class of its own,
 * the size rounded up to 16 bytes, in fine segments of the scale that capacity needs. The
 * band's fixed classes waste up to 1/6 of such a chunk (1/33 just above a power of two:
 * sqlite's 4,368-byte pages took 4,480); a fitted one under 16 bytes, as glibc's 8-byte header
 * and 16-byte rounding (4,368 took 4,384 while 1 + x was a byte: 32-byte steps over 4,080).
 * Counted and decided on the slow path only: the fast path reads one byte of vcmi_fit_t. */
#include "heap.h"

#define FIT_BUCKETS ((VCMI_FIT_MAX - VCMI_FIT_MIN) / 16u)
uint8_t vcmi_fit_t[FIT_BUCKETS];
/* A bucket is fitted once the fresh batches its requests started would waste FIT_SAVE bytes in
 * its class more than in a fitted one (the pages a fitted class's own segment costs: header,
 * map, groups, the partial pages of its chunks), if it started at least 3/4 of its class's
 * batches (a size the class is for, not one of many: sizes spread over the band fit none). */
#define FIT_SAVE ((size_t)16 << 10)
static size_t bucket_waste[FIT_BUCKETS];    /* bytes bucket i's batches waste in its class */
static uint32_t bucket_batches[FIT_BUCKETS]; /* fresh batches started by a request of bucket i */
static uint32_t class_batches[VCMI_NTIGHT];  /* ... by a request in the band, per class */
uint32_t vcmi_fit_given;                     /* fitted classes given (at most VCMI_NFIT) */
/* Capacity c's claim, bit (c - 1 - VCMI_FIT_MIN) / 16: the thread that sets it gives c its slot.
 * Threads that see a bucket earn its class at once all find its entry still 0; without the
 * claim each took a slot for c (one wasted: 5 of 200 processes of 8 threads, test_fit_race). */
static uint32_t cap_claimed[(FIT_BUCKETS + 31u) / 32u];

/* The fitted capacity of n (1 KiB < n <= 8 KiB): n rounded up to 16 bytes, so 1 + x = c / 2^j
 * is odd and under 512 (c < 8,192 = 512 x 16; xscale is 16 bits, region.h). */
static uint32_t fit_cap(size_t n) {
  return (uint32_t)((n + 15u) & ~(size_t)15u);
}

/* Give a class of capacity c to the buckets whose sizes it fits tighter than their class, once
 * (the claim): slot t's entry first, then the buckets (release: a malloc that reads t reads
 * the entry).
 * The count stops at VCMI_NFIT: a bucket left unfitted then calls here on each batch it
 * starts, and a count that went on would wrap after 2^32 and rewrite a class in use. */
static void fit_give(uint32_t c) {
  uint32_t bit = (c - 1u - VCMI_FIT_MIN) >> 4, m = 1u << (bit & 31u);
  if (__atomic_fetch_or(&cap_claimed[bit >> 5], m, __ATOMIC_RELAXED) & m) return;
  uint32_t t = __atomic_load_n(&vcmi_fit_given, __ATOMIC_RELAXED);
  do
    if (t >= VCMI_NFIT) return; /* every slot given: the band's classes serve the rest */
  while (!__atomic_compare_exchange_n(&vcmi_fit_given, &t, t + 1u, 1, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED));
  t += VCMI_NFIXED;
  unsigned j = (unsigned)__builtin_ctz(c);
  vcmi_tclass[t] = (vcmi_tclass_t){c, VCMI_LMAX - j, (c >> j) - 1u, 0};
  VCMI_ASSERT(vcmi_tclass[t].x > VCMI_XSCALE_WIDE); /* 1, 3, 5, 7 times 2^j are fixed classes */
  for (size_t n = c; n > c - 32u && n > VCMI_FIT_MIN; n -= 16u) {
    uint8_t none = 0;
    if (fit_cap(n) == c && vcmi_tclass[vcmi_tight_class_calc(n)].cap > c)
      __atomic_compare_exchange_n(&vcmi_fit_t[(n - 1u - VCMI_FIT_MIN) >> 4], &none, (uint8_t)t, 0,
                                  __ATOMIC_RELEASE, __ATOMIC_RELAXED);
  }
}

void vcmi_fit_note(unsigned t, size_t n, size_t carved) {
  if (sizeof(void *) < 8u || n <= VCMI_FIT_MIN || n > VCMI_FIT_MAX || t >= VCMI_NTIGHT ||
      t != vcmi_tight_class_calc(n))
    return; /* 32-bit: a fine segment's data sits k strides of (1 + x) MiB below it */
  unsigned i = (unsigned)((n - 1u - VCMI_FIT_MIN) >> 4);
  uint32_t cap = vcmi_tclass[t].cap, fc = fit_cap(n);
  uint32_t c = __atomic_add_fetch(&class_batches[t], 1u, __ATOMIC_RELAXED);
  /* its class fits it as tight, or it is a colour class's power of two (heap.h): its 1/128
   * more is what staggers its chunks */
  if (fc >= cap || !(fc & (fc - 1u))) return;
  uint32_t b = __atomic_add_fetch(&bucket_batches[i], 1u, __ATOMIC_RELAXED);
  size_t w = __atomic_add_fetch(&bucket_waste[i], carved / cap * (cap - fc), __ATOMIC_RELAXED);
  if (w >= FIT_SAVE && (uint64_t)4 * b >= (uint64_t)3 * c && !__atomic_load_n(&vcmi_fit_t[i], __ATOMIC_RELAXED))
    fit_give(fc);
}
