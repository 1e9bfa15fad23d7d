#!/usr/bin/env bash
# start.sh — the real letmepost API server (the open-source fork's source, kept outside
# this repository) on 127.0.0.1 for publisher's tests: Postgres and Redis from Debian, a
# local S3 (moto), the API and its BullMQ worker, its Bluesky accounts on a local PDS.
#
#   scripts/letmepost/start.sh install   # install and build once, kept in LMP_HOME:
#                                        # Debian's postgresql + redis-server, pnpm, moto,
#                                        # the server built, a migrated database template
#   scripts/letmepost/start.sh up        # start a fresh server in LMP_RUN_DIR (installs
#                                        # first if needed) with the onboarding that needs
#                                        # no PDS (onboard.py prepare: sign-up, org, keys,
#                                        # profiles; X and Threads rows); prints nothing
#   scripts/letmepost/start.sh start     # `up` (or find it done), connect the Bluesky
#                                        # accounts on the PDS (onboard.py connect) and
#                                        # print KEY=VALUE lines:
#                                        #   LMP_URL LMP_TEST_KEY LMP_LIVE_KEY LMP_ORG_ID
#                                        #   LMP_PROFILE_ID LMP_PROFILE2_ID LMP_ALICE_ID
#                                        #   LMP_ALICE_DID LMP_BOB_ID LMP_BOB_DID LMP_X_ID
#                                        #   LMP_THREADS_ID PDS_URL PDS_TEST_HANDLE ...
#   scripts/letmepost/stop.sh            # (or start.sh stop) stop it, delete LMP_RUN_DIR
#   scripts/letmepost/start.sh source    # print the source folder; exit 3 when absent
#
# The source folder (src.tar.gz, patches/, tools/, its own start.sh): LETMEPOST_SERVER_SRC,
# else ../shared/tools/letmepost-server next to this checkout. It may be read-only: the
# install runs its start.sh up to the build, the start here is that script's, split into
# an install and a per-run part (several servers can run at once on other ports, sharing
# the installs) with the slow steps done once or side by side. The API and its worker run
# without the source's `--import ./instrument.mjs` (Sentry) unless SENTRY_DSN is set.
#
# Knobs: LMP_HOME (the installs, default ${TMPDIR:-/tmp}/publisher-letmepost), LMP_RUN_DIR
# (one server's database, Redis, logs, keys; default $LMP_HOME/run-$LMP_API_PORT), ports
# LMP_API_PORT 58787, LMP_PG_PORT 55432, LMP_REDIS_PORT 56379, LMP_S3_PORT 59000;
# LMP_EXTERNAL_PDS=1 with PDS_URL PDS_TEST_HANDLE PDS_TEST_PASSWORD PDS_TEST_DID
# [PDS_EXTRA_HANDLES PDS_EXTRA_PASSWORD] publishes onto a PDS that already runs; else
# scripts/pds/start-pds.sh starts one (PDS_PORT 58583, PLC_PORT 58582).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SRC_DIR="${LETMEPOST_SERVER_SRC:-$ROOT/../shared/tools/letmepost-server}"
LMP_HOME="${LMP_HOME:-${TMPDIR:-/tmp}/publisher-letmepost}"
API_PORT="${LMP_API_PORT:-58787}"
PG_PORT="${LMP_PG_PORT:-55432}"
REDIS_PORT="${LMP_REDIS_PORT:-56379}"
S3_PORT="${LMP_S3_PORT:-59000}"
RUN="${LMP_RUN_DIR:-$LMP_HOME/run-$API_PORT}"
PDS_SCRIPT="$ROOT/scripts/pds/start-pds.sh"
API_DIR="$LMP_HOME/src/apps/api"
API_URL="http://127.0.0.1:$API_PORT"
TEMPLATE="$LMP_HOME/pg-template"

