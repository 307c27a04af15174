#!/usr/bin/env bash
# Runs nano from this checkout in the dev profile (extra arguments go to `nano run`). Uses the V8 library in
# ../shared/v8 when present, as scripts/test.sh does, so both build with the same settings and neither triggers a
# rebuild or a download of V8 for the other.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f ../shared/v8/env.sh ]; then . ../shared/v8/env.sh; fi
exec cargo run --quiet -- run --profile dev "$@"
