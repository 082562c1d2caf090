#!/usr/bin/env bash
# make bench: the short benchmark run (a few minutes on the 2-core machine). Prints the
# microbenchmarks, the end-to-end workloads of weir_bench, and the RocksDB backend's update
# rate beside RocksDB's own db_bench. BENCH.md records a full run and its command.
set -euo pipefail
build=${1:-build/release}
bin="$build/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo
echo "== microbenchmarks (ns per record = 1e9 / items_per_second)"
"$bin/micro_bench" --benchmark_min_time=0.2 --benchmark_counters_tabular=true 2>/dev/null

run() { "$bin/weir_bench" --dir "$work" "$@"; }
echo
echo "== end to end: the seed pipeline (sequence -> map -> key by -> running sum -> text)"
run --workload baseline --records 50000000
run --records 50000000 --sink discard
run --records 50000000 --sink file
run --records 50000000 --sink file --checkpoint 1s
run --records 50000000 --sink file --checkpoint 100ms
run --records 50000000 --sink file --checkpoint 100ms --mode AT_LEAST_ONCE
run --records 20000000 --keys 1000000 --sink discard
run --records 20000000 --keys 1000000 --sink discard --checkpoint 100ms
run --records 50000000 --sink discard --parallelism 2
# RocksDB does a few hundred thousand updates a second: fewer records keep the run short.
run --records 3000000 --keys 1000000 --sink discard --backend rocksdb
run --records 3000000 --keys 1000000 --sink discard --backend rocksdb --checkpoint 1s
run --records 3000000 --keys 1000000 --sink discard --backend rocksdb --checkpoint 1s \
    -D execution.checkpointing.incremental=true
echo
echo "== checkpoint cost (bench/checkpoint_cost.sh)"
bash "$(dirname "$0")/checkpoint_cost.sh" "$build" 7
echo
echo "== recovery: fail once mid-stream, time to resume and to catch up"
run --workload recovery --records 4000000 --keys 100000 --checkpoint 1s
run --workload recovery --records 30000000 --keys 10000000 --checkpoint 5s

echo
echo "== RocksDB backend update rate vs db_bench (1M existing keys, 11-byte keys, 8-byte values,"
echo "   WAL off, both with RocksDB's default compression and an 8 MB block cache)"
if command -v db_bench > /dev/null; then
  db=$(db_bench --benchmarks=fillrandom,updaterandom --num=1000000 --key_size=11 --value_size=8 \
         --disable_wal=1 --cache_size=8388608 --db="$work/db_bench" 2>/dev/null |
       awk '/^updaterandom/ {print $5}')
  # Without the write cache: every update reads and writes RocksDB, as updaterandom does.
  ours=$("$bin/micro_bench" --benchmark_filter='BM_RocksDbValueStateUpdate/1000000/0$' \
           --benchmark_min_time=3 --benchmark_format=csv 2>/dev/null |
         awk -F, '/BM_RocksDbValueStateUpdate\/1000000\/0/ {print $7}' | tail -1)
  echo "db_bench updaterandom: $db updates/s"
  if [ -n "$ours" ] && [ -n "$db" ]; then
    awk -v o="$ours" -v d="$db" \
      'BEGIN {printf "weir RocksDB ValueState update: %.0f updates/s = %.2fx db_bench\n", o, o / d}'
  fi
else
  echo "db_bench not installed (Debian package rocksdb-tools)"
fi
