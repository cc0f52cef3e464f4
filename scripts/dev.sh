#!/usr/bin/env bash
# `make dev`: the whole service on this machine. Ctrl-C stops everything.
#
# DEV_PORT (default 9000) moves the functions, DEV_LOG_DIR (default .dev) the logs, and
# DEV_IGNORE_CHANGES=1 keeps edits from reloading the functions: scripts/isolation.sh starts a
# private `make dev` this way, on free ports beside a running one (TABLE_NAME and
# AWS_ENDPOINT_URL pick its table and emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/stack.sh
source scripts/lib/stack.sh
port=${DEV_PORT:-9000}
logs=${DEV_LOG_DIR:-.dev}
mkdir -p "$logs"
pids=()
cleanup() {
  trap - INT TERM EXIT
  # stop_pid_group also ends the function instances `cargo lambda watch` started.
  for p in "${pids[@]}"; do stop_pid_group "$p"; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  export AWS_ENDPOINT_URL=http://127.0.0.1:4566
  if curl -fsS -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" 2>/dev/null; then
    echo "moto already running on $AWS_ENDPOINT_URL"
  else
    pids+=("$(scripts/moto.sh 4566 "$logs/moto.log")")
    echo "moto started on $AWS_ENDPOINT_URL (log: $logs/moto.log)"
  fi
fi

echo "building (the first build takes a few minutes)..."
cargo build --workspace --bins --features local
eval "$(target/debug/local setup | sed 's/^/export /')"

export LOCAL_MODE=true
export ADMIN_USER=${ADMIN_USER:-admin}
export ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$port/lambda-url/incoming}
export PORTAL_URL=${PORTAL_URL:-http://127.0.0.1:$port/portal/}
export OPERATOR_EMAIL=${OPERATOR_EMAIL:-operator@example.com}
export ADMIN_UI_URL=${ADMIN_UI_URL:-http://127.0.0.1:$port/lambda-url/admin/admin/ui}
export FAST_LANE_MS=${FAST_LANE_MS:-3000}
export RUST_LOG=${RUST_LOG:-info}

# Each event source mapping gets its own invocation capacity, as on AWS: the bridge keeps at most
# BRIDGE_CONCURRENCY batches in flight per lane (fast, slow) and one per stream shard, and the
# emulator's per-function concurrency is high enough for both lanes together plus headroom, so
# the slow lane's 30 s attempts never take the fast lane's slots.
export BRIDGE_CONCURRENCY=${BRIDGE_CONCURRENCY:-4}
watch_concurrency=$((2 * BRIDGE_CONCURRENCY + 4))
watch_args=(-A 127.0.0.1 -P "$port" --concurrency "$watch_concurrency" --features local)
[ "${DEV_IGNORE_CHANGES:-0}" = 1 ] && watch_args+=(--ignore-changes)
cargo lambda watch "${watch_args[@]}" >"$logs/functions.log" 2>&1 &
watch_pid=$!
pids+=("$watch_pid")
for _ in $(seq 1 300); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  sleep 0.5
done
target/debug/local bridge "http://127.0.0.1:$port" >"$logs/bridge.log" 2>&1 &
bridge_pid=$!
pids+=("$bridge_pid")

cat <<MSG

Switchboard is running (logs in $logs/):
  incoming:  http://127.0.0.1:$port/lambda-url/incoming/webhook/{key}
  admin:     http://127.0.0.1:$port/lambda-url/admin/admin/...
  admin UI:  http://127.0.0.1:$port/lambda-url/admin/admin/ui
  emulator:  $AWS_ENDPOINT_URL   (table $TABLE_NAME, queue $QUEUE_URL)
  admin credentials: $ADMIN_USER / $ADMIN_PASSWORD
Functions compile on their first request: give the first call a minute.
Press Ctrl-C to stop.
MSG
# Runs until Ctrl-C, or until the functions or the bridge stop on their own.
wait -n "$watch_pid" "$bridge_pid"
