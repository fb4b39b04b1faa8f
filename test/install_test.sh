#!/bin/sh
# Install vcm into a temporary prefix and use it the way a user would: build a program with
# pkg-config, run it, and run perl through the installed launcher. Ends "N passed, N failed".
# Run from the source tree (make install-test); needs cc, pkg-config (Debian: pkgconf), perl.
set -u
cd "$(dirname "$0")/.." || exit 1
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() { # check DESCRIPTION COMMAND...
  what=$1; shift
  if "$@"; then ok; else bad "$what"; fi
}
has() { # has FILE TEXT: the file holds the text (fixed string)
  grep -qF -- "$2" "$1"
}

tmp=$(mktemp -d /tmp/vcm_install.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

# 1. make install PREFIX=...
if make -s install PREFIX="$prefix" >"$tmp/install.log" 2>&1; then ok; else
  bad "make install"; cat "$tmp/install.log"
fi
for f in include/vcm.h include/vcm.hpp lib/libvcm.a lib/libvcm.so lib/libvcm.so.1 \
    lib/pkgconfig/vcm.pc lib/cmake/vcm/vcm-config.cmake lib/cmake/vcm/vcm-config-version.cmake bin/vcm; do
  check "installed $f" test -f "$prefix/$f"
done
check "bin/vcm executable" test -x "$prefix/bin/vcm"
check "vcm.pc prefix" has "$prefix/lib/pkgconfig/vcm.pc" "prefix=$prefix"

# 2. DESTDIR stages the same tree under another root, the paths inside still say PREFIX.
if make -s install DESTDIR="$tmp/stage" PREFIX=/opt/vcm >"$tmp/stage.log" 2>&1; then ok; else
  bad "make install DESTDIR"; cat "$tmp/stage.log"
fi
check "DESTDIR layout" test -f "$tmp/stage/opt/vcm/lib/libvcm.so"
check "DESTDIR vcm.pc says /opt/vcm" has "$tmp/stage/opt/vcm/lib/pkgconfig/vcm.pc" "prefix=/opt/vcm"

# 3. pkg-config finds it and a program builds and runs against it.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
if ! command -v pkg-config >/dev/null 2>&1; then
  bad "pkg-config not installed (Debian: apt-get install pkgconf)"
else
  flags=$(pkg-config --cflags --libs vcm) || bad "pkg-config --cflags --libs vcm"
  # shellcheck disable=SC2086,SC2116
  flags=$(echo $flags) # one space between flags, none at the end
  check "pkg-config flags" test "$flags" = "-I$prefix/include -L$prefix/lib -lvcm"
  check "pkg-config version" test "$(pkg-config --modversion vcm)" = "$(cat tools/VERSION)"
  check "pkg-config --static adds -lpthread" sh -c 'pkg-config --static --libs vcm | grep -q -- -lpthread'
  # shellcheck disable=SC2086
  if ${CC:-cc} -std=c11 -Wall -Wextra -Werror test/install_example.c -o "$tmp/example" $flags \
      2>"$tmp/cc.log"; then ok; else
    bad "build the example with pkg-config"; cat "$tmp/cc.log"
  fi
  LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/example" >"$tmp/example.out" 2>&1
  check "example exits 0" test $? -eq 0
  check "example: vcm_malloc" has "$tmp/example.out" "vcm_malloc(100): used 100, capacity 112"
  check "example: in place" has "$tmp/example.out" "vcm_realloc(capacity): in place"
  check "example: malloc is vcm's" has "$tmp/example.out" "malloc(40) is vcm's: yes, capacity 48"
  check "example: ok" has "$tmp/example.out" "ok"
  # Static: libvcm.a with pkg-config --static.
  sflags=$(pkg-config --static --cflags --libs vcm)
  # shellcheck disable=SC2046,SC2086
  if ${CC:-cc} -std=c11 test/install_example.c -o "$tmp/example_static" -I"$prefix/include" \
      "$prefix/lib/libvcm.a" $(echo "$sflags" | sed 's/-lvcm//') 2>"$tmp/cc2.log" &&
     "$tmp/example_static" | grep -q "malloc(40) is vcm's: yes"; then ok; else
    bad "static example"; cat "$tmp/cc2.log"
  fi
fi

# 3b. CMake finds it (find_package(vcm), target vcm::vcm) and a C++ program builds and runs.
if command -v cmake >/dev/null 2>&1; then
  if cmake -S test/cmake -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cmake.log" 2>&1 &&
     cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1; then ok; else
    bad "build with CMake"; cat "$tmp/cmake.log"
  fi
  out=$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/cmake/example" 2>&1)
  check "CMake example runs" test $? -eq 0
  check "CMake example output" sh -c "printf '%s' '$out' | grep -q 'string: the vector malloc (length 17)'"
  mkdir -p "$tmp/cm9" # a version it is not: refused
  printf 'cmake_minimum_required(VERSION 3.13)\nproject(v NONE)\nfind_package(vcm 9.0 REQUIRED)\n' \
    >"$tmp/cm9/CMakeLists.txt"
  if cmake -S "$tmp/cm9" -B "$tmp/cm9/b" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then
    bad "find_package(vcm 9.0) accepted version $(cat tools/VERSION)"
  else ok; fi
else
  echo "skip: cmake not installed (Debian: apt-get install cmake)"
fi

# 4. The launcher.
vcm=$prefix/bin/vcm
check "vcm --version" test "$("$vcm" --version)" = "vcm $(cat tools/VERSION)"
check "vcm --help" sh -c "'$vcm' --help | grep -q 'usage: vcm run'"
"$vcm" run --bogus true 2>/dev/null
check "unknown option: exit 2" test $? -eq 2
"$vcm" run -- sh -c 'exit 7'
check "exit status passed through" test $? -eq 7
pre=$("$vcm" run -- sh -c 'printf %s "$LD_PRELOAD"')
check "LD_PRELOAD = installed libvcm.so" test "$pre" = "$(cd "$prefix/lib" && pwd -P)/libvcm.so"
pre=$(LD_PRELOAD=/nonexistent/libother.so "$vcm" run -- sh -c 'printf %s "$LD_PRELOAD"' 2>/dev/null)
check "LD_PRELOAD appended" test "$pre" = "/nonexistent/libother.so:$(cd "$prefix/lib" && pwd -P)/libvcm.so"

script='my %h; my $s = ""; for my $i (1 .. 20000) { $h{"k$i"} = "v" x ($i % 50); $s .= "x"; }
print scalar(keys %h), " ", length($s), "\n";'
out=$("$vcm" run --stats -- /usr/bin/perl -e "$script" 2>"$tmp/stats.err")
check "perl on vcm: result" test "$out" = "20000 20000"
check "--stats: text on stderr" has "$tmp/stats.err" "vcm stats:"
check "--stats: small line" has "$tmp/stats.err" "small:"
"$vcm" run --json -- /usr/bin/perl -e "$script" >/dev/null 2>"$tmp/json.err"
check "--json: JSON on stderr" has "$tmp/json.err" '{"heaps":'
# --svg: the library's destructor reads VCM_SVG and writes the picture at exit.
(cd "$tmp" && "$vcm" run --svg heap-%p.svg -- /usr/bin/perl -e "$script" >/dev/null)
check "--svg: environment" sh -c "'$vcm' run --svg pic.svg -- sh -c 'test \"\$VCM_SVG\" = \"\$PWD/pic.svg\"'"
svg=$(ls "$tmp"/heap-*.svg 2>/dev/null | head -n 1)
check "--svg: picture written" has "${svg:-$tmp/no-picture.svg}" "vcm process heap"
check "--svg: ends with </svg>" sh -c "tail -n 1 '${svg:-$tmp/no-picture.svg}' | grep -q '</svg>'"

# 5. The source-tree launcher falls back to build/libvcm.so.
pre=$(tools/vcm run -- sh -c 'printf %s "$LD_PRELOAD"')
check "source tree: build/libvcm.so" test "$pre" = "$(cd build && pwd -P)/libvcm.so"

# 6. uninstall leaves nothing behind.
make -s uninstall PREFIX="$prefix" >/dev/null 2>&1
check "uninstall" test ! -e "$prefix/lib/libvcm.so" -a ! -e "$prefix/bin/vcm" -a ! -e "$prefix/include/vcm.h"
check "uninstall: nothing left" test -z "$(find "$prefix" -type f -o -type l)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
