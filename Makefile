# Thin entry points over the CMake presets. `make demo` and `make test` are the quick start.
.PHONY: all deps build test demo demo-busy asan tsan asan-test tsan-test bench bench-quick fuzz format clean

JOBS ?= 2
FUZZ_SECONDS ?= 60

all: build

deps:
	@tools/install-deps.sh

build/default/build.ninja: | deps
	cmake --preset default

build: deps build/default/build.ninja
	cmake --build --preset default -j $(JOBS)

test: build
	ctest --preset default -j $(JOBS)

# The demo builds only what it runs (target `demo`: CLI, daemon, runtime, the pipeline's nodes);
# `make test` builds the rest.
demo: deps build/default/build.ninja
	cmake --build --preset default -j $(JOBS) --target demo
	@examples/sensor-pipeline/demo.sh blocking

demo-busy: deps build/default/build.ninja
	cmake --build --preset default -j $(JOBS) --target demo
	@examples/sensor-pipeline/demo.sh busy

asan: deps
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)

asan-test: asan
	ctest --preset asan -j $(JOBS)

# CI runs the shm label under ThreadSanitizer: build just what it needs.
tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan -j $(JOBS) --target zeroflow_shm_test zeroflow_shm_mp_test

tsan-test: tsan
	ctest --preset tsan -j $(JOBS) -L shm

bench: build
	benchmarks/run.sh full

bench-quick: build
	benchmarks/run.sh quick

fuzz:
	@tools/install-deps.sh --fuzz
	tools/fuzz.sh $(FUZZ_SECONDS)

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