T0=$(date +%s.%N)
log() { echo "[letmepost $(awk "BEGIN{printf \"%5.1f\", $(date +%s.%N)-$T0}")s] $*" >&2; }
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
pgbin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }
# alive PIDFILE PATTERN: the pid in the file runs and its command line matches (no pid reuse)
alive() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$(cat "$1")/cmdline" 2>/dev/null | grep -q -- "$2"
}
stop_pid() { # stop_pid PIDFILE PATTERN
  if alive "$1" "$2"; then
    local pid; pid="$(cat "$1")"; kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$1"
}
wait_for() { # wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds
  local seconds="$1" what="$2"; shift 2
  for _ in $(seq 1 $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  log "$what did not come up in ${seconds}s"; return 1
}

have_source() { [ -f "$SRC_DIR/src.tar.gz" ] && [ -x "$SRC_DIR/start.sh" ]; }
need_source() {
  have_source || {
    log "no letmepost server source at $SRC_DIR (set LETMEPOST_SERVER_SRC; README: 'The real letmepost server')"
    exit 3
  }
}
source_id() { cat "$SRC_DIR/src.tar.gz" "$SRC_DIR"/patches/*.patch 2>/dev/null | sha256sum | cut -c1-16; }
installed() {
  [ -f "$LMP_HOME/src/.built" ] && [ -x "$LMP_HOME/s3venv/bin/moto_server" ] &&
    [ -f "$TEMPLATE/PG_VERSION" ] && [ "$(cat "$LMP_HOME/installed" 2>/dev/null)" = "$(source_id)" ] &&
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null
}

api_env() { # api_env FILE: the API's and the worker's environment
  {
    echo "KEK_MASTER=$(openssl rand -base64 32)"
    echo "BETTER_AUTH_SECRET=$(openssl rand -base64 32)"
    cat <<EOV
DATABASE_URL=postgres://letmepost:letmepost@127.0.0.1:$PG_PORT/letmepost
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
HOST=127.0.0.1
PORT=$API_PORT
BETTER_AUTH_URL=$API_URL
PUBLIC_API_BASE_URL=$API_URL
BILLING_ENABLED=false
NODE_ENV=development
AWS_REGION=us-east-1
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3_PORT
S3_BUCKET=letmepost-media
S3_ACCESS_KEY_ID=test
S3_SECRET_ACCESS_KEY=test
MEDIA_PUBLIC_BASE_URL=http://127.0.0.1:$S3_PORT/letmepost-media
MEDIA_ENV_PREFIX=ci
THREADS_API_BASE=http://127.0.0.1:9
META_GRAPH_BASE=http://127.0.0.1:9
PINTEREST_API_BASE=http://127.0.0.1:9
EOV
  } >"$1"
}

pg_start() { # pg_start DATADIR: on PG_PORT, socket in the data dir's parent
  local dir="$1"
  as_pg "$(pgbin)/pg_ctl -D $dir -l $dir/../postgres.log -w -t 60 \
    -o '-h 127.0.0.1 -p $PG_PORT -k $(dirname "$dir") -c fsync=off -c synchronous_commit=off -c full_page_writes=off' start" >/dev/null
}

# The shared start.sh installs Debian's postgresql and redis-server, pnpm, moto, then
# extracts, patches and builds the server; it is run up to its build (the PDS script it is
# given then fails on purpose), and what it built is kept. Then a migrated database
# becomes the template every run copies.
install() {
  need_source
  if installed; then return 0; fi
  mkdir -p "$LMP_HOME"
  local boot="$LMP_HOME/install-run"
  rm -rf "$boot" && mkdir -p "$boot"
  log "installing into $LMP_HOME (once: a few minutes)"
  if [ ! -x "$LMP_HOME/s3venv/bin/moto_server" ]; then
    log "pip install moto[server] (local S3 for POST /v1/media)"
    rm -rf "$LMP_HOME/s3venv" && python3 -m venv "$LMP_HOME/s3venv"
    "$LMP_HOME/s3venv/bin/pip" install -q 'moto[server]' >"$boot/pip-moto.log" 2>&1 ||
      { tail -20 "$boot/pip-moto.log" >&2; exit 1; }
  fi
  if [ ! -f "$LMP_HOME/src/.built" ] || [ "$(cat "$LMP_HOME/src/.source" 2>/dev/null)" != "$(source_id)" ]; then
    ln -s "$LMP_HOME/s3venv" "$boot/s3venv"
    env LMP_HOME="$boot" PDS_SCRIPT=/bin/false LMP_EXTERNAL_PDS=0 LMP_API_PORT=1 \
      "$SRC_DIR/start.sh" >/dev/null 2>"$boot/install.log" || true
    if [ ! -f "$boot/src/.built" ]; then
      tail -30 "$boot/install.log" >&2
      log "install failed (log: $boot/install.log)"
      exit 1
    fi
    rm -rf "$LMP_HOME/src" "$LMP_HOME/pnpm-store"
    mv "$boot/src" "$boot/pnpm-store" "$LMP_HOME/"
    source_id >"$LMP_HOME/src/.source"
  fi
  log "database template (initdb, migrate)"
  rm -rf "$TEMPLATE" "$boot/pg" && mkdir -p "$boot/pg"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$boot/pg"
  as_pg "$(pgbin)/initdb -D $boot/pg/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >"$boot/initdb.log"
  PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  pg_start "$boot/pg/data"
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt -v ON_ERROR_STOP=1 \
    -c "create role letmepost login password 'letmepost'" -c "create database letmepost owner letmepost" >/dev/null
  api_env "$boot/api.env"
  (set -a; . "$boot/api.env"; set +a; cd "$API_DIR" && node dist/db/migrate.js) >"$boot/migrate.log" 2>&1 ||
    { cat "$boot/migrate.log" >&2; as_pg "$(pgbin)/pg_ctl -D $boot/pg/data -m fast -w stop" >/dev/null; exit 1; }
  as_pg "$(pgbin)/pg_ctl -D $boot/pg/data -m fast -w stop" >/dev/null
  rm -f "$boot/pg/data/postmaster.pid"
  mv "$boot/pg/data" "$TEMPLATE"
  source_id >"$LMP_HOME/installed"
  rm -rf "$boot"
  log "installed"
}

node_app() { # node_app SCRIPT LOG PIDFILE: the API or its worker, in the API's env
  # The source runs them under `--import ./instrument.mjs`, which loads Sentry (1.5 s of
  # CPU) and only sets it up when SENTRY_DSN is set: without one it is left out.
  local sentry=()
  [ -n "${SENTRY_DSN:-}" ] && sentry=(--import ./instrument.mjs)
  (set -a; . "$RUN/state/api.env"; set +a; cd "$API_DIR" &&
    exec nohup node "${sentry[@]}" "$1" >"$2" 2>&1 </dev/null) &
  echo $! >"$3"
}

# up: the services and the onboarding that needs no PDS (sign-up, organisation, keys,
# profiles, the X and Threads rows), in LMP_RUN_DIR; prints nothing. Run again while up,
# it returns at once. `start` runs it (or finds it done: the test fixture runs `up` in
# the background as soon as it knows a test will need the server).
up() {
  install
  local state="$RUN/state" logs="$RUN/logs"
  if [ -f "$state/prep.env" ] && alive "$state/api.pid" dist/server.js &&
    alive "$state/worker.pid" dist/queue/worker.js && curl -sf "$API_URL/health" >/dev/null; then
    return 0
  fi
  stop_all
  rm -f "$state/prep.env" "$state/keys.env"
  mkdir -p "$state" "$logs" "$RUN/pg" "$RUN/redis"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$RUN/pg"

  # Postgres (a copy of the migrated template), Redis and S3 side by side.
  log "start postgres :$PG_PORT, redis :$REDIS_PORT, S3 :$S3_PORT"
  nohup "$LMP_HOME/s3venv/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$logs/moto.log" 2>&1 </dev/null &
  echo $! >"$state/moto.pid"
  nohup redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN/redis" \
    --save '' --appendonly no --daemonize no >"$logs/redis.log" 2>&1 </dev/null &
  echo $! >"$state/redis.pid"
  api_env "$state/api.env"
  cp -a "$TEMPLATE" "$RUN/pg/data"
  pg_start "$RUN/pg/data" || { log "postgres did not start"; tail -20 "$RUN/pg/postgres.log" >&2; exit 1; }
  wait_for 30 redis redis-cli -p "$REDIS_PORT" ping
  log "postgres, redis up"
  # The API and its worker (node's start-up is the slow part; S3 is only needed later).
  node_app dist/server.js "$logs/api.log" "$state/api.pid"
  node_app dist/queue/worker.js "$logs/worker.log" "$state/worker.pid"
  wait_for 60 API curl -sf "$API_URL/health" || { tail -30 "$logs/api.log" >&2; exit 1; }
  log "API up; onboarding"
  python3 "$HERE/onboard.py" prepare "$API_URL" "$state/session.jar" >"$state/prep.env.tmp"
  . "$state/prep.env.tmp"
  # X and Threads rows through the server's repository (side by side: node starts slowly).
  add_account() { # add_account PLATFORM ID NAME > FILE
    (set -a; . "$state/api.env"; cd "$API_DIR" && LMP_API_DIR="$API_DIR" \
      node "$SRC_DIR/tools/add-account.mjs" "$LMP_ORG_ID" "$LMP_PROFILE_ID" "$@")
  }
  add_account twitter 1111111111 publisher_x >"$state/x.id" &
  local x_job=$!
  add_account threads 2222222222 publisher_threads >"$state/threads.id" &
  local t_job=$!
  wait_for 60 S3 curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" || { tail -20 "$logs/moto.log" >&2; exit 1; }
  curl -sf -X PUT "http://127.0.0.1:$S3_PORT/letmepost-media" >/dev/null
  # The API fetches media bytes back anonymously from MEDIA_PUBLIC_BASE_URL (a public bucket).
  curl -sf -X PUT "http://127.0.0.1:$S3_PORT/letmepost-media?policy" -H 'Content-Type: application/json' --data-binary \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::letmepost-media/*"}]}' >/dev/null
  wait "$x_job" && wait "$t_job" || { log "add-account failed"; exit 1; }
  log "S3 up, X and Threads rows in"
  {
    cat "$state/prep.env.tmp"
    echo "LMP_X_ID=$(cat "$state/x.id")"
    echo "LMP_THREADS_ID=$(cat "$state/threads.id")"
  } >"$state/prep.env.tmp2"
  mv "$state/prep.env.tmp2" "$state/prep.env"
  rm -f "$state/prep.env.tmp"
}

start() {
  local state="$RUN/state"
  if [ -f "$state/keys.env" ] && alive "$state/api.pid" dist/server.js &&
    curl -sf "$API_URL/health" >/dev/null; then
    cat "$state/keys.env"
    return 0
  fi
  local pds_job=""
  if [ "${LMP_EXTERNAL_PDS:-0}" = 1 ]; then
    PDS_EXTRA_HANDLES="${PDS_EXTRA_HANDLES:-bob.test}" PDS_EXTRA_PASSWORD="${PDS_EXTRA_PASSWORD:-extra-pass}"
  else # a PDS of its own, started beside the rest
    install
    if [ -f "$state/own-pds" ]; then "$PDS_SCRIPT" stop || true; rm -f "$state/own-pds"; fi
    mkdir -p "$RUN/logs"
    log "start PDS"
    PDS_EXTRA_HANDLES="${PDS_EXTRA_HANDLES:-bob.test}" "$PDS_SCRIPT" start >"$RUN/pds.env" 2>"$RUN/logs/pds-start.log" &
    pds_job=$!
  fi
  up
  if [ -n "$pds_job" ]; then
    wait "$pds_job" || { cat "$RUN/logs/pds-start.log" >&2; exit 1; }
    mv "$RUN/pds.env" "$state/pds.env"
    echo started >"$state/own-pds"
    set -a; . "$state/pds.env"; set +a
  fi
  log "connect $PDS_TEST_HANDLE + ${PDS_EXTRA_HANDLES%%,*}"
  python3 "$HERE/onboard.py" connect "$API_URL" "$state/session.jar" "$PDS_URL" \
    "$PDS_TEST_HANDLE:$PDS_TEST_PASSWORD" "${PDS_EXTRA_HANDLES%%,*}:$PDS_EXTRA_PASSWORD" >"$state/boot.env"
  {
    echo "LMP_URL=$API_URL"
    cat "$state/prep.env" "$state/boot.env"
    echo "PDS_URL=$PDS_URL"
    echo "PDS_TEST_HANDLE=$PDS_TEST_HANDLE"
    echo "PDS_TEST_PASSWORD=$PDS_TEST_PASSWORD"
    echo "PDS_TEST_DID=${PDS_TEST_DID:-}"
  } >"$state/keys.env.tmp"
  mv "$state/keys.env.tmp" "$state/keys.env"
  log "up: $API_URL (logs in $RUN/logs)"
  cat "$state/keys.env"
}

# The run's data is thrown away: its processes get a moment to stop, then are killed.
stop_all() {
  local state="$RUN/state" jobs=() p
  for p in "api dist/server.js" "worker dist/queue/worker.js" "moto moto_server" "redis redis-server"; do
    stop_pid "$state/${p%% *}.pid" "${p#* }" &
    jobs+=($!)
  done
  if [ -f "$RUN/pg/data/postmaster.pid" ]; then
    as_pg "$(pgbin)/pg_ctl -D $RUN/pg/data -m immediate -w stop" >/dev/null 2>&1 || true
  fi
  if [ -f "$state/own-pds" ]; then "$PDS_SCRIPT" stop || true; fi
  wait "${jobs[@]}"
}

stop() {
  stop_all
  rm -rf "$RUN"
}

case "${1:-start}" in
  install) install ;;
  up) up ;;
  start) start ;;
  stop) stop ;;
  source) need_source; echo "$SRC_DIR" ;;
  *) echo "usage: $0 [install|up|start|stop|source]" >&2; exit 2 ;;
esac
