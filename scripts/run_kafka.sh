#!/usr/bin/env bash
# make run-kafka: the seed job on Kafka, end to end. Starts the test broker (scripts/kafka.sh)
# unless KAFKA_BOOTSTRAP names one, writes 0..END (UTF-8 decimal values) to a fresh input topic
# with kcat, runs examples/kafka_fault_tolerance reading them with the Kafka source (bounded) and
# writing its running sums exactly-once to a fresh output topic, reads that back as a
# read_committed consumer (kcat) and says whether it holds exactly the expected sums: END zeros
# and a last 1000, each once. Both topics are named after the time of the run ("numbers-<time>",
# "sums-<time>"), so that runs do not add to each other's input.
#
#   scripts/run_kafka.sh BUILD_DIR [example flags...]     e.g. --end 5000 --delay-ms 0
#
# Environment: KAFKA_BOOTSTRAP (host:port of a running broker; default: start the test broker,
# which stays up: scripts/kafka.sh stop ends it), RUN_DIR (working directory of the job, for its
# checkpoints; default output/kafka).
set -euo pipefail

build_dir=${1:?usage: $0 BUILD_DIR [example flags...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
example=$root/$build_dir/bin/kafka_fault_tolerance
[ -x "$example" ] || { echo "run-kafka: $example is not built (make build)" >&2; exit 1; }
command -v kcat > /dev/null || { echo "run-kafka: kcat is missing (scripts/setup.sh installs it)" >&2; exit 1; }

bootstrap=${KAFKA_BOOTSTRAP:-$(bash "$root/scripts/kafka.sh" start | tail -n 1)}
stamp=$(date +%Y%m%d-%H%M%S)
topic=sums-$stamp
input_topic=numbers-$stamp
prefix=run-kafka-$stamp
end=20000
args=("$@")
for ((i = 0; i < ${#args[@]}; ++i)); do
  if [ "${args[i]}" = --end ] && ((i + 1 < ${#args[@]})); then end=${args[i + 1]}; fi
done
run_dir=${RUN_DIR:-$root/output/kafka}
mkdir -p "$run_dir"

echo "run-kafka: broker $bootstrap, writing 0..$end to topic '$input_topic'" >&2
seq 0 "$end" | kcat -P -b "$bootstrap" -t "$input_topic" -X enable.idempotence=true -X log_level=3
echo "run-kafka: reading topic '$input_topic', writing the sums to topic '$topic'" >&2
echo "run-kafka: after a kill, resume in $run_dir with the same flags and --restore latest:" >&2
echo "  $example --bootstrap-servers $bootstrap --input-topic $input_topic --output-topic $topic --transactional-id-prefix $prefix --restore latest" >&2
(cd "$run_dir" && "$example" --bootstrap-servers "$bootstrap" --input-topic "$input_topic" \
  --output-topic "$topic" --transactional-id-prefix "$prefix" "$@")

got=$(mktemp)
expected=$(mktemp)
trap 'rm -f "$got" "$expected"' EXIT
kcat -b "$bootstrap" -C -t "$topic" -o beginning -e -q -X isolation.level=read_committed > "$got"
{ head -n "$end" < <(yes 0); echo 1000; } > "$expected"
if cmp -s "$got" "$expected"; then
  echo "run-kafka: topic '$topic' holds exactly the $((end + 1)) expected sums (read_committed)"
else
  echo "run-kafka: topic '$topic' does NOT hold the expected sums: $(wc -l < "$got") records read, $((end + 1)) expected" >&2
  exit 1
fi
