#!/usr/bin/env bash
# start-pds.sh — run a REAL atproto PDS (+ in-memory PLC) on 127.0.0.1 for publisher's tests.
#
#   scripts/pds/start-pds.sh install  # npm install only (idempotent; instant when installed)
#   scripts/pds/start-pds.sh start    # install if needed, wipe data, start, create the test
#                                     # accounts, print KEY=VALUE lines on stdout:
#                                     #   PDS_URL PDS_TEST_HANDLE PDS_TEST_PASSWORD PDS_TEST_DID
#                                     #   PDS_EXTRA_HANDLES PDS_EXTRA_PASSWORD PDS_EXTRA_DIDS PDS_PID
#   scripts/pds/start-pds.sh stop     # stop the server started by 'start' (by its pid file)
#   scripts/pds/start-pds.sh status
#
# Typical use:  eval "$(scripts/pds/start-pds.sh start | sed 's/^/export /')"
#
# Knobs (env):
#   PDS_NPM_VERSION     0.4.217 (default; runs on the system Node 20)
#   PDS_HOME            node_modules live here; each port gets its own run dir below it
#                       (default ${TMPDIR:-/tmp}/publisher-pds-$PDS_NPM_VERSION)
#   PDS_PORT / PLC_PORT 2583 / 2582
#   PDS_TEST_HANDLE     alice.test        PDS_TEST_PASSWORD   alice-pass
#   PDS_EXTRA_HANDLES   bob.test          more accounts, comma separated ("" for none)
#   PDS_EXTRA_PASSWORD  extra-pass        the password of every extra account
# Handles must end in .test and their first label must be 3-18 characters long.
# PDS_EXTRA_DIDS is printed as handle=did pairs, comma separated (no spaces).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PDS_NPM_VERSION="${PDS_NPM_VERSION:-0.4.217}"
PLC_NPM_VERSION="${PLC_NPM_VERSION:-0.0.1}"
PDS_HOME="${PDS_HOME:-${TMPDIR:-/tmp}/publisher-pds-$PDS_NPM_VERSION}"
PDS_PORT="${PDS_PORT:-2583}"
PLC_PORT="${PLC_PORT:-2582}"
PDS_TEST_HANDLE="${PDS_TEST_HANDLE:-alice.test}"
PDS_TEST_PASSWORD="${PDS_TEST_PASSWORD:-alice-pass}"
PDS_EXTRA_HANDLES="${PDS_EXTRA_HANDLES-bob.test}"
PDS_EXTRA_PASSWORD="${PDS_EXTRA_PASSWORD:-extra-pass}"
RUN_DIR="$PDS_HOME/run-$PDS_PORT"
PID_FILE="$RUN_DIR/pds.pid"
LOG_FILE="$RUN_DIR/pds.log"
DATA="$RUN_DIR/data"

# Keep node/npm side files (node-compile-cache, core-js-banners, ...) inside PDS_HOME.
export TMPDIR="$PDS_HOME/tmp"

log() { echo "[start-pds] $*" >&2; }

case "$PDS_NPM_VERSION" in
  0.4.*) ;;
  *) log "only @atproto/pds 0.4.x runs on Node 20; got PDS_NPM_VERSION=$PDS_NPM_VERSION"; exit 2 ;;
esac
command -v node >/dev/null || { log "node is not installed"; exit 1; }

installed() {
  [ -f "$PDS_HOME/node_modules/@atproto/pds/package.json" ] &&
    [ -f "$PDS_HOME/node_modules/@did-plc/server/package.json" ] &&
    [ "$(cat "$PDS_HOME/installed-version" 2>/dev/null)" = "$PDS_NPM_VERSION $PLC_NPM_VERSION $(node -v)" ]
}

install() {
  mkdir -p "$PDS_HOME" "$TMPDIR"
  if ! installed; then
    # better-sqlite3 is compiled from source (its prebuilt download is unreachable):
    # node-gyp must use the headers of the node that will run it, never download them.
    npm_config_nodedir="$(cd "$(dirname "$(readlink -f "$(command -v node)")")/.." && pwd)"
    export npm_config_nodedir
    log "npm install @atproto/pds@$PDS_NPM_VERSION @did-plc/server@$PLC_NPM_VERSION (node $(node -v)) ..."
    cat >"$PDS_HOME/package.json" <<EOF
{ "name": "publisher-local-pds", "private": true, "type": "module",
  "dependencies": { "@atproto/pds": "$PDS_NPM_VERSION", "@did-plc/server": "$PLC_NPM_VERSION" },
  "allowScripts": { "better-sqlite3": true, "core-js": false } }
EOF
    local t0=$SECONDS
    (cd "$PDS_HOME" && npm install --no-audit --no-fund >"$PDS_HOME/npm-install.log" 2>&1) ||
      { tail -30 "$PDS_HOME/npm-install.log" >&2; exit 1; }
    (cd "$PDS_HOME" && node -e "new (require('better-sqlite3'))(':memory:')") ||
      { log "better-sqlite3 did not build (see $PDS_HOME/npm-install.log)"; exit 1; }
    echo "$PDS_NPM_VERSION $PLC_NPM_VERSION $(node -v)" >"$PDS_HOME/installed-version"
    log "npm install done in $((SECONDS - t0))s, node_modules $(du -sh "$PDS_HOME/node_modules" | cut -f1)"
  fi
  cmp -s "$HERE/pds-server.mjs" "$PDS_HOME/pds-server.mjs" ||
    cp -f "$HERE/pds-server.mjs" "$PDS_HOME/pds-server.mjs"
}

