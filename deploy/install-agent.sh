#!/usr/bin/env bash
# Installs the guestbench agent into the running system, or into an image root given as a
# folder: the single-file bundle, a wrapper on PATH, the systemd unit (enabled) and, when any
# setting is given, /etc/guestbench/agent.json. Brings a Node runtime (>= 20) when the target
# has none. Running it twice changes nothing the second time.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: install-agent.sh [options]
  --root DIR           install into the system rooted at DIR (an image tree); default: this system
  --bundle FILE        agent bundle (default: guestbench-agent.js beside this script, or
                       agent/dist/bundle/guestbench-agent.js of the repo)
  --node-binary FILE   copy this node (>= 20) to /usr/local/bin/node in the target
  --collector HOST:PORT, --token T, --label L, --platform P, --profile P
                       write these (and only these) keys to /etc/guestbench/agent.json;
                       with none of them an existing file is left as it is
  --start              start the unit now (running system only; it runs one benchmark)
  --no-enable          install the unit without enabling it at boot
  -h, --help           this text
EOF
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root=/
bundle=""
node_binary=""
start=0
enable=1
declare -A config=()
config_keys=(collector token label platform profile)

die() { echo "install-agent: $*" >&2; exit 1; }

while (($#)); do
  case "$1" in
    --root) root="${2:?--root needs a folder}"; shift ;;
    --bundle) bundle="${2:?--bundle needs a file}"; shift ;;
    --node-binary) node_binary="${2:?--node-binary needs a file}"; shift ;;
    --collector|--token|--label|--platform|--profile)
      config[${1#--}]="${2:?$1 needs a value}"; shift ;;
    --start) start=1 ;;
    --no-enable) enable=0 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument $1" ;;
  esac
  shift
done

[[ -d "$root" ]] || die "--root $root is not a folder"
root="$(cd "$root" && pwd)"
live=0
[[ "$root" == / ]] && live=1
t() { if ((live)); then printf '%s' "$1"; else printf '%s%s' "$root" "$1"; fi; }  # target path

((start == 0 || live == 1)) || die "--start only works on the running system, not with --root"
if [[ ! -d "$(t /etc)" ]]; then
  die "$root has no etc/ folder: not the root of a system (an image root has etc/, usr/, var/); give the folder that holds them"
fi
if [[ ! -w "$(t /etc)" ]]; then
  if [[ "$(id -u)" == 0 ]]; then die "cannot write to $(t /etc) although this is root (a read-only file system?)"; fi
  die "cannot write to $(t /etc); run as root"
fi

