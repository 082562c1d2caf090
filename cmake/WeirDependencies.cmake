# Every dependency is a Debian package (scripts/setup.sh installs them); nothing is
# downloaded at configure time.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(fmt REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(RocksDB REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
include(GoogleTest)

# spdlog's CMake package pulls in a bundled-fmt configuration on Debian; its pkg-config
# flags are the ones that match the system fmt.
pkg_check_modules(SPDLOG REQUIRED IMPORTED_TARGET spdlog)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)

find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
find_path(NLOHMANN_JSON_INCLUDE_DIR nlohmann/json.hpp REQUIRED)
