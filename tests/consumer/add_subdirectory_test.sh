#!/usr/bin/env bash
# weir inside another project's tree, as a new user adds it: add_subdirectory(weir) in a
# Release build (-O3), with weir's tests and benchmarks off and GoogleTest and Benchmark
# unavailable, and every warning an error, so that a user's build never fails on weir's
# warnings. Builds and runs examples/my_first_job on it.
#
#   add_subdirectory_test.sh <weir source dir>
set -euo pipefail
src=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/project"
cp "$src/examples/my_first_job/main.cc" "$work/project/"
cat >"$work/project/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(user_project LANGUAGES CXX)
add_subdirectory("$src" weir)
add_executable(my_first_job main.cc)
target_link_libraries(my_first_job PRIVATE weir::weir)
CMAKE

cmake -S "$work/project" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DWEIR_WERROR=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON >/dev/null
cmake --build "$work/build" --target my_first_job
mkdir -p "$work/run"
(cd "$work/run" && "$work/build/my_first_job" --no-progress >"$work/run/log" 2>&1) || {
  cat "$work/run/log"
  exit 1
}
diff "$src/tests/consumer/expected_word_counts.txt" "$work/run/output/word_counts.txt"
echo "add_subdirectory_test: OK"
