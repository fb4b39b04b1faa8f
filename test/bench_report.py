"""Checks of bench/report.py's targets table (issues 11 and 12): the verdicts come from the
table given, strictly, and rows without data are left out. Ends "N passed, N failed"."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import report  # noqa: E402

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what)


def row(md, target):
    """The cells (met, missed) of the targets table's row that starts with target."""
    for line in md.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith(target):
            return cells[2], cells[3]
    return None


PEERS = ["glibc", "tcmalloc"]
NAMES = PEERS + ["vcm"]
T = {
    "r1": {"glibc": {"time": 1.0, "rss": 30.0}, "vcm": {"time": 0.9, "rss": 30.0}},
    "r2": {"glibc": {"time": 1.0, "rss": 31.2}, "vcm": {"time": 1.2, "rss": 31.3}},
    "s1": {"glibc": {"time": 2.0, "rss": 10.0}, "tcmalloc": {"time": 1.0, "rss": 20.0},
           "vcm": {"time": 1.5, "rss": 11.0}},
    "g2": {"glibc": {"time": 4.0, "rss": 100.0}, "vcm": {"time": 3.0, "rss": 120.0}},
    "g2floor": {"glibc": {"time": 1.0, "rss": 1.0}, "vcm": {"time": 2.5, "rss": 1.0}},
    "x1v": {"vcm": {"time": 0.1, "rss": 1.0}},
}
md = report.targets(T, NAMES, PEERS, ["g2", "g4"])

r = row(md, "peak RSS ≤ 1.0×")
check(r is not None, "the r1/r2 peak row is present")
check(r and "r1 1.00×" in r[0], "r1 at exactly the leanest is met")
check(r and "r2 1.003×" in r[1], "r2 0.3 % over is missed and shown with three decimals")
r = row(md, "peak RSS ≤ 1.1×")
check(r and "s1 1.10×" in r[0], "s1 at exactly 1.1x the leanest is met")
check(r and "g2 1.20×" in r[1], "g2 1.2x the leanest is missed")
check(r and "x1v" not in r[0] + r[1], "a row without peers is left out")
check(r and "g2floor" not in r[0] + r[1], "floors are references, not targets")
r = row(md, "time ≤ 1.0×")
check(r and "s1 1.50×" in r[1] and "r1 0.90×" in r[0] and "r2 1.20×" in r[1],
      "time against the best peer (tcmalloc for s1)")
r = row(md, "growth time ≤ 0.85×")
check(r and r[0] == "g2 0.75×" and r[1] == "—", "g2 0.75x is met; g4 (not run) left out")
r = row(md, "g2 ≤ 1.15× its floor")
check(r and r[1] == "g2 1.20×", "g2 over its own floor: 3.0 / 2.5")
check(report.targets(T, PEERS, PEERS, []) == "", "no table without a subject allocator")

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
