#!/usr/bin/env bash
# Fails when git tracks a file over 1 MiB: build, benchmark or run output that slipped in
# (a 100 MB benchmark output once did). Deliberate test data goes in the allow-list below,
# one path per line, with a comment saying why.
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
limit=$((1024 * 1024))
allowed=(
  # (none yet)
)
status=0
while IFS= read -r -d '' path; do
  [ -f "$path" ] || continue  # deleted in the work tree
  size=$(stat -c %s "$path")
  [ "$size" -le "$limit" ] && continue
  for a in "${allowed[@]:-}"; do [ "$path" = "$a" ] && continue 2; done
  echo "check_tracked_files: '$path' is tracked and has $size bytes (limit $limit):" \
       "untrack it (git rm --cached) and ignore it, or allow it in $0" >&2
  status=1
done < <(git ls-files -z)
exit $status
