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

# Numbers are whole decimal numbers in range: a usage error (exit 2) otherwise, not octal,
# hexadecimal, clamped or negative values taken as something else.
for bad in "--kills 0x10" "--kills -1" "--kills 1 --timeout -5" "--kills 1 --timeout 0" \
  "--kills 1 --seed 99999999999999999999" "--kills 1 --seed -7" "--kills 1 --seed 0x10"; do
  set +e
  # shellcheck disable=SC2086  # flags and values are several words
  "$bin/weir" chaos $bad --output out -- true >/dev/null 2>&1
  status=$?
  set -e
  [ $status = 2 ] || { echo "FAILED: weir chaos $bad exited $status, not 2"; exit 1; }
done

# A job started through a wrapper that does not exec it: each kill takes the job too (its
# process group), so no run goes on beside the next.
cat >"$work/wrap.sh" <<'WRAP'
#!/bin/sh
"$@"
WRAP
"$bin/weir" chaos --kills 2 --seed 11 --output output/sum_results.txt -- \
  sh "$work/wrap.sh" "$bin/fault_tolerance" --end 4001 --delay-ms 1 --no-progress \
  -D rest.bind-port=18081-18181 -D execution.checkpointing.interval=200ms | tee "$work/wrap.log"
grep -q "PASSED: 2 kills" "$work/wrap.log" ||
  { echo "FAILED: weir chaos through a wrapper did not pass"; exit 1; }
if pgrep -f -- "$bin/fault_tolerance --end 4001 " >/dev/null; then
  echo "FAILED: a job weir chaos killed through its wrapper still runs"
  exit 1
fi

# Stopped itself (Ctrl-C, a kill), weir chaos takes the run going on with it.
"$bin/weir" chaos --kills 1 --seed 5 --output output/sum_results.txt -- \
  "$bin/fault_tolerance" --end 100003 --delay-ms 1 --no-progress \
  -D rest.bind-port=18081-18181 >"$work/stopped.log" 2>&1 &
chaos=$!
sleep 3
kill -TERM "$chaos"
wait "$chaos" || true
sleep 0.5
if pgrep -f -- "$bin/fault_tolerance --end 100003 " >/dev/null; then
  echo "FAILED: the job of a weir chaos that was stopped still runs"
  pkill -KILL -f -- "$bin/fault_tolerance --end 100003 " || true
  exit 1
fi

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
echo "chaos_test: 5 passed, 0 failed"
