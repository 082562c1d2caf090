#!/usr/bin/env bash
# Runs each Nexmark query weir has on weir (nexmark_bench) and on Flink (NexmarkBench) over the
# same events and compares the results as sorted multisets of lines, printing PASSED or FAILED
# per query.
#
#   bench/nexmark/check_weir.sh BUILD_DIR [EVENTS] [PARALLELISM] [RATE] [QUERIES...]
#     defaults: 50000 events, parallelism 2, 1000 events/s of event time; QUERIES default to
#     every query `nexmark_bench --help` lists (AllQueries()).
#
# q4's streaming output is an update per closed auction; its result is the last line of each
# category (as in check_queries.sh). WEIR_FLAGS / FLINK_FLAGS add flags to one engine's runs
# (e.g. "--backend rocksdb --checkpoint-interval 1000"). Builds the Flink jar when it is
# missing or older than its sources (Maven offline when ~/.m2 has what it needs, else online);
# fails clearly without java or mvn. Exits 1 if any query differs or fails.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [EVENTS] [PARALLELISM] [RATE] [QUERIES...]" >&2
  exit 2
fi
build="$(cd "$1" && pwd)"
events="${2:-50000}"
parallelism="${3:-2}"
rate="${4:-1000}"
shift $(( $# > 4 ? 4 : $# ))
queries=("$@")

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench="$build/bin/nexmark_bench"
[[ -x "$bench" ]] || { echo "FAILED: $bench is missing: build the nexmark_bench target" >&2; exit 1; }
command -v java >/dev/null || { echo "FAILED: java is not installed (Java 17 runs the Flink side)" >&2; exit 1; }
jar="$("$here/flink_jar.sh")"

if [[ ${#queries[@]} -eq 0 ]]; then
  # The list after "--query  one of" in the usage: AllQueries().
  read -r -a queries <<<"$("$bench" --help | sed -n 's/^ *--query *one of //p')"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/nexmark-weir-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Sorted result lines of one engine's output: the file $2, or $2.i per sink subtask ($1: query).
result() {
  local files=()
  for f in "$2" "$2".*; do [[ -e "$f" ]] && files+=("$f"); done
  if [[ "$1" == q4 ]]; then
    for f in "${files[@]}"; do tac "$f" | awk -F, '!seen[$1]++'; done | LC_ALL=C sort
  else
    cat "${files[@]}" /dev/null | LC_ALL=C sort
  fi
}

# Flink runs every query in one JVM (its start costs more than a query at this size); weir one
# process per query.
common=(--events "$events" --parallelism "$parallelism" --rate "$rate")
flink_ok=1
if ! java -jar "$jar" --query "$(IFS=,; echo "${queries[*]}")" "${common[@]}" \
    --output "$work/flink" --checkpoint-dir "$work/flink-chk" ${FLINK_FLAGS:-} \
    >"$work/flink.json" 2>"$work/flink.err"; then
  flink_ok=0
fi

failed=0
for q in "${queries[@]}"; do
  rm -rf "$work"/weir*
  if ! "$bench" --query "$q" "${common[@]}" --output "$work/weir.out" --checkpoint-dir "$work/weir-chk" \
      ${WEIR_FLAGS:-} >"$work/weir.json" 2>"$work/weir.err"; then
    echo "FAILED  $q: weir's run failed"; tail -20 "$work/weir.err"; failed=1; continue
  fi
  if ! grep -q "\"query\":\"$q\"" "$work/flink.json"; then
    echo "FAILED  $q: Flink's run failed"; tail -20 "$work/flink.err"; failed=1; continue
  fi
  result "$q" "$work/weir.out" >"$work/weir.txt"
  result "$q" "$work/flink-$q" >"$work/flink.txt"
  lines=$(wc -l <"$work/flink.txt")
  if [[ "$lines" -eq 0 ]]; then
    echo "FAILED  $q: Flink's result is empty (too few events for this query?)"; failed=1
  elif cmp -s "$work/weir.txt" "$work/flink.txt"; then
    printf 'PASSED  %-4s %8d lines identical\n' "$q" "$lines"
  else
    printf 'FAILED  %-4s weir %d lines, Flink %d lines\n' "$q" "$(wc -l <"$work/weir.txt")" "$lines"
    diff "$work/weir.txt" "$work/flink.txt" | head -6 | cut -c1-200
    failed=1
  fi
done
[[ $flink_ok -eq 1 ]] || { echo "FAILED: Flink's run failed"; tail -20 "$work/flink.err"; failed=1; }
if [[ $failed -ne 0 ]]; then
  echo "FAILED: some queries differ between weir and Flink"
  exit 1
fi
echo "PASSED: every query's weir result equals Flink's"
