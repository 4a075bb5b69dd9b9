# Colony — the few commands a researcher or developer needs. See README.md.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?= -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps configure build test bench bench-kernel bench-e2e format clean demo demo-sweep

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The default scenario: a help desk behind a cheapest-first cascade, one simulated day.
demo: build
	@$(BUILD)/cli/colony run scenarios/examples/support_desk.json

# The bundled sweep: self-consistency with 1, 3, 5 and 7 samples x 10 seeds, then its report.
demo-sweep: build
	@$(BUILD)/cli/colony sweep scenarios/examples/self_consistency_sweep.json --out sweeps/self_consistency_sweep
	@$(BUILD)/cli/colony report sweeps/self_consistency_sweep

bench-e2e: build
	@bench/run-e2e $(BUILD)

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
