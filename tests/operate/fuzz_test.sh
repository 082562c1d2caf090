#!/usr/bin/env bash
# Fuzzes a running seed job's REST API with schemathesis against docs/rest_api.yaml: no
# response may be a 5xx or differ from the document, and the job must still run and stop
# cleanly with a savepoint afterwards.
#
# Two rounds. The first names the running job and one of its vertices, so requests reach the
# handlers behind the id checks (invalid data is sent too, but not judged by whether it is
# refused: schemathesis counts an id it generated as invalid even after the real one replaced
# it); it leaves out cancel and stop, which would end the job under
# the fuzzer (operate_test.sh covers both), and keeps savepoint targets inside this test's
# directory (schemathesis_hooks.py). The second round generates every id itself (and has no
# stateful phase, which would find the job's id), so every operation, cancel and stop
# included, is fuzzed against ids the job does not know.
#
# usage: fuzz_test.sh SOURCE_DIR BIN_DIR   (WEIR_FUZZ_SECONDS: each round's budget, default 60)
set -euo pipefail

src=$(cd "$1" && pwd)
bin=$(cd "$2" && pwd)
budget=${WEIR_FUZZ_SECONDS:-60}
venv=$(bash "$src/scripts/python_venv.sh")
work=$(mktemp -d "${TMPDIR:-/tmp}/weir-fuzz-XXXXXX")
export WEIR_RUNTIME_DIR="$work/run"
mkdir -m 700 "$WEIR_RUNTIME_DIR"
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "${keep:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*" >&2
  tail -30 "$work/job.log" >&2 || true
  keep=1
  exit 1
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

cd "$work"
"$bin/fault_tolerance" --end 10000000 --delay-ms 1 --no-progress -D rest.bind-port=18081-18181 \
  >job.log 2>&1 &
pid=$!
for _ in $(seq 150); do
  [ "$("$bin/weir" list --json | json 'len(d)')" = 1 ] && break
  sleep 0.2
done
url=$("$bin/weir" list --json | json 'd[0]["rest_url"]') || fail "the job did not start"
export WEIR_JOB_ID=$("$bin/weir" list --json | json 'd[0]["job_id"]')
export WEIR_VERTEX_ID=$(curl -sf "$url/jobs/$WEIR_JOB_ID" | json 'd["vertices"][-1]["id"]')
export SCHEMATHESIS_HOOKS=schemathesis_hooks
export PYTHONPATH="$src/tests/operate"
cat >known_ids.toml <<'TOML'
[parameters]
"path.jobid" = "${WEIR_JOB_ID}"
"path.vertexid" = "${WEIR_VERTEX_ID}"

# A savepoint target the schema allows can still be refused by the file system (its parent
# does not exist, it is a file): that 400 is right, not a schema-valid request rejected.
[[operations]]
include-operation-id = ["triggerSavepoint", "stopJobWithSavepoint"]
checks.positive_data_acceptance.expected-statuses = ["2XX", 400, 404, 409, 429]
TOML

echo "== round 1: job $WEIR_JOB_ID, vertex $WEIR_VERTEX_ID"
"$venv/bin/schemathesis" --config-file known_ids.toml run "$src/docs/rest_api.yaml" --url "$url" \
  --checks all --exclude-checks negative_data_rejection --max-time "$budget" --seed 1 \
  --no-color --suppress-health-check all --exclude-method PATCH --exclude-path /jobs/{jobid}/stop >round1.log 2>&1 ||
  { cat round1.log; fail "schemathesis found problems with the job's own ids"; }
tail -12 round1.log
echo "== round 2: generated ids"
# Ids seen in responses are not reused here, and there is no stateful phase: either would
# find the job's id in GET /jobs and cancel the job.
cat >generated_ids.toml <<'TOML'
[phases.coverage.extra-data-sources]
responses = false
[phases.fuzzing.extra-data-sources]
responses = false
TOML
"$venv/bin/schemathesis" --config-file generated_ids.toml run "$src/docs/rest_api.yaml" \
  --url "$url" --checks all --max-time "$budget" --seed 1 --no-color \
  --suppress-health-check all --phases examples,coverage,fuzzing >round2.log 2>&1 ||
  { cat round2.log; fail "schemathesis found problems with generated ids"; }
tail -12 round2.log

# The job took all that and goes on: it still runs, and stops with a savepoint.
[ "$(curl -sf "$url/jobs/$WEIR_JOB_ID" | json 'd["state"]')" = RUNNING ] ||
  fail "the job is not running after the fuzzing"
"$bin/weir" stop "$WEIR_JOB_ID" --savepoint-dir "$work/final" || fail "weir stop after the fuzzing"
wait "$pid" || fail "the job exited with $? after its stop"
pid=
echo "fuzz_test: 1 passed, 0 failed"
