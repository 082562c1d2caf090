#!/usr/bin/env bash
# The seed job with the hashmap backend's incremental checkpoints, as a user runs it: SIGKILLed
# mid-run, its retained checkpoints share one key file under shared/; `weir inspect` and
# `weir verify` read them, and `weir verify` names a damaged key file; resumed with
# `--restore latest`, the output is exactly an uninterrupted run's.
#
# usage: heap_incremental_test.sh BIN_DIR   (bin/fault_tolerance and bin/weir)
set -euo pipefail

bin=$(cd "$1" && pwd)
weir="$bin/weir"
work=$(mktemp -d "${TMPDIR:-/tmp}/weir-heap-incremental-XXXXXX")
export WEIR_RUNTIME_DIR="$work/run"
mkdir -m 700 "$WEIR_RUNTIME_DIR"
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  if [ "${keep:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  for f in "$work"/*.log "$work"/*.out; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  keep=1
  exit 1
}
cd "$work"
end=20000
flags=(--end $end --no-progress -D state.backend.type=hashmap
       -D execution.checkpointing.incremental=true -D execution.checkpointing.interval=100ms
       -D execution.checkpointing.num-retained=3)

"$bin/fault_tolerance" "${flags[@]}" --delay-ms 1 >run.log 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  [ "$(find checkpoints -name _metadata 2>/dev/null | wc -l)" -ge 3 ] && break
  sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=

job_dir=$(dirname "$(find checkpoints -name _job | head -1)")
retained=$(ls -d "$job_dir"/chk-*/_metadata | wc -l)
keys=$(ls "$job_dir/shared")
[ "$(echo "$keys" | wc -l)" = 1 ] || fail "the retained checkpoints should share one key file: $keys"
newest=$(dirname "$(ls "$job_dir"/chk-*/_metadata | sort -V | tail -1)")
"$weir" verify "$newest" >verify.out 2>&1 || fail "weir verify $newest"
"$weir" inspect "$newest" >inspect.out 2>&1 || fail "weir inspect $newest"
grep -q "sum: value of 'i64', 1 keys" inspect.out || fail "weir inspect shows no key: $(cat inspect.out)"
# The newest reuses the key file an older one wrote: it holds more than it wrote.
grep -q "written by this checkpoint" inspect.out ||
  fail "weir inspect does not tell what the checkpoint wrote: $(cat inspect.out)"
"$weir" inspect "$newest" --state running-sum/sum >state.out 2>&1 || fail "weir inspect --state"
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); assert d["key"] == 0 and d["value"] == 0, d' \
  state.out || fail "weir inspect --state: $(cat state.out)"

# A damaged key file: every checkpoint that shares it fails verification, naming the file.
cp -r "$job_dir" damaged
key_file="damaged/shared/$keys"
printf 'X' | dd of="$key_file" bs=1 seek=10 conv=notrunc 2>/dev/null
set +e
"$weir" verify "damaged/$(basename "$newest")" >damaged.out 2>&1
status=$?
set -e
[ $status = 1 ] && grep -q "checksum mismatch" damaged.out && grep -q "$keys" damaged.out ||
  fail "weir verify of a damaged key file exited $status: $(cat damaged.out)"

# Resume from the newest checkpoint: the output is exactly an uninterrupted run's.
"$bin/fault_tolerance" "${flags[@]}" --delay-ms 0 --restore latest >restore.log 2>&1 ||
  fail "the restore failed"
python3 - output/sum_results.txt $end <<'PY' || fail "the output is not exact"
import sys
path, end = sys.argv[1], int(sys.argv[2])
want = "0\n" * end + "1000\n"
got = open(path).read()
if got != want:
    sys.exit(f"{path}: {len(got)} bytes, want {len(want)}")
PY
echo "heap incremental: $retained checkpoints retained at the kill, one key file;" \
  "inspect, verify, resume exact"
