# The two commands a new user needs:
#   make run    installs what is missing, builds, runs the seed job embedded
#   make test   the same set-up, then every test (what CI runs)
# Others: make run-windows (the event-time example: clicks per user in windows), make run-kafka
# (the seed job writing to a Kafka broker it starts), make build,
# make install [PREFIX=dir], make asan, make tsan, make soak, make bench, make bench-nexmark, make docs,
# make format, make clean.

PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)
RUN_ARGS ?=
PREFIX ?= /usr/local

.PHONY: all setup configure build install run run-windows run-kafka test asan tsan soak bench bench-nexmark docs format clean

all: build

setup:
	@bash scripts/setup.sh
	@bash scripts/python_venv.sh >/dev/null
	@bash scripts/node_modules.sh >/dev/null

# Configure once per preset; CMake re-runs itself when CMakeLists change.
$(BUILD_DIR)/build.ninja:
	cmake --preset $(PRESET)

configure: setup $(BUILD_DIR)/build.ninja

build: configure
	cmake --build --preset $(PRESET) -j $(JOBS)

# The headers, libweir.a, the CMake package (find_package(weir)) and weir.pc under PREFIX.
install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

run: build
	$(BUILD_DIR)/bin/fault_tolerance $(RUN_ARGS)

# Clicks per user in one-minute event-time windows, from the sample input that ships with it.
run-windows: build
	$(BUILD_DIR)/bin/click_windows $(RUN_ARGS)

# The seed job with its sums written exactly-once to Kafka, read back read_committed.
run-kafka: build
	bash scripts/run_kafka.sh $(BUILD_DIR) $(RUN_ARGS)

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

# The Nexmark queries on weir and on Flink in turn: events/s and events per CPU-second of both
# and the ratio. NEXMARK_ARGS for more (e.g. "--events 10000000 --repeat 5 --queries q0,q4").
NEXMARK_ARGS ?=
bench-nexmark: configure
	cmake --build --preset $(PRESET) -j $(JOBS) --target nexmark_bench
	python3 bench/nexmark/compare.py --build $(BUILD_DIR) $(NEXMARK_ARGS)

# The README's configuration table, from the options' declarations.
docs: build
	bash scripts/config_table.sh update $(BUILD_DIR)/bin/config_table README.md

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
