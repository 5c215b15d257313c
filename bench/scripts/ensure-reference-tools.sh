#!/usr/bin/env bash
# Makes sure the reference tools that bench/disk-net-agreement.js compares guestbench with
# are on PATH: fio (disk) and iperf3 (network). Installs what is missing when running as
# root on Debian/Ubuntu; otherwise prints one line saying what to install and exits 1.
#
# Usage: ensure-reference-tools.sh [--check]
#   --check   only report; never install (exit 1 when something is missing)
set -euo pipefail

check_only=0
while (($#)); do
  case "$1" in
    --check) check_only=1 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ensure-reference-tools: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# The program names are also the Debian package names.
missing() {
  local tool
  for tool in fio iperf3; do command -v "$tool" >/dev/null 2>&1 || echo "$tool"; done
}

mapfile -t todo < <(missing)
((${#todo[@]} == 0)) && exit 0

advice="guestbench: missing ${todo[*]} — install with: sudo apt-get install --no-install-recommends ${todo[*]} (or dnf install ${todo[*]})"
if ((check_only)) || [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "$advice" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp -t guestbench-apt.XXXXXX)"
cleanup=("$log")
# iperf3's package may offer to start a server daemon; a benchmark host wants none running.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  cleanup+=(/usr/sbin/policy-rc.d)
fi
trap 'rm -f "${cleanup[@]}"' EXIT
# iperf3 asks with debconf whether to start its daemon; answer no without a prompt.
echo 'iperf3 iperf3/start_daemon boolean false' | debconf-set-selections 2>/dev/null || true

echo "guestbench: installing ${todo[*]}" >&2
for attempt in 1 2; do
  # Against stale package lists an install fails with 404s: one update, one retry.
  if { ((attempt == 1)) || apt-get update -q >>"$log" 2>&1; } &&
     apt-get install -y -q --no-install-recommends "${todo[@]}" >>"$log" 2>&1; then
    mapfile -t todo < <(missing)
    ((${#todo[@]} == 0)) && exit 0
  fi
done
echo "guestbench: could not install ${todo[*]} (apt-get said: $(grep -E '^(E|W):' "$log" | tail -n1 || true)) — $advice" >&2
exit 1
