#!/usr/bin/env bash
# Runs nano's whole test suite: unit, contract, HTTP end-to-end, compat (real hyper-connect clients) and tidy.
# Installs what the compat tests need (npm and PyPI packages) and the console's browser test needs (Debian's
# chromium, playwright-core) when missing, starts an S3 server (SeaweedFS) for the
# S3 tests, and uses ../shared/v8 when present.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f ../shared/v8/env.sh ]; then . ../shared/v8/env.sh; fi
if [ -f tests/compat/package.json ] && [ tests/compat/package-lock.json -nt tests/compat/node_modules/.package-lock.json ]; then
  (cd tests/compat && npm ci --no-audit --no-fund --loglevel=error)
fi
# The console's browser test drives Debian's chromium through playwright-core.
bash scripts/chromium.sh
if [ tests/console/package-lock.json -nt tests/console/node_modules/.package-lock.json ]; then
  (cd tests/console && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ -f tests/compat/requirements.txt ] && ! python3 -c 'import hyper_connect' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check -r tests/compat/requirements.txt
fi
# The REPL's terminal test runs `nano repl` on a pseudo-terminal through util-linux's `script`.
if ! command -v script >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  apt-get install -y -qq bsdutils >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq bsdutils util-linux; }
fi
# The S3 tests need an S3 server: SeaweedFS on loopback, stopped (by PID) when the tests end if started here.
if [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8333/ 2>/dev/null)" = "000" ]; then
  bash scripts/s3-server.sh start
  trap 'bash scripts/s3-server.sh stop' EXIT
fi
cargo test --lib --bins --tests "$@"
