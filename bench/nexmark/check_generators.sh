#!/usr/bin/env bash
# Builds the C++ and the Java Nexmark generators, dumps the first events of each in the
# canonical text form and checks that the two are byte for byte the same.
#
#   bench/nexmark/check_generators.sh [EVENTS]        (default 100000)
#
# Environment: BUILD_DIR (default build/release, configured with the release preset if absent),
# MVN_FLAGS (extra Maven flags, e.g. -o to stay offline).
# Exits 0 when every comparison is identical, 1 on the first difference (and shows it).
set -euo pipefail

events="${1:-100000}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${BUILD_DIR:-$root/build/release}"
work="$(mktemp -d "${TMPDIR:-/tmp}/nexmark-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== building the C++ generator (nexmark_dump) in $build_dir"
if [[ ! -f "$build_dir/build.ninja" ]]; then
  (cd "$root" && cmake --preset release >/dev/null)
fi
cmake --build "$build_dir" --target nexmark_dump >/dev/null
cpp_dump="$build_dir/bin/nexmark_dump"

echo "== building the Java generator (bench/nexmark/flink)"
(cd "$root/bench/nexmark/flink" && mvn -B -q -Dstyle.color=never ${MVN_FLAGS:-} package -DskipTests)
java_dump=(java -cp "$root/bench/nexmark/flink/target/nexmark-flink.jar" weir.bench.nexmark.NexmarkDump)

failed=0
compare() {
  local label="$1"
  shift
  "$cpp_dump" "$@" >"$work/cpp.jsonl"
  "${java_dump[@]}" "$@" >"$work/java.jsonl"
  local lines sum
  lines=$(wc -l <"$work/cpp.jsonl")
  sum=$(md5sum <"$work/cpp.jsonl" | cut -d' ' -f1)
  if cmp -s "$work/cpp.jsonl" "$work/java.jsonl"; then
    printf 'identical  %-38s %9d lines  md5 %s\n' "$label" "$lines" "$sum"
  else
    printf 'DIFFERENT  %-38s (C++ %d lines, Java %d lines)\n' "$label" "$lines" \
      "$(wc -l <"$work/java.jsonl")"
    diff "$work/cpp.jsonl" "$work/java.jsonl" | head -6 | cut -c1-300
    failed=1
  fi
}

echo "== comparing"
compare "$events events, 1 generator" --events "$events"
compare "$events events, 4 generators" --events "$events" --generators 4
compare "$((events / 10)) events, 3 generators, 10000/s" --events "$((events / 10))" \
  --generators 3 --rate 10000

if [[ $failed -ne 0 ]]; then
  echo "FAILED: the generators differ"
  exit 1
fi
echo "PASSED: the C++ and Java generators print identical events"
