#!/usr/bin/env bash
# nano's benchmark harness: builds nano in release mode, installs the peers (wrk from Debian, workerd and deno from
# npm), runs every scenario against nano and its peers alternately on 127.0.0.1, and writes bench/RESULTS.md.
# Usage: bash bench/run.sh [quick|full] [scenario ...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f ../shared/v8/env.sh ]; then . ../shared/v8/env.sh; fi
if ! command -v wrk >/dev/null; then
  (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null))
fi
if [ ! -x bench/node_modules/.bin/workerd ] || [ ! -x bench/node_modules/.bin/deno ]; then
  (cd bench && npm install --no-audit --no-fund --loglevel=error)
fi
cargo build --release --bin nano --example bare_hello
exec python3 bench/harness.py "$@"
