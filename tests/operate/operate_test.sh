#!/usr/bin/env bash
# Operates a running seed job as a Flink user would: through its REST API, the weir tool and a
# real Prometheus server. It takes a checkpoint and a savepoint, stops the job with a
# savepoint, restores from that savepoint, and checks the output is exactly an uninterrupted
# run's. A second job is cancelled. Bad requests must get their 4xx and leave the job running.
#
# usage: operate_test.sh BIN_DIR   (bin/fault_tolerance and bin/weir)
set -euo pipefail

bin=$(cd "$1" && pwd)
weir="$bin/weir"
work=$(mktemp -d "${TMPDIR:-/tmp}/weir-operate-XXXXXX")
export WEIR_RUNTIME_DIR="$work/run"  # only this test's jobs are listed
mkdir -m 700 "$WEIR_RUNTIME_DIR"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ "${keep:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
  keep=1
  exit 1
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect_code() {  # WANT CURL-ARGS...
  local want=$1
  shift
  local got
  got=$(code "$@")
  [ "$got" = "$want" ] || fail "curl $* answered $got, want $want"
}
wait_for() {  # SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for $what"
    sleep 0.2
  done
}

end=200000
cd "$work"
"$bin/fault_tolerance" --end $end --delay-ms 1 --no-progress -D rest.bind-port=18081-18181 \
  >job.log 2>&1 &
pid=$!
pids+=($pid)
job_listed() { [ "$("$weir" list --json | json 'len(d)')" = 1 ]; }
wait_for 30 "the job in weir list" job_listed
"$weir" list
job=$("$weir" list --json | json 'd[0]["job_id"]')
url=$("$weir" list --json | json 'd[0]["rest_url"]')
[ "$("$weir" list --json | json 'd[0]["pid"]')" = "$pid" ] || fail "weir list names another pid"

# ---- The REST API, with Flink's paths and names ------------------------------------------------
[ "$(curl -sf "$url/jobs/overview" | json 'd["jobs"][0]["state"]')" = RUNNING ] ||
  fail "/jobs/overview does not say RUNNING"
[ "$(curl -sf "$url/jobs/$job" | json 'len(d["vertices"])')" = 2 ] || fail "/jobs/:jobid vertices"
curl -sf "$url/overview" | json 'd["jobs-running"]' | grep -qx 1 || fail "/overview"
curl -sf "$url/jobs/$job/plan" | json 'd["plan"]["nodes"][1]["inputs"][0]["ship_strategy"]' |
  grep -qx HASH || fail "/jobs/:jobid/plan"
curl -sf "$url/jobs/$job/checkpoints/config" | json 'd["mode"]' | grep -qx exactly_once ||
  fail "/checkpoints/config"
vertex=$(curl -sf "$url/jobs/$job" | json 'd["vertices"][1]["id"]')
curl -sf "$url/jobs/$job/vertices/$vertex/backpressure" | json 'd["backpressure-level"]' |
  grep -qxE 'ok|low|high' || fail "backpressure"
curl -sf "$url/jobs/$job/vertices/$vertex/subtasks/metrics?get=busyTimeMsPerSecond" |
  json 'd[0]["id"]' | grep -qx busyTimeMsPerSecond || fail "subtask metrics"

# Bad requests get their 4xx and the job goes on.
expect_code 404 "$url/jobs/00000000000000000000000000000000"
expect_code 400 "$url/jobs/not-a-job-id"
expect_code 404 "$url/no/such/path"
expect_code 405 -X DELETE "$url/jobs/$job"
expect_code 400 -X POST -H 'Content-Type: application/json' -d '{not json' "$url/jobs/$job/savepoints"
expect_code 400 -X POST -H 'Content-Type: application/json' \
  -d "{\"target-directory\": \"$work/../escape\"}" "$url/jobs/$job/savepoints"
expect_code 400 -X POST -H 'Content-Type: application/json' \
  -d "{\"targetDirectory\": \"$work/job.log\"}" "$url/jobs/$job/stop"
head -c 2000000 /dev/zero | tr '\0' ' ' >big.json
expect_code 413 -X POST -H 'Content-Type: application/json' --data-binary @big.json \
  "$url/jobs/$job/checkpoints"
