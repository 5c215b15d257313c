#!/usr/bin/env bash
# Debian's Chromium for the browser tests of the report: installs it when missing (as root)
# and prints its path. Never downloads a browser build of its own.
set -euo pipefail

say() { echo "ensure-chromium: $*" >&2; }

for c in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -x "$c" ]; then echo "$c"; exit 0; fi
done
if [ "$(id -u)" != 0 ]; then
  say "Chromium is not installed and this is not root: apt-get install chromium (as root)"
  exit 1
fi
say "installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: update only when the install needs it.
if ! apt-get install -y --no-install-recommends chromium fonts-dejavu-core >&2; then
  apt-get update >&2
  apt-get install -y --no-install-recommends chromium fonts-dejavu-core >&2
fi
[ -x /usr/bin/chromium ] || { say "chromium installed, but /usr/bin/chromium is missing"; exit 1; }
echo /usr/bin/chromium
