#!/usr/bin/env bash
# Builds nano's documentation site (docs/site, Astro + Starlight) and checks it in headless Chromium: every page loads
# without console errors, every internal link answers 200, and the site search finds "hyper-connect".
# Installs what is missing: Debian's chromium, and the site's npm packages (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/chromium.sh
cd docs/site
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
node check.mjs "$@"
