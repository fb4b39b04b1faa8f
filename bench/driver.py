"""Benchmark driver for vcm: builds the workloads, runs each under every
malloc (LD_PRELOAD), alternating allocators round-robin, and reports medians.

Run through bench/run.sh; `bench/run.sh --help` lists the options.
"""
import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import report
import vector_report

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
BUILD = os.path.join(ROOT, "build", "bench")
LIBDIR = "/usr/lib/x86_64-linux-gnu"

# (name, library candidates, Debian package). glibc needs no preload.
PEERS = [
    ("glibc", None, None),
    ("jemalloc", ["libjemalloc.so.2"], "libjemalloc2"),
    ("mimalloc", ["libmimalloc.so.2", "libmimalloc.so.2.0"], "libmimalloc2.0"),
    ("tcmalloc", ["libtcmalloc_minimal.so.4"], "libtcmalloc-minimal4"),
]
PEER_NAMES = [p[0] for p in PEERS]

# id -> (source file, group, description). Binaries are build/bench/<id>; the
# ids in VARIANTS run another id's binary with a variant word (floors below).
GROWTH_WORKLOADS = [
    ("g1", "g1_onevec.c", "growth", "one vector, +8 B per realloc, to 64 MiB"),
    ("g2", "g2_manyvec.c", "growth", "10k vectors round-robin, small steps, 16 B..256 KiB"),
    ("g3", "g3_strings.c", "growth", "string building, 1..40 B appends, 50k strings"),
    ("g4", "g4_large.c", "growth", "one buffer, +1 MiB per realloc, to 512 MiB"),
    ("g5", "g5_growshrink.c", "growth", "2k vectors grow, shrink, regrow (<= 64 KiB)"),
    ("g6", "g6_interleaved.c", "growth", "10k arrays interleaved, +8 B each, 256 rounds"),
    ("g7", "g7_cxx.cc", "cxx", "C++ vector/string push_back"),
    ("g8", "g8_twothreads.c", "growth", "two threads grow 4k vectors each, free the other's"),
]
# Each growth workload's floor: the same program with every vector malloc'ed
# (or reserve()d) once at its final size and no realloc.
WORKLOADS = [w for g, src, group, desc in GROWTH_WORKLOADS for w in (
    (g, src, group, desc),
    (g + "floor", src, "floor", "floor for %s: each vector malloc'ed once at its final size" % g))
] + [
    ("s1", "s1_churn.c", "general", "small-object churn 8..512 B, 100k live, 20M calls"),
    ("s2", "s2_prodcons.c", "general", "producer/consumer, cross-thread free, 5M objects"),
    ("s3", "s3_larson.c", "general", "larson-like, 4 threads, mailbox handoff"),
    ("s4", "s4_calloc.c", "general", "calloc 64 KiB..16 MiB, checked zero"),
    ("s5", "s5_aligned.c", "general", "posix_memalign/aligned_alloc, align 16..64 KiB"),
    ("s6", "s6_xthread.c", "general", "cross-thread free, 8 threads in a ring, 16M objects"),
    ("s7", "s7_large.c", "general", "malloc-large: 5..25 MiB blocks at random, 24 live"),
    ("s8", "s3_larson.c", "general", "s3 with sized free (free_sized or the allocator's own)"),
    ("r1", "r1_python.py", "real", "python3 PYTHONMALLOC=malloc: dicts, lists, strings"),
    ("r2", "r2_gen_sql.py", "real", "sqlite3 :memory: inserts, indexes, joins, group by"),
]
# vcm::vector against std::vector (issue 14): xN is std::vector under every malloc (binary
# build/bench/xstd), xNv is vcm::vector (build/bench/xvcm, linked with libvcm) on vcm only.
VECTOR_MODES = [
    ("x1", "ints", "push_back 10^7 ints"),
    ("x2", "strings", "push_back 10^7 std::string (1..15 chars)"),
    ("x3", "structs", "push_back 10^7 64-byte structs"),
    ("x4", "rr", "10^5 vectors of ints grown round robin to 100"),
]
WORKLOADS += [w for x, mode, desc in VECTOR_MODES for w in (
    (x, "x_vector.cc", "vector", "std::vector: " + desc),
    (x + "v", "x_vector.cc", "vector", "vcm::vector: " + desc))]
