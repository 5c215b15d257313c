#!/usr/bin/env bash
# Builds the base root file system of the guest image (no agent) into a folder: debootstrap
# minbase + packages.txt, the rootfs/ overlay, boot-speed settings, a small initrd.
# build-image.sh calls this and caches the result keyed on this file, packages.txt and rootfs/.
#
# Usage: make-rootfs.sh TARGET_DIR [--suite S] [--mirror URL] [--deb-cache DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:?usage: make-rootfs.sh TARGET_DIR [--suite S] [--mirror URL] [--deb-cache DIR]}"
shift
suite=bookworm
mirror=http://deb.debian.org/debian
deb_cache=""
while (($#)); do
  case "$1" in
    --suite) suite="$2"; shift ;;
    --mirror) mirror="$2"; shift ;;
    --deb-cache) deb_cache="$2"; shift ;;
    *) echo "make-rootfs: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

[[ "$(id -u)" == 0 ]] || { echo "make-rootfs: must run as root (debootstrap, chroot)" >&2; exit 1; }
[[ ! -e "$target" ]] || { echo "make-rootfs: $target already exists" >&2; exit 1; }

packages="$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$here/packages.txt" | tr -s '[:space:]' ',' | sed 's/,$//')"

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT

step() { printf 'make-rootfs: %s\n' "$*" >&2; }

step "debootstrap $suite (minbase + ${packages//,/ })"
args=(--variant=minbase --components=main --include="$packages")
if [[ -n "$deb_cache" ]]; then
  mkdir -p "$deb_cache"
  args+=(--cache-dir="$(cd "$deb_cache" && pwd)")
fi
# INITRD=No: the kernel's postinst makes no initrd yet. With initramfs-tools' default
# MODULES=most it would pack most of the generic kernel's modules, which took over 15 minutes on
# a busy host; the small one is made below, once our initramfs settings are in place.
INITRD=No debootstrap "${args[@]}" "$suite" "$target" "$mirror" >&2

step "overlay rootfs/"
cp -r --preserve=mode "$here/rootfs/." "$target/"

step "units: networkd on, timers and scrubbers off"
systemctl --root="$target" enable systemd-networkd.service systemd-networkd-wait-online.service >/dev/null 2>&1
# Periodic jobs that would run in the middle of a benchmark, or slow a short-lived guest.
systemctl --root="$target" mask \
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
  >/dev/null 2>&1

step "kernel modules: drop what a headless guest never loads"
# Debian's generic kernel (packages.txt says why not the cloud one) ships about 400 MiB of
# modules; sound, graphics, cameras, radios and lab hardware are of no use to a benchmark guest
# on a serial console. Disk, network, USB, Xen, VMware and Hyper-V drivers all stay.
for modules in "$target"/lib/modules/*/; do
  for tree in sound drivers/gpu drivers/media drivers/net/wireless net/wireless net/mac80211 \
    drivers/bluetooth net/bluetooth drivers/infiniband net/rds net/sunrpc/xprtrdma drivers/staging \
    drivers/iio drivers/isdn drivers/nfc net/nfc drivers/net/can net/can drivers/mtd \
    drivers/input/touchscreen drivers/comedi drivers/thunderbolt drivers/usb/gadget \
    drivers/net/ethernet/mellanox drivers/net/ethernet/chelsio drivers/net/ethernet/qlogic; do
    rm -rf "${modules}kernel/$tree"
  done
  chroot "$target" depmod "$(basename "$modules")"
done

step "initrd (MODULES=list, zstd)"
mount -t proc proc "$target/proc" && mounted+=("$target/proc")
mount -t sysfs sysfs "$target/sys" && mounted+=("$target/sys")
rm -f "$target"/boot/initrd.img-*
for modules in "$target"/lib/modules/*/; do chroot "$target" update-initramfs -c -k "$(basename "$modules")" >&2; done
cleanup
mounted=()

step "identity and trimming"
# Every guest made from the image gets its own machine id at first boot.
: >"$target/etc/machine-id"
rm -f "$target/var/lib/dbus/machine-id"
# Root stays locked (debootstrap leaves no password); log in through the hypervisor's tools.
find "$target/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
find "$target/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$target/usr/share/man/"* "$target/usr/share/info/"*
find "$target/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
rm -rf "$target/var/cache/apt/"*.bin "$target/var/cache/apt/archives/"*.deb "$target/var/cache/debconf/"*-old
find "$target/var/lib/apt/lists" -mindepth 1 -maxdepth 1 -type f -delete
rm -f "$target/var/log/bootstrap.log" "$target/var/log/dpkg.log" "$target/var/log/apt/"*.log
step "done: $(du -sh --apparent-size "$target" | cut -f1)"
