#!/usr/bin/env bash
# What checkpointing costs: the seed pipeline (one key, 50M records) with exactly-once
# checkpoints every 100 ms against none, for each sink. The runs are interleaved, so the drift
# of a shared machine hits both sides alike, and the medians are compared.
#
#   bash bench/checkpoint_cost.sh [build dir] [runs per case]
set -euo pipefail
build=${1:-build/release}
runs=${2:-9}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for ((i = 0; i < runs; i++)); do
  for sink in discard file; do
    for checkpoint in off 100ms; do
      # "<sink> <checkpoint> <records/s> <per CPU-second>", from the result line's JSON.
      "$build/bin/weir_bench" --dir "$work" --records 50000000 --sink "$sink" \
          --checkpoint "$checkpoint" --json |
        sed -E 's/.*"records_per_s":([0-9.e+]+),"records_per_cpu_s":([0-9.e+]+).*/\1 \2/' |
        awk -v s="$sink" -v c="$checkpoint" '{print s, c, $1, $2}'
    done
  done
done > "$work/runs"

median() {  # of column $3 for the rows matching "$1 $2"
  awk -v s="$1" -v c="$2" -v col="$3" '$1 == s && $2 == c {print $col}' "$work/runs" |
    sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

echo "checkpoint cost, median of $runs interleaved runs per case (50M records, one key)"
for sink in discard file; do
  off_wall=$(median "$sink" off 3)
  on_wall=$(median "$sink" 100ms 3)
  off_cpu=$(median "$sink" off 4)
  on_cpu=$(median "$sink" 100ms 4)
  awk -v s="$sink" -v ow="$off_wall" -v nw="$on_wall" -v oc="$off_cpu" -v nc="$on_cpu" 'BEGIN {
    printf "%-8s off %.1fM rec/s (%.1fM per CPU-s), every 100 ms %.1fM (%.1fM): cost %.1f%% wall, %.1f%% CPU\n",
      s, ow / 1e6, oc / 1e6, nw / 1e6, nc / 1e6, 100 * (1 - nw / ow), 100 * (1 - nc / oc)
  }'
done
