#!/usr/bin/env bash
# Installs Debian's chromium when /usr/bin/chromium is missing: the headless browser of the docs check
# (scripts/docs-check.sh) and of the console's browser test (tests/api/console.rs, from scripts/test.sh).
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq chromium >/dev/null
fi
