#!/usr/bin/env bash
# libvirtd for the lab (guestbench-lab) and its tests: installs Debian's libvirt and QEMU when
# missing and starts virtlogd and libvirtd by hand when they are not running, also where there is
# no systemd (containers, CI). Running it again changes nothing. Prints the connection URI.
#
# Usage: ensure-libvirt.sh [--check] [--with-guestfs]
#   --check          only report; never install or start (exit 1 when something is missing)
#   --with-guestfs   also guestfs-tools and a kernel in /boot for libguestfs (guestbench-lab bake)
set -euo pipefail

say() { echo "ensure-libvirt: $*" >&2; }

check_only=0
guestfs=0
while (($#)); do
  case "$1" in
    --check) check_only=1 ;;
    --with-guestfs) guestfs=1 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) say "unknown option $1 (see --help)"; exit 2 ;;
  esac
  shift
done

# virt-xml-validate runs xmllint (libxml2-utils), which libvirt-clients does not pull in.
packages=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils libxml2-utils)
if ((guestfs)); then
  # libguestfs boots a small appliance built from the host's kernel: it needs one in /boot.
  packages+=(guestfs-tools guestfish)
  ls /boot/vmlinuz-* >/dev/null 2>&1 || packages+=(linux-image-cloud-amd64)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "this host is not Debian/Ubuntu; install libvirtd with its QEMU driver and virsh (${packages[*]} on Debian)"
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  if ((check_only)) || [[ "$(id -u)" != 0 ]]; then
    say "missing Debian packages: ${missing[*]} (as root: apt-get install ${missing[*]}, or run this script as root)"
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be missing or stale on a fresh machine: update only when the install needs it.
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends "${missing[@]}" >&2
  fi
fi

uri=qemu:///system
if virsh -c "$uri" uri >/dev/null 2>&1; then
  echo "$uri"
  exit 0
fi
if ((check_only)) || [[ "$(id -u)" != 0 ]]; then
  say "libvirtd is not answering on $uri; start it (as root: systemctl start libvirtd, or run this script as root)"
  exit 1
fi

# With systemd, the packaged units do everything; the rest is for hosts without it.
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  systemctl start virtlogd.socket libvirtd.socket libvirtd.service >&2 || true
else
  # What Debian's postinst and units would have set up: the user QEMU runs as, its groups, the
  # log and run directories.
  getent group kvm >/dev/null || groupadd --system kvm
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
  getent passwd libvirt-qemu >/dev/null ||
    useradd --system --gid libvirt-qemu --groups kvm --home-dir /var/lib/libvirt --no-create-home \
      --shell /usr/sbin/nologin libvirt-qemu
  getent group libvirt >/dev/null || groupadd --system libvirt
  mkdir -p /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt/images /var/lib/libvirt/qemu
  if ! pgrep -x virtlogd >/dev/null; then
    say "starting virtlogd"
    virtlogd --daemon
  fi
  if ! pgrep -x libvirtd >/dev/null; then
    say "starting libvirtd"
    libvirtd --daemon
  fi
fi

# libvirtd needs a moment to open its socket.
for _ in $(seq 1 100); do
  if virsh -c "$uri" uri >/dev/null 2>&1; then
    echo "$uri"
    exit 0
  fi
  sleep 0.1
done
say "libvirtd did not answer on $uri within 10 s; see /var/log/libvirt and 'libvirtd --verbose' for why"
exit 1