# Same rule as the agent's own check (agent/src/config/settings.ts): HOST:PORT or [IPv6]:PORT.
if [[ -n "${config[collector]:-}" ]]; then
  c="${config[collector]}"
  if ! [[ "$c" =~ ^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})$ ]] ||
     ((10#${BASH_REMATCH[3]} < 1 || 10#${BASH_REMATCH[3]} > 65535)); then
    die "--collector \"$c\" is not HOST:PORT (e.g. 10.0.2.2:50051)"
  fi
fi
for k in "${!config[@]}"; do
  [[ "${config[$k]}" =~ [[:cntrl:]] ]] && die "--$k contains control characters"
  [[ -n "${config[$k]//[[:space:]]/}" ]] || die "--$k is empty"
done

# --- inputs -----------------------------------------------------------------------------------
if [[ -z "$bundle" ]]; then
  for candidate in "$here/guestbench-agent.js" "$here/../agent/dist/bundle/guestbench-agent.js"; do
    [[ -f "$candidate" ]] && { bundle="$candidate"; break; }
  done
  [[ -n "$bundle" ]] || die "no agent bundle found; build it (npm run build && node scripts/bundle-agent.js) or pass --bundle FILE"
fi
[[ -f "$bundle" ]] || die "--bundle $bundle does not exist"
unit_source=""
for candidate in "$here/guestbench-agent.service" "$here/systemd/guestbench-agent.service"; do
  [[ -f "$candidate" ]] && { unit_source="$candidate"; break; }
done
[[ -n "$unit_source" ]] || die "guestbench-agent.service not found beside $0"

changed=0
report() { printf 'install-agent: %-9s %s\n' "$1" "$2"; [[ "$1" == unchanged ]] || changed=$((changed + 1)); }

# Installs SRC at target path DEST with MODE, only when content or mode differ.
put_file() {
  local src="$1" dest; dest="$(t "$2")"; local mode="$3"
  if [[ -f "$dest" && ! -L "$dest" ]] && cmp -s "$src" "$dest"; then
    if [[ "$(stat -c %a "$dest")" != "${mode#0}" ]]; then chmod "$mode" "$dest"; report mode "$2"; else report unchanged "$2"; fi
    return
  fi
  install -D -m "$mode" "$src" "$dest"
  report installed "$2"
}

put_text() {  # put_text DEST MODE < content
  local tmp; tmp="$(mktemp)"
  cat >"$tmp"
  put_file "$tmp" "$1" "$2"
  rm -f "$tmp"
}

put_link() {  # put_link LINK TARGET (both target-absolute)
  local link; link="$(t "$1")"
  if [[ -L "$link" && "$(readlink "$link")" == "$2" ]]; then report unchanged "$1"; return; fi
  mkdir -p "$(dirname "$link")"
  ln -sfn "$2" "$link"
  report linked "$1 -> $2"
}

# --- Node runtime -------------------------------------------------------------------------------
node_major() {  # node_major BINARY (target-absolute) -> major version, or empty
  local v=""
  if ((live)); then v="$("$1" --version 2>/dev/null || true)"
  else
    v="$("$(t "$1")" --version 2>/dev/null || true)"
    # A target whose libraries differ from the host's: ask inside the target.
    [[ -n "$v" ]] || v="$(chroot "$root" "$1" --version 2>/dev/null || true)"
  fi
  [[ "$v" =~ ^v([0-9]+)\. ]] && echo "${BASH_REMATCH[1]}"
}

node_path=""
if [[ -n "$node_binary" ]]; then
  [[ -x "$node_binary" ]] || die "--node-binary $node_binary is not an executable file"
  v="$("$node_binary" --version 2>/dev/null || true)"
  [[ "$v" =~ ^v([0-9]+)\. ]] || die "--node-binary $node_binary does not run here (node --version said '${v}')"
  ((BASH_REMATCH[1] >= 20)) || die "--node-binary $node_binary is Node $v; guestbench needs Node >= 20"
  put_file "$node_binary" /usr/local/bin/node 0755
  node_path=/usr/local/bin/node
else
  for candidate in /usr/local/bin/node /usr/bin/node; do
    [[ -x "$(t "$candidate")" ]] || continue
    major="$(node_major "$candidate")"
    if [[ -n "$major" ]] && ((major >= 20)); then node_path="$candidate"; break; fi
    die "the target has Node ${major:-of unknown version} at $candidate; guestbench needs Node >= 20: pass --node-binary FILE (a node >= 20 for this architecture, e.g. from https://nodejs.org/dist/)"
  done
  if [[ -z "$node_path" ]]; then
    in_target() { if ((live)); then "$@"; else chroot "$root" "$@"; fi; }
    in_target sh -c 'command -v apt-get' >/dev/null 2>&1 ||
      die "the target has no node and no apt-get; pass --node-binary FILE (a node >= 20)"
    candidate_version() { in_target apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}'; }
    cv="$(candidate_version)"
    if [[ -z "$cv" || "$cv" == "(none)" ]]; then in_target apt-get update -q >/dev/null 2>&1 || true; cv="$(candidate_version)"; fi
    cv_major="$(sed -E 's/^[0-9]+://; s/^([0-9]+).*/\1/' <<<"$cv")"
    if [[ -z "$cv" || "$cv" == "(none)" ]] || ! [[ "$cv_major" =~ ^[0-9]+$ ]] || ((cv_major < 20)); then
      die "the target has no node, and its nodejs package is ${cv:-unavailable} (Debian 12 and Ubuntu 24.04 ship 18); guestbench needs Node >= 20: pass --node-binary FILE or add a package source with Node >= 20"
    fi
    echo "install-agent: installing nodejs $cv with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive in_target apt-get install -y -q --no-install-recommends nodejs >&2 ||
      die "apt-get install nodejs failed in the target"
    node_path=/usr/bin/node
    report installed "nodejs $cv (apt)"
  fi
fi

# --- agent, wrapper, unit, config ---------------------------------------------------------------
put_file "$bundle" /opt/guestbench/guestbench-agent.js 0755
put_text /usr/local/bin/guestbench-agent 0755 <<EOF
#!/bin/sh
# guestbench agent (installed by install-agent.sh)
exec $node_path /opt/guestbench/guestbench-agent.js "\$@"
EOF

unit_before="$(cat "$(t /etc/systemd/system/guestbench-agent.service)" 2>/dev/null || true)"
put_file "$unit_source" /etc/systemd/system/guestbench-agent.service 0644
if ((enable)); then
  put_link /etc/systemd/system/multi-user.target.wants/guestbench-agent.service /etc/systemd/system/guestbench-agent.service
fi

json_string() {  # JSON string literal of $1 (control characters were refused above)
  local s="${1//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "$s"
}
if ((${#config[@]})); then
  json="{"
  sep=""
  for k in "${config_keys[@]}"; do
    [[ -n "${config[$k]+set}" ]] || continue
    json+="$sep\"$k\": $(json_string "$(sed -E 's/^[[:space:]]+|[[:space:]]+$//g' <<<"${config[$k]}")")"
    sep=", "
  done
  json+="}"
  mkdir -p "$(t /etc/guestbench)"
  # The token is a credential: root only.
  put_text /etc/guestbench/agent.json 0600 <<<"$json"
fi

if ((live)) && [[ -d /run/systemd/system ]]; then
  if [[ "$unit_before" != "$(cat /etc/systemd/system/guestbench-agent.service)" ]]; then systemctl daemon-reload; fi
  if ((start)); then systemctl start --no-block guestbench-agent.service; echo "install-agent: started guestbench-agent.service (journalctl -u guestbench-agent -f)" >&2; fi
elif ((start)); then
  die "--start needs a running systemd"
fi
echo "install-agent: done, $changed change(s) in $root"
