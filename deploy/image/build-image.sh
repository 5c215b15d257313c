#!/usr/bin/env bash
# Builds the guestbench guest image: a small Debian root file system (make-rootfs.sh, cached on
# its inputs) with the agent baked in by install-agent.sh (cached on the bundle's and node's
# hashes), as a bootable disk in raw, qcow2 and VMDK, plus the kernel and initrd for direct
# boot and the per-hypervisor files (libvirt XML, xl configs, OVF). Needs root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deploy="$(cd "$here/.." && pwd)"
repo="$(cd "$deploy/.." && pwd)"

usage() {
  cat <<'EOF'
Usage: build-image.sh [options]
  --out DIR            output and cache folder (default: $GUESTBENCH_IMAGE_DIR, else
                       /var/cache/guestbench/images as root, so fresh clones of the repo on this
                       machine (CI) share it, else <repo>/.cache/images)
  --name NAME          file name stem of the outputs (default: guestbench-debian12)
  --bundle FILE        agent bundle (default: bundle agent/dist/cli/main.js now, or use
                       agent/dist/bundle/guestbench-agent.js)
  --node-binary FILE   node >= 20 copied into the image (default: this host's node)
  --suite SUITE        Debian suite (default: bookworm)
  --mirror URL         Debian mirror (default: http://deb.debian.org/debian)
  --disk-size MIB      whole disk size in MiB (default: 2048)
  --collector HOST:PORT, --token T, --label L, --profile P
                       written into the libvirt XML (collector default 192.168.122.1:50051,
                       the host on libvirt's default network), the OVF's vApp property
                       defaults and the xl configs' comments; the disk itself carries no
                       collector: the hypervisor passes it
  --memory MIB         guest memory in the descriptors (default: 1024)
  --vcpus N            guest CPUs in the descriptors (default: 2)
  --force              rebuild the disk even when the cache says it is up to date
  --json               print the manifest (JSON) on stdout when done
  -h, --help           this text
Exit codes: 0 built or up to date, 1 failed, 2 bad arguments.
EOF
}

if [[ -n "${GUESTBENCH_IMAGE_DIR:-}" ]]; then out="$GUESTBENCH_IMAGE_DIR"
elif [[ $(id -u) -eq 0 ]]; then out=/var/cache/guestbench/images
else out="$repo/.cache/images"; fi
name=guestbench-debian12
bundle=""
node_binary=""
suite=bookworm
mirror=http://deb.debian.org/debian
disk_mib=2048
collector=""
token=""
label=""
profile=""
memory_mib=1024
vcpus=2
force=0
json=0
while (($#)); do
  case "$1" in
    --out) out="$2"; shift ;;
    --name) name="$2"; shift ;;
    --bundle) bundle="$2"; shift ;;
    --node-binary) node_binary="$2"; shift ;;
    --suite) suite="$2"; shift ;;
    --mirror) mirror="$2"; shift ;;
    --disk-size) disk_mib="$2"; shift ;;
    --collector) collector="$2"; shift ;;
    --token) token="$2"; shift ;;
    --label) label="$2"; shift ;;
    --profile) profile="$2"; shift ;;
    --memory) memory_mib="$2"; shift ;;
    --vcpus) vcpus="$2"; shift ;;
    --force) force=1 ;;
    --json) json=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ "$disk_mib" =~ ^[0-9]+$ ]] && ((disk_mib >= 512)) || { echo "build-image: --disk-size must be a number of MiB >= 512" >&2; exit 2; }
[[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "build-image: --name may only use letters, digits, . _ -" >&2; exit 2; }

t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf 'build-image: [%5ss] %s\n' "$(elapsed "$t_start")" "$*" >&2; }
die() { printf 'build-image: %s\n' "$*" >&2; exit 1; }
sha() { sha256sum "$@" | cut -d' ' -f1; }

[[ "$(id -u)" == 0 ]] || die "needs root (debootstrap, chroot, device nodes in the image); run it with sudo"
"$deploy/scripts/ensure-packages.sh" --for image || die "missing build tools (see the line above)"

