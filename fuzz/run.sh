#!/bin/sh
# The vcm operation fuzzer (fuzz/fuzz_ops.c).
#
#   fuzz/run.sh build            both binaries: $B/fuzz/fuzz_ops (libFuzzer, clang, ASan+UBSan,
#                                vcm's sources compiled in without src/override.c) and
#                                $B/fuzz/replay (gcc, linked with $B/libvcm-api-test.a)
#   fuzz/run.sh replay [PATH..]  replay fuzz/corpus/ (or PATH..) with the gcc build, one child
#                                process per input, then (the corpus) all in one process, as
#                                libFuzzer runs them; last line "N passed, N failed"
#   fuzz/run.sh fuzz SECONDS     libFuzzer for SECONDS at nice 19 on $B/fuzz/corpus (seeded from
#                                fuzz/corpus/, crash-* files excepted), -max_len=4096; then the
#                                corpus is merged (-merge=1) down to at most $FUZZ_KEEP (200)
#                                inputs, which replace fuzz/corpus/ (crash-* files are kept).
#                                $B/fuzz/corpus keeps everything, for the next run.
#
# Environment: B (build dir, default build), CC (replay compiler, default gcc), CLANG (default
# clang), FUZZ_OPT (replay optimisation, default -O2), FUZZ_KEEP (default 200), FUZZ_NICE
# (default "nice -n 19"). A crash found is left in $B/fuzz/crash-*; minimise it with
#   $B/fuzz/fuzz_ops -minimize_crash=1 -runs=10000 $B/fuzz/crash-...
# and keep it as fuzz/corpus/crash-<name>, so that replay makes it a regression test.
# shellcheck disable=SC2012 # (ls on directories of libFuzzer's hex-named inputs)
set -eu
cd "$(dirname "$0")/.."

B=${B:-build}
CC=${CC:-gcc}
CLANG=${CLANG:-clang}
FUZZ_OPT=${FUZZ_OPT:--O2}
FUZZ_KEEP=${FUZZ_KEEP:-200}
FUZZ_NICE=${FUZZ_NICE:-nice -n 19}
OUT=$B/fuzz
# Purge and evict often, so that a few inputs reach those paths (fuzz_ops.c, top).
VCM_PURGE_MB=2
VCM_LARGE_CACHE_MB=16
export VCM_PURGE_MB VCM_LARGE_CACHE_MB

# Both build through the Makefile (its source list and flags): the fuzzer over a libvcm-api-test.a
# of its own built by clang with coverage and sanitizers, the replay over $B/libvcm-api-test.a.
# fuzz/untraced.txt: the checks libFuzzer does not trace. make does not see a change of flags or
# of that list, so objects built with others are built again.
build_fuzzer() {
  opt="-O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
  opt="$opt -fsanitize-coverage-ignorelist=fuzz/untraced.txt"
  flags="$CLANG $opt $(cksum <fuzz/untraced.txt)"
  if [ "$(cat "$OUT/lib/flags" 2>/dev/null)" != "$flags" ]; then
    rm -rf "${OUT:?}/lib"
    mkdir -p "$OUT/lib"
    echo "$flags" >"$OUT/lib/flags"
  fi
  make -s B="$OUT/lib" CC="$CLANG" OPT="$opt" \
    LDFLAGS="-fsanitize=address,undefined" "$OUT/lib/fuzz/fuzz_ops"
  cp "$OUT/lib/fuzz/fuzz_ops" "$OUT/fuzz_ops"
}

build_replay() {
  make -s B="$B" CC="$CC" OPT="$FUZZ_OPT" "$B/fuzz/replay"
  mkdir -p "$OUT"
}

mode=${1:-}
case $mode in
build)
  build_fuzzer
  build_replay
  echo "built $OUT/fuzz_ops and $OUT/replay"
  ;;
replay)
  build_replay
  shift
  if [ $# -eq 0 ]; then set -- -a fuzz/corpus; fi
  "$OUT/replay" "$@"
  ;;
fuzz)
  secs=${2:?usage: fuzz/run.sh fuzz SECONDS}
  build_fuzzer
  mkdir -p "$OUT/corpus"
  for f in fuzz/corpus/*; do
    case $f in */crash-*) ;; *) [ -f "$f" ] && cp "$f" "$OUT/corpus/" ;; esac
  done
  echo "fuzzing for $secs s; seeds: $(ls "$OUT/corpus" | wc -l) inputs"
  rc=0
  # shellcheck disable=SC2086
  $FUZZ_NICE "$OUT/fuzz_ops" -max_len=4096 -max_total_time="$secs" -timeout=30 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$OUT/" "$OUT/corpus" || rc=$?
  # Minimise. libFuzzer's merge takes inputs shortest first, so on its own it keeps only tiny
  # ones; longer inputs reach deeper heap states. So the set starts from the longest
  # FUZZ_KEEP/2 inputs, and the merge adds every input that adds an edge (-use_counters=0:
  # edges, not hit counts); if that is still too many, the shortest go.
  merged=$OUT/merged.$$
  rm -rf "$merged"
  mkdir -p "$merged"
  ls -S "$OUT/corpus" | head -n "$((FUZZ_KEEP / 2))" | while read -r f; do
    cp "$OUT/corpus/$f" "$merged/"
  done
  # shellcheck disable=SC2086
  $FUZZ_NICE "$OUT/fuzz_ops" -merge=1 -use_counters=0 -max_len=4096 -timeout=30 \
    -rss_limit_mb=4096 -artifact_prefix="$OUT/merge-" "$merged" "$OUT/corpus" \
    >"$OUT/merge.log" 2>&1 || {
    echo "merge failed (see $OUT/merge.log); fuzz/corpus left as it was"
    rm -rf "$merged"
    exit 1
  }
  n=$(ls "$merged" | wc -l)
  if [ "$n" -gt "$FUZZ_KEEP" ]; then
    ls -S "$merged" | tail -n "$((n - FUZZ_KEEP))" | while read -r f; do rm -f "$merged/$f"; done
    echo "merged corpus had $n inputs; kept the $FUZZ_KEEP longest"
  fi
  if [ "$(ls "$merged" | wc -l)" -gt 0 ]; then
    mkdir -p fuzz/corpus
    for f in fuzz/corpus/*; do
      case $f in */crash-*) ;; *) rm -f "$f" ;; esac
    done
    cp "$merged"/* fuzz/corpus/
  fi
  rm -rf "$merged"
  echo "fuzz/corpus: $(ls fuzz/corpus | wc -l) inputs, $(cat fuzz/corpus/* | wc -c) bytes"
  for f in "$OUT"/crash-* "$OUT"/timeout-* "$OUT"/oom-* "$OUT"/leak-* "$OUT"/merge-*; do
    [ -f "$f" ] && echo "finding: $f"
  done
  if [ "$rc" -ne 0 ]; then
    echo "libFuzzer stopped with status $rc"
    exit "$rc"
  fi
  ;;
*)
  echo "usage: fuzz/run.sh build | replay [PATH..] | fuzz SECONDS" >&2
  exit 2
  ;;
esac
