#!/usr/bin/env bash
# `make dev`: the whole service on this machine. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .dev
pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
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
    pids+=("$(scripts/moto.sh 4566 .dev/moto.log)")
    echo "moto started on $AWS_ENDPOINT_URL (log: .dev/moto.log)"
  fi
fi

echo "building (the first build takes a few minutes)..."
cargo build --workspace --bins --features local
eval "$(target/debug/local setup | sed 's/^/export /')"

export LOCAL_MODE=true
export ADMIN_USER=${ADMIN_USER:-admin}
export ADMIN_PASSWORD=${ADMIN_PASSWORD:-admin}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:9000/lambda-url/incoming}
export PORTAL_URL=${PORTAL_URL:-http://127.0.0.1:9000/portal/}
export OPERATOR_EMAIL=${OPERATOR_EMAIL:-operator@example.com}
export ADMIN_UI_URL=${ADMIN_UI_URL:-http://127.0.0.1:9000/lambda-url/admin/admin/ui}
export FAST_LANE_MS=${FAST_LANE_MS:-3000}
export RUST_LOG=${RUST_LOG:-info}

# Each event source mapping gets its own invocation capacity, as on AWS: the bridge keeps at most
# BRIDGE_CONCURRENCY batches in flight per lane (fast, slow) and one per stream shard, and the
# emulator's per-function concurrency is high enough for both lanes together plus headroom, so
# the slow lane's 30 s attempts never take the fast lane's slots.
export BRIDGE_CONCURRENCY=${BRIDGE_CONCURRENCY:-4}
watch_concurrency=$((2 * BRIDGE_CONCURRENCY + 4))
cargo lambda watch -A 127.0.0.1 -P 9000 --concurrency "$watch_concurrency" --features local >.dev/functions.log 2>&1 &
watch_pid=$!
pids+=("$watch_pid")
for _ in $(seq 1 300); do
  curl -s -o /dev/null "http://127.0.0.1:9000/" && break
  sleep 0.5
done
target/debug/local bridge http://127.0.0.1:9000 >.dev/bridge.log 2>&1 &
bridge_pid=$!
pids+=("$bridge_pid")

cat <<MSG

Switchboard is running (logs in .dev/):
  incoming:  http://127.0.0.1:9000/lambda-url/incoming/webhook/{key}
  admin:     http://127.0.0.1:9000/lambda-url/admin/admin/...
  admin UI:  http://127.0.0.1:9000/lambda-url/admin/admin/ui
  emulator:  $AWS_ENDPOINT_URL   (table $TABLE_NAME, queue $QUEUE_URL)
  admin credentials: $ADMIN_USER / $ADMIN_PASSWORD
Functions compile on their first request: give the first call a minute.
Press Ctrl-C to stop.
MSG
# Runs until Ctrl-C, or until the functions or the bridge stop on their own.
wait -n "$watch_pid" "$bridge_pid"
