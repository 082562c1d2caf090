#!/usr/bin/env bash
# scripts/kafka.sh start|stop|status|pause|resume: a single-node Apache Kafka broker (KRaft
# mode, broker and controller in one JVM) on 127.0.0.1, for weir's Kafka connector tests.
# scripts/kafka/README.md says what it runs, where its data goes and what it leaves behind.
#
#   start   installs the jars with Maven if missing, formats a fresh storage directory, starts the
#           broker, waits until it answers a Kafka request and prints 127.0.0.1:<port> as the last
#           (and only) line of stdout. Reuses the broker this script already runs there.
#   stop    stops the broker (SIGTERM, SIGKILL after a timeout), deletes its data and logs.
#   status  prints whether a broker runs and where; exit 0 if it runs and answers, 1 if not.
#   topics ARGS...
#           runs Kafka's topic tool (what kafka-topics.sh runs: org.apache.kafka.tools.TopicCommand)
#           with ARGS, against any broker, e.g. topics --bootstrap-server 127.0.0.1:19092 --list.
#           Installs the jars if missing; needs no broker of this script.
#   pause   stops the broker as stop does, but keeps its data, config and logs (a broker outage,
#           for tests of what clients do meanwhile).
#   resume  starts the paused broker again from its kept data, on the same address, waits until
#           it answers and prints the address as start does. Reuses a broker that runs.
#
# Environment (all optional):
#   WEIR_KAFKA_PORT           client port, default 19092; the controller listens on the next port
#   WEIR_KAFKA_DIR            scratch directory for data, logs, config and pid file,
#                             default build/kafka/run under the repository root
#   WEIR_KAFKA_START_TIMEOUT  seconds to wait for the broker to answer, default 120
#   WEIR_KAFKA_HEAP           JVM heap options, default "-Xms128m -Xmx512m"
#   JAVA_HOME                 the Java 17+ to run; otherwise java from PATH
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
readonly pom=$repo/scripts/kafka/pom.xml
readonly log4j_config=$repo/scripts/kafka/log4j2.properties
readonly lib=$repo/build/kafka/lib
readonly lock_file=$repo/build/kafka/.lock
dir=$(realpath -m "${WEIR_KAFKA_DIR:-$repo/build/kafka/run}")
readonly dir
readonly config=$dir/server.properties
readonly pid_file=$dir/kafka.pid
readonly logs=$dir/logs
readonly port=${WEIR_KAFKA_PORT:-19092}
readonly start_timeout=${WEIR_KAFKA_START_TIMEOUT:-120}
readonly stop_timeout=60
readonly heap=${WEIR_KAFKA_HEAP:--Xms128m -Xmx512m}

say() { echo "kafka: $*" >&2; }
die() {
  echo "kafka: error: $*" >&2
  exit 1
}

check_settings() {
  if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1024 || port > 65534)); then
    die "WEIR_KAFKA_PORT=$port is not a port number in 1024..65534"
  fi
  [[ $start_timeout =~ ^[0-9]+$ ]] ||
    die "WEIR_KAFKA_START_TIMEOUT=$start_timeout is not a number of seconds"
}

# Kafka 4 brokers need Java 17 or newer.
find_java() {
  java=${JAVA_HOME:+$JAVA_HOME/bin/}java
  command -v "$java" > /dev/null || die "no java found (set JAVA_HOME or put Java 17+ on PATH)"
  local spec
  spec=$("$java" -XshowSettings:properties -version 2>&1 | awk '/java.specification.version/ {print $3}')
  if ! [[ $spec =~ ^[0-9]+$ ]] || ((spec < 17)); then
    die "$java is Java ${spec:-of unknown version}; Kafka 4 needs Java 17 or newer"
  fi
}

# The jars are copied once and reused. A stamp holding the pom's checksum tells a complete copy
# of this pom's jars from one an interrupted Maven run left half done, or one of an older pom.
install_jars() {
  local want
  want=$(sha256sum "$pom" | cut -d' ' -f1)
  [ "$(cat "$lib/.pom.sha256" 2> /dev/null)" = "$want" ] && return 0
  command -v mvn > /dev/null ||
    die "mvn not found: Maven fetches the Kafka jars listed in $pom (Debian package maven)"
  say "installing the Kafka jars with Maven into $lib (first start only)"
  local tmp=$lib.tmp.$$
  rm -rf "$tmp"
  # Maven 3.8 prints colour codes even in batch mode; sed drops them (pipefail keeps its status).
  if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; then
    rm -rf "$tmp"
    die "Maven could not fetch the jars listed in $pom (its output is above)"
  fi
  rm -rf "$lib"
  mv "$tmp" "$lib"
  echo "$want" > "$lib/.pom.sha256"
}

