#!/usr/bin/env bash
# Throw-away PostgreSQL cluster for the store tests (no systemd needed).
#   eval "$(.ci/postgres.sh start)"   # installs Debian's postgresql if needed, starts a
#                                     # cluster, prints `export EKYC_TEST_POSTGRES_URL=...`
#   .ci/postgres.sh stop              # stops it and deletes its data directory
# Settings: EKYC_PG_DIR (default /tmp/ekyc-pg), EKYC_PG_PORT (default 55432).
set -euo pipefail

DIR=${EKYC_PG_DIR:-/tmp/ekyc-pg}
PORT=${EKYC_PG_PORT:-55432}
DB=ekyc_test
DATA=$DIR/data
LOG=$DIR/server.log

log() { echo "postgres.sh: $*" >&2; }

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$bin" ]; then
    [ "$(id -u)" = 0 ] || { log "postgresql is not installed (run as root to install it)"; exit 1; }
    log "installing Debian's postgresql"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$bin"
}

# as root the server must run as the unprivileged postgres user
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bin
  bin=$(pg_bin)
  mkdir -p "$DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$DIR"; fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "initdb in $DATA"
    as_owner "$bin/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-locale >/dev/null
  fi
  if ! as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "starting on 127.0.0.1:$PORT (socket in $DIR)"
    # fsync off: a throw-away test cluster trades durability for speed
    as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
      start >/dev/null
  fi
  if ! as_owner "$bin/psql" -h "$DIR" -p "$PORT" -U postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB'" postgres | grep -q 1; then
    as_owner "$bin/createdb" -h "$DIR" -p "$PORT" -U postgres "$DB"
  fi
  echo "export EKYC_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
}

stop() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$bin" ] && [ -f "$DATA/PG_VERSION" ]; then
    as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR"
  log "stopped and removed $DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
