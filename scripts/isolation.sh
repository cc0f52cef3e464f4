#!/usr/bin/env bash
# Black-box isolation check against `make dev` itself (issue 20): a healthy endpoint must get
# ISOLATION_EVENTS events beside an endpoint that holds every request 40 s nearly as fast as
# alone, published one by one and by 8 parallel clients (scripts/isolation.py does the runs).
#
#   scripts/isolation.sh                      against a running `make dev` (ISOLATION_BASE,
#                                             default http://127.0.0.1:9000; admin/admin)
#   ISOLATION_START=1 scripts/isolation.sh    starts scripts/dev.sh itself on a free port (and
#                                             moto on another unless AWS_ENDPOINT_URL is set),
#                                             with a table of its own, and stops it afterwards
#
# ISOLATION_EVENTS (600), ISOLATION_PUBLISHERS (8), ISOLATION_MAX_RATIO (1.3),
# ISOLATION_HOLD_SECONDS (40). Exit 0: both ratios within the bound; 1: a ratio above it;
# 2: the stack or a run failed. Against a running stack it leaves nothing behind but the
# deliveries in the log: both endpoints are deleted at the end.
#
# make test (scripts/e2e.sh) runs it at 40 events with a bound of 3.0 after an allowance of 6 s
# (ISOLATION_ALLOWANCE_SECONDS, two fast-lane budgets: at that size a run lasts a second or a
# few, and the hung endpoint's first attempts weigh much more than at 600; a starved lane waits
# out the 40 s hold, x10 or more); make bench (BENCH_ONLY=isolation) at 600 with 1.3, no allowance.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-0} # as make and scripts/e2e.sh build
export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}
export no_proxy=$NO_PROXY
PY=$root/.venv/bin/python
[ -x "$PY" ] || PY=python3

# shellcheck source=scripts/lib/stack.sh
source scripts/lib/stack.sh

dev_pid=""
moto_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$dev_pid" ] && alive "$dev_pid"; then
    # dev.sh stops moto (if it started it), cargo lambda watch, its instances and the bridge.
    kill -TERM "$dev_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      alive "$dev_pid" || break
      sleep 0.1
    done
    stop_pid_group "$dev_pid"
  fi
  stop_pid_group "$moto_pid"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${ISOLATION_START:-0}" = 1 ]; then
  logs=$root/target/test-logs/isolation-$$
  mkdir -p "$logs"
  export AWS_REGION=${AWS_REGION:-us-east-1}
  export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
  export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
  if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
    moto_port=$(python3 scripts/free_port.py)
    moto_pid=$(scripts/moto.sh "$moto_port" "$logs/moto.log")
    export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
  fi
  port=$(python3 scripts/free_port.py)
  export ISOLATION_BASE=http://127.0.0.1:$port
  echo "isolation: starting scripts/dev.sh on $ISOLATION_BASE against $AWS_ENDPOINT_URL (logs: $logs)"
  # What `make dev` runs, with its own port, table and logs; the admin credentials are dev's.
  env -u ADMIN_PASSWORD_HASH -u RATE_LIMIT_PER_MINUTE -u QUEUE_URL -u SLOW_QUEUE_URL \
    -u DLQ_URL -u STREAM_ARN -u MAIL_FROM -u SECRETS_KEY_ID -u PUBLIC_BASE_URL -u PORTAL_URL \
    -u ADMIN_UI_URL -u FAST_LANE_MS -u BRIDGE_CONCURRENCY \
    ADMIN_USER=admin ADMIN_PASSWORD=admin TABLE_NAME="isolation-$$" \
    DEV_PORT="$port" DEV_LOG_DIR="$logs" DEV_IGNORE_CHANGES=1 RUST_LOG=${RUST_LOG:-info} \
    setsid scripts/dev.sh >"$logs/dev.log" 2>&1 </dev/null &
  dev_pid=$!
  export ADMIN_USER=admin ADMIN_PASSWORD=admin
  # The stack is ready when the bridge runs (dev.sh starts it once the functions listen).
  deadline=$((SECONDS + 600))
  until grep -q 'Switchboard is running' "$logs/dev.log" 2>/dev/null; do
    if ! alive "$dev_pid"; then
      echo "isolation: scripts/dev.sh exited; last lines of $logs/dev.log:" >&2
      tail -n 30 "$logs/dev.log" >&2 || true
      exit 2
    fi
    [ $SECONDS -lt $deadline ] || {
      echo "isolation: scripts/dev.sh did not start within 600 s" >&2
      exit 2
    }
    sleep 0.5
  done
fi

set +e
"$PY" scripts/isolation.py
rc=$?
set -e
if [ "$rc" != 0 ] && [ -n "$dev_pid" ]; then
  for f in functions bridge; do
    echo "isolation: last lines of $logs/$f.log:" >&2
    grep -v 'All subsystems finished' "$logs/$f.log" | tail -n 15 | cut -c1-400 >&2 || true
  done
fi
exit "$rc"