# --- inputs -------------------------------------------------------------------------------------
if [[ -z "$bundle" ]]; then
  if [[ -f "$repo/agent/dist/cli/main.js" ]]; then
    node "$repo/scripts/bundle-agent.js" >&2 || die "bundling the agent failed"
  fi
  bundle="$repo/agent/dist/bundle/guestbench-agent.js"
  [[ -f "$bundle" ]] || die "no agent bundle: run npm run build first (or pass --bundle FILE)"
fi
[[ -f "$bundle" ]] || die "--bundle $bundle does not exist"
node_binary="$(readlink -f "${node_binary:-$(command -v node || true)}")"
[[ -x "$node_binary" ]] || die "no node binary to put in the image; pass --node-binary FILE"
node_libs="$(ldd "$node_binary" 2>&1 || true)"
grep -q 'not a dynamic executable\|libc.so.6' <<<"$node_libs" ||
  die "$node_binary is not a glibc build; the image needs a node built for glibc (Debian 12 has glibc 2.36)"

mkdir -p "$out"
out="$(cd "$out" && pwd)"
exec 9>"$out/.lock"
if ! flock -n 9; then log "waiting for another build in $out"; flock 9; fi

# --- base root file system, keyed on what makes it ----------------------------------------------
base_key="$( {
  echo "suite=$suite arch=amd64"
  cat "$here/make-rootfs.sh" "$here/packages.txt"
  (cd "$here/rootfs" && find . -type f -printf '%p %m\n' | sort && find . -type f -print0 | sort -z | xargs -0 cat)
} | sha256sum | cut -c1-16)"
base="$out/base/$base_key"
t_base=$(date +%s.%N)
if [[ -f "$base/.complete" ]]; then
  log "base root file system $base_key: cached"
  base_state=cached
else
  log "base root file system $base_key: building (debootstrap, about a minute or two)"
  rm -rf "$base"
  mkdir -p "$base"
  "$here/make-rootfs.sh" "$base/rootfs" --suite "$suite" --mirror "$mirror" --deb-cache "$out/debs" ||
    die "make-rootfs.sh failed"
  touch "$base/.complete"
  # Older bases are of no more use.
  find "$out/base" -mindepth 1 -maxdepth 1 ! -name "$base_key" -exec rm -rf {} +
  base_state=built
fi
base_seconds="$(elapsed "$t_base")"

# --- the disk, keyed on the base and the agent layer ---------------------------------------------
bundle_sha="$(sha "$bundle")"
node_sha="$(sha "$node_binary")"
disk_key="$( {
  echo "base=$base_key bundle=$bundle_sha node=$node_sha disk=$disk_mib name=$name"
  # This script up to the descriptors: changing a template or its rendering keeps the disk.
  sed '/^# --- per-hypervisor files/,$d' "$0"
  cat "$deploy/install-agent.sh" "$deploy/systemd/guestbench-agent.service"
} | sha256sum | cut -c1-16)"
manifest="$out/$name.manifest.json"
disk_outputs=("$name.raw" "$name.qcow2" "$name.vmdk" "$name.vmlinuz" "$name.initrd")

up_to_date=1
((force)) && up_to_date=0
[[ -f "$manifest" ]] && grep -q "\"diskKey\": \"$disk_key\"" "$manifest" || up_to_date=0
for f in "${disk_outputs[@]}"; do [[ -f "$out/$f" ]] || up_to_date=0; done

