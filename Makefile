# Colony — the few commands a researcher or developer needs. See README.md.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?= -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps configure build test test-long bench bench-kernel format clean demo

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Until `colony run` lands, the demo is the kernel itself on its two benchmark worlds.
demo: build
	@$(BUILD)/bench/colony_kernel_bench --benchmark_filter='/runtime:[01]/' \
	  --benchmark_counters_tabular=true 2>/dev/null | grep -E '^(Benchmark|relay_ring|fan_out|-)'

# Every test, the long ones (label "long") included.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@bench/run-all $(BUILD)

bench-kernel: build
	@bench/run-kernel $(BUILD)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
