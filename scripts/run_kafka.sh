#!/usr/bin/env bash
# make run-kafka: the seed job on Kafka, end to end. Starts the test broker (scripts/kafka.sh)
# unless KAFKA_BOOTSTRAP names one, and then:
#   1. deletes the topics `numbers` and `sums` if an earlier run (or anything else) left them,
#      and creates them empty, one partition each, with Kafka's own topic tool
#      (scripts/kafka.sh topics), so a reused broker never adds old records to this run's;
#   2. writes 0..END (UTF-8 decimal values) to `numbers` with kcat and checks that the topic
#      holds exactly those END+1 records;
#   3. runs examples/kafka_fault_tolerance, which reads them with the Kafka source (bounded)
#      and writes its running sums exactly-once to `sums`;
#   4. reads `sums` back as a read_committed consumer (kcat) and says whether it holds exactly
#      the expected sums: END zeros and a last 1000, each once.
#
#   scripts/run_kafka.sh BUILD_DIR [example flags...]     e.g. --end 5000 --delay-ms 0
#
# --input-topic, --output-topic and --transactional-id-prefix among the flags replace the
# defaults (numbers, sums, run-kafka); the topics named are deleted and created as above.
# Environment: KAFKA_BOOTSTRAP (host:port of a running broker, which must allow topic deletion;
# default: start the test broker, which stays up: scripts/kafka.sh stop ends it), RUN_DIR
# (working directory of the job, for its checkpoints; default output/kafka).
set -euo pipefail

die() {
  echo "run-kafka: error: $*" >&2
  exit 1
}

build_dir=${1:?usage: $0 BUILD_DIR [example flags...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
example=$root/$build_dir/bin/kafka_fault_tolerance
[ -x "$example" ] || die "$example is not built (make build)"
command -v kcat > /dev/null || die "kcat is missing (scripts/setup.sh installs it)"

# The flags this script must know about, in either form the example accepts (--flag value or
# --flag=value). Those not given are added with the defaults below.
end=20000
input_topic=numbers
output_topic=sums
prefix=run-kafka
args=("$@")
given=" "
for ((i = 0; i < ${#args[@]}; ++i)); do
  flag=${args[i]%%=*}
  case $flag in
    --end | --input-topic | --output-topic | --transactional-id-prefix | --bootstrap-servers) ;;
    *) continue ;;
  esac
  if [[ ${args[i]} == *=* ]]; then
    value=${args[i]#*=}
  elif ((i + 1 < ${#args[@]})); then
    value=${args[i + 1]}
  else
    die "$flag needs a value"
  fi
  given+="$flag "
  case $flag in
    --end) end=$value ;;
    --input-topic) input_topic=$value ;;
    --output-topic) output_topic=$value ;;
    --transactional-id-prefix) prefix=$value ;;
    --bootstrap-servers) die "give the broker as KAFKA_BOOTSTRAP=$value, not --bootstrap-servers" ;;
  esac
done
[[ $end =~ ^[0-9]+$ ]] || die "--end must be a number (got '$end')"
[ "$input_topic" != "$output_topic" ] || die "the input and output topics are both '$input_topic'"
defaults=()
[[ $given == *" --input-topic "* ]] || defaults+=(--input-topic "$input_topic")
[[ $given == *" --output-topic "* ]] || defaults+=(--output-topic "$output_topic")
[[ $given == *" --transactional-id-prefix "* ]] || defaults+=(--transactional-id-prefix "$prefix")

bootstrap=${KAFKA_BOOTSTRAP:-$(bash "$root/scripts/kafka.sh" start | tail -n 1)}
run_dir=${RUN_DIR:-$root/output/kafka}
mkdir -p "$run_dir"

topics() { bash "$root/scripts/kafka.sh" topics --bootstrap-server "$bootstrap" "$@"; }

# Deletes a topic if it exists and creates it empty. Kafka deletes a topic asynchronously: for
# a moment after the delete the name is still taken ("already exists", "marked for deletion"),
# so the create is tried again for up to a minute.
recreate_topic() {
  local topic=$1 out deadline=$((SECONDS + 60))
  # The tool reads --topic as a regular expression: a '.' in a name must match only itself.
  out=$(topics --delete --if-exists --topic "${topic//./\\.}" 2>&1) ||
    die "could not delete topic '$topic' on $bootstrap: $out"
  until out=$(topics --create --topic "$topic" --partitions 1 --replication-factor 1 2>&1); do
    [[ $out == *"already exists"* || $out == *"marked for deletion"* ]] ||
      die "could not create topic '$topic' on $bootstrap: $out"
    ((SECONDS < deadline)) ||
      die "topic '$topic' on $bootstrap was still being deleted after 60 s: $out"
    sleep 1
  done
}

# Every record of a topic from the beginning, one value a line; read_committed sees only the
# records of committed transactions (and all non-transactional ones).
read_topic() {
  kcat -b "$bootstrap" -C -t "$1" -o beginning -e -q -X isolation.level=read_committed \
    -X log_level=3
}

echo "run-kafka: broker $bootstrap: deleting and creating topics '$input_topic' and" \
  "'$output_topic'" >&2
recreate_topic "$input_topic"
recreate_topic "$output_topic"

echo "run-kafka: writing 0..$end to topic '$input_topic'" >&2
seq 0 "$end" | kcat -P -b "$bootstrap" -t "$input_topic" -X enable.idempotence=true -X log_level=3
written=$(read_topic "$input_topic" | wc -l)
[ "$written" -eq $((end + 1)) ] ||
  die "topic '$input_topic' holds $written records after writing $((end + 1)): is another" \
    "client writing to it?"

echo "run-kafka: reading topic '$input_topic', writing the sums to topic '$output_topic'" >&2
echo "run-kafka: after a kill, resume in $run_dir with the same flags and --restore latest:" >&2
echo "  $example --bootstrap-servers $bootstrap ${defaults[*]} $* --restore latest" >&2
(cd "$run_dir" && "$example" --bootstrap-servers "$bootstrap" "${defaults[@]}" "$@")

got=$(mktemp)
expected=$(mktemp)
trap 'rm -f "$got" "$expected"' EXIT
read_topic "$output_topic" > "$got"
{ head -n "$end" < <(yes 0); echo 1000; } > "$expected"
if cmp -s "$got" "$expected"; then
  echo "run-kafka: topic '$output_topic' holds exactly the $((end + 1)) expected sums" \
    "(read_committed)"
else
  die "topic '$output_topic' does NOT hold the expected sums: $(wc -l < "$got") records read," \
    "$((end + 1)) expected"
fi
