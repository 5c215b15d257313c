#!/usr/bin/env bash
# Proves install-agent.sh is idempotent: installs into an empty root twice and compares a
# listing of every path's type, mode, owner, mtime, link target and content checksum.
# Usage: check-install-idempotent.sh BUNDLE [NODE_BINARY]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bundle="${1:?usage: check-install-idempotent.sh BUNDLE [NODE_BINARY]}"
node_binary="${2:-$(command -v node)}"
root="$(mktemp -d -t gb-install-root.XXXXXX)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/etc"

listing() {
  (cd "$root" && find . -printf '%p %y %m %U:%G %T@ %l\n' | sort &&
    find . -type f -print0 | sort -z | xargs -0 sha256sum)
}
args=(--root "$root" --bundle "$bundle" --node-binary "$node_binary" --collector 10.0.2.2:50051 --token test-token --label idempotence --profile smoke)
"$here/../install-agent.sh" "${args[@]}" >/dev/null
first="$(listing)"
second_out="$("$here/../install-agent.sh" "${args[@]}")"
second="$(listing)"
if [[ "$first" != "$second" ]]; then
  echo "check-install-idempotent: the second install changed the root:" >&2
  diff <(echo "$first") <(echo "$second") >&2 || true
  exit 1
fi
grep -q ', 0 change(s)' <<<"$second_out" || { echo "check-install-idempotent: second run reported changes: $second_out" >&2; exit 1; }
echo "check-install-idempotent: ok, second install changed nothing ($(wc -l <<<"$first") listing lines, sha256 $(sha256sum <<<"$first" | cut -c1-16))"
