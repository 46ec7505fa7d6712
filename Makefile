# Thin wrapper around scripts/ and CMake. The two commands a newcomer needs:
#   make demo   installs what is missing, builds (Release) and runs mailroomd on the demo ports
#   make test   installs what is missing, builds (Debug + ASan/UBSan) and runs every test
.PHONY: all setup build debug release test unit-test lint tidy demo demo-ldap demo-ad demo-mariadb demo-sso bench clean

JOBS ?= $(shell nproc)
DEBUG_DIR := build/debug
RELEASE_DIR := build/release
export CCACHE_BASEDIR := $(CURDIR)
# Reuse objects across clones (CI builds every run in a fresh clone): the build directory is
# not hashed, and the debug info names paths relative to the source tree (CMakeLists.txt).
export CCACHE_NOHASHDIR := true

all: debug

setup:
	@scripts/setup

$(DEBUG_DIR)/build.ninja:
	cmake -S . -B $(DEBUG_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMAILROOM_SANITIZE=ON \
	  -DMAILROOM_BUILD_BENCH=OFF

$(RELEASE_DIR)/build.ninja:
	cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DMAILROOM_BUILD_TESTS=OFF

debug: setup $(DEBUG_DIR)/build.ninja
	cmake --build $(DEBUG_DIR) -j $(JOBS)

release: setup $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS)

build: debug

# Every test: unit tests, then integration tests that start mailroomd and real services.
test: debug
	scripts/run-tests $(DEBUG_DIR)

# Formatting (clang-format-16) and the layer rule (scripts/check-layers); also a ctest of make test.
lint: setup
	scripts/lint

# clang-tidy-16 with the profile in .clang-tidy over src/ and auth/ (slow). It configures its own
# build directory without unity batches, so that every source file has its own entry in
# compile_commands.json (nothing is compiled there).
TIDY_DIR := build/tidy
tidy: setup
	cmake -S . -B $(TIDY_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMAILROOM_UNITY=OFF \
	  -DMAILROOM_BUILD_BENCH=OFF
	run-clang-tidy-16 -p $(TIDY_DIR) -quiet '^$(CURDIR)/(src|auth)/'

# Only the unit tests (ctest label "unit": no mailroomd, no slapd, no mariadbd).
unit-test: debug
	scripts/run-tests $(DEBUG_DIR) -L unit

demo: release
	scripts/demo $(RELEASE_DIR)/bin

demo-ldap: release
	scripts/demo-ldap $(RELEASE_DIR)/bin

demo-ad: release
	scripts/demo-ad $(RELEASE_DIR)/bin

demo-mariadb: release
	scripts/demo-mariadb $(RELEASE_DIR)/bin

demo-sso: release
	scripts/demo-sso $(RELEASE_DIR)/bin

bench: release
	@echo "benchmarks: see bench/README.md"

clean:
	rm -rf build
