# Thin entry points over the CMake presets. `make demo` and `make test` are the quick start.
.PHONY: all deps build test demo demo-busy demo-python asan tsan asan-test tsan-test bench bench-quick fuzz format clean
.PHONY: arm64 arm64-test arm64-shm-test minimal minimal-arm64 footprint

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

demo-python: build
	build/default/tools/zeroflow run examples/python-pipeline/dataflow.yml --stop-after 5
	@echo "--- the Python sink's last lines (examples/python-pipeline/out/<uuid>/log_sink.txt):"
	@tail -n 3 "$$(ls -td examples/python-pipeline/out/*/ | head -n 1)log_sink.txt"

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

# arm64 (docs/embedded.md): cross-built with Debian's g++-aarch64-linux-gnu against its arm64
# libraries; the unit, shm, daemon and fault labels run under qemu-user via binfmt_misc.
arm64:
	@tools/install-deps.sh --arm64
	cmake --preset arm64
	cmake --build --preset arm64 -j $(JOBS)

arm64-test: arm64
	@tools/arm64-binfmt.sh
	ctest --preset arm64 -j $(JOBS)

# The shm label only (what CI runs when the whole arm64 set does not fit its budget).
arm64-shm-test: arm64
	@tools/arm64-binfmt.sh
	ctest --preset arm64 -j $(JOBS) -L shm

# Release, stripped, unused sections dropped: what a board installs.
minimal: deps
	cmake --preset minimal
	cmake --build --preset minimal -j $(JOBS)

minimal-arm64:
	@tools/install-deps.sh --arm64
	cmake --preset minimal-arm64
	cmake --build --preset minimal-arm64 -j $(JOBS)

footprint: build
	tools/footprint.sh build/default

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
