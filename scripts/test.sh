#!/usr/bin/env bash
# Runs nano's whole test suite: unit, contract, HTTP end-to-end, compat (real hyper-connect clients) and tidy.
# Installs what the compat tests need (npm and PyPI packages) when missing, and uses ../shared/v8 when present.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f ../shared/v8/env.sh ]; then . ../shared/v8/env.sh; fi
if [ -f tests/compat/package.json ] && [ tests/compat/package-lock.json -nt tests/compat/node_modules/.package-lock.json ]; then
  (cd tests/compat && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ -f tests/compat/requirements.txt ] && ! python3 -c 'import hyper_connect' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check -r tests/compat/requirements.txt
fi
cargo test --lib --bins --tests "$@"
