#!/usr/bin/env bash
# Before and after: the same weir_bench workload from two builds, runs interleaved (so the
# drift of a shared machine hits both alike), medians compared. For showing that a change does
# not slow the seed pipeline.
#
#   bash bench/compare_builds.sh BEFORE_BIN_DIR AFTER_BIN_DIR [runs] [weir_bench flags...]
#   e.g. bash bench/compare_builds.sh /tmp/before/bin build/release/bin 7 --records 50000000
set -euo pipefail
before=${1:?before: a directory holding weir_bench}
after=${2:?after: a directory holding weir_bench}
runs=${3:-7}
shift $(($# < 3 ? $# : 3))
flags=("$@")
[[ ${#flags[@]} -gt 0 ]] || flags=(--records 50000000 --sink file --checkpoint 100ms)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for ((i = 0; i < runs; i++)); do
  for side in before after; do
    dir=$before
    [[ $side == after ]] && dir=$after
    "$dir/weir_bench" --dir "$work/$side" --no-baseline --no-progress --json "${flags[@]}" |
      sed -E 's/.*"records_per_s":([0-9.e+]+),"records_per_cpu_s":([0-9.e+]+).*/\1 \2/' |
      awk -v s="$side" '{print s, $1, $2}'
    rm -rf "${work:?}/$side"
  done
done > "$work/runs"

median() {  # of column $2 for side $1
  awk -v s="$1" -v col="$2" '$1 == s {print $col}' "$work/runs" |
    sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

echo "weir_bench ${flags[*]}: median of $runs interleaved runs each"
bw=$(median before 2) aw=$(median after 2) bc=$(median before 3) ac=$(median after 3)
awk -v bw="$bw" -v aw="$aw" -v bc="$bc" -v ac="$ac" 'BEGIN {
  printf "before %.2fM rec/s (%.2fM per CPU-s)\nafter  %.2fM rec/s (%.2fM per CPU-s)\n",
    bw / 1e6, bc / 1e6, aw / 1e6, ac / 1e6
  printf "change %+.1f%% wall, %+.1f%% per CPU-second\n", 100 * (aw / bw - 1), 100 * (ac / bc - 1)
}'
