#!/usr/bin/env bash
# pg-temp.sh: a throw-away PostgreSQL 15 server for tests and demos.
#
#   pg-temp.sh start DIR    initdb into DIR/data (trust auth, superuser `nas`,
#                           UTF8), start on a free 127.0.0.1 port (unix socket
#                           in DIR), create database `nas`; prints exactly one
#                           line on stdout:
#                             host=127.0.0.1 port=PORT dbname=nas user=nas
#                           and writes PORT to DIR/port.
#   pg-temp.sh stop DIR     fast shutdown (immediate if fast fails); data kept.
#   pg-temp.sh restart DIR  start again on the same port (DIR/port).
#
# Everything except the connection line goes to stderr. The server runs with
# fsync=off, synchronous_commit=off and full_page_writes=off: fast, and
# crash-unsafe, which is fine for data that is deleted after the test.
# NAS_PG_DURABLE=1 keeps PostgreSQL's durable defaults instead (benchmarks
# that claim "durably stored"); NAS_PG_OPTIONS adds server options, e.g.
# "-c shared_preload_libraries=pg_stat_statements". Both are remembered by
# restart.
# PostgreSQL refuses to run as root: as root, DIR is chowned to `postgres`
# and server commands run through `runuser -u postgres --`.
# Exits non-zero with a message (and the server log's tail) on failure.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

die() {
  echo "pg-temp.sh: $*" >&2
  if [[ -n "${DIR:-}" && -f "$DIR/server.log" ]]; then
    echo "--- last lines of $DIR/server.log ---" >&2
    tail -n 30 "$DIR/server.log" >&2 || true
  fi
  exit 1
}

# Runs a server-side command as the data directory's owner.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

start_server() {
  local port=$1
  local options
  options=$(cat "$DIR/options")
  as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $DIR \
        -c max_connections=300 $options" \
    start >&2 || die "pg_ctl start failed (port $port)"
  local i
  for i in $(seq 1 100); do
    if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      return 0
    fi
    sleep 0.1
  done
  die "server on port $port did not become ready"
}

usage() {
  echo "usage: pg-temp.sh start|stop|restart DIR" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
CMD=$1
DIR=$(realpath -m "$2")
[[ -x "$PGBIN/postgres" ]] || die "no PostgreSQL server binaries in $PGBIN"

case "$CMD" in
  start)
    mkdir -p "$DIR"
    [[ ! -e "$DIR/data" ]] || die "$DIR/data already exists"
    if [[ $(id -u) -eq 0 ]]; then
      id postgres >/dev/null 2>&1 || die "running as root but no user postgres"
      chown -R postgres: "$DIR"
      # Parents of DIR (e.g. a mkdtemp 0700 dir) must be traversable.
      chmod o+x "$DIR" 2>/dev/null || true
    fi
    options="${NAS_PG_OPTIONS:-}"
    if [[ "${NAS_PG_DURABLE:-0}" != 1 ]]; then
      options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off $options"
    fi
    echo "$options" >"$DIR/options"
    as_owner "$PGBIN/initdb" -D "$DIR/data" -U nas -A trust -E UTF8 \
      --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 ||
      { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
    PORT=""
    for attempt in 1 2 3; do
      PORT=$(free_port) || die "could not pick a free port"
      if start_server_try=$(start_server "$PORT" 2>&1); then
        echo "$start_server_try" >&2
        break
      fi
      echo "$start_server_try" >&2
      echo "pg-temp.sh: start on port $PORT failed, retrying ($attempt)" >&2
      PORT=""
    done
    [[ -n "$PORT" ]] || die "could not start the server"
    echo "$PORT" >"$DIR/port"
    "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U nas nas >&2 ||
      die "createdb failed"
    echo "host=127.0.0.1 port=$PORT dbname=nas user=nas"
    ;;
  stop)
    [[ -d "$DIR/data" ]] || die "no data directory in $DIR"
    if ! as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -w -t 30 -m fast stop >&2; then
      as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -w -t 30 -m immediate stop >&2 ||
        die "pg_ctl stop failed"
    fi
    ;;
  restart)
    [[ -f "$DIR/port" ]] || die "no $DIR/port: was the server started here?"
    PORT=$(cat "$DIR/port")
    start_server "$PORT"
    ;;
  *)
    usage
    ;;
esac
