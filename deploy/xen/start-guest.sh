#!/usr/bin/env bash
# Starts a guestbench Xen guest with its collector address in xenstore (run in dom0 as root):
# creates the domain paused, writes vm-data/guestbench/{collector,token,label,profile} where
# the guest may read them, then unpauses it.
# Usage: start-guest.sh XL_CONFIG COLLECTOR [TOKEN [LABEL [PROFILE]]]
set -euo pipefail
cfg="${1:?usage: start-guest.sh XL_CONFIG COLLECTOR [TOKEN [LABEL [PROFILE]]]}"
collector="${2:?usage: start-guest.sh XL_CONFIG COLLECTOR [TOKEN [LABEL [PROFILE]]]}"
name="$(sed -nE 's/^name[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' "$cfg")"
[[ -n "$name" ]] || { echo "start-guest: no name = \"...\" in $cfg" >&2; exit 1; }

xl create -p "$cfg"
domid="$(xl domid "$name")"
base="/local/domain/$domid/vm-data/guestbench"
xenstore-write "$base/collector" "$collector"
[[ -n "${3:-}" ]] && xenstore-write "$base/token" "$3"
[[ -n "${4:-}" ]] && xenstore-write "$base/label" "$4"
[[ -n "${5:-}" ]] && xenstore-write "$base/profile" "$5"
# Nodes dom0 creates belong to dom0; hand the subtree to the guest so it may read it.
xenstore-chmod -r "$base" "n$domid"
xl unpause "$name"
echo "start-guest: $name is domain $domid; serial console: xl console $name"
