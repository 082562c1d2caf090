#!/usr/bin/env bash
# Installs the Debian packages weir builds and tests with. Idempotent: when every
# package is already installed it changes nothing and exits quickly.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libgtest-dev libgmock-dev libbenchmark-dev
  librocksdb-dev rocksdb-tools
  libfmt-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  libyaml-cpp-dev libxxhash-dev
  libmimalloc-dev  # the allocator of weir's own programs and tests (WEIR_MALLOC, README)
  libcpp-httplib-dev curl  # the REST API's HTTP server; curl for its tests
  prometheus python3-venv  # the tests' Prometheus server; the venv for schemathesis (scripts/python_venv.sh)
  librdkafka-dev  # the Kafka connector (src/connectors/kafka)
  openjdk-17-jre-headless maven kcat  # the Kafka test broker (scripts/kafka.sh) and its client
  openjdk-17-jdk-headless time  # the Flink side of the benchmarks and Nexmark check (bench/flink, bench/nexmark/flink)
  chromium  # the dashboard's browser tests (tests/dashboard), driven headless by Playwright
)
# Node.js and npm for the dashboard's tests (playwright-core, pinned in tests/dashboard): from
# Debian unless the machine has them already (e.g. NodeSource's nodejs, which bundles npm and
# conflicts with Debian's npm package).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
