#!/usr/bin/env bash
# Builds nano's documentation site (docs/site, Astro + Starlight) and checks it in headless Chromium: every page loads
# without console errors, every internal link answers 200, and the site search finds "hyper-connect".
# Installs what is missing: Debian's chromium, and the site's npm packages (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq chromium >/dev/null
fi
cd docs/site
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
node check.mjs "$@"