ONLY_ON = {x + "v": "vcm" for x, _, _ in VECTOR_MODES}
VARIANTS = dict([(g + "floor", (g, "floor")) for g, _, _, _ in GROWTH_WORKLOADS] +
                [("s8", ("s3", "sized"))] +
                [(x, ("xstd", mode)) for x, mode, _ in VECTOR_MODES] +
                [(x + "v", ("xvcm", mode)) for x, mode, _ in VECTOR_MODES])
FLOORED = [g for g, _, _, _ in GROWTH_WORKLOADS]
# Peer bugs that the workloads catch: reported, but they do not fail the run.
KNOWN_PEER_BUGS = {
    ("s5", "mimalloc"): "known peer bug: mimalloc 2.0.9 (Debian 12) returns blocks that are "
                        "not aligned for aligned_alloc(A, A), A = 256..1024 (mimalloc issue 700)",
}
GROWTH = [w[0] for w in WORKLOADS if w[2] == "growth"]
DESC = {w[0]: w[3] for w in WORKLOADS}

CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE", "-pthread"]
CXXFLAGS = ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror"]


def log(msg):
    print(msg, flush=True)


def build():
    """Compile the C/C++ workloads into build/bench/ (only what is stale)."""
    os.makedirs(BUILD, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    cxx = os.environ.get("CXX", "c++")
    common = os.path.join(BENCH, "common.h")
    vcm = os.path.abspath(vcm_lib())
    hpp = os.path.join(ROOT, "include", "vcm.hpp")
    extra = {"xvcm": ["-DVCM_VECTOR", "-I" + os.path.dirname(hpp), vcm,
                      "-Wl,-rpath," + os.path.dirname(vcm)]}
    for wid, src in [("runone", "runone.c"), ("xstd", "x_vector.cc"), ("xvcm", "x_vector.cc")] + \
            [(w[0], w[1]) for w in WORKLOADS]:
        if not src.endswith((".c", ".cc")) or wid in VARIANTS:
            continue
        if wid == "xvcm" and not os.path.exists(vcm):
            continue  # no vcm library: find_allocators says so
        srcp, out = os.path.join(BENCH, src), os.path.join(BUILD, wid)
        deps = [srcp, common] + ([hpp, vcm] if wid == "xvcm" else [])
        newest = max(os.path.getmtime(d) for d in deps)
        if os.path.exists(out) and os.path.getmtime(out) >= newest:
            continue
        if src.endswith(".cc"):
            cmd = [cxx] + CXXFLAGS + ["-o", out, srcp] + extra.get(wid, [])
        else:
            cmd = [cc] + CFLAGS + ["-o", out, srcp, "-lm"]
        log("build: " + " ".join(cmd))
        if subprocess.call(cmd) != 0:
            sys.exit("bench: build of %s failed" % src)


def find_allocators(only):
    """[(name, lib or None)] for the peers found plus vcm; prints how to get
    the missing ones."""
    found = []
    for name, libs, pkg in PEERS:
        if libs is None:
            found.append((name, None))
            continue
        path = next((os.path.join(LIBDIR, l) for l in libs
                     if os.path.exists(os.path.join(LIBDIR, l))), None)
        if path:
            found.append((name, path))
        else:
            log("bench: %s not found; install it with: apt-get install -y %s" % (name, pkg))
    vcm = vcm_lib()
    if os.path.exists(vcm):
        if exports_malloc(vcm):
            found.append(("vcm", os.path.abspath(vcm)))
        else:
            log("bench: %s does not export malloc (LD_PRELOAD would change nothing);"
                " skipping vcm" % vcm)
    else:
        log("bench: vcm library %s not found (build it or set VCM_LIB); skipping vcm" % vcm)
    if only:
        found = [a for a in found if a[0] in only]
    return found


def vcm_lib():
    return os.environ.get("VCM_LIB") or os.path.join(ROOT, "build", "libvcm.so")


def exports_malloc(lib):
    """True unless nm shows that lib defines no dynamic `malloc`."""
    nm = shutil.which("nm")
    if not nm:
        return True
    r = subprocess.run([nm, "-D", "--defined-only", lib], capture_output=True, text=True)
    return r.returncode != 0 or any(l.split()[-1:] == ["malloc"] for l in r.stdout.splitlines())


def python_exe():
    # A real interpreter binary (not a pyenv shim script), so the preload
    # applies to python itself.
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def commands(workloads, scale, tmp):
    """wid -> (argv, extra env, stdin path or None, ops or None)."""
    s = "%g" % scale
    cmds = {}
    for wid in workloads:
        if wid in VARIANTS:
            prog, word = VARIANTS[wid]
            cmds[wid] = ([os.path.join(BUILD, prog), s, word], {}, None, None)
        elif wid == "r1":
            script = os.path.join(BENCH, "r1_python.py")
            cmds[wid] = ([python_exe(), script, s], {"PYTHONMALLOC": "malloc"}, None, None)
        elif wid == "r2":
            sqlite = shutil.which("sqlite3")
            if not sqlite:
                log("bench: sqlite3 not found; install it with: apt-get install -y sqlite3;"
                    " skipping r2")
                continue
            sql = os.path.join(tmp, "r2.sql")
            ops = subprocess.check_output(
                [sys.executable, os.path.join(BENCH, "r2_gen_sql.py"), s, sql], text=True)
            cmds[wid] = ([sqlite, "-bail", ":memory:"], {}, sql, int(ops))
        else:
            cmds[wid] = ([os.path.join(BUILD, wid), s], {}, None, None)
    return cmds


def run_one(argv, extra_env, lib, stdin_path, timeout):
    """Run one process under build/bench/runone, which forks, preloads, execs
    and measures it; returns (wall s, peak RSS KiB, exit code, stdout, stderr)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update(extra_env)
    with tempfile.NamedTemporaryFile(prefix="vcm-bench-") as meas, \
            open(stdin_path or os.devnull, "rb") as inp:
        cmd = [os.path.join(BUILD, "runone"), "-p", lib or "", "-t", str(timeout),
               "-o", meas.name] + argv
        p = subprocess.run(cmd, env=env, stdin=inp, capture_output=True)
        m = dict(kv.split("=", 1) for kv in meas.read().decode().split())
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if p.returncode != 0 or "status" not in m:
        return 0.0, 0, -1, out, err + "\nrunone failed"
    return float(m["wall_s"]), int(m["maxrss_kb"]), int(m["status"]), out, err


def parse_result(stdout):
    """Fields of the last `result ...` line, or {}."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("result "):
            return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    return {}


def check_run(wid, code, stdout, ops):
    """(ok, fields, reason) for one run, before cross-allocator comparison."""
    if wid == "r2":
        if code != 0 or "FAIL" in stdout or "ok summary" not in stdout:
            return False, {}, "sqlite3 exit %d or failed self-check" % code
        return True, {"ops": str(ops), "digest": hashlib.sha256(stdout.encode()).hexdigest()}, ""
    fields = parse_result(stdout)
    if code != 0 or fields.get("check") != "ok":
        return False, fields, "exit %d, check=%s" % (code, fields.get("check", "missing"))
    return True, fields, ""


def main():
    ap = argparse.ArgumentParser(
        prog="bench/run.sh",
        description="Run the vcm benchmark suite under glibc, jemalloc, mimalloc, tcmalloc "
                    "and vcm (VCM_LIB, default build/libvcm.so).")
    ap.add_argument("--runs", type=int, default=5, help="runs per workload and allocator")
    ap.add_argument("--smoke", action="store_true",
                    help="one run per cell at small scale; fail on any check error")
    ap.add_argument("--scale", type=float, help="size scale (default 1, or 0.02 with --smoke)")
    ap.add_argument("--only", help="comma-separated workload ids (e.g. g1,s1)")
    ap.add_argument("--alloc", help="comma-separated allocator names")
    ap.add_argument("--no-docs", action="store_true",
                    help="do not write docs/BENCHMARKS.md and docs/bench.svg")
    args = ap.parse_args()
    runs = 1 if args.smoke else args.runs
    scale = args.scale or (0.02 if args.smoke else 1.0)
    if runs < 1 or scale <= 0:
        ap.error("--runs and --scale must be positive")
    ids = [w[0] for w in WORKLOADS]
    workloads = args.only.split(",") if args.only else ids
    bad = [w for w in workloads if w not in ids]
    if bad:
        ap.error("unknown workload(s): %s" % ",".join(bad))

    build()
    allocs = find_allocators(args.alloc.split(",") if args.alloc else None)
    if not allocs:
        sys.exit("bench: no allocator to run")
    names = [a[0] for a in allocs]
    timeout = 60 if args.smoke else 600
    log("bench: %d run(s), scale %g, allocators: %s" % (runs, scale, ", ".join(names)))

    # samples[wid][alloc] -> list of (wall, rss KiB, fields)
    samples = {}
    failures = []
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="vcm-bench-") as tmp:
        cmds = commands(workloads, scale, tmp)
        for r in range(runs):
            for wi, wid in enumerate(w for w in workloads if w in cmds):
                argv, env, stdin_path, ops = cmds[wid]
                k = (r + wi) % len(allocs)  # rotate who goes first
                cells = []
                for name, lib in allocs[k:] + allocs[:k]:
                    if ONLY_ON.get(wid, name) != name:
                        continue
                    wall, rss, code, out, err = run_one(argv, env, lib, stdin_path, timeout)
                    ok, fields, why = check_run(wid, code, out, ops)
                    if ok:
                        samples.setdefault(wid, {}).setdefault(name, []).append(
                            (wall, rss, fields))
                        cells.append("%s %.2fs" % (name, wall))
                    else:
                        why = KNOWN_PEER_BUGS.get((wid, name), why)
                        failures.append((wid, name, why, err.strip()[-500:]))
                        cells.append("%s FAIL" % name)
                log("[run %d/%d] %-7s %s" % (r + 1, runs, wid, "  ".join(cells)))

    # Outputs that must be the same for every allocator (r1 checksum, r2 digest).
    for wid, key in (("r1", "checksum"), ("r2", "digest")):
        per = samples.get(wid, {})
        ref_alloc = "glibc" if "glibc" in per else next(iter(per), None)
        if ref_alloc is None:
            continue
        ref = per[ref_alloc][0][2].get(key)
        for name in list(per):
            if any(s[2].get(key) != ref for s in per[name]):
                failures.append((wid, name, "output differs from %s's" % ref_alloc, ""))
                del per[name]

    table = summarize(samples, names)
    md = report.markdown(table, names, PEER_NAMES, DESC, GROWTH, FLOORED, runs, scale,
                         [a for a in allocs if a[1]], failures)
    md += vector_report.markdown(table, VECTOR_MODES, names)
    log("")
    log(md)
    log("bench: total %.0f s" % (time.time() - start))
    if args.smoke or args.no_docs or args.only or args.alloc:
        log("bench: docs/BENCHMARKS.md not updated (--smoke, --no-docs, --only or --alloc)")
    else:
        report.write_docs(os.path.join(ROOT, "docs"), md, table, names, PEER_NAMES, BUILD)
    for wid, name, why, err in failures:
        tag = "KNOWN" if (wid, name) in KNOWN_PEER_BUGS else "FAIL"
        log("bench: %s %s under %s: %s%s" % (tag, wid, name, why, ("\n" + err) if err else ""))
    if any((f[0], f[1]) not in KNOWN_PEER_BUGS for f in failures):
        sys.exit(1)
    if args.smoke:
        log("bench: smoke OK (%d workloads x %d allocators)" % (len(samples), len(names)))


def summarize(samples, names):
    """wid -> alloc -> {time, rss (MiB), inplace, copied (MiB)} medians."""
    table = {}
    for wid, per in samples.items():
        for name in names:
            if name not in per:
                continue
            runs = per[name]
            cell = {"time": statistics.median(s[0] for s in runs),
                    "rss": statistics.median(s[1] for s in runs) / 1024.0}
            if "inplace_rate" in runs[0][2]:
                cell["inplace"] = statistics.median(float(s[2]["inplace_rate"]) for s in runs)
                cell["copied"] = statistics.median(int(s[2]["copied"]) for s in runs) / 2**20
            table.setdefault(wid, {})[name] = cell
    return table


if __name__ == "__main__":
    main()
