#!/bin/sh
# Misuse tests: each test/misuse/*.c performs one misuse, linked with libvcm-test.a (so malloc and
# free are vcm's). Its "expect:" line gives the reason vcm must report. The program must die by
# SIGABRT, after printing "ptr=0x<hex>" (the pointer it misuses) on stdout, with the line
#   vcm: invalid free or use: <reason> at 0x<hex>
# on stderr: the same reason and the same pointer, exactly. A program whose expect line is
# "handler ..." checks a misuse handler itself: it must exit 0 with a last line ", 0 failed".
#
#   test/misuse/run.sh [BUILD_DIR]    (default build; compiles into BUILD_DIR/misuse/)
#
# Prints PASS/FAIL per case and ends with "N passed, N failed"; exit status 1 if any failed.
set -u
cd "$(dirname "$0")/../.." || exit 2

B=${1:-build}
CC=${CC:-cc}
OUT=$B/misuse
LIB=$B/libvcm-test.a
make -s B="$B" "$LIB" || exit 2 # the library as the Makefile builds it (up to date)
mkdir -p "$OUT"
# The expected reasons assume vcm's default options (e.g. the large cache keeps a freed block
# known, so its second free is a double free, not a foreign pointer).
for v in $(env | sed -n 's/^\(VCM_[A-Z0-9_]*\)=.*/\1/p'); do
  unset "$v"
done
# shellcheck disable=SC3045 # (no core files; harmless where unsupported)
ulimit -c 0 2>/dev/null || true

pass=0
fail=0
ok() {
  echo "PASS $1"
  pass=$((pass + 1))
}
bad() {
  echo "FAIL $1: $2"
  fail=$((fail + 1))
}

for src in test/misuse/*.c; do
  name=$(basename "$src" .c)
  bin=$OUT/$name
  expect=$(sed -n 's/^ \* expect: \(.*\) \*\/$/\1/p; s/^ \* expect: \(.*\)$/\1/p' "$src" |
    head -n 1)
  if [ -z "$expect" ]; then
    bad "$name" "no expect: line in $src"
    continue
  fi
  if ! $CC -std=c11 -Wall -Wextra -Werror -O2 -Iinclude "$src" "$LIB" -lpthread -o "$bin" \
    2>"$bin.cc.log"; then
    bad "$name" "does not compile:"
    sed 's/^/    /' "$bin.cc.log"
    continue
  fi
  "$bin" >"$bin.out" 2>"$bin.err"
  rc=$?
  case $expect in
  handler*)
    last=$(tail -n 1 "$bin.out")
    if [ "$rc" -eq 0 ] && expr "$last" : '[0-9][0-9]* passed, 0 failed$' >/dev/null; then
      ok "$name ($last)"
    else
      bad "$name" "exit $rc, last line \"$last\""
      sed 's/^/    /' "$bin.err"
    fi
    continue
    ;;
  esac
  ptr=$(sed -n 's/^ptr=\(0x[0-9a-f]*\)$/\1/p' "$bin.out" | head -n 1)
  want="vcm: invalid free or use: $expect at $ptr"
  if [ -z "$ptr" ]; then
    bad "$name" "printed no ptr= line (exit $rc)"
    sed 's/^/    /' "$bin.err"
  elif [ "$rc" -ne 134 ]; then # 128 + SIGABRT
    bad "$name" "exit status $rc, not SIGABRT (134)"
    sed 's/^/    /' "$bin.err"
  elif ! grep -Fqx "$want" "$bin.err"; then
    bad "$name" "stderr lacks \"$want\""
    sed 's/^/    got: /' "$bin.err"
  else
    ok "$name ($expect at $ptr)"
  fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
