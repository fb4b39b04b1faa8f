#!/usr/bin/env bash
# test/preload/run.sh - run real programs on a malloc replacement.
#
# usage: test/preload/run.sh [--quick] [--only NAMES] [--keep] [--lax-errno] LIB
#
# Every program runs twice in the same invocation: once with glibc's malloc
# (no preload) and once with LD_PRELOAD=LIB.  A program passes when its
# result under LIB (test verdicts, query output checksums, commit ids, ...)
# equals its result under glibc, not merely when it exits 0.  Wall-clock
# times (and peak RSS, when /usr/bin/time exists) are shown side by side.
#
#   python  /usr/bin/python3.11 -m test (PYTHONMALLOC=malloc) on 12 CPython
#           test modules from libpython3.11-testsuite
#   sqlite  sqlite3 on a generated script: 1M rows (200k with --quick),
#           indexes, joins, GROUP BY, window functions; stdout checksum
#   perl    big hashes, sorts, strings, nested structures; digests
#   git     generated repository (fast-import), clone --no-local over
#           file://, repack -adf, fsck --full --strict, rev-list etc.
#   stress  build/test/stress-glibc (test/stress/stress.c, linked against glibc)
#   cxx     build/test/cxx_test (test/stress/cxx_test.cpp)
#   aslimit python (a dict of 200k strings and 20k bytearrays; 1.6 MB of
#           JSON) and sqlite3 (20k rows) under ulimit -v of 300 MB, where
#           every segment vcm reserves counts (docs/DESIGN.md §6)
#
# LIB is the path of the shared library to preload; the word "glibc" instead
# compares glibc with itself (checks the harness and the workloads).
#
# Options:
#   --quick       smaller workloads, whole run < 3 minutes on 2 cores (CI)
#   --only NAMES  comma-separated subset of: python,sqlite,perl,git,stress,cxx,aslimit
#   --keep        keep the work directory (logs, outputs) and print its path
#   --lax-errno   stress: only warn when a failing call leaves errno alone
#                 (for comparisons with mimalloc or tcmalloc, which do that)
#
# Prints PASS/FAIL per program, a timing table, and ends with
# "N passed, N failed"; exits 1 if anything failed, 2 on a usage or setup
# error.  Builds the two test binaries into build/test/ with make (cc and c++,
# or $CC / $CXX).  Installs nothing and uses no network.
#
# Debian packages needed (CI installs them; this script only checks):
#   gcc g++ libc6-dev coreutils python3.11 libpython3.11-testsuite sqlite3 perl git
# Optional: time (for the peak-RSS columns)
# Stand-in LIB while vcm's own library does not exist: libjemalloc2
#   (/usr/lib/x86_64-linux-gnu/libjemalloc.so.2)

set -u -o pipefail

REQUIRED_PACKAGES=(gcc g++ libc6-dev coreutils python3.11 libpython3.11-testsuite sqlite3 perl git)
ALL_PROGRAMS=(python sqlite perl git stress cxx aslimit)
PY_TESTS=(test_list test_dict test_set test_bytes test_unicode test_json test_re
          test_collections test_array test_deque test_struct test_pickle)
PYTHON=/usr/bin/python3.11

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$ROOT/build/test

usage() {
    sed -n '2,/^# Debian packages/{/^# Debian packages/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit "${1:-2}"
}

die() {
    echo "run.sh: $*" >&2
    exit 2
}

QUICK=0
KEEP=0
STRESS_EXTRA=()
ONLY=""
LIB=""
while (($#)); do
    case $1 in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    --lax-errno) STRESS_EXTRA+=(-e) ;;
    --only) [[ $# -ge 2 ]] || usage; ONLY=$2; shift ;;
    --only=*) ONLY=${1#--only=} ;;
    -h | --help) usage 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    *) [[ -z $LIB ]] || usage; LIB=$1 ;;
    esac
    shift
done
[[ -n $LIB ]] || usage

# ---------------------------------------------------------------------------
# sizes

if ((QUICK)); then
    MODE_NAME=quick
    SQL_ROWS=200000
    PERL_N=200000
    GIT_COMMITS=150
    GIT_FILES=1000
    GIT_WINDOW=10
    STRESS_ARGS=(-t 8 -d 4 -c 32 -s 1)
    CXX_ARGS=(-t 8 -r 10 -s 1)
    TMO=300
else
    MODE_NAME=full
    SQL_ROWS=1000000
    PERL_N=1000000
    GIT_COMMITS=500
    GIT_FILES=4000
    GIT_WINDOW=50
    STRESS_ARGS=(-t 8 -d 30 -c 64 -s 1)
    CXX_ARGS=(-t 8 -r 100 -s 1)
    TMO=1800
