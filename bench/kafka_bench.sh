#!/usr/bin/env bash
# The Kafka figures of BENCH.md: weir's Kafka sink with each delivery guarantee and its Kafka
# source, against one local broker (scripts/kafka.sh, started or reused; or KAFKA_BOOTSTRAP).
# Prints one line per case: the kafka_bench command, then its result, then the broker's CPU
# time during the case (the broker is a separate process, not in kafka_bench's CPU figure).
#
#   bash bench/kafka_bench.sh [BUILD_DIR] [RECORDS] [VALUE_BYTES] [REPEAT]
#        defaults:            build/release 1000000  100           1
#
# Cases, each on a fresh one-partition topic, checkpoints every second:
#   sink none, sink at-least-once, sink exactly-once  (RECORDS values of VALUE_BYTES bytes)
#   source                                            (a bounded read of the `none` case's topic)
# With REPEAT > 1 the cases run that many times, interleaved (none, at-least-once,
# exactly-once, source, none, ...), so a change in the machine's load spreads over all of them.
# The topics are deleted at the end. Needs kcat (scripts/setup.sh) to count what was written.
set -euo pipefail

build=${1:-build/release}
records=${2:-1000000}
value_bytes=${3:-100}
repeat=${4:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/bin/kafka_bench
die() {
  echo "kafka_bench.sh: error: $*" >&2
  exit 1
}
[ -x "$bin" ] || die "$bin is not built (cmake --build --preset release --target kafka_bench)"
[[ $records =~ ^[1-9][0-9]*$ ]] || die "RECORDS must be a positive number (got '$records')"
[[ $value_bytes =~ ^[1-9][0-9]*$ ]] ||
  die "VALUE_BYTES must be a positive number (got '$value_bytes')"
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "REPEAT must be a positive number (got '$repeat')"
command -v kcat > /dev/null || die "kcat is missing (scripts/setup.sh installs it)"

kafka() { bash "$root/scripts/kafka.sh" "$@"; }
bootstrap=${KAFKA_BOOTSTRAP:-$(kafka start | tail -n 1)}
# The broker's pid, for its CPU time: only for the broker of scripts/kafka.sh.
broker_pid=""
if [ -z "${KAFKA_BOOTSTRAP:-}" ]; then
  broker_pid=$(kafka status | sed -n 's/^kafka: running, pid \([0-9]*\),.*/\1/p')
fi

# user + system CPU seconds of a process, from /proc/PID/stat (fields 14 and 15, in ticks).
cpu_of() {
  [ -n "$1" ] || return 0
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
    "/proc/$1/stat"
}

stamp=$(date +%Y%m%d-%H%M%S)
topics=()
create_topic() {
  kafka topics --bootstrap-server "$bootstrap" --create --topic "$1" --partitions 1 \
    --replication-factor 1 > /dev/null || die "could not create topic '$1' on $bootstrap"
}
# One call for all of them (a JVM start each would take seconds): --topic is a regular
# expression there, and the stamp holds only digits and '-'.
cleanup() {
  [ ${#topics[@]} -gt 0 ] || return 0
  kafka topics --bootstrap-server "$bootstrap" --delete --if-exists \
    --topic "kafka-bench-$stamp-.*" > /dev/null 2>&1 ||
    echo "kafka_bench.sh: could not delete the topics kafka-bench-$stamp-* on $bootstrap" >&2
}
trap cleanup EXIT

# Runs one case: prints its command, its result line and the broker's CPU time during it.
run_case() {
  echo "\$ $bin --bootstrap-servers $bootstrap $*"
  local before after
  before=$(cpu_of "$broker_pid")
  "$bin" --bootstrap-servers "$bootstrap" "$@" || die "the case above failed"
  after=$(cpu_of "$broker_pid")
  [ -z "$broker_pid" ] ||
    awk -v a="$before" -v b="$after" -v pid="$broker_pid" \
      'BEGIN { printf "  broker (pid %s) CPU during the case: %.2f s\n", pid, b - a }'
}

# Records a read_committed consumer sees in a topic: what the sink's readers get.
committed_records() {
  kcat -b "$bootstrap" -C -t "$1" -o beginning -e -q -X isolation.level=read_committed \
    -X log_level=3 -f '\n' | wc -l
}

echo "== kafka: broker $bootstrap, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$records records of $value_bytes bytes, $(date -u '+%Y-%m-%d %H:%M UTC')"
for ((round = 1; round <= repeat; ++round)); do
  source_topic=""
  for guarantee in none at-least-once exactly-once; do
    topic=kafka-bench-$stamp-$round-$guarantee
    topics+=("$topic")
    create_topic "$topic"
    run_case --case sink --topic "$topic" --records "$records" --value-bytes "$value_bytes" \
      --delivery-guarantee "$guarantee" --checkpoint 1s
    written=$(committed_records "$topic")
    [ "$written" -eq "$records" ] ||
      die "topic '$topic' holds $written committed records after the sink wrote $records"
    [ -n "$source_topic" ] || source_topic=$topic
  done
  run_case --case source --topic "$source_topic" --records "$records" --checkpoint 1s
done