# running = pid file exists AND that pid is still our pds-server.mjs (guards against pid reuse)
is_running() {
  [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$(cat "$PID_FILE")/cmdline" 2>/dev/null | grep -q 'pds-server.mjs'
}

stop() {
  if is_running; then
    local pid
    pid="$(cat "$PID_FILE")"
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    log "stopped pid $pid"
  fi
  rm -f "$PID_FILE"
  rm -rf "$DATA" # useless without the in-memory PLC that died with the server; the log stays
}

# create_account HANDLE PASSWORD -> prints the new account's DID
create_account() {
  local handle="$1" password="$2" resp did
  resp="$(curl -sS --retry 5 --retry-connrefused --retry-delay 1 -X POST \
    "http://127.0.0.1:$PDS_PORT/xrpc/com.atproto.server.createAccount" \
    -H 'content-type: application/json' \
    -d "{\"handle\":\"$handle\",\"email\":\"${handle//./-}@example.com\",\"password\":\"$password\"}")" || true
  did="$(printf '%s' "$resp" | grep -o '"did":"did:[^"]*"' | head -1 | cut -d'"' -f4)" || true
  [ -n "$did" ] || { log "createAccount $handle failed: $resp"; return 1; }
  echo "$did"
}

start() {
  install
  stop
  mkdir -p "$RUN_DIR"
  # The PLC is in-memory: old PDS data would reference DIDs the new PLC doesn't know.
  rm -rf "$DATA"
  mkdir -p "$DATA/blobs"
  rm -f "$LOG_FILE" # the readiness check greps this file: never let an old "ready" line count
  local t0
  t0=$(date +%s.%N)
  env \
    PDS_HOSTNAME=localhost PDS_PORT="$PDS_PORT" PDS_DEV_MODE=true \
    PDS_DATA_DIRECTORY="$DATA" PDS_BLOBSTORE_DISK_LOCATION="$DATA/blobs" \
    PDS_JWT_SECRET="$(openssl rand -hex 16)" PDS_ADMIN_PASSWORD="${PDS_ADMIN_PASSWORD:-admin-pass}" \
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX="$(openssl rand -hex 32)" \
    PDS_DID_PLC_URL="http://127.0.0.1:$PLC_PORT" PLC_PORT="$PLC_PORT" \
    PDS_INVITE_REQUIRED=false PDS_SERVICE_HANDLE_DOMAINS=.test \
    PDS_DISABLE_SSRF_PROTECTION=true PDS_RATE_LIMITS_ENABLED=false \
    PDS_VERSION="$PDS_NPM_VERSION" LOG_ENABLED="${LOG_ENABLED:-false}" \
    nohup node "$PDS_HOME/pds-server.mjs" >"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 300); do
    grep -q '"ready":true' "$LOG_FILE" 2>/dev/null && break
    kill -0 "$(cat "$PID_FILE")" 2>/dev/null || {
      log "PDS died:"
      tail -30 "$LOG_FILE" >&2
      rm -f "$PID_FILE"
      exit 1
    }
    sleep 0.1
  done
  grep -q '"ready":true' "$LOG_FILE" || { log "PDS not ready after 30s"; tail -30 "$LOG_FILE" >&2; stop; exit 1; }
  local t1 did extra_dids="" h
  t1=$(date +%s.%N)
  # Accounts need no invite. Handles must end in .test (PDS_SERVICE_HANDLE_DOMAINS).
  # They are created side by side, each DID into a file of its own.
  local jobs=() job
  create_account "$PDS_TEST_HANDLE" "$PDS_TEST_PASSWORD" >"$DATA/did-main" &
  jobs+=($!)
  for h in ${PDS_EXTRA_HANDLES//,/ }; do
    create_account "$h" "$PDS_EXTRA_PASSWORD" >"$DATA/did-$h" &
    jobs+=($!)
  done
  for job in "${jobs[@]}"; do wait "$job" || { stop; exit 1; }; done
  did="$(cat "$DATA/did-main")"
  for h in ${PDS_EXTRA_HANDLES//,/ }; do
    extra_dids="${extra_dids:+$extra_dids,}$h=$(cat "$DATA/did-$h")"
  done
  rm -f "$DATA"/did-*
  log "ready in $(awk "BEGIN{printf \"%.1f\", $t1-$t0}")s, pid $(cat "$PID_FILE"), rss $(($(ps -o rss= -p "$(cat "$PID_FILE")") / 1024)) MB, log $LOG_FILE"
  echo "PDS_URL=http://127.0.0.1:$PDS_PORT"
  echo "PDS_TEST_HANDLE=$PDS_TEST_HANDLE"
  echo "PDS_TEST_PASSWORD=$PDS_TEST_PASSWORD"
  echo "PDS_TEST_DID=$did"
  echo "PDS_EXTRA_HANDLES=$(echo "$PDS_EXTRA_HANDLES" | tr -s ' ,' ',' | sed 's/^,//; s/,$//')"
  echo "PDS_EXTRA_PASSWORD=$PDS_EXTRA_PASSWORD"
  echo "PDS_EXTRA_DIDS=$extra_dids"
  echo "PDS_PID=$(cat "$PID_FILE")"
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if is_running; then echo "running pid $(cat "$PID_FILE")"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 [install|start|stop|status]" >&2; exit 2 ;;
esac