fi

PROGRAMS=("${ALL_PROGRAMS[@]}")
if [[ -n $ONLY ]]; then
    IFS=, read -r -a PROGRAMS <<<"$ONLY"
    for p in "${PROGRAMS[@]}"; do
        [[ " ${ALL_PROGRAMS[*]} " == *" $p "* ]] || die "unknown program '$p' (have: ${ALL_PROGRAMS[*]})"
    done
fi

# ---------------------------------------------------------------------------
# environment checks

missing=()
for pkg in "${REQUIRED_PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) || st=""
    [[ $st == installed ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "run.sh: missing Debian packages: ${missing[*]}" >&2
    echo "run.sh: install them with: apt-get install -y ${missing[*]}" >&2
    exit 2
fi
CC=${CC:-cc}
CXX=${CXX:-c++}
for cmd in "$CC" "$CXX" "$PYTHON" sqlite3 perl git timeout sha1sum; do
    command -v "$cmd" >/dev/null || die "command not found: $cmd"
done
[[ -f /usr/lib/python3.11/test/test_list.py ]] ||
    die "CPython test suite not found in /usr/lib/python3.11/test (libpython3.11-testsuite)"

if [[ $LIB == glibc ]]; then
    LIB_NAME=glibc
    LIB=""
else
    [[ -f $LIB ]] || die "LIB not found: $LIB"
    LIB=$(realpath "$LIB")
    LIB_NAME=$(basename "$LIB")
    # ld.so only warns when a preload fails and then runs the program anyway:
    # make sure the library really loads
    err=$(env LD_PRELOAD="$LIB" /bin/true 2>&1)
    [[ -z $err ]] || die "LD_PRELOAD=$LIB does not load: $err"
    env LD_PRELOAD="$LIB" grep -qF "$LIB" /proc/self/maps ||
        die "LD_PRELOAD=$LIB is not mapped into a preloaded process"
fi

TIME_BIN=""
[[ -x /usr/bin/time ]] && TIME_BIN=/usr/bin/time

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vcm-preload.XXXXXX") || die "mktemp failed"
cleanup() {
    if ((KEEP)); then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== preload tests ($MODE_NAME): LIB=${LIB:-glibc (self-comparison)}"
echo "== $(uname -srm), $(nproc) cpus, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"

# ---------------------------------------------------------------------------
# build the test binaries (normal glibc builds; LIB is only preloaded)

mkdir -p "$BUILD" || die "cannot create $BUILD"
build() { # through the Makefile's targets: one way to build
    echo "== building $BUILD/stress-glibc and $BUILD/cxx_test"
    make -s -C "$ROOT" CC="$CC" CXX="$CXX" build/test/stress-glibc build/test/cxx_test
}
need_build=0
for p in "${PROGRAMS[@]}"; do [[ $p == stress || $p == cxx ]] && need_build=1; done
if ((need_build)); then
    build || die "building the test binaries failed"
fi

# ---------------------------------------------------------------------------
# running a command under the malloc of the current side

SIDE=""     # glibc | lib
D=""        # output directory of the current program and side

# X CMD...: run CMD with the current side's malloc, a time limit, and its
# peak RSS (KiB) appended to $D/rss
X() {
    local pre=() tm=()
    [[ $SIDE == lib && -n $LIB ]] && pre=(env "LD_PRELOAD=$LIB")
    [[ -n $TIME_BIN ]] && tm=("$TIME_BIN" -f %M -a -o "$D/rss")
    "${tm[@]}" timeout -k 10 "$TMO" "${pre[@]}" "$@"
}

# Each prog_NAME runs in a subshell with set -e, in its own directory $D,
# with stdout+stderr going to $D/log; it writes what must be identical on
# both sides to $D/result.  check_NAME (optional) adds conditions beyond
# equality; it prints a reason and returns non-zero to fail.

# --- python -----------------------------------------------------------------

prog_python() {
    # -B: write no .pyc files into the system's directories (and compile the
    # same on both sides); only the summary lines go to the result
    cd "$D"
    mkdir tmp
    local rc=0
    TMPDIR=$D/tmp PYTHONMALLOC=malloc X env -u PYTHONPATH -u PYTHONHOME -u PYTHONSTARTUP \
        "$PYTHON" -B -s -m test "${PY_TESTS[@]}" >"$D/py.out" 2>&1 || rc=$?
    cat "$D/py.out"
    echo "regrtest exit status $rc"
    # killed by the time limit or a signal: no verdict to compare
    ((rc < 124)) || return "$rc"
    # verdict, the tests that passed, and those that failed
    awk '
        /^Tests result:/ { res = $0 }
        /^All [0-9]+ tests? OK\.$/ { ok = $2 }
        /^[0-9]+ tests? OK\.$/ { ok = $1 }
        /^[0-9]+ tests? failed( again)?:$/ || /^[0-9]+ tests? failed \(env changed\):$/ { inf = 1; next }
        inf && /^    / { for (i = 1; i <= NF; i++) print "failed " $i; next }
        { inf = 0 }
        END { print "ok " (ok == "" ? 0 : ok); print res }
    ' "$D/py.out" | sort -u >"$D/result"
}

check_python() { # glibc-dir lib-dir
    local g=$1 l=$2 fg fl okg okl
    fg=$(grep '^failed ' "$g/result" | sed 's/^failed //' | tr '\n' ' ')
    fl=$(grep '^failed ' "$l/result" | sed 's/^failed //' | tr '\n' ' ')
    okg=$(sed -n 's/^ok //p' "$g/result")
    okl=$(sed -n 's/^ok //p' "$l/result")
    if [[ -n $fg ]]; then
        # a test failing under glibc too says nothing about LIB: drop it
        echo "note: dropped (fails under glibc too): $fg"
    fi
    if [[ -n $fl ]]; then
        local t extra=""
        for t in $fl; do [[ " $fg " == *" $t "* ]] || extra+=" $t"; done
        [[ -z $extra ]] || { echo "failed under $LIB_NAME only:$extra"; return 1; }
    fi
    ((okg > 0)) || { echo "no test passed under glibc"; return 1; }
    [[ $okg == "$okl" ]] || { echo "$okl tests OK under $LIB_NAME, $okg under glibc"; return 1; }
    grep -q '^Tests result: SUCCESS' "$l/result" || [[ -n $fg ]] ||
        { echo "no 'Tests result: SUCCESS' under $LIB_NAME"; return 1; }
    echo "$okl of ${#PY_TESTS[@]} test modules OK on both sides"
}

# --- sqlite -----------------------------------------------------------------

prepare_sqlite() {
    bash "$HERE/gen_sql.sh" "$SQL_ROWS" >"$WORK/script.sql"
}

prog_sqlite() {
    cd "$D"
    X sqlite3 -bail "$D/test.db" <"$WORK/script.sql" >"$D/out" 2>"$D/err"
    [[ ! -s $D/err ]] || { cat "$D/err"; echo "sqlite3 wrote to stderr"; return 1; }
    {
        echo "lines $(wc -l <"$D/out")"
        echo "sha1 $(sha1sum <"$D/out" | cut -d' ' -f1)"
        echo "last $(tail -n 1 "$D/out")"
    } >"$D/result"
    cat "$D/result"
    rm -f "$D/test.db"
}

check_sqlite() {
    grep -qx 'last ok' "$2/result" || { echo "integrity_check did not say ok"; return 1; }
    echo "$SQL_ROWS rows, output $(sed -n 's/^lines //p' "$2/result") lines, same sha1"
}

# --- aslimit -----------------------------------------------------------------

prog_aslimit() {
    cd "$D"
    cat >"$D/dict.py" <<'PY'
d = {}
for i in range(200000): d["key%d" % i] = "value-%d-%s" % (i, "x" * (i % 40))
b = [bytearray(1000) for _ in range(20000)]
print("dict", len(d), sum(len(x) for x in b))
PY
    cat >"$D/asjson.py" <<'PY'
import json
data = [{"id": i, "name": "item%d" % i, "tags": ["t%d" % (i % 7), "u%d" % (i % 13)],
         "v": i * 0.5} for i in range(20000)]
s = json.dumps(data)
print("json", len(s), len(json.loads(s)))
PY
    bash "$HERE/gen_sql.sh" 20000 >"$D/script.sql"
    (
        ulimit -v 300000
        X "$PYTHON" -B -s "$D/dict.py"
        X "$PYTHON" -B -s "$D/asjson.py"
        X sqlite3 -bail "$D/test.db" <"$D/script.sql" >"$D/sql.out"
    ) >"$D/result"
    echo "sqlite $(wc -l <"$D/sql.out") $(sha1sum <"$D/sql.out" | cut -d' ' -f1)" >>"$D/result"
    cat "$D/result"
    rm -f "$D/test.db"
}

check_aslimit() {
    echo "python and sqlite3 under ulimit -v 300000, the same output"
}

# --- perl -------------------------------------------------------------------

prog_perl() {
    cd "$D"
    X perl "$HERE/workload.pl" "$PERL_N" >"$D/result"
    cat "$D/result"
}

check_perl() {
    [[ $(grep -c . "$2/result") == 6 ]] || { echo "expected 6 digest lines"; return 1; }
    echo "N=$PERL_N, 6 digests equal"
}

# --- git --------------------------------------------------------------------

prepare_git() {
    perl "$HERE/gen_git.pl" "$GIT_COMMITS" "$GIT_FILES" >"$WORK/git.stream"
}

prog_git() {
    cd "$D"
    export HOME=$D GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
    X git init -q -b main src
    X git -C src fast-import --quiet <"$WORK/git.stream"
    X git -C src reset -q --hard main
    X git -C src repack -adq
    X git clone -q --no-local "file://$D/src" clone
    X git -C clone -c pack.threads=4 repack -adfq --window="$GIT_WINDOW"
    X git -C clone fsck --full --strict --no-progress >"$D/fsck" 2>&1 ||
        { cat "$D/fsck"; echo "git fsck failed"; return 1; }
    [[ ! -s $D/fsck ]] || { cat "$D/fsck"; echo "git fsck reported problems"; return 1; }
    X git -C clone ls-files >"$D/ls-files"
    X git -C clone rev-list --all >"$D/commits"
    X git -C clone rev-list --all --objects >"$D/objects"
    X git -C clone log --all --stat --format='%H %T %P %an %s' >"$D/log-stat"
    X git -C clone diff --stat HEAD~40 HEAD >"$D/diff-stat"
    X git -C clone archive --format=tar HEAD >"$D/archive.tar"
    X git -C clone blame -- "$(head -n 1 "$D/ls-files")" >"$D/blame"
    X git -C clone grep -c malloc HEAD >"$D/grep"
    X git -C clone count-objects -v >"$D/count-objects"
    sum() { sha1sum <"$1" | cut -c1-40; }
    {
        echo "commits $(wc -l <"$D/commits")"
        echo "files $(wc -l <"$D/ls-files")"
        echo "rev-list $(sort "$D/objects" | sha1sum | cut -c1-40)"
        echo "log $(sum "$D/log-stat")"
        echo "diff $(tail -n 1 "$D/diff-stat")"
        echo "archive $(sum "$D/archive.tar")"
        echo "blame $(sum "$D/blame")"
        echo "grep $(sum "$D/grep")"
        grep -E '^(in-pack|packs):' "$D/count-objects"
        echo "fsck clean"
    } >"$D/result"
    cat "$D/result"
    rm -rf "$D/src" "$D/clone" "$D/archive.tar"
}

check_git() {
    echo "$(sed -n 's/^commits //p' "$2/result") commits, clone/repack/fsck clean, ids equal"
}

# --- stress / cxx -----------------------------------------------------------

# the "malloc from:" line must name LIB on the LIB side (preload effective)
check_malloc_from() { # out-file
    [[ -z $LIB || $SIDE != lib ]] && return 0
    local from
    from=$(sed -n 's/^malloc from: //p' "$1")
    [[ -n $from && $(realpath "$from" 2>/dev/null) == "$LIB" ]] ||
        { echo "malloc is not served by $LIB (malloc from: ${from:-?})"; return 1; }
}

prog_stress() {
    cd "$D"
    X "$BUILD/stress-glibc" "${STRESS_ARGS[@]}" "${STRESS_EXTRA[@]}" >"$D/out" 2>&1 ||
        { cat "$D/out"; return 1; }
    cat "$D/out"
    check_malloc_from "$D/out"
    tail -n 1 "$D/out" >"$D/result"
}

check_stress() {
    grep -qE '^[0-9]+ passed, 0 failed$' "$2/result" || { echo "stress reported failures"; return 1; }
    echo "$(cat "$2/result") ($(grep -o '[0-9]* ops' "$2/log" | head -n 1) under $LIB_NAME)"
    # e.g. a GNU extension that LIB does not provide (then not tested)
    grep '^warning: ' "$2/log" | sort -u | sed 's/^/      /' || true
}

prog_cxx() {
    cd "$D"
    X "$BUILD/cxx_test" "${CXX_ARGS[@]}" >"$D/out" 2>&1 || { cat "$D/out"; return 1; }
    cat "$D/out"
    check_malloc_from "$D/out"
    grep -E '^(checksum: |[0-9]+ passed, [0-9]+ failed$)' "$D/out" >"$D/result"
}

check_cxx() {
    grep -qE '^[0-9]+ passed, 0 failed$' "$2/result" || { echo "cxx_test reported failures"; return 1; }
    echo "$(tail -n 1 "$2/result"), $(head -n 1 "$2/result")"
}

# ---------------------------------------------------------------------------
# driver

declare -A T_GLIBC T_LIB RSS_GLIBC RSS_LIB VERDICT
n_pass=0
n_fail=0

now() { date +%s.%N; }
peak_rss() { # KiB -> MiB, or "-"
    if [[ -s $1 ]]; then
        awk '/^[0-9]+$/ { if ($1 > m) m = $1 } END { if (m) printf "%.0f", m / 1024; else print "-" }' "$1"
    else
        echo "-"
    fi
}

run_side() { # program side -> sets RC, ELAPSED
    local p=$1
    SIDE=$2
    D=$WORK/$p.$SIDE
    mkdir -p "$D"
    local t0 t1
    t0=$(now)
    (set -e; "prog_$p") >"$D/log" 2>&1
    RC=$?
    t1=$(now)
    ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}

show_log() { # dir
    echo "---- last lines of $1/log"
    tail -n 25 "$1/log" | sed 's/^/    /'
    echo "----"
}

for p in "${PROGRAMS[@]}"; do
    if declare -F "prepare_$p" >/dev/null; then
        "prepare_$p" || die "preparing $p failed"
    fi
    echo
    echo "== $p"
    run_side "$p" glibc
    rc_g=$RC T_GLIBC[$p]=$ELAPSED RSS_GLIBC[$p]=$(peak_rss "$D/rss")
    printf '   %-22s %8ss, exit %s\n' "glibc:" "$ELAPSED" "$rc_g"
    run_side "$p" lib
    rc_l=$RC T_LIB[$p]=$ELAPSED RSS_LIB[$p]=$(peak_rss "$D/rss")
    printf '   %-22s %8ss, exit %s\n' "$LIB_NAME:" "$ELAPSED" "$rc_l"

    g=$WORK/$p.glibc
    l=$WORK/$p.lib
    why=""
    msg=""
    if ((rc_g != 0)); then
        why="baseline failed under glibc (exit $rc_g): cannot compare"
        show_log "$g"
    elif ((rc_l != 0)); then
        if ((rc_l == 124)); then
            why="a command timed out (limit ${TMO}s) under $LIB_NAME"
        elif ((rc_l > 128)); then
            why="exit status $rc_l (signal $((rc_l - 128))) under $LIB_NAME"
        else
            why="exit status $rc_l under $LIB_NAME"
        fi
        show_log "$l"
    elif [[ ! -s $g/result || ! -s $l/result ]]; then
        why="no result produced"
        show_log "$l"
    elif declare -F "check_$p" >/dev/null && ! msg=$(SIDE=lib "check_$p" "$g" "$l"); then
        why=$msg
        show_log "$l"
    elif [[ $p != python ]] && ! cmp -s "$g/result" "$l/result"; then
        why="result differs from glibc's"
        diff -u --label glibc --label "$LIB_NAME" "$g/result" "$l/result" | sed 's/^/    /'
    fi
    if [[ -z $why ]]; then
        VERDICT[$p]=PASS
        n_pass=$((n_pass + 1))
        echo "   PASS $p: $msg"
    else
        VERDICT[$p]=FAIL
        n_fail=$((n_fail + 1))
        echo "   FAIL $p: $why"
    fi
done

echo
echo "== timings ($MODE_NAME; wall seconds; peak RSS in MiB where measured)"
printf '%-8s %10s %10s %7s %10s %10s  %s\n' program glibc_s lib_s ratio glibc_MiB lib_MiB result
total_g=0
total_l=0
for p in "${PROGRAMS[@]}"; do
    ratio=$(awk -v a="${T_GLIBC[$p]}" -v b="${T_LIB[$p]}" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }')
    printf '%-8s %10s %10s %7s %10s %10s  %s\n' "$p" "${T_GLIBC[$p]}" "${T_LIB[$p]}" "$ratio" \
        "${RSS_GLIBC[$p]}" "${RSS_LIB[$p]}" "${VERDICT[$p]}"
    total_g=$(awk -v a="$total_g" -v b="${T_GLIBC[$p]}" 'BEGIN { printf "%.2f", a + b }')
    total_l=$(awk -v a="$total_l" -v b="${T_LIB[$p]}" 'BEGIN { printf "%.2f", a + b }')
done
printf '%-8s %10s %10s\n' total "$total_g" "$total_l"
echo "(lib = $LIB_NAME)"
echo
echo "$n_pass passed, $n_fail failed"
((n_fail == 0))
