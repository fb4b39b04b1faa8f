# vcm — build, test, demo. `make` builds build/libvcm.a and build/libvcm.so.
CC      ?= cc
CXX     ?= c++
OPT     ?= -O2
WARN     = -std=c11 -Wall -Wextra -Werror
CFLAGS  ?=
ALLCFLAGS = $(WARN) $(OPT) -g -fPIC -Iinclude -Isrc $(CFLAGS)
B       ?= build

CORE_SRC = src/region.c
LIB_SRC  = $(CORE_SRC) src/report.c src/os_posix.c src/meta.c src/heap.c src/large.c src/alloc.c src/stats.c src/options.c src/override.c
LIB_OBJ  = $(LIB_SRC:src/%.c=$(B)/obj/%.o)
# Tests that use only the vcm_ API link without the libc names, so sanitizers keep theirs.
SAN_TESTS = test_region test_model test_threads
# Tests of the libc names (malloc is vcm's): linked with the full libvcm.a.
LIBC_TESTS = test_process test_check
TESTS    = $(SAN_TESTS) $(LIBC_TESTS)
TEST_BIN = $(TESTS:%=$(B)/test/%)

.PHONY: all lib test demo clean asan tsan valgrind freestanding m32 bench bench-smoke bench-region
all: lib
lib: $(B)/libvcm.a $(B)/libvcm.so

$(B)/obj/%.o: src/%.c include/vcm.h src/*.h | $(B)/obj
	$(CC) $(ALLCFLAGS) -DVCM_BUILD -fvisibility=hidden -c $< -o $@
$(B)/obj $(B)/test:
	mkdir -p $@

$(B)/libvcm.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/libvcm.so: $(LIB_OBJ) src/libvcm.map
	$(CC) -shared -o $@ $(LIB_OBJ) -Wl,--version-script=src/libvcm.map -Wl,-Bsymbolic-functions -lpthread $(LDFLAGS)

$(B)/libvcm-api.a: $(filter-out $(B)/obj/override.o,$(LIB_OBJ))
	rm -f $@ && ar rcs $@ $^

$(LIBC_TESTS:%=$(B)/test/%): $(B)/test/%: test/%.c test/harness.h $(B)/libvcm.a | $(B)/test
	$(CC) $(ALLCFLAGS) $< -o $@ $(B)/libvcm.a -lpthread
$(B)/test/%: test/%.c test/harness.h $(B)/libvcm-api.a | $(B)/test
	$(CC) $(ALLCFLAGS) $< -o $@ $(B)/libvcm-api.a -lpthread

$(B)/demo: demo/demo.c $(B)/libvcm.a
	$(CC) $(ALLCFLAGS) $< -o $@ $(B)/libvcm.a

# The main job: the embedded demo, then a real program running on vcm.
demo: $(B)/demo $(B)/libvcm.so
	$(B)/demo
	tools/demo-real

# All tests; the last line is the total "N passed, N failed".
test: $(TEST_BIN)
	@tools/runtests $(TEST_BIN)

# The tests that leave malloc alone, under ASan+UBSan and under TSan, in separate trees.
SAN_RUN = tools/runtests $(SAN_TESTS:%=build/$(1)/test/%)
asan:
	$(MAKE) B=build/asan OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" $(SAN_TESTS:%=build/asan/test/%)
	ASAN_OPTIONS=detect_leaks=0 $(call SAN_RUN,asan)
tsan:
	$(MAKE) B=build/tsan OPT="-O1 -fsanitize=thread" LDFLAGS="-fsanitize=thread" build/tsan/test/test_threads
	tools/runtests build/tsan/test/test_threads

# The region core under valgrind memcheck (the model test at a reduced count).
valgrind: $(B)/test/test_region $(B)/test/test_model
	valgrind -q --error-exitcode=9 $(B)/test/test_region
	VCM_MODEL_OPS=200000 valgrind -q --error-exitcode=9 $(B)/test/test_model

# The core builds freestanding and needs nothing but memcpy/memset.
freestanding: | $(B)/obj
	$(CC) $(WARN) -Wconversion -O2 -ffreestanding -nostdlib -DVCM_FREESTANDING -Iinclude -Isrc -c $(CORE_SRC) -o $(B)/obj/region_freestanding.o
	@undef=$$(nm -u $(B)/obj/region_freestanding.o | awk '{print $$2}' | grep -vE '^(memcpy|memset)$$' || true); \
	  if [ -n "$$undef" ]; then echo "freestanding core needs: $$undef"; exit 1; fi; echo "freestanding core: ok"

# The region core and its tests as 32-bit code.
m32:
	$(MAKE) B=build/m32 CFLAGS=-m32 LDFLAGS=-m32 $(TEST_BIN:$(B)/%=build/m32/%)
	tools/runtests build/m32/test/test_region build/m32/test/test_model

# vcm against glibc, jemalloc, mimalloc, tcmalloc (bench/README.md): the table goes to
# docs/BENCHMARKS.md and the chart to docs/bench.svg. bench-smoke: every workload once, small.
bench: lib
	VCM_LIB=$(CURDIR)/$(B)/libvcm.so bench/run.sh
bench-smoke: lib
	VCM_LIB=$(CURDIR)/$(B)/libvcm.so bench/run.sh --smoke

# Region core cost per operation, 64 KiB … 1 GiB regions (not a test: speed is measured here).
$(B)/region_bench: bench/region_bench.c $(B)/libvcm-api.a
	$(CC) $(ALLCFLAGS) $< -o $@ $(B)/libvcm-api.a
bench-region: $(B)/region_bench
	$(B)/region_bench 30 5

clean:
	rm -rf build
