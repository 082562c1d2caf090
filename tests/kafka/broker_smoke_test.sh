#!/usr/bin/env bash
# End to end check of scripts/kafka.sh with a real client, kcat (librdkafka, the library weir's
# Kafka connectors will use): start a broker, write a topic into being, read it back alone and in
# a consumer group, commit a transaction, hold one open (invisible to read_committed) and abort
# it, start again to reuse the broker, pause and resume it keeping its data, stop it and check
# that no process and no data are left.
#
# Needs Java 17+, Maven (the first start fetches the jars) and kcat (scripts/setup.sh installs
# both). Uses its own scratch directory and the first free port pair from 19192 up, so a broker
# that a developer runs with the defaults is left alone; WEIR_KAFKA_PORT picks the port instead.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kafka=$repo/scripts/kafka.sh
passed=0
failed=0
producer_pid=""

ok() {
  echo "ok - $*"
  passed=$((passed + 1))
}
fail() {
  echo "FAIL - $*" >&2
  failed=$((failed + 1))
  exit 1
}

# shellcheck disable=SC2016  # the bash -c script takes the port as $0
port_free() { ! timeout 2 bash -c 'exec 3<> "/dev/tcp/127.0.0.1/$0"' "$1" 2> /dev/null; }

pick_port() {
  local p
  for ((p = 19192; p < 19292; p += 2)); do
    if port_free "$p" && port_free $((p + 1)); then
      echo "$p"
      return 0
    fi
  done
  fail "no free pair of ports on 127.0.0.1 in 19192..19291"
}

# Whatever happens, no kcat and no broker outlive the test.
cleanup() {
  local rc=$?
  if [ -n "$producer_pid" ]; then kill -KILL "$producer_pid" 2> /dev/null || true; fi
  "$kafka" stop > /dev/null 2>&1 || true
  rm -rf "$tmp"
  if ((rc != 0 && failed == 0)); then failed=1; fi
  echo "broker_smoke_test: $passed passed, $failed failed"
}

command -v kcat > /dev/null || fail "kcat not found: run scripts/setup.sh (Debian package kcat)"
tmp=$(mktemp -d)
trap cleanup EXIT
port=${WEIR_KAFKA_PORT:-}
[ -n "$port" ] || port=$(pick_port)
export WEIR_KAFKA_DIR=$tmp/kafka WEIR_KAFKA_PORT=$port

# Every kcat call is bounded: -m for its metadata and transaction requests, timeout for the rest.
produce() { timeout 60 kcat -b "$bootstrap" -m 30 -P "$@"; }
# Prints the values of a topic's messages, from the beginning to the end that the isolation
# level lets it see (for read_committed that is the last stable offset).
consume() {
  timeout 60 kcat -b "$bootstrap" -m 30 -C -t "$1" -o beginning -e -q -X isolation.level="$2"
}
topics() { timeout 60 kcat -b "$bootstrap" -m 30 -L "$@"; }
lines() { printf '%s\n' "$@"; }

# --- start, status, start again --------------------------------------------------------------
started=$SECONDS
out=$("$kafka" start) || fail "scripts/kafka.sh start failed (its error is above)"
bootstrap=$(tail -n 1 <<< "$out")
[ "$bootstrap" = "127.0.0.1:$WEIR_KAFKA_PORT" ] ||
  fail "start printed '$bootstrap' as its last line, expected 127.0.0.1:$WEIR_KAFKA_PORT"
ok "start: broker ready on $bootstrap in $((SECONDS - started)) s"

"$kafka" status > /dev/null || fail "status exited non-zero with the broker running"
ok "status: exit 0 while the broker runs"

pid=$(cat "$WEIR_KAFKA_DIR/kafka.pid")
again=$("$kafka" start 2> /dev/null | tail -n 1)
[ "$again" = "$bootstrap" ] || fail "a second start printed '$again', expected $bootstrap"
[ "$(cat "$WEIR_KAFKA_DIR/kafka.pid")" = "$pid" ] || fail "a second start replaced broker $pid"
ok "start again: reuses broker pid $pid"

# --- a topic written into being, read back -----------------------------------------------------
topic=weir-smoke
if topics | grep -q "topic \"$topic\""; then fail "topic $topic exists before anything wrote it"; fi
lines one two three | produce -t "$topic" || fail "producing to $topic failed"
topics -t "$topic" | grep -q "topic \"$topic\" with 1 partitions" ||
  fail "topic $topic was not created with 1 partition: $(topics -t "$topic")"
got=$(consume "$topic" read_uncommitted)
[ "$got" = "$(lines one two three)" ] || fail "read back from $topic: '$got'"
ok "produce/consume: $topic created on first write with 1 partition, 3 messages read back in order"

# A consumer group exercises the group coordinator and __consumer_offsets.
got=$(timeout 60 kcat -b "$bootstrap" -m 30 -G weir-smoke-group -o beginning -e -q "$topic")
[ "$got" = "$(lines one two three)" ] || fail "consumer group read from $topic: '$got'"
ok "consumer group: weir-smoke-group read the 3 messages"

