#!/usr/bin/env bash
# weir as a library in another project, as a user gets it: install weir into a fresh prefix,
# then build examples/my_first_job against that prefix (not the build tree) with CMake's
# find_package and with pkg-config, run both, and check their output.
#
#   install_test.sh <weir source dir> <weir build dir>
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

step() { echo "== $*"; }

step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null

step "the install holds the public headers only"
if find "$prefix/include" -name '*.h' | grep -v "^$prefix/include/weir/" | grep .; then
  echo "install_test: headers outside include/weir were installed" >&2
  exit 1
fi
if grep -rl -- "$build\|$src/src" "$prefix/lib" --include='*.cmake' --include='*.pc'; then
  echo "install_test: the installed package refers to weir's build or source tree" >&2
  exit 1
fi

step "CMake: find_package(weir) from examples/my_first_job"
cmake -S "$src/examples/my_first_job" -B "$work/cmake-build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null

step "pkg-config: weir.pc"
pc_flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs weir)
# shellcheck disable=SC2086
g++ -O1 "$src/examples/my_first_job/main.cc" -o "$work/pkg-config-job" $pc_flags

for job in "$work/cmake-build/my_first_job" "$work/pkg-config-job"; do
  step "run $(basename "$job")"
  run=$(mktemp -d -p "$work")
  (cd "$run" && "$job" --no-progress >"$run/log" 2>&1) || {
    cat "$run/log"
    echo "install_test: $job failed" >&2
    exit 1
  }
  diff "$src/tests/consumer/expected_word_counts.txt" "$run/output/word_counts.txt"
  grep -q "FINISHED" "$run/log"
done
echo "install_test: OK"
