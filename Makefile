# The two commands: `make run` and `make test`. Everything else is CMake.
BUILD_DIR ?= build
FUZZ_DIR  ?= build-fuzz
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
CTEST_JOBS ?= 2

.PHONY: all run test bench fuzz build build-fuzz deps deps-test deps-bench clean

all: build

deps:
	scripts/deps.sh
deps-test:
	scripts/deps.sh test
deps-bench:
	scripts/deps.sh bench

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR)

build-fuzz:
	cmake -S tests/fuzz -B $(FUZZ_DIR) -G Ninja -DCMAKE_CXX_COMPILER=clang++-14
	cmake --build $(FUZZ_DIR)

# Installs what is missing, builds, and serves on 127.0.0.1:5000 with data in ./custody-data.
run: deps build
	./$(BUILD_DIR)/src/custody serve $(ARGS)

# Installs what the tests need, builds everything, runs every test.
test: deps-test build build-fuzz
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(CTEST_JOBS)

bench: deps-bench build
	bench/run.sh

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR)
