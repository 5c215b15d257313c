#!/usr/bin/env bash
# Makes sure the programs the web benchmark's comparisons and examples need are on PATH:
# ab (apache2-utils), wrk, nginx, fcgiwrap, and apache2 for the Apache example.
# Installs what is missing when running as root on Debian/Ubuntu, without starting any of
# their services; otherwise prints one line saying what to install and exits 1.
#
# Usage: ensure-web-tools.sh [--check] [--for capacity|deploy|all]
#   --check        only report; never install (exit 1 when something is missing)
#   --for GROUP    capacity: nginx ab wrk (npm run bench:web; the default)
#                  deploy:   nginx fcgiwrap apache2 ab (deploy/web examples)
#                  all:      both
set -euo pipefail

check_only=0
group=capacity
while (($#)); do
  case "$1" in
    --check) check_only=1 ;;
    --for) group="${2:?--for needs capacity, deploy or all}"; shift ;;
    --for=*) group="${1#--for=}" ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ensure-web-tools: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

case "$group" in
  capacity) wanted=(nginx ab wrk) ;;
  deploy) wanted=(nginx fcgiwrap apache2 ab) ;;
  all) wanted=(nginx ab wrk fcgiwrap apache2) ;;
  *) echo "ensure-web-tools: --for must be capacity, deploy or all, not '$group'" >&2; exit 2 ;;
esac

# The Debian package that provides each program.
package_of() {
  case "$1" in
    ab) echo apache2-utils ;;
    apache2) echo apache2 ;;
    *) echo "$1" ;;
  esac
}

# Daemons live in sbin, which a non-root PATH may lack.
have() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }

missing_packages() {
  local tool
  for tool in "${wanted[@]}"; do have "$tool" || package_of "$tool"; done
}

mapfile -t todo < <(missing_packages)
((${#todo[@]} == 0)) && exit 0

advice="guestbench: missing ${todo[*]} — install them with: sudo apt-get install --no-install-recommends ${todo[*]}"
if ((check_only)) || [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "$advice" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp -t guestbench-apt.XXXXXX)"
cleanup=("$log")
# Installing nginx or apache2 would start them on port 80; a benchmark host wants no such
# daemon, so forbid service starts for this install unless the machine already has a policy.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  cleanup+=(/usr/sbin/policy-rc.d)
fi
trap 'rm -f "${cleanup[@]}"' EXIT

needs_update=0
for p in "${todo[@]}"; do
  candidate="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
  if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then needs_update=1; break; fi
done

echo "guestbench: installing ${todo[*]}" >&2
for attempt in 1 2; do
  # An install against stale lists fails with 404s; one update and one retry fixes that.
  if { ((needs_update == 0)) || apt-get update -q >>"$log" 2>&1; } &&
     apt-get install -y -q --no-install-recommends "${todo[@]}" >>"$log" 2>&1; then
    mapfile -t todo < <(missing_packages)
    ((${#todo[@]} == 0)) && exit 0
  fi
  needs_update=1
done
echo "guestbench: could not install ${todo[*]} (apt-get said: $(grep -E '^(E|W):' "$log" | tail -n1 || true)) — install them with: sudo apt-get install --no-install-recommends ${todo[*]}" >&2
exit 1
