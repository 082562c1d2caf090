#!/usr/bin/env bash
# Runs the dashboard's browser test (dashboard_test.js) with the pinned playwright-core, which
# scripts/node_modules.sh installs into build/node on first use, and Debian's chromium.
#
# usage: dashboard_test.sh SOURCE_DIR BIN_DIR SCREENSHOT_DIR
set -euo pipefail

src=$(cd "$1" && pwd)
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "FAILED: no $CHROMIUM: scripts/setup.sh installs Debian's chromium (make setup)" >&2
  exit 1
fi
export NODE_PATH
NODE_PATH=$(bash "$src/scripts/node_modules.sh")
exec node "$src/tests/dashboard/dashboard_test.js" "$2" "$3"
