# The two commands a new user needs:
#   make run    installs what is missing, builds, runs the seed job embedded
#   make test   the same set-up, then every test (what CI runs)
# Others: make build, make asan, make tsan, make soak, make bench, make format, make clean.

PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)
RUN_ARGS ?=

.PHONY: all setup configure build run test asan tsan soak bench format clean

all: build

setup:
	@bash scripts/setup.sh

# Configure once per preset; CMake re-runs itself when CMakeLists change.
$(BUILD_DIR)/build.ninja:
	cmake --preset $(PRESET)

configure: setup $(BUILD_DIR)/build.ninja

build: configure
	cmake --build --preset $(PRESET) -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/fault_tolerance $(RUN_ARGS)

test: build
	ctest --preset $(PRESET)

# Sanitizer builds: every test except soaks and benchmarks.
asan:
	@$(MAKE) --no-print-directory test PRESET=asan

tsan:
	@$(MAKE) --no-print-directory test PRESET=tsan

# Long crash-and-resume soaks (opt-in).
soak: build
	ctest --preset soak

bench: build
	bash bench/run_short.sh $(BUILD_DIR)

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