expect_code 404 "$url/jobs/$job/savepoints/00000000000000000000000000000000"
[ "$(curl -sf "$url/jobs/$job" | json 'd["state"]')" = RUNNING ] || fail "the job is not running"

# ---- The weir tool -----------------------------------------------------------------------------
"$weir" info "$job" | grep -q "running-sum" || fail "weir info"
set +e
"$weir" info 0000000000000000 >/dev/null 2>&1
[ $? = 3 ] || fail "weir info of an unknown job must exit 3"
set -e
# Another server at the address given: weir says so (exit 1); it does not abort.
fake=$(free_port)
mkdir -p fake/jobs && echo '<html>not the REST API</html>' >fake/jobs/overview
(cd fake && exec python3 -m http.server "$fake" --bind 127.0.0.1) >fake.log 2>&1 &
pids+=($!)
wait_for 10 "the other server" curl -sf -o /dev/null "http://127.0.0.1:$fake/jobs/overview"
set +e
"$weir" list -m "127.0.0.1:$fake" 2>other.txt
rc=$?
set -e
[ $rc = 1 ] && grep -q "a weir job's REST API" other.txt ||
  fail "weir list against another server: exit $rc, $(cat other.txt)"
checkpoint=$("$weir" checkpoint "$job" --json | json 'd["checkpoint_id"]')
[ "$checkpoint" -ge 1 ] || fail "weir checkpoint"
"$weir" checkpoints "$job" --json | json '[h["id"] for h in d["history"]]' | grep -q "$checkpoint" ||
  fail "checkpoint $checkpoint is not in weir checkpoints"
curl -sf "$url/jobs/$job/checkpoints/details/$checkpoint" | json 'd["status"]' | grep -qx COMPLETED ||
  fail "/checkpoints/details/:checkpointid"
# One checkpoint in detail: each vertex and subtask, with the REST API's figures.
"$weir" checkpoints "$job" "$checkpoint" >details.out || fail "weir checkpoints JOB ID"
grep -q "START DELAY" details.out && grep -q "^  running-sum -> sum-file " details.out &&
  grep -q "^    subtask 0 " details.out || fail "weir checkpoints JOB ID printed: $(cat details.out)"
"$weir" checkpoints "$job" "$checkpoint" --json |
  json '[v["details"]["subtasks"][0]["start_delay"] for v in d["vertices"] if v["name"].startswith("running-sum")][0]' |
  grep -qE '^[0-9]+$' || fail "weir checkpoints JOB ID --json has no start delay of running-sum"
# Ids are decimal, leading zeros and all.
"$weir" checkpoints "$job" "0$checkpoint" | grep -q "^Checkpoint $checkpoint of job" ||
  fail "weir checkpoints JOB 0$checkpoint is not checkpoint $checkpoint"
set +e
"$weir" checkpoints "$job" 999999 >/dev/null 2>&1
[ $? = 3 ] || fail "weir checkpoints of an unknown checkpoint must exit 3"
"$weir" checkpoints "$job" -1 >/dev/null 2>&1
[ $? = 2 ] || fail "weir checkpoints with a negative id must exit 2"
set -e

# The seed job's state is in RocksDB: once a checkpoint's snapshot is done with them (just
# after the checkpoint completes), its backend keeps the buffers it copied the write cache's
# changed values into, and says how much.
buffers_held() {
  curl -sf "$url/metrics" | python3 -c '
import sys
held = [float(l.split()[-1]) for l in sys.stdin if l.startswith("weir_operator_stateSnapshotBufferBytes{")]
sys.exit(0 if any(h > 0 for h in held) else 1)'
}
wait_for 10 "stateSnapshotBufferBytes above 0 after checkpoints" buffers_held

# ---- Prometheus scrapes the job and answers a query on a weir metric ---------------------------
prom_port=$(free_port)
cat >prometheus.yml <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: weir
    static_configs:
      - targets: ['${url#http://}']
EOF
prometheus --config.file=prometheus.yml --storage.tsdb.path="$work/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" >prometheus.log 2>&1 &
pids+=($!)
query="weir_job_numberOfCompletedCheckpoints{job_id=\"$job\"}"
prometheus_has_it() {
  local v
  v=$(curl -sf -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$query" |
    json 'd["data"]["result"][0]["value"][1] if d["data"]["result"] else 0')
  [ "${v:-0}" -ge 1 ]
}
wait_for 60 "Prometheus to scrape $query" prometheus_has_it
echo "Prometheus: $query = $(curl -sf -G "http://127.0.0.1:$prom_port/api/v1/query" \
  --data-urlencode "query=$query" | json 'd["data"]["result"][0]["value"][1]')"
