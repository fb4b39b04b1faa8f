#!/bin/sh
# RSS of memory freed by another thread (issue 11): the producer/consumer program's largest
# RSS line under vcm must be at most 1.1x glibc's, and its last line too.
# Usage: test/rss/run.sh LIBVCM_SO [BUILD_DIR]
set -u
lib=$1; b=${2:-build}
dir=$(dirname "$0")
make -s -C "$dir/../.." B="$b" "$b/test/prodcons" || { echo "0 passed, 1 failed"; exit 1; }
glibc=$("$b/test/prodcons") || { echo "glibc run failed"; echo "0 passed, 1 failed"; exit 1; }
vcm=$(LD_PRELOAD=$lib "$b/test/prodcons") || { echo "vcm run failed"; echo "0 passed, 1 failed"; exit 1; }
peak() { printf '%s\n' "$1" | awk '{ v = $(NF-1) + 0; if (v > m) m = v } END { print m }'; }
last() { printf '%s\n' "$1" | tail -n 1 | awk '{ print $(NF-1) + 0 }'; }
pass=0; fail=0
check() { # name vcm glibc
  if awk -v a="$2" -v b="$3" 'BEGIN { exit !(a <= 1.1 * b) }'; then pass=$((pass + 1)); r=ok
  else fail=$((fail + 1)); r=FAILED; fi
  echo "$1: vcm $2 MiB, glibc $3 MiB (limit 1.1x): $r"
}
check "largest RSS line" "$(peak "$vcm")" "$(peak "$glibc")"
check "RSS at the end" "$(last "$vcm")" "$(last "$glibc")"
[ "$fail" -eq 0 ] || printf 'vcm printed:\n%s\n' "$vcm"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
