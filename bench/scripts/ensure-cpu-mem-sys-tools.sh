#!/usr/bin/env bash
# Makes sure the reference tools that bench/cpu-mem-sys-agreement.js compares guestbench with
# are on PATH: linux-perf (perf), stress-ng, mbw and sysbench (cpu, mem, sys). Installs what is missing when running as
# root on Debian/Ubuntu; otherwise prints one line saying what to install and exits 1.
#
# Usage: ensure-cpu-mem-sys-tools.sh [--check]
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

# Program → Debian package: perf comes in linux-perf; the others are named as their programs.
package_of() { [[ "$1" == perf ]] && echo linux-perf || echo "$1"; }
missing() {
  local tool
  for tool in perf stress-ng mbw sysbench; do
    # Debian's /usr/bin/perf is a wrapper that fails when no perf for the running kernel exists.
    if [[ "$tool" == perf ]]; then perf version >/dev/null 2>&1 || package_of perf; continue; fi
    command -v "$tool" >/dev/null 2>&1 || package_of "$tool"
  done
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
trap 'rm -f "${cleanup[@]}"' EXIT

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
