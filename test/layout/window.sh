#!/bin/sh
# window.sh LIB: libvcm.so's hot text (src/libvcm.ld's list, from .init to the end of .fini)
# ends within the 64 KiB window of addresses .init starts, so that a run's first fault there
# maps all of it (docs/DESIGN.md §6). test/layout's run sees a spill only if its calls run
# the functions past the window; this reads the section headers. Checked on the build of
# make test and on the Debian package's (hardening flags: test/package_test.sh); a build by
# another compiler may spill (clang's hot text is ~8 % larger). Ends "N passed, N failed".
lib=${1:?usage: window.sh LIB}
field() { # field SECTION N: the Nth field after the section's name in readelf -SW
  readelf -SW "$lib" | sed -n "s/.*] \\$1  *//p" | awk -v n="$2" '{ print $n }'
}
init=$(field .init 2) fini=$(field .fini 2) fini_size=$(field .fini 4)
if [ -z "$init" ] || [ -z "$fini" ] || [ -z "$fini_size" ]; then
  echo "$lib: no .init or .fini section"; echo "0 passed, 1 failed"; exit 1
fi
start=$((0x$init)) end=$((0x$fini + 0x$fini_size))
limit=$((start - start % 65536 + 65536))
if [ $((start % 65536)) -eq 0 ] && [ "$end" -le "$limit" ]; then
  printf 'hot text 0x%x-0x%x, its window ends at 0x%x: %d bytes to spare: ok\n' "$start" "$end" "$limit" $((limit - end))
  echo "1 passed, 0 failed"
else
  printf 'hot text 0x%x-0x%x, its window ends at 0x%x: %d bytes past it: FAIL\n' "$start" "$end" "$limit" $((end - limit))
  echo "0 passed, 1 failed"; exit 1
fi
