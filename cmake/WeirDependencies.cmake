# Every dependency is a Debian package (scripts/setup.sh installs them); nothing is
# downloaded at configure time. GoogleTest and Benchmark are needed only for weir's own
# tests and benchmarks.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(RocksDB REQUIRED)
if(WEIR_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(WEIR_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
# mimalloc replaces malloc and operator new process-wide when a program links Debian's
# libmimalloc.so (libmimalloc-dev); sanitizers bring their own allocator.
if(WEIR_MALLOC STREQUAL "mimalloc")
  if(NOT WEIR_SANITIZE STREQUAL "")
    message(FATAL_ERROR "WEIR_MALLOC=mimalloc cannot be combined with WEIR_SANITIZE=${WEIR_SANITIZE}: "
                        "the sanitizer replaces malloc itself; use WEIR_MALLOC=system")
  endif()
  # Debian 12 ships 2.0.9; mimalloc's version file accepts only the same major version.
  find_package(mimalloc 2.0 CONFIG)
  if(NOT mimalloc_FOUND)
    message(FATAL_ERROR "WEIR_MALLOC=mimalloc but mimalloc 2.x was not found: install Debian's "
                        "libmimalloc-dev (bash scripts/setup.sh does), or configure with "
                        "-DWEIR_MALLOC=system")
  endif()
elseif(NOT WEIR_MALLOC STREQUAL "system")
  message(FATAL_ERROR "WEIR_MALLOC must be 'system' or 'mimalloc', not '${WEIR_MALLOC}'")
endif()

# spdlog's CMake package pulls in a bundled-fmt configuration on Debian; its pkg-config
# flags are the ones that match the system fmt. The prefixes are weir's own, so they cannot
# clash with a parent project's pkg-config results (weirConfig.cmake uses the same names).
pkg_check_modules(WEIR_SPDLOG REQUIRED IMPORTED_TARGET spdlog)
pkg_check_modules(WEIR_XXHASH REQUIRED IMPORTED_TARGET libxxhash)
# A libxxhash built with its x86 dispatcher (Debian's is) checksums state files with AVX2
# where the CPU has it; without one, Checksum uses the portable code (src/base/checksum.cc).
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_LIBRARIES PkgConfig::WEIR_XXHASH)
check_cxx_source_compiles([[
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
int main() { return XXH3_64bits_dispatch("", 0) == 0; }
]] WEIR_HAVE_XXH_DISPATCH)
unset(CMAKE_REQUIRED_LIBRARIES)
# The REST API's HTTP server (Debian's libcpp-httplib-dev, built as a shared library).
pkg_check_modules(WEIR_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
# The Kafka connector (src/connectors/kafka) produces through librdkafka (librdkafka-dev).
pkg_check_modules(WEIR_RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)

find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
find_path(NLOHMANN_JSON_INCLUDE_DIR nlohmann/json.hpp REQUIRED)
