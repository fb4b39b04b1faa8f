#!/bin/sh
# Build the Debian packages (dpkg-buildpackage -us -uc -b) from a copy of the tree, install
# them, and use them as a user would: a C program built with pkg-config, a C++ program built
# with CMake (find_package(vcm), target vcm::vcm), and `vcm run` on python3. The packages are
# removed again at the end (KEEP=1: kept, with the temporary directory). Needs root (apt-get).
# Ends "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
passed=0
failed=0
check() { # check DESCRIPTION COMMAND...
  what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
export DEBIAN_FRONTEND=noninteractive
need=
for p in debhelper cmake pkgconf g++ python3; do dpkg -s $p >/dev/null 2>&1 || need="$need $p"; done
[ -z "$need" ] || apt-get install -y -qq $need >/dev/null || { echo "apt-get install$need failed"; exit 1; }

tmp=$(mktemp -d /tmp/vcm_pkg.XXXXXX) || exit 1
cleanup() {
  apt-get purge -y -qq vcm libvcm-dev libvcm1 >/dev/null 2>&1
  rm -rf "$tmp"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT
src=$tmp/vcm-$(cat tools/VERSION)
mkdir -p "$src"
if git rev-parse --git-dir >/dev/null 2>&1; then # the tracked and new files, as a tarball would
  git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T - | tar -xf - -C "$src"
else
  tar -cf - --exclude=./build --exclude=./.git . | tar -xf - -C "$src"
fi

# 1. The packages.
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: dpkg-buildpackage"; tail -n 30 "$tmp/build.log"
fi
for p in libvcm1 libvcm-dev vcm; do check "$p built" sh -c "ls '$tmp'/${p}_*.deb >/dev/null 2>&1"; done
has() { dpkg -c "$tmp"/$1_*.deb 2>/dev/null | grep -q -- "$2"; }
check "libvcm1: libvcm.so.1" has libvcm1 '/libvcm\.so\.1$'
check "libvcm1: no headers" sh -c "! dpkg -c '$tmp'/libvcm1_*.deb | grep -q include"
for f in usr/include/vcm.h usr/include/vcm.hpp /libvcm.a /libvcm.so /pkgconfig/vcm.pc \
    cmake/vcm/vcm-config.cmake cmake/vcm/vcm-config-version.cmake; do
  check "libvcm-dev: $f" has libvcm-dev "$f"
done
check "vcm: usr/bin/vcm" has vcm usr/bin/vcm
# built with the package's hardening flags, its hot text still fits its fault-around window
check "libvcm1: hot text within its 64 KiB window" test/layout/window.sh "$src/build/libvcm.so"

# 2. Installed on this machine.
if apt-get install -y -qq "$tmp"/libvcm1_*.deb "$tmp"/libvcm-dev_*.deb "$tmp"/vcm_*.deb \
    >"$tmp/install.log" 2>&1; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: install the packages"; cat "$tmp/install.log"
fi

# 3. A C program with pkg-config.
# shellcheck disable=SC2046
if cc -std=c11 -Wall -Wextra -Werror test/install_example.c -o "$tmp/example" \
    $(pkg-config --cflags --libs vcm) 2>"$tmp/cc.log"; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: build with pkg-config"; cat "$tmp/cc.log"
fi
"$tmp/example" >"$tmp/example.out" 2>&1
check "pkg-config example runs" test $? -eq 0
check "pkg-config example: malloc is vcm's" grep -q "malloc(40) is vcm's: yes" "$tmp/example.out"

# 4. A C++ program with CMake.
if cmake -S test/cmake -B "$tmp/cmake" >"$tmp/cmake.log" 2>&1 &&
   cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1; then passed=$((passed + 1)); else
  failed=$((failed + 1)); echo "FAIL: build with CMake"; cat "$tmp/cmake.log"
fi
"$tmp/cmake/example" >"$tmp/cmake.out" 2>&1
check "CMake example runs" test $? -eq 0
check "CMake example: vcm::vector" grep -q "words: 1003, last 999, capacity is a vcm block: yes" "$tmp/cmake.out"
check "CMake example: vcm::allocator" grep -q "squares\[99\] = 9801" "$tmp/cmake.out"
check "CMake example: string builder" grep -q "string: the vector malloc (length 17)" "$tmp/cmake.out"
cat "$tmp/cmake.out"

# 5. The launcher on python3.
out=$(vcm run --stats -- python3 -c 'print(sum(range(10**6)))' 2>"$tmp/stats.err")
check "vcm run python3: result" test "$out" = "499999500000"
check "vcm run python3: stats" grep -q "vcm stats:" "$tmp/stats.err"
check "vcm run: the packaged library" sh -c "vcm run -- sh -c 'printf %s \"\$LD_PRELOAD\"' | grep -q '/usr/lib/.*/libvcm.so.1'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
