#!/usr/bin/env bash
# vcm benchmark suite: runs every workload under glibc, jemalloc, mimalloc,
# tcmalloc and vcm (VCM_LIB, default build/libvcm.so), alternating allocators.
#   bench/run.sh              full run, 5 runs per cell, writes docs/BENCHMARKS.md + docs/bench.svg
#   bench/run.sh --runs 3     fewer runs
#   bench/run.sh --smoke      one small run per cell; exits non-zero on any failed check
#   bench/run.sh --help       all options (--only, --alloc, --scale, --no-docs)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
exec "$py" "$here/driver.py" "$@"