# A pid is our broker only if that process runs kafka.Kafka with this scratch directory's config:
# a pid file left by a crash may name an unrelated process by now. A zombie has an empty cmdline.
is_our_broker() {
  local pid=$1 cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmdline=$(tr '\0' ' ' 2> /dev/null < "/proc/$pid/cmdline") || return 1
  [[ $cmdline == *" kafka.Kafka $config "* ]]
}

# Prints the pid of the broker running from $dir, or fails. The pid file is the usual way; the
# scan of /proc finds a broker whose pid file was deleted, so stop never leaves one behind.
broker_pid() {
  local pid
  pid=$(cat "$pid_file" 2> /dev/null) || true
  if is_our_broker "$pid"; then
    echo "$pid"
    return 0
  fi
  # One grep over every process's arguments (NUL-separated) finds the candidates.
  local cmdline
  # shellcheck disable=SC2013  # /proc paths have no blanks
  for cmdline in $(grep -lzxF -- "$config" /proc/[0-9]*/cmdline 2> /dev/null); do
    pid=${cmdline#/proc/}
    pid=${pid%/cmdline}
    if is_our_broker "$pid"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# The bootstrap address a running broker was configured with (WEIR_KAFKA_PORT may differ now).
configured_address() {
  sed -n 's|^advertised.listeners=PLAINTEXT://||p' "$config" 2> /dev/null
}

# The bash -c scripts below take the port or address as $0 (hence the single quotes).
# shellcheck disable=SC2016
port_open() {
  timeout 2 bash -c 'exec 3<> "/dev/tcp/127.0.0.1/$0"' "$1" 2> /dev/null
}

# A real Kafka round trip: an ApiVersions v0 request, the first request of every client. An open
# port alone proves less: that Kafka 4.1 opens its client listener only once the broker is
# registered with its controller and unfenced is a detail of its start-up order, not a promise.
# shellcheck disable=SC2016
api_versions_ok() {
  timeout 5 bash -c '
    exec 3<> "/dev/tcp/${0%:*}/${0##*:}" || exit 1
    # length 10, api_key 18 (ApiVersions), api_version 0, correlation_id 1, client_id null
    printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff" >&3
    # The answer: length, correlation_id 1, error_code 0 (NONE).
    reply=$(head -c 10 <&3 | od -An -v -tx1 | tr -d " \n")
    [ "${reply:8:12}" = "000000010000" ]
  ' "$1" 2> /dev/null
}

# Names the process that listens on a port, as " (java pid 123)", where ss can tell.
port_holder() {
  command -v ss > /dev/null || return 0
  ss -Hltnp "sport = :$1" 2> /dev/null | head -1 |
    sed -nE 's/.*users:\(\("([^"]*)",pid=([0-9]+).*/ (\1 pid \2)/p'
}

check_port_free() {
  local p=$1 what=$2
  port_open "$p" || return 0
  die "port $p on 127.0.0.1 ($what) is taken by a process$(port_holder "$p") that is not" \
    "a broker of this script running from $dir. Stop it, or choose free ports with" \
    "WEIR_KAFKA_PORT (the broker uses that port and the next one)."
}

# Deletes only what start creates, so a WEIR_KAFKA_DIR that holds other files loses nothing else.
remove_scratch() {
  rm -rf "$dir/data" "$logs" "$config" "$pid_file"
  rmdir "$dir" 2> /dev/null || true
}

write_config() {
  local controller_port=$((port + 1))
  mkdir -p "$dir/data" "$logs"
  cat > "$config" << EOF
# Written by scripts/kafka.sh start; deleted by stop. A single-node KRaft cluster on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data

# Any client can write a topic into being, with one partition unless it asks for more.
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1

# One node: the internal topics have one replica, and one in-sync replica is enough. One partition
# each (Kafka's defaults are 50) keeps the first consumer group and transaction fast to set up.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1

# Tests join a group and want their partitions at once, not after the default 3 s.
group.initial.rebalance.delay.ms=0

# Kafka's default, written out because weir's exactly-once sink checks its transaction.timeout.ms
# against it: a producer that asks for more is refused with INVALID_TRANSACTION_TIMEOUT.
transaction.max.timeout.ms=900000

# How often the broker aborts transactions open past their timeout: every second, not every
# 10 s (Kafka's default), so that a test of a transaction that outlived its timeout is short.
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
EOF
}

# Each start makes a new cluster: the storage directory is formatted afresh with a new cluster id.
format_storage() {
  local cluster_id
  # A cluster id is a UUID in URL-safe base64 without padding: 16 random bytes, 22 characters.
  # One that starts with '-' reads as an option to the storage tool ("--cluster-id: expected
  # one argument"; 1 start in 64), so draw again, as Kafka's own Uuid.randomUuid does.
  cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  # A short-lived JVM: C1 only and the serial collector make it start and finish sooner. Without
  # a log4j config it logs errors only, to format.log, and leaves server.log to the broker.
  if ! "$java" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData \
      -cp "$lib/*" kafka.tools.StorageTool format \
      --cluster-id "$cluster_id" --config "$config" > "$logs/format.log" 2>&1; then
    sed 's/^/  /' "$logs/format.log" >&2
    die "formatting the storage directory $dir/data failed (output above, in $logs/format.log)"
  fi
}

# Runs the broker in the background with no terminal: stdin from /dev/null, output to a file.
launch() {
  (
    # Close every inherited descriptor above stderr: the start lock's and any pipe a test runner
    # handed us would otherwise stay held, or open, for as long as the broker runs.
    for fd in "/proc/$BASHPID/fd/"*; do
      fd=${fd##*/}
      if ((fd > 2)); then exec {fd}>&-; fi
    done
    # The GC options are the ones Kafka's own kafka-run-class.sh uses.
    # shellcheck disable=SC2086  # $heap is a list of JVM options
    exec "$java" $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
      -XX:+ExitOnOutOfMemoryError -XX:-UsePerfData -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$log4j_config" -Dkafka.logs.dir="$logs" \
      -cp "$lib/*" kafka.Kafka "$config"
  ) < /dev/null > "$logs/stdout.log" 2>&1 &
  starting_pid=$!
  echo "$starting_pid" > "$pid_file"
}

# Ends a start that did not get as far as a ready broker, whatever the reason (an error, a
# timeout, Ctrl-C): a broker nobody was told about must not keep running. Its logs stay for a
# look; the next start or a stop deletes them.
abort_start() {
  [ -n "${starting_pid:-}" ] || return 0
  kill -KILL "$starting_pid" 2> /dev/null || true
  wait "$starting_pid" 2> /dev/null || true
  rm -f "$pid_file"
}

fail_start() {
  {
    echo "kafka: error: $1"
    # The JVM's own errors go to stdout.log; the broker's to server.log, where an error can be
    # followed by the lines of an orderly shutdown.
    if [ -s "$logs/stdout.log" ]; then
      echo "--- last lines of $logs/stdout.log:"
      tail -n 20 "$logs/stdout.log" | sed 's/^/  /'
    fi
    if grep -q -E '^\[[^]]*\] (ERROR|FATAL) ' "$logs/server.log" 2> /dev/null; then
      echo "--- last errors in $logs/server.log:"
      grep -E '^\[[^]]*\] (ERROR|FATAL) ' "$logs/server.log" | tail -n 10 | sed 's/^/  /'
    fi
    if [ -s "$logs/server.log" ]; then
      echo "--- last lines of $logs/server.log:"
      tail -n 20 "$logs/server.log" | sed 's/^/  /'
    fi
  } >&2
  exit 1
}

wait_ready() {
  local address=$1 deadline=$((SECONDS + start_timeout))
  until api_versions_ok "$address"; do
    is_our_broker "$starting_pid" ||
      fail_start "the broker (pid $starting_pid) exited during start-up; its logs are in $logs"
    ((SECONDS < deadline)) ||
      fail_start "the broker (pid $starting_pid) did not answer on $address within" \
        "${start_timeout}s (WEIR_KAFKA_START_TIMEOUT); its logs are in $logs"
    sleep 0.2
  done
}

take_lock() {
  mkdir -p "$(dirname "$lock_file")"
  exec {lock_fd}> "$lock_file"
  flock -w 900 "$lock_fd" || die "another scripts/kafka.sh held $lock_file for 15 minutes"
}

cmd_start() {
  check_settings
  take_lock
  local pid address
  if pid=$(broker_pid); then
    address=$(configured_address)
    [ "$address" = "127.0.0.1:$port" ] ||
      say "reusing the broker running from $dir on $address (WEIR_KAFKA_PORT asks for $port)"
    api_versions_ok "$address" ||
      die "the broker running from $dir (pid $pid) does not answer on $address;" \
        "see $logs/server.log, or run scripts/kafka.sh stop"
    echo "$address"
    return 0
  fi

  find_java
  install_jars
  remove_scratch # whatever a crashed or killed broker left here
  check_port_free "$port" "client listener"
  check_port_free "$((port + 1))" "controller listener"
  write_config
  format_storage

  trap abort_start EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  launch
  address=127.0.0.1:$port
  wait_ready "$address"
  starting_pid="" # ready: from here on it is stop's to end
  say "broker ready on $address (pid $(cat "$pid_file"), data and logs in $dir)"
  echo "$address"
}

# Stops the broker running from $dir, if any: SIGTERM, SIGKILL after a timeout.
stop_broker() {
  local pid
  if pid=$(broker_pid); then
    kill -TERM "$pid" 2> /dev/null || true
    local deadline=$((SECONDS + stop_timeout))
    while is_our_broker "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if is_our_broker "$pid"; then
      say "the broker (pid $pid) did not stop within ${stop_timeout}s of SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2> /dev/null || true
      deadline=$((SECONDS + 10))
      while is_our_broker "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
      ! is_our_broker "$pid" || die "the broker (pid $pid) survived SIGKILL; $dir not deleted"
    fi
    stopped_pid=$pid
    return 0
  fi
  return 1
}

cmd_stop() {
  take_lock
  if stop_broker; then
    say "stopped the broker (pid $stopped_pid); deleted its data and logs in $dir"
  else
    say "no broker running from $dir"
  fi
  remove_scratch
}

cmd_pause() {
  take_lock
  if stop_broker; then
    rm -f "$pid_file"
    say "stopped the broker (pid $stopped_pid); kept its data in $dir (scripts/kafka.sh resume)"
  else
    say "no broker running from $dir"
  fi
}

cmd_resume() {
  take_lock
  local pid address
  [ -f "$config" ] && [ -f "$dir/data/meta.properties" ] ||
    die "no paused broker in $dir to resume (scripts/kafka.sh start makes one)"
  address=$(configured_address)
  if pid=$(broker_pid); then
    api_versions_ok "$address" ||
      die "the broker running from $dir (pid $pid) does not answer on $address;" \
        "see $logs/server.log, or run scripts/kafka.sh stop"
    echo "$address"
    return 0
  fi
  find_java
  [ "$(cat "$lib/.pom.sha256" 2> /dev/null)" = "$(sha256sum "$pom" | cut -d' ' -f1)" ] ||
    die "the Kafka jars in $lib are missing or stale; scripts/kafka.sh start installs them"
  local paused_port=${address##*:}
  check_port_free "$paused_port" "client listener"
  check_port_free "$((paused_port + 1))" "controller listener"
  trap abort_start EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  launch
  wait_ready "$address"
  starting_pid=""
  say "broker resumed on $address (pid $(cat "$pid_file"), data and logs in $dir)"
  echo "$address"
}

cmd_status() {
  local pid address
  if ! pid=$(broker_pid); then
    echo "kafka: not running (scratch directory $dir)"
    return 1
  fi
  address=$(configured_address)
  if api_versions_ok "$address"; then
    echo "kafka: running, pid $pid, bootstrap $address, data and logs in $dir"
  else
    echo "kafka: pid $pid runs but does not answer on $address; see $logs/server.log"
    return 1
  fi
}

# The tool logs errors only, to stderr (log4j's default without a configuration file); its
# results and its own error messages go to stdout, as in kafka-topics.sh.
cmd_topics() {
  find_java
  take_lock # a start may be installing the jars
  install_jars
  exec {lock_fd}>&-
  # A short-lived JVM, as for the storage tool.
  exec "$java" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData \
    -cp "$lib/*" org.apache.kafka.tools.TopicCommand "$@"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  pause) cmd_pause ;;
  resume) cmd_resume ;;
  topics)
    shift
    cmd_topics "$@"
    ;;
  *)
    echo "usage: $0 start|stop|status|pause|resume|topics ARGS... (see scripts/kafka/README.md)" >&2
    exit 2
    ;;
esac