cmdline="root=LABEL=gb-root rw console=ttyS0,115200"
t_disk=$(date +%s.%N)
if ((up_to_date)); then
  log "disk $disk_key: up to date"
  disk_state=cached
  kernel_version="$(sed -nE 's/.*"kernelVersion": "([^"]+)".*/\1/p' "$manifest")"
else
  log "disk $disk_key: building (agent $bundle_sha, node $("$node_binary" --version))"
  work="$out/.work"
  rm -rf "$work"
  mkdir -p "$work"
  trap 'rm -rf "$work"' EXIT

  cp -a "$base/rootfs" "$work/rootfs"
  log "agent layer: install-agent.sh --root"
  "$deploy/install-agent.sh" --root "$work/rootfs" --bundle "$bundle" --node-binary "$node_binary" >&2

  kernel="$(find "$work/rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)"
  [[ -n "$kernel" ]] || die "no kernel in the base root file system"
  kernel_version="${kernel##*/vmlinuz-}"
  cp "$kernel" "$work/$name.vmlinuz"
  cp "$work/rootfs/boot/initrd.img-$kernel_version" "$work/$name.initrd"

  # Identifiers derived from the key, so an unchanged input gives the same disk.
  uuid="$(sha256sum <<<"$disk_key" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')"
  volid="$(cut -c1-8 <<<"$disk_key")"

  log "boot partition (FAT + syslinux) and root partition (mkfs.ext4 -d)"
  # Boot partition: FAT with syslinux, so no loop device or mount is needed to make it.
  files_mib=$(( ($(stat -c %s "$work/$name.vmlinuz") + $(stat -c %s "$work/$name.initrd")) / 1048576 + 1 ))
  boot_mib=$(( files_mib + 16 < 64 ? 64 : files_mib + 16 ))
  root_mib=$(( disk_mib - 1 - boot_mib ))
  used_mib=$(( $(du -sm "$work/rootfs" | cut -f1) ))
  (( used_mib * 100 / root_mib <= 85 )) || die "the root file system needs ${used_mib} MiB; --disk-size $disk_mib leaves $root_mib MiB"

  mkfs.vfat -n GB-BOOT -i "$volid" -C "$work/boot.img" $((boot_mib * 1024)) >/dev/null
  cat >"$work/syslinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT guestbench
PROMPT 0
TIMEOUT 0
LABEL guestbench
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=LABEL=gb-root rw console=tty0 console=ttyS0,115200
EOF
  mcopy -i "$work/boot.img" "$work/$name.vmlinuz" ::/vmlinuz
  mcopy -i "$work/boot.img" "$work/$name.initrd" ::/initrd.img
  mcopy -i "$work/boot.img" "$work/syslinux.cfg" ::/syslinux.cfg
  syslinux --install "$work/boot.img"

  # Root partition: ext4 filled straight from the folder (mkfs.ext4 -d).
  truncate -s "${root_mib}M" "$work/root.img"
  mkfs.ext4 -q -F -L gb-root -U "$uuid" -m 0 -d "$work/rootfs" "$work/root.img"

  raw="$work/$name.raw"
  truncate -s "${disk_mib}M" "$raw"
  sfdisk --quiet "$raw" <<EOF
label: dos
label-id: 0x${volid}
unit: sectors
start=2048, size=$((boot_mib * 2048)), type=c, bootable
start=$((2048 + boot_mib * 2048)), size=$((root_mib * 2048)), type=83
EOF
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none
  dd if="$work/boot.img" of="$raw" bs=1M seek=1 conv=notrunc status=none
  dd if="$work/root.img" of="$raw" bs=1M seek=$((1 + boot_mib)) conv=notrunc,sparse status=none
  rm -rf "$work/rootfs" "$work/boot.img" "$work/root.img"

  log "converting to qcow2 and streamOptimized VMDK"
  qemu-img convert -f raw -O qcow2 "$raw" "$work/$name.qcow2" &
  qcow_pid=$!
  qemu-img convert -f raw -O vmdk -o subformat=streamOptimized,adapter_type=lsilogic "$raw" "$work/$name.vmdk"
  wait "$qcow_pid"

  for f in "${disk_outputs[@]}"; do mv -f "$work/$f" "$out/$f"; done
  rm -rf "$work"
  trap - EXIT
  disk_state=built
fi
disk_seconds="$(elapsed "$t_disk")"

# --- per-hypervisor files (cheap: always rendered) ----------------------------------------------
xml_escape() { local s="${1//&/&amp;}"; s="${s//</&lt;}"; s="${s//>/&gt;}"; s="${s//\"/&quot;}"; printf '%s' "${s//\'/&apos;}"; }
render() {  # render TEMPLATE OUTPUT COLLECTOR: replaces @KEY@ with $T_KEY; drops lines whose value is empty
  T_NAME="$name" T_QCOW2="$out/$name.qcow2" T_RAW="$out/$name.raw" T_OVERLAY="$out/$name-libvirt.qcow2" \
  T_XEN_DISK="$out/$name-xen.raw" T_KERNEL="$out/$name.vmlinuz" T_INITRD="$out/$name.initrd" \
  T_COLLECTOR="$(xml_escape "$3")" T_TOKEN="$(xml_escape "$token")" T_LABEL="$(xml_escape "$label")" \
  T_PROFILE="$(xml_escape "$profile")" T_MEMORY_MIB="$memory_mib" T_VCPUS="$vcpus" \
  T_VMDK_FILE="$name.vmdk" T_VMDK_SIZE="$(stat -c %s "$out/$name.vmdk")" T_CAPACITY="$((disk_mib * 1048576))" \
    perl -ne '
      my $drop = 0;
      s/\@([A-Z0-9_]+)\@/exists $ENV{"T_$1"} ? do { $drop = 1 if $ENV{"T_$1"} eq "" && $_ !~ m{ovf:value}; $ENV{"T_$1"} } : $&/ge;
      print unless $drop;' "$1" >"$2.tmp"
  mv -f "$2.tmp" "$2"
}
render "$deploy/libvirt/guestbench-domain.xml.in" "$out/$name-libvirt.xml" "${collector:-192.168.122.1:50051}"
render "$deploy/xen/guestbench-hvm.cfg.in" "$out/$name-xen-hvm.cfg" "${collector:-HOST:PORT}"
render "$deploy/xen/guestbench-pvh.cfg.in" "$out/$name-xen-pvh.cfg" "${collector:-HOST:PORT}"
render "$deploy/vmware/guestbench.ovf.in" "$out/$name.ovf" "$collector"
(cd "$out" && for f in "$name.ovf" "$name.vmdk"; do echo "SHA256($f)= $(sha "$f")"; done) >"$out/$name.mf"

size_of() { stat -c %s "$out/$1"; }
cat >"$manifest.tmp" <<EOF
{
  "name": "$name",
  "diskKey": "$disk_key",
  "baseKey": "$base_key",
  "suite": "$suite",
  "kernelVersion": "$kernel_version",
  "cmdline": "$cmdline",
  "agentBundleSha256": "$bundle_sha",
  "nodeVersion": "$("$node_binary" --version)",
  "files": {
    "raw": "$out/$name.raw",
    "qcow2": "$out/$name.qcow2",
    "vmdk": "$out/$name.vmdk",
    "ovf": "$out/$name.ovf",
    "kernel": "$out/$name.vmlinuz",
    "initrd": "$out/$name.initrd",
    "libvirt": "$out/$name-libvirt.xml",
    "xenHvm": "$out/$name-xen-hvm.cfg",
    "xenPvh": "$out/$name-xen-pvh.cfg"
  },
  "bytes": {
    "rawAllocated": $(( $(stat -c %b "$out/$name.raw") * $(stat -c %B "$out/$name.raw") )),
    "rawVirtual": $(size_of "$name.raw"),
    "qcow2": $(size_of "$name.qcow2"),
    "vmdk": $(size_of "$name.vmdk"),
    "kernel": $(size_of "$name.vmlinuz"),
    "initrd": $(size_of "$name.initrd")
  },
  "build": { "base": "$base_state", "disk": "$disk_state", "baseSeconds": $base_seconds, "diskSeconds": $disk_seconds, "totalSeconds": $(elapsed "$t_start") }
}
EOF
mv -f "$manifest.tmp" "$manifest"
log "done in $(elapsed "$t_start") s (base $base_state ${base_seconds}s, disk $disk_state ${disk_seconds}s): $manifest"
log "qcow2 $(du -h --apparent-size "$out/$name.qcow2" | cut -f1), vmdk $(du -h --apparent-size "$out/$name.vmdk" | cut -f1), raw $(du -h "$out/$name.raw" | cut -f1) allocated"
((json)) && cat "$manifest"
exit 0