# --- transactions ------------------------------------------------------------------------------
txn_topic=weir-smoke-txn
lines t1 t2 t3 | produce -t "$txn_topic" -X transactional.id=weir-smoke-commit 2> /dev/null ||
  fail "transactional produce to $txn_topic failed"
got=$(consume "$txn_topic" read_committed)
[ "$got" = "$(lines t1 t2 t3)" ] || fail "read_committed after a commit saw '$got'"
ok "transaction commit: read_committed sees the 3 committed messages"

# kcat sends a transaction's messages as stdin fills 1,024 bytes and commits at end of input, or
# aborts if a signal came first. Through a FIFO the test holds the transaction open at will.
fifo=$tmp/txn.fifo
mkfifo "$fifo"
# kcat itself, not a wrapper, runs in the background: it is the process the signal must reach.
kcat -b "$bootstrap" -m 30 -P -t "$txn_topic" -X transactional.id=weir-smoke-abort \
  < "$fifo" 2> "$tmp/abort.err" &
producer_pid=$!
exec {to_producer}> "$fifo"
for i in $(seq -w 1 16); do printf 'pending-%s-%052d\n' "$i" 0; done >&"$to_producer" # 16 x 64 B
deadline=$((SECONDS + 60))
until [ "$(consume "$txn_topic" read_uncommitted | wc -l)" -eq 19 ]; do
  ((SECONDS < deadline)) || fail "the 16 messages of the open transaction never reached the broker"
  sleep 0.5
done
got=$(consume "$txn_topic" read_committed)
[ "$got" = "$(lines t1 t2 t3)" ] || fail "read_committed saw an open transaction: '$got'"
ok "open transaction: its 16 messages are in the log, read_committed does not see them"

kill -TERM "$producer_pid"
exec {to_producer}>&-
wait "$producer_pid" || true
producer_pid=""
grep -q "Aborting transaction" "$tmp/abort.err" ||
  fail "kcat did not abort the transaction: $(cat "$tmp/abort.err")"
# Only once the abort is complete can a later committed message become visible past it.
lines after-abort | produce -t "$txn_topic" -X transactional.id=weir-smoke-commit 2> /dev/null ||
  fail "transactional produce after the abort failed"
got=$(consume "$txn_topic" read_committed)
[ "$got" = "$(lines t1 t2 t3 after-abort)" ] || fail "read_committed after the abort saw '$got'"
ok "transaction abort: the aborted messages stay invisible, a later commit is visible"

# --- pause and resume: an outage that keeps the data --------------------------------------------
"$kafka" pause 2> /dev/null || fail "scripts/kafka.sh pause failed"
port_free "$WEIR_KAFKA_PORT" || fail "port $WEIR_KAFKA_PORT still accepts connections after pause"
if "$kafka" status > /dev/null; then fail "status exited 0 while paused"; fi
resumed=$("$kafka" resume 2> /dev/null | tail -n 1) || fail "scripts/kafka.sh resume failed"
[ "$resumed" = "$bootstrap" ] || fail "resume printed '$resumed', expected $bootstrap"
got=$(consume "$txn_topic" read_committed)
[ "$got" = "$(lines t1 t2 t3 after-abort)" ] || fail "read_committed after a resume saw '$got'"
pid=$(cat "$WEIR_KAFKA_DIR/kafka.pid")
ok "pause/resume: the broker came back on $bootstrap with its topics and transactions"

# --- stop ----------------------------------------------------------------------------------------
stopped=$SECONDS
"$kafka" stop 2> /dev/null || fail "scripts/kafka.sh stop failed"
# A zombie (state Z) has ended: it waits only for its new parent, often init, to reap it.
state=$(ps -o stat= -p "$pid") || true
[[ -z $state || $state == Z* ]] || fail "broker pid $pid still runs after stop: $(ps -fp "$pid")"
for p in /proc/[0-9]*; do
  if tr '\0' ' ' 2> /dev/null < "$p/cmdline" | grep -q "kafka.Kafka $WEIR_KAFKA_DIR/"; then
    fail "a broker of $WEIR_KAFKA_DIR still runs after stop: ${p#/proc/}"
  fi
done
[ ! -e "$WEIR_KAFKA_DIR" ] || fail "stop left $WEIR_KAFKA_DIR behind: $(ls -A "$WEIR_KAFKA_DIR")"
port_free "$WEIR_KAFKA_PORT" || fail "port $WEIR_KAFKA_PORT still accepts connections after stop"
if "$kafka" status > /dev/null; then fail "status exited 0 after stop"; fi
ok "stop: in $((SECONDS - stopped)) s, no process, no data directory, port closed, status non-zero"

"$kafka" stop 2> /dev/null || fail "a second stop failed"
ok "stop again: succeeds with nothing to stop"
