#!/usr/bin/env bash
# Packs what install-agent.sh needs into one tarball for machines without the repo (cloud-init,
# existing VMs): guestbench-agent/{install-agent.sh, guestbench-agent.service, guestbench-agent.js}
# and, with --with-node, this host's node binary (for Debian 12 / Ubuntu 24.04, whose nodejs is 18).
# Usage: pack-agent.sh [--bundle FILE] [--with-node] [--out FILE]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bundle="$repo/agent/dist/bundle/guestbench-agent.js"
out="$repo/.cache/dist/guestbench-agent.tar.gz"
with_node=0
while (($#)); do
  case "$1" in
    --bundle) bundle="$2"; shift ;;
    --with-node) with_node=1 ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "pack-agent: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -f "$bundle" ]] || { echo "pack-agent: no bundle at $bundle; run npm run build && node scripts/bundle-agent.js" >&2; exit 1; }
stage="$(mktemp -d -t gb-pack.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/guestbench-agent" "$(dirname "$out")"
install -m 0755 "$repo/deploy/install-agent.sh" "$stage/guestbench-agent/install-agent.sh"
install -m 0644 "$repo/deploy/systemd/guestbench-agent.service" "$stage/guestbench-agent/guestbench-agent.service"
install -m 0755 "$bundle" "$stage/guestbench-agent/guestbench-agent.js"
if ((with_node)); then
  node_bin="$(readlink -f "$(command -v node)")"
  install -m 0755 "$node_bin" "$stage/guestbench-agent/node"
fi
tar -C "$stage" --owner=0 --group=0 -czf "$out" guestbench-agent
echo "pack-agent: $out ($(du -h "$out" | cut -f1))"
