#!/usr/bin/env bash
# Prints the path of the Flink Nexmark jar (bench/nexmark/flink/target/nexmark-flink.jar),
# building it first when it is missing or older than its sources: Maven offline when ~/.m2
# already has everything, else online. Fails with a clear message without java or mvn.
set -euo pipefail
flink="$(cd "$(dirname "${BASH_SOURCE[0]}")/flink" && pwd)"
jar="$flink/target/nexmark-flink.jar"
command -v java >/dev/null || { echo "flink_jar.sh: java is not installed (the Flink side needs Java 17)" >&2; exit 1; }
if [[ -f "$jar" && -z "$(find "$flink/src/main" "$flink/pom.xml" -newer "$jar" -print -quit)" ]]; then
  echo "$jar"
  exit 0
fi
command -v mvn >/dev/null || { echo "flink_jar.sh: mvn is not installed (Maven builds the Flink side)" >&2; exit 1; }
log="$(mktemp "${TMPDIR:-/tmp}/nexmark-mvn.XXXXXX")"
if ! (cd "$flink" && mvn -o -B -q -Dstyle.color=never ${MVN_FLAGS:-} package -DskipTests) >"$log" 2>&1; then
  echo "flink_jar.sh: the offline Maven build failed; trying online" >&2
  if ! (cd "$flink" && mvn -B -q -Dstyle.color=never ${MVN_FLAGS:-} package -DskipTests) >"$log" 2>&1; then
    echo "flink_jar.sh: building the Flink jar failed:" >&2
    tail -30 "$log" >&2
    rm -f "$log"
    exit 1
  fi
fi
rm -f "$log"
echo "$jar"
