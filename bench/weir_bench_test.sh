#!/usr/bin/env bash
# Smoke test of weir_bench: each workload and output form runs a small job to its end without
# an error, and a flag combination it cannot run is refused with a message. Keeps the
# benchmark program (and the figures in BENCH.md) from rotting between `make bench` runs.
#   bash bench/weir_bench_test.sh BIN_DIR
set -euo pipefail
bench=${1:?usage: weir_bench_test.sh BIN_DIR}/weir_bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() {
  local line
  # The recovery workload logs its injected failure: stderr is shown only if the run fails.
  line=$("$bench" --dir "$work/run" --no-baseline --no-progress --json "$@" 2>"$work/log") ||
    { cat "$work/log" >&2; exit 1; }
  python3 - "$line" "$*" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["error"] == "", f"{sys.argv[2]}: {r['error']}"
assert r["records_per_s"] > 0 and r["cpu_seconds"] > 0, f"{sys.argv[2]}: {r}"
if r["checkpoints"] > 0:
    assert 0 < r["checkpoint_written_bytes_p50"] <= r["checkpoint_bytes_p50"], f"{sys.argv[2]}: {r}"
if r["workload"] == "recovery":
    assert r["recovery_catch_up_ms"] > 0, f"{sys.argv[2]}: did not recover: {r}"
print(f"ok: {sys.argv[2]}: {r['records_per_s']:.0f} records/s, {r['checkpoints']} checkpoints")
PY
  rm -rf "$work/run"
}

run --records 200000 --keys 1 --sink file --checkpoint 20ms
run --records 200000 --keys 1000 --sink discard
run --records 200000 --keys 1000 --sink discard --emit sum --checkpoint 20ms \
  -Dexecution.checkpointing.incremental=true
run --records 200000 --keys 1000 --backend rocksdb --sink discard --emit sum
run --workload window --records 200000 --keys 100 --window-ms 100 --sink discard
run --workload recovery --records 400000 --keys 1000 --sink discard --checkpoint 20ms

# The number has no text file to go to.
if "$bench" --records 1000 --emit sum --sink file --no-progress 2>"$work/err"; then
  echo "weir_bench accepted --emit sum with --sink file" >&2
  exit 1
fi
grep -q -- '--emit' "$work/err" || { cat "$work/err" >&2; exit 1; }
echo "weir_bench smoke test passed"
