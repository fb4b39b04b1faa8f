"""r1: a small Python workload (dicts, lists, strings) for PYTHONMALLOC=malloc.

Usage: python3 r1_python.py [SCALE]. Checks its own results, prints
`result name=r1 ops=N check=ok checksum=C`; the checksum must match across
allocators.
"""
import sys
import zlib


def rng(seed):
    """Deterministic LCG, independent of Python's random module."""
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        yield x >> 33


def fail(msg):
    print("r1: " + msg, file=sys.stderr)
    print("result name=r1 check=FAIL")
    sys.exit(1)


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    n = max(200, int(50000 * scale))
    r = rng(1)
    crc = 0
    ops = 0
    for rnd in range(3):
        # Dict of string keys to small lists, built and mutated.
        d = {}
        for i in range(n):
            k = "key-%d-%x" % (next(r) % (n // 2), i % 7)
            d.setdefault(k, []).append(i)
        for k in list(d)[::3]:
            del d[k]
        total = sum(len(v) for v in d.values())
        if total > n:
            fail("dict lost count")
        # Strings: words joined, split, upper-cased, sliced.
        words = ["w%05d" % (next(r) % 50000) for _ in range(n)]
        text = " ".join(words)
        back = text.split(" ")
        if back != words:
            fail("split/join mismatch")
        upper = [w.upper()[1:] + str(len(w)) for w in back]
        # Lists: sort, comprehensions, tuples, sets.
        nums = [next(r) % 1000003 for _ in range(n)]
        s = sorted(nums)
        if any(s[i] > s[i + 1] for i in range(len(s) - 1)):
            fail("sort broken")
        pairs = [(x, x * x % 97) for x in s[::2]]
        uniq = set(nums)
        grouped = {}
        for x, y in pairs:
            grouped.setdefault(y, []).append(x)
        crc = zlib.crc32(repr(sorted(d.items())[:500]).encode(), crc)
        crc = zlib.crc32("".join(upper[:2000]).encode(), crc)
        crc = zlib.crc32(repr((total, len(uniq), sum(s), len(grouped))).encode(), crc)
        ops += n * 6
        del d, words, text, back, upper, nums, s, pairs, uniq, grouped
    print("result name=r1 ops=%d check=ok checksum=%08x" % (ops, crc))


main()