records_query="weir_task_numRecordsIn{job_id=\"$job\",task_name=~\"running-sum.*\"}"
curl -sf -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$records_query" |
  json 'd["data"]["result"][0]["metric"]["subtask_index"]' | grep -qx 0 ||
  fail "Prometheus has no $records_query"
# Behind the 1 ms-per-record sum, a barrier waits for the records queued ahead of it.
delay_query="weir_task_checkpointStartDelayNanos{job_id=\"$job\",task_name=~\"running-sum.*\"}"
start_delayed() {
  local v
  v=$(curl -sf -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$delay_query" |
    json 'd["data"]["result"][0]["value"][1] if d["data"]["result"] else 0')
  python3 -c "import sys; sys.exit(0 if float('${v:-0}') > 0 else 1)"
}
wait_for 30 "Prometheus to scrape a start delay above 0 ($delay_query)" start_delayed
echo "Prometheus: $delay_query = $(curl -sf -G "http://127.0.0.1:$prom_port/api/v1/query" \
  --data-urlencode "query=$delay_query" | json 'd["data"]["result"][0]["value"][1]')"

# ---- Savepoint, stop with a savepoint, restore: the output is exact ----------------------------
savepoint=$("$weir" savepoint "$job" savepoints-by-hand --json | json 'd["location"]')
[ -f "$savepoint/_metadata" ] || fail "weir savepoint printed $savepoint, which has no _metadata"
"$weir" verify "$savepoint" || fail "weir verify $savepoint"
stopped=$("$weir" stop "$job" --savepoint-dir stopped --drain --json | json 'd["location"]')
[[ "$stopped" == "$work/stopped/"* ]] || fail "the stop savepoint is at $stopped"
wait "$pid" || fail "the stopped job exited with $?"
"$weir" inspect "$stopped" | grep -q "operator running-sum (uid running-sum)" || fail "weir inspect"
"$weir" inspect "$stopped" --state running-sum/sum | json 'd["key"]' | grep -qx 0 ||
  fail "weir inspect --state"
cp -r "$stopped" damaged
state_file=$(find damaged -name '*.keyed' | head -1)
printf 'X' | dd of="$state_file" bs=1 seek=10 conv=notrunc 2>/dev/null
set +e
"$weir" verify damaged >verify.out 2>&1
status=$?
"$weir" info "$job" >/dev/null 2>&1
info_status=$?
set -e
[ $status = 1 ] && grep -q "checksum mismatch" verify.out ||
  fail "weir verify of a damaged savepoint exited $status: $(cat verify.out)"
[ $info_status = 3 ] || fail "weir info of an ended job must exit 3, not $info_status"
"$bin/fault_tolerance" --end $end --delay-ms 0 --no-progress --restore "$stopped" >restore.log 2>&1 ||
  fail "the restore from $stopped failed"
python3 - "$work/output/sum_results.txt" $end <<'EOF' || fail "the output is not exact"
import sys
path, end = sys.argv[1], int(sys.argv[2])
want = "0\n" * end + "1000\n"
got = open(path).read()
if got != want:
    sys.exit(f"{path}: {len(got)} bytes, want {len(want)}")
EOF

# ---- Cancel ------------------------------------------------------------------------------------
mkdir cancel && cd cancel
"$bin/fault_tolerance" --end $end --delay-ms 1 --no-progress -D rest.bind-port=18081-18181 \
  >../cancel.log 2>&1 &
pid=$!
pids+=($pid)
wait_for 30 "the second job in weir list" job_listed
"$weir" cancel "$("$weir" list --json | json 'd[0]["job_id"]')" || fail "weir cancel"
set +e
wait "$pid"
status=$?
set -e
grep -qi cancel ../cancel.log || fail "the cancelled job's log does not say so (exit $status)"
[ "$("$weir" list --json | json 'len(d)')" = 0 ] || fail "a cancelled job is still listed"
echo "operate_test: 1 passed, 0 failed"
