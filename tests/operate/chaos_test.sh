#!/usr/bin/env bash
# `weir chaos` proves exactly-once by kill -9: it must pass on the seed job (transactional file
# sink) and fail on crash_job --at-least-once-sink, whose plain appends write the records
# replayed after a restore a second time.
#
# usage: chaos_test.sh BIN_DIR   (bin/weir, bin/fault_tolerance, bin/crash_job)
set -euo pipefail

bin=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/weir-chaos-test-XXXXXX")
trap 'rm -rf "$work"' EXIT
export TMPDIR="$work"  # chaos keeps the directories of a failed run: here, and removed

"$bin/weir" chaos --kills 3 --seed 7 --output output/sum_results.txt -- \
  "$bin/fault_tolerance" --end 4000 --delay-ms 1 --no-progress -D rest.bind-port=18081-18181 \
  -D execution.checkpointing.interval=200ms | tee "$work/pass.log"
grep -q "PASSED: 3 kills" "$work/pass.log" || { echo "FAILED: weir chaos did not kill 3 times"; exit 1; }

set +e
"$bin/weir" chaos --kills 3 --seed 7 --output output -- \
  "$bin/crash_job" --records 4000 --delay-us 1000 --at-least-once-sink --no-progress \
  -D rest.bind-port=18081-18181 -D execution.checkpointing.interval=200ms >"$work/fail.log" 2>&1
status=$?
set -e
cat "$work/fail.log"
if [ $status != 1 ] || ! grep -q "FAILED: .*differs from the reference" "$work/fail.log"; then
  echo "FAILED: weir chaos exited $status on the at-least-once sink; it must find the duplicates"
  exit 1
fi
echo "chaos_test: 2 passed, 0 failed"
