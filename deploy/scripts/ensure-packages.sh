#!/usr/bin/env bash
# Makes sure the Debian packages the guest image builder and the QEMU runner need are installed.
# Installs what is missing when running as root on Debian/Ubuntu; otherwise prints one line
# saying what to install and exits 1. Exit 0 means everything is there.
#
# Usage: ensure-packages.sh [--check] [--for image|run|all] [PACKAGE...]
#   --check        only report; never install (exit 1 when something is missing)
#   --for GROUP    which tools to ensure: image (builder), run (runner), all (default)
#   PACKAGE...     ensure these packages instead of a group
set -euo pipefail

# The builder needs debootstrap and file-system tools that work on plain files (no loop mounts):
# mkfs.ext4 -d fills the root file system, sfdisk partitions the disk, mtools + syslinux make the
# FAT boot partition bootable without mounting it.
image_packages=(qemu-utils debootstrap debian-archive-keyring gpgv wget e2fsprogs fdisk dosfstools mtools syslinux syslinux-common)
run_packages=(qemu-system-x86 qemu-utils)

check_only=0
group=all
explicit=()
while (($#)); do
  case "$1" in
    --check) check_only=1 ;;
    --for) group="${2:?--for needs image, run or all}"; shift ;;
    --for=*) group="${1#--for=}" ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "ensure-packages: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) explicit+=("$1") ;;
  esac
  shift
done

if ((${#explicit[@]})); then
  wanted=("${explicit[@]}")
else
  case "$group" in
    image) wanted=("${image_packages[@]}") ;;
    run) wanted=("${run_packages[@]}") ;;
    all) wanted=("${image_packages[@]}" "${run_packages[@]}") ;;
    *) echo "ensure-packages: --for must be image, run or all, not '$group'" >&2; exit 2 ;;
  esac
fi

# Deduplicate while keeping order.
declare -A seen=()
packages=()
for p in "${wanted[@]}"; do
  [[ -n "${seen[$p]:-}" ]] && continue
  seen[$p]=1
  packages+=("$p")
done

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "guestbench: this host is not Debian/Ubuntu; install the equivalents of: ${packages[*]}" >&2
  exit 1
fi

missing() {
  local p status
  for p in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
    [[ "$status" == installed ]] || printf '%s\n' "$p"
  done
}

mapfile -t todo < <(missing)
((${#todo[@]} == 0)) && exit 0

advice="guestbench: missing Debian packages: ${todo[*]} — install them with: sudo apt-get install --no-install-recommends ${todo[*]}"
if ((check_only)) || [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "$advice" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp -t guestbench-apt.XXXXXX)"
trap 'rm -f "$log"' EXIT

# Refresh the package lists only when apt does not know a package we need.
needs_update=0
for p in "${todo[@]}"; do
  candidate="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
  if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then needs_update=1; break; fi
done

echo "guestbench: installing ${todo[*]}" >&2
if { ((needs_update == 0)) || apt-get update -q >"$log" 2>&1; } &&
   apt-get install -y -q --no-install-recommends "${todo[@]}" >>"$log" 2>&1; then
  mapfile -t todo < <(missing)
  ((${#todo[@]} == 0)) && exit 0
fi
# An install against stale lists fails with 404s; one update and one retry fixes that.
if ((needs_update == 0)) && apt-get update -q >>"$log" 2>&1 &&
   apt-get install -y -q --no-install-recommends "${todo[@]}" >>"$log" 2>&1; then
  mapfile -t todo < <(missing)
  ((${#todo[@]} == 0)) && exit 0
fi
echo "guestbench: could not install ${todo[*]} (apt-get said: $(grep -E '^(E|W):' "$log" | tail -n1 || true)) — install them with: sudo apt-get install --no-install-recommends ${todo[*]}" >&2
exit 1
