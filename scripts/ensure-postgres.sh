#!/usr/bin/env bash
# A private PostgreSQL server for tests, from Debian's packages (installed when missing, as root).
#   scripts/ensure-postgres.sh [start [DIR]]   start one in DIR (default: a new temp folder); prints its URL
#   scripts/ensure-postgres.sh stop DIR        stop it and remove DIR
# It never touches the system's own clusters: its own initdb, on a free loopback port, trust auth.
set -euo pipefail

say() { echo "ensure-postgres: $*" >&2; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; fi
}

# The server refuses to run as root: as root, run its programs as the postgres user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-start}
case "$cmd" in
  stop)
    dir=${2:?usage: ensure-postgres.sh stop DIR}
    bin=$(pg_bin)
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || say "pg_ctl stop failed"
    fi
    rm -rf "$dir"
    exit 0
    ;;
  start) ;;
  *) say "unknown command \"$cmd\" (start [DIR] | stop DIR)"; exit 2 ;;
esac

bin=$(pg_bin)
if [ -z "$bin" ]; then
  if [ "$(id -u)" != 0 ]; then
    say "PostgreSQL is not installed and this is not root: apt-get install postgresql (as root), or set GUESTBENCH_TEST_PG_URL"
    exit 1
  fi
  say "installing Debian's postgresql"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be missing or stale on a fresh machine: update only when the install needs it.
  if ! apt-get install -y --no-install-recommends postgresql >&2; then
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
  fi
  bin=$(pg_bin)
  [ -n "$bin" ] || { say "postgresql installed, but no initdb under /usr/lib/postgresql/*/bin"; exit 1; }
fi

dir=${2:-$(mktemp -d "${TMPDIR:-/tmp}/guestbench-pg.XXXXXX")}
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; chmod 700 "$dir"; fi

if [ ! -f "$dir/data/PG_VERSION" ]; then
  as_owner "$bin/initdb" -D "$dir/data" -U guestbench -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; say "initdb failed"; exit 1; }
fi

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close();})"
}

# A port picked free can be taken before the server binds it: try a few.
started=""
for _ in 1 2 3 4 5; do
  port=$(free_port)
  # Durability is not wanted from a throwaway test server: fsync off makes the suite fast.
  if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >&2; then
    started=yes
    break
  fi
  tail -n 20 "$dir/server.log" >&2 || true
done
[ -n "$started" ] || { say "the server did not start (log: $dir/server.log)"; exit 1; }

as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U guestbench guestbench >/dev/null 2>&1 || true
as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U guestbench -d guestbench -Atc 'SELECT 1' >/dev/null ||
  { say "the server started but does not answer on 127.0.0.1:$port"; exit 1; }

say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir; stop it with: scripts/ensure-postgres.sh stop $dir"
echo "postgres://guestbench@127.0.0.1:$port/guestbench"
