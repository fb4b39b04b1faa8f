# vcm — build, test, demo. `make` builds build/libvcm.a and build/libvcm.so.
CC      ?= cc
CXX     ?= c++
OPT     ?= -O2
WARN     = -std=c11 -Wall -Wextra -Werror
CFLAGS  ?=
ALLCFLAGS = $(WARN) $(OPT) -g -fPIC -Iinclude -Isrc $(CFLAGS)
B       ?= build
VCM_VERSION := $(shell cat tools/VERSION)
SOVERSION := 1

CORE_SRC = src/region.c src/misuse.c
LIB_SRC  = $(CORE_SRC) src/append.c src/os_posix.c src/meta.c src/heap.c src/space.c src/heaps.c src/remote.c src/fit.c src/chunk.c src/pair.c src/purge.c src/large.c src/alloc.c src/stats.c src/options.c src/override.c src/out.c src/picture_region.c src/picture_heap.c src/lifecycle.c
LIB_OBJ  = $(LIB_SRC:src/%.c=$(B)/obj/%.o)
# Tests that use only the vcm_ API link without the libc names, so sanitizers keep theirs.
SAN_TESTS = test_region test_model test_threads test_append test_vector test_assert
# Tests of the libc names (malloc is vcm's): linked with the full libvcm-test.a.
LIBC_TESTS = test_process test_pairs test_check test_picture test_output
TESTS    = $(SAN_TESTS) $(LIBC_TESTS)
TEST_BIN = $(TESTS:%=$(B)/test/%)
# Malloc conformance programs run on glibc and on vcm (test/glibc/run.sh), built -O0
# -fno-builtin so that the compiler drops no call and assumes nothing about malloc.
GLIBC_BIN = $(patsubst test/glibc/%.c,$(B)/glibc/%,$(wildcard test/glibc/*.c))

.PHONY: all lib test unit deps fuzz stress-tsan preload-full demo clean asan tsan valgrind freestanding m32 bench bench-smoke bench-region load load-short matrix valgrind-client
all: lib
lib: $(B)/libvcm.a $(B)/libvcm.so

# One section a function, so that src/libvcm.ld can lay libvcm.so's hot code out together.
$(B)/obj/%.o: src/%.c include/vcm.h src/*.h | $(B)/obj
	$(CC) $(ALLCFLAGS) -DVCM_BUILD -fvisibility=hidden -ffunction-sections -c $< -o $@
# Test builds check the internal invariants (VCMI_ASSERT, src/misuse.h); the release library
# does not. The test programs link libvcm-test.a or libvcm-api-test.a, from objects of their own.
$(B)/tobj/%.o: src/%.c include/vcm.h src/*.h | $(B)/tobj
	$(CC) $(ALLCFLAGS) -DVCMI_ASSERTS -DVCM_BUILD -fvisibility=hidden -c $< -o $@
$(B)/obj $(B)/tobj $(B)/test $(B)/glibc:
	mkdir -p $@

# In the archives lifecycle.o (called by nobody, so never pulled in by the linker) rides in one
# object with alloc.o, which every program of the process face links.
AR_OBJ = $(filter-out $(B)/obj/alloc.o $(B)/obj/lifecycle.o,$(LIB_OBJ)) $(B)/obj/alloc+lifecycle.o
T_AR_OBJ = $(patsubst $(B)/obj/%,$(B)/tobj/%,$(AR_OBJ))
$(B)/%/alloc+lifecycle.o: $(B)/%/alloc.o $(B)/%/lifecycle.o
	$(CC) -r -nostdlib $(filter -m%,$(CFLAGS) $(LDFLAGS)) $^ -o $@
.SECONDARY: $(B)/tobj/alloc.o $(B)/tobj/lifecycle.o
$(B)/libvcm-test.a: $(T_AR_OBJ)
	rm -f $@ && ar rcs $@ $^
# The API-only archives: no libc names (no override.o, and alloc.c without its aliases).
$(B)/obj/alloc-api.o: src/alloc.c include/vcm.h src/*.h | $(B)/obj
	$(CC) $(ALLCFLAGS) -DVCM_BUILD -DVCM_API_ONLY -fvisibility=hidden -c $< -o $@
$(B)/tobj/alloc-api.o: src/alloc.c include/vcm.h src/*.h | $(B)/tobj
	$(CC) $(ALLCFLAGS) -DVCMI_ASSERTS -DVCM_BUILD -DVCM_API_ONLY -fvisibility=hidden -c $< -o $@
$(B)/%/alloc-api+lifecycle.o: $(B)/%/alloc-api.o $(B)/%/lifecycle.o
	$(CC) -r -nostdlib $(filter -m%,$(CFLAGS) $(LDFLAGS)) $^ -o $@
API_AR_OBJ = $(filter-out $(B)/obj/override.o $(B)/obj/alloc+lifecycle.o,$(AR_OBJ)) \
             $(B)/obj/alloc-api+lifecycle.o
T_API_AR_OBJ = $(patsubst $(B)/obj/%,$(B)/tobj/%,$(API_AR_OBJ))
.SECONDARY: $(B)/tobj/alloc-api.o
$(B)/libvcm-api-test.a: $(T_API_AR_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/libvcm.a: $(AR_OBJ)
	rm -f $@ && ar rcs $@ $^
# The shared library's soname is libvcm.so.1 (the ABI version, Debian package libvcm1);
# build/libvcm.so.1 names it for programs linked against build/libvcm.so.
# Relative relocations packed (DT_RELR) where the C library loads them (glibc 2.36 names the
# version GLIBC_ABI_DT_RELR): the table of 256 shrinks from 6 KiB to 128 bytes, and the
# library's first mapping from 4 pages to 2, resident in every process (docs/DESIGN.md §6).
RELR := $(shell grep -qs GLIBC_ABI_DT_RELR "$$($(CC) $(filter -m%,$(CFLAGS) $(LDFLAGS)) -print-file-name=libc.so.6)" && \
          $(CC) $(filter -m%,$(CFLAGS) $(LDFLAGS)) -shared -fPIC -Wl,-z,pack-relative-relocs -x c /dev/null -o /dev/null 2>/dev/null && \
          echo -Wl,-z,pack-relative-relocs)
# src/libvcm.ld puts the hot functions in the text's first 64 KiB and the read-only data past
# the unwind tables, so that a run keeps fewer of the library's pages resident (DESIGN §6).
# -z now: the PLT's GOT is bound at load and joins the read-only relro page, so .data starts
# on a page of its own and takes 2 pages, not 3 (its last 88 bytes spilled onto a third).
$(B)/libvcm.so: $(LIB_OBJ) src/libvcm.map src/libvcm.ld
	$(CC) -shared -o $@ $(LIB_OBJ) -Wl,-soname,libvcm.so.$(SOVERSION) -Wl,--version-script=src/libvcm.map -Wl,-Bsymbolic-functions -Wl,-T,src/libvcm.ld -Wl,-z,now $(RELR) -lpthread $(LDFLAGS)
	ln -sf libvcm.so $(B)/libvcm.so.$(SOVERSION)

$(B)/libvcm-api.a: $(API_AR_OBJ)
	rm -f $@ && ar rcs $@ $^

$(LIBC_TESTS:%=$(B)/test/%): $(B)/test/%: test/%.c test/harness.h test/capture.h $(B)/libvcm-test.a | $(B)/test
	$(CC) $(ALLCFLAGS) $< -o $@ $(B)/libvcm-test.a -lpthread
$(B)/test/%: test/%.c test/harness.h test/capture.h $(B)/libvcm-api-test.a | $(B)/test
	$(CC) $(ALLCFLAGS) $< -o $@ $(B)/libvcm-api-test.a -lpthread
# C++ tests (include/vcm.hpp): C++17, the same warnings and sanitizers.
CXXSTD  ?= -std=c++17
$(B)/test/%: test/%.cc include/vcm.hpp test/harness.h $(B)/libvcm-api-test.a | $(B)/test
	$(CXX) $(CXXSTD) -Wall -Wextra -Werror $(OPT) -g -Iinclude $(CFLAGS) $< -o $@ $(B)/libvcm-api-test.a -lpthread

# The producer/consumer program of test/rss/run.sh (against glibc; run with and without vcm).
$(B)/test/prodcons: test/rss/prodcons.c | $(B)/test
	$(CC) -O0 -fno-builtin -pthread $< -o $@
# The program of the layout test (src/libvcm.ld): against glibc, run with libvcm.so preloaded.
$(B)/test/layout_touch: test/layout/touch.c | $(B)/test
	$(CC) $(WARN) -O0 -fno-builtin -pthread $< -o $@
$(B)/glibc/%: test/glibc/%.c test/glibc/check.h | $(B)/glibc
	$(CC) $(WARN) -O0 -fno-builtin -g $< -o $@ -lpthread

$(B)/demo: demo/demo.c $(B)/libvcm.a
	$(CC) $(ALLCFLAGS) $< -o $@ $(B)/libvcm.a

# The main job: the embedded demo, then a real program running on vcm.
demo: $(B)/demo $(B)/libvcm.so
	$(B)/demo
	tools/demo-real

# All tests; the last line is the total "N passed, N failed". Besides the unit tests: one
# program per misuse (test/misuse: the exact message, the pointer, the abort), the malloc
# conformance programs (test/glibc, on glibc and on vcm), the
# stress test linked with libvcm-test.a, the RSS of memory freed by another thread (test/rss),
# libvcm.so's resident pages (test/layout: its hot functions in one fault-around window, run
# and by the section headers), and
# real programs (python3.11's tests, sqlite3, perl, git,
# the stress test and a C++ test built against glibc) under LD_PRELOAD, compared with glibc.
# test_append and test_vector run twice, the second time with VCM_CHECK=1 (freed chunks and
# slack are filled and checked, so a read from where a chunk moved away shows).
# The real programs need Debian packages: `make deps` (run first) installs any that is missing.
test: deps $(TEST_BIN) $(B)/test/stress lib $(GLIBC_BIN) $(B)/test/layout_touch
	@tools/runtests $(TEST_BIN) "VCM_CHECK=1 $(B)/test/test_append" "VCM_CHECK=1 $(B)/test/test_vector" \
	  "test/misuse/run.sh $(B)" \
	  "B=$(B) fuzz/run.sh replay" "test/glibc/run.sh $(B)" \
	  "$(B)/test/stress -t 8 -d 10" "test/rss/run.sh $(CURDIR)/$(B)/libvcm.so $(B)" \
	  "LD_PRELOAD=$(CURDIR)/$(B)/libvcm.so $(B)/test/layout_touch" "test/layout/window.sh $(B)/libvcm.so" \
	  "test/preload/run.sh --quick $(CURDIR)/$(B)/libvcm.so" "python3 test/bench_report.py"

# The fuzzer (libFuzzer, clang) over region and process operations against a model, for
# FUZZ_SECONDS; make test replays its corpus (fuzz/corpus) with a gcc build.
FUZZ_SECONDS ?= 600
fuzz:
	B=$(B) fuzz/run.sh fuzz $(FUZZ_SECONDS)

# The unit tests alone (no real programs, no packages needed).
unit: $(TEST_BIN)
	@tools/runtests $(TEST_BIN)

DEPS = build-essential gcc-multilib g++-multilib valgrind clang binutils pkgconf cmake perl git \
  sqlite3 python3 python3.11 libpython3.11-testsuite gnuplot-nox libjemalloc2 libmimalloc2.0 \
  libtcmalloc-minimal4
# Install the Debian packages the tests and benchmarks use, if any is missing (needs root).
deps:
	@missing=$$(for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing:" $$missing; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || \
	  { echo "run as root: apt-get install -y" $$missing; exit 1; }; fi

# The threaded stress test linked with libvcm-test.a (malloc is vcm's), and under TSan with vcm
# built for TSan; the real-program tests in full (a few minutes). stress-glibc and cxx_test
# are built against glibc, for LD_PRELOAD (test/preload/run.sh, tools/load-test): every script
# builds through these targets, so there is one way to build.
STRESS_SRC = test/stress/stress.c test/stress/stress_work.c test/stress/stress_api.c
STRESS_FLAGS = -std=c11 -Wall -Wextra -Werror $(OPT) -g -D_GNU_SOURCE -pthread
$(B)/test/stress: $(STRESS_SRC) $(wildcard test/stress/*.h) $(B)/libvcm-test.a | $(B)/test
	$(CC) $(STRESS_FLAGS) $(STRESS_SRC) -o $@ $(B)/libvcm-test.a $(LDFLAGS)
$(B)/test/stress-glibc: $(STRESS_SRC) $(wildcard test/stress/*.h) | $(B)/test
	$(CC) $(STRESS_FLAGS) $(STRESS_SRC) -o $@ $(LDFLAGS)
$(B)/test/cxx_test: test/stress/cxx_test.cpp | $(B)/test
	$(CXX) -std=c++17 -Wall -Wextra -Werror $(OPT) -g -fsized-deallocation -pthread $< -o $@
stress-tsan:
	$(MAKE) B=build/tsan OPT="-O1 -fsanitize=thread" LDFLAGS="-fsanitize=thread" build/tsan/test/stress
	tools/runtests "build/tsan/test/stress -t 8 -d 5"

# The fuzzer's programs: the replay (any compiler) and the libFuzzer binary (CC=clang, with
# OPT holding the sanitizer and -fsanitize=fuzzer-no-link for the library), both over
# libvcm-api-test.a built here. fuzz/run.sh builds through these targets.
$(B)/fuzz:
	mkdir -p $@
FUZZ_SRC = fuzz/fuzz_ops.c fuzz/fuzz_common.c fuzz/fuzz_region.c fuzz/fuzz_process.c
$(B)/fuzz/replay: $(FUZZ_SRC) fuzz/replay_main.c fuzz/fuzz.h $(B)/libvcm-api-test.a | $(B)/fuzz
	$(CC) $(ALLCFLAGS) $(FUZZ_SRC) fuzz/replay_main.c $(B)/libvcm-api-test.a -lpthread -o $@ $(LDFLAGS)
$(B)/fuzz/fuzz_ops: $(FUZZ_SRC) fuzz/fuzz.h $(B)/libvcm-api-test.a | $(B)/fuzz
	$(CC) $(ALLCFLAGS) -fsanitize=fuzzer $(FUZZ_SRC) $(B)/libvcm-api-test.a -pthread -o $@ $(LDFLAGS)
preload-full: lib
	test/preload/run.sh $(CURDIR)/$(B)/libvcm.so

# The tests that leave malloc alone, under ASan+UBSan and under TSan, in separate trees; the
# tests of the libc names (vcm is malloc: no ASan) under clang's UBSan, whose bounds check also
# catches an out-of-bounds array index whose address is only taken (test_check is left out: the
# sanitizer's start-up mallocs come before it turns the check mode on).
UBSAN_TESTS = test_process test_pairs test_picture test_output
SAN_RUN = tools/runtests $(SAN_TESTS:%=build/$(1)/test/%)
asan:
	$(MAKE) B=build/asan OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" $(SAN_TESTS:%=build/asan/test/%)
	ASAN_OPTIONS=detect_leaks=0 $(call SAN_RUN,asan)
	$(MAKE) B=build/ubsan CC=clang OPT="-O1 -fsanitize=undefined -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=undefined" $(UBSAN_TESTS:%=build/ubsan/test/%)
	tools/runtests $(UBSAN_TESTS:%=build/ubsan/test/%)
tsan:
	$(MAKE) B=build/tsan OPT="-O1 -fsanitize=thread" LDFLAGS="-fsanitize=thread" build/tsan/test/test_threads
	TSAN_OPTIONS="suppressions=$(CURDIR)/test/tsan.supp" tools/runtests build/tsan/test/test_threads

# The test suite again with clang, and both compilers at -O0, each in its own tree.
matrix:
	$(MAKE) B=build/gcc-O0 CC=gcc OPT=-O0 unit
	$(MAKE) B=build/clang-O0 CC=clang OPT=-O0 unit
	$(MAKE) B=build/clang-O2 CC=clang OPT=-O2 unit

# The region core under valgrind memcheck (the model test at a reduced count), and the append
# API over it.
valgrind: $(B)/test/test_region $(B)/test/test_model $(B)/test/test_append
	valgrind -q --error-exitcode=9 $(B)/test/test_region
	VCM_MODEL_OPS=200000 valgrind -q --error-exitcode=9 $(B)/test/test_model
	valgrind -q --error-exitcode=9 $(B)/test/test_append

# memcheck with vcm's client requests (build option -DVCM_VALGRIND): region chunks are heap
# blocks to memcheck (a memory pool per disc), so it reports the write past the used size and
# the read after free in test/valgrind_region.c, and nothing in test_model, which has neither.
valgrind-client:
	$(MAKE) B=build/vg CFLAGS=-DVCM_VALGRIND build/vg/libvcm-api.a build/vg/test/test_model
	$(CC) $(WARN) -O1 -g -Iinclude test/valgrind_region.c build/vg/libvcm-api.a -o build/vg/valgrind_region
	valgrind --leak-check=full build/vg/valgrind_region > build/vg/vg.log 2>&1 || true
	@p=0; f=0; for want in "Invalid write of size 1" "Invalid read of size 1" "ERROR SUMMARY: 2 errors"; do \
	  if grep -q "$$want" build/vg/vg.log; then p=$$((p+1)); else f=$$((f+1)); echo "missing: $$want"; fi; done; \
	if VCM_MODEL_OPS=20000 valgrind -q --error-exitcode=9 build/vg/test/test_model >/dev/null; then p=$$((p+1)); else f=$$((f+1)); fi; \
	echo "$$p passed, $$f failed"; [ $$f -eq 0 ]

# The core (region.c and misuse.c) builds freestanding and needs nothing but memcpy/memset
# (and, as position-independent code, the linker's own _GLOBAL_OFFSET_TABLE_).
freestanding: | $(B)/obj
	for f in $(CORE_SRC:src/%.c=%); do $(CC) $(WARN) -Wconversion -O2 -ffreestanding -nostdlib \
	  -DVCM_FREESTANDING -Iinclude -Isrc -c src/$$f.c -o $(B)/obj/$${f}_fs.o || exit 1; done
	$(CC) -r -nostdlib $(CORE_SRC:src/%.c=$(B)/obj/%_fs.o) -o $(B)/obj/region_freestanding.o
	@undef=$$(nm -u $(B)/obj/region_freestanding.o | awk '{print $$2}' | grep -vE '^(memcpy|memset|_GLOBAL_OFFSET_TABLE_)$$' || true); \
	  if [ -n "$$undef" ]; then echo "freestanding core needs: $$undef"; exit 1; fi; echo "freestanding core: ok"

# The region core, the process heap and their tests as 32-bit code (test_threads is left out: its
# eight threads of 128-512 KiB blocks need more address space than 32-bit vcm has, DESIGN §6),
# and the fuzzer's corpus replayed by a 32-bit build (fuzz/run.sh's make takes the flags).
M32_TESTS = $(filter-out test_threads,$(TESTS))
# A kernel built without 32-bit emulation (IA32_EMULATION off: "Exec format error", seen on
# some CI machines) cannot run them: then the tests are built (with -Werror) and not run, and
# the line says so.
m32:
	$(MAKE) B=build/m32 CFLAGS=-m32 LDFLAGS=-m32 $(M32_TESTS:%=build/m32/test/%)
	@printf 'int main(void) { return 0; }\n' | $(CC) -m32 -x c - -o build/m32/exec-probe
	@if build/m32/exec-probe 2>/dev/null; then \
	  tools/runtests $(M32_TESTS:%=build/m32/test/%) \
	    "CFLAGS=-m32 LDFLAGS=-m32 B=build/m32 fuzz/run.sh replay"; \
	else echo "m32: built, not run: this kernel cannot execute 32-bit binaries"; fi

# vcm against glibc, jemalloc, mimalloc, tcmalloc (bench/README.md): the table goes to
# docs/BENCHMARKS.md and the chart to docs/bench.svg. bench-smoke: every workload once, small.
bench: lib
	VCM_LIB=$(CURDIR)/$(B)/libvcm.so bench/run.sh
bench-smoke: lib
	VCM_LIB=$(CURDIR)/$(B)/libvcm.so bench/run.sh --smoke

# The threaded stress test at 32 threads with RSS sampled (tools/load-test): 10 minutes, and a
# short version for CI (90 s: at 40 s one sample set each half's peak, docs/SECURITY.md).
load: lib
	tools/load-test 32 600
load-short: lib
	tools/load-test 32 90

# Region core cost per operation, 64 KiB … 1 GiB regions (not a test: speed is measured here).
$(B)/region_bench: bench/region_bench.c $(B)/libvcm-api.a
	$(CC) $(ALLCFLAGS) $< -o $@ $(B)/libvcm-api.a
# Fill, churn and growth against the fixed-class core this one replaced (issue 10), built from
# git with its symbols renamed, and a reference buddy allocator (bench/region_fill.c).
OLD_CORE = 00ddb73
OLD_SYMS = vcm_strerror vcm_region_plan vcmi_region_setup vcm_region_init vcm_region_set_handler \
  vcmi_misuse vcm_region_alloc vcm_region_calloc vcm_region_aligned_alloc vcm_region_free \
  vcm_region_expand vcm_region_realloc vcm_region_used vcm_region_capacity \
  vcm_region_channel_of vcm_region_stats_get vcm_region_check vcm_region_visit
$(B)/old/region.o:
	mkdir -p $(B)/old
	git show $(OLD_CORE):src/region.c > $(B)/old/region.c
	git show $(OLD_CORE):src/region.h > $(B)/old/region.h
	$(CC) $(ALLCFLAGS) $(foreach f,$(OLD_SYMS),-D$(f)=old_$(f)) -c $(B)/old/region.c -o $@
$(B)/region_fill: bench/region_fill.c $(B)/old/region.o $(B)/libvcm-api.a
	$(CC) $(ALLCFLAGS) $< $(B)/old/region.o -o $@ $(B)/libvcm-api.a -lm
bench-region: $(B)/region_bench $(B)/region_fill
	$(B)/region_fill
	$(B)/region_bench 30 5

clean:
	rm -rf build

# ---- The heap picture, the launcher, install ----
.PHONY: test-picture picture-demo install uninstall install-test package-test options-doc options-doc-check
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
DESTDIR ?=

test-picture: $(B)/test/test_picture
	@tools/runtests $(B)/test/test_picture

# docs/heap.svg: the demo's region (demo/demo.c) drawn by vcm_region_svg.
picture-demo: $(B)/demo
	$(B)/demo --svg docs/heap.svg

# make install [PREFIX=/usr/local] [LIBDIR=$(PREFIX)/lib] [DESTDIR=]: headers, libraries
# (libvcm.so.1, named by its soname, and libvcm.so), vcm.pc, the CMake package
# (find_package(vcm): target vcm::vcm), the vcm launcher, docs.
SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@VERSION@|$(VCM_VERSION)|g'
I_LIB = $(DESTDIR)$(LIBDIR)
install: lib
	install -d '$(DESTDIR)$(PREFIX)/include' '$(I_LIB)/pkgconfig' '$(I_LIB)/cmake/vcm' \
	  '$(DESTDIR)$(PREFIX)/bin' '$(DESTDIR)$(PREFIX)/share/doc/vcm'
	install -m 644 include/vcm.h include/vcm.hpp '$(DESTDIR)$(PREFIX)/include/'
	install -m 644 $(B)/libvcm.a '$(I_LIB)/libvcm.a'
	install -m 644 $(B)/libvcm.so '$(I_LIB)/libvcm.so.$(SOVERSION)'
	ln -sf libvcm.so.$(SOVERSION) '$(I_LIB)/libvcm.so'
	$(SUBST) tools/vcm.pc.in > '$(I_LIB)/pkgconfig/vcm.pc'
	$(SUBST) tools/vcm-config.cmake.in > '$(I_LIB)/cmake/vcm/vcm-config.cmake'
	$(SUBST) tools/vcm-config-version.cmake.in > '$(I_LIB)/cmake/vcm/vcm-config-version.cmake'
	sed -e 's|^VCM_VERSION=@VERSION@$$|VCM_VERSION=$(VCM_VERSION)|' tools/vcm > '$(DESTDIR)$(PREFIX)/bin/vcm'
	chmod 755 '$(DESTDIR)$(PREFIX)/bin/vcm'
	install -m 644 README.md $(wildcard docs/DESIGN.md docs/OPTIONS.md docs/heap.svg) \
	  '$(DESTDIR)$(PREFIX)/share/doc/vcm/'
uninstall:
	rm -f '$(DESTDIR)$(PREFIX)/include/vcm.h' '$(DESTDIR)$(PREFIX)/include/vcm.hpp' \
	  '$(I_LIB)/libvcm.a' '$(I_LIB)/libvcm.so' '$(I_LIB)/libvcm.so.$(SOVERSION)' \
	  '$(I_LIB)/pkgconfig/vcm.pc' '$(DESTDIR)$(PREFIX)/bin/vcm'
	rm -rf '$(DESTDIR)$(PREFIX)/share/doc/vcm' '$(I_LIB)/cmake/vcm'

# Install into a temporary prefix, build and run a program with pkg-config, run the launcher.
install-test: lib
	test/install_test.sh

# The Debian packages (debian/): built from a copy of the tree, installed, used with pkg-config,
# CMake and the launcher, removed again (needs root).
package-test:
	@tools/runtests test/package_test.sh

# docs/OPTIONS.md from the option list in src/options.h (defined once).
options-doc:
	tools/gen-options-doc src/options.h > docs/OPTIONS.md
options-doc-check:
	@tools/gen-options-doc src/options.h | diff -u docs/OPTIONS.md - && echo "docs/OPTIONS.md: up to date"
