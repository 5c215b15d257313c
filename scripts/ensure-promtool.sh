#!/usr/bin/env bash
# Debian's promtool (package prometheus), for the test that checks /metrics with it: installs
# it when missing (as root), saying so, and prints its path.
set -euo pipefail

say() { echo "ensure-promtool: $*" >&2; }

if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
if [ "$(id -u)" != 0 ]; then
  say "promtool is not installed and this is not root: apt-get install prometheus (as root)"
  exit 1
fi
say "installing Debian's prometheus package (for promtool) with apt-get"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: update only when the install needs it.
if ! apt-get install -y --no-install-recommends prometheus >&2; then
  apt-get update >&2
  apt-get install -y --no-install-recommends prometheus >&2
fi
command -v promtool >/dev/null 2>&1 || { say "prometheus installed, but promtool is missing"; exit 1; }
command -v promtool
