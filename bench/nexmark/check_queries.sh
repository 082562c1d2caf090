#!/usr/bin/env bash
# Runs each Nexmark query on Flink's DataStream API (bench/nexmark/flink) and compares its result
# with the oracle's (the query's SQL evaluated over all events in memory, oracle/Oracle.java).
#
#   bench/nexmark/check_queries.sh [EVENTS] [PARALLELISM] [RATE] [QUERIES...]
#     defaults: 100000 events, parallelism 2, 1000 events/s of event time (so the 100,000 events
#     span 100 s and the 2 s to 10 s windows and sessions have something to do), all ten queries.
#
# Lines are compared as sorted multisets. q4's streaming output is an update per closed auction;
# its result is the last line of each category. FLINK_FLAGS adds flags to the Flink runs (e.g.
# "--backend rocksdb --checkpoint-interval 1000"). Needs the jar: run check_generators.sh or
# `mvn package` in bench/nexmark/flink first (MVN_FLAGS as there). Exits 1 if any query differs.
set -euo pipefail

events="${1:-100000}"
parallelism="${2:-2}"
rate="${3:-1000}"
shift $(( $# > 3 ? 3 : $# ))
queries=("$@")
if [[ ${#queries[@]} -eq 0 ]]; then
  queries=(q0 q1 q2 q3 q4 q5 q7 q8 q11 q17)
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
jar="$root/bench/nexmark/flink/target/nexmark-flink.jar"
if [[ ! -f "$jar" ]]; then
  (cd "$root/bench/nexmark/flink" && mvn -B -q -Dstyle.color=never ${MVN_FLAGS:-} package -DskipTests)
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/nexmark-queries.XXXXXX")"
trap 'rm -rf "$work"' EXIT

failed=0
for q in "${queries[@]}"; do
  rm -f "$work"/out*
  java -jar "$jar" --query "$q" --events "$events" --parallelism "$parallelism" --rate "$rate" \
    --output "$work/out" ${FLINK_FLAGS:-} 2>"$work/stderr" >"$work/summary" || {
    echo "FAILED     $q: the Flink job failed"; tail -20 "$work/stderr"; failed=1; continue; }
  if [[ "$q" == q4 ]]; then
    # Last line per category, within each sink file (a category lives in one subtask).
    for f in "$work"/out*; do
      tac "$f" | awk -F, '!seen[$1]++'
    done | LC_ALL=C sort >"$work/flink.txt"
  else
    cat "$work"/out* | LC_ALL=C sort >"$work/flink.txt"
  fi
  java -cp "$jar" weir.bench.nexmark.oracle.Oracle --query "$q" --events "$events" \
    --parallelism "$parallelism" --rate "$rate" | LC_ALL=C sort >"$work/oracle.txt"
  lines=$(wc -l <"$work/oracle.txt")
  if cmp -s "$work/flink.txt" "$work/oracle.txt"; then
    printf 'identical  %-4s %8d lines   %s\n' "$q" "$lines" \
      "$(grep -o '"events_per_second":[0-9]*' "$work/summary")"
  else
    printf 'DIFFERENT  %-4s Flink %d lines, oracle %d lines\n' "$q" "$(wc -l <"$work/flink.txt")" "$lines"
    diff "$work/flink.txt" "$work/oracle.txt" | head -6 | cut -c1-200
    failed=1
  fi
done
if [[ $failed -ne 0 ]]; then
  echo "FAILED: some queries differ from the oracle"
  exit 1
fi
echo "PASSED: every query's Flink result equals the oracle's"
