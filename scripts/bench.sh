#!/usr/bin/env bash
# `make bench`: fan-out and execution figures against a private emulator. Pass PROFILE=release
# for release-build figures (slower to build). Its last stage, the black-box isolation check
# (scripts/isolation.sh: 600 events to a healthy endpoint alone and beside a hung one, against a
# private `make dev`, both ratios <= 1.3), runs alone with BENCH_ONLY=isolation; the other
# BENCH_ONLY stages (backlog, fanout, throttle, latency, outage) skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
port=$(python3 scripts/free_port.py)
mkdir -p target/test-logs
moto_pid=$(scripts/moto.sh "$port" target/test-logs/bench-moto.log)
trap 'kill $moto_pid 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
only=${BENCH_ONLY:-}
if [ "$only" != isolation ]; then
  if [ "${PROFILE:-debug}" = release ]; then
    cargo run --quiet --release -p switchboard-tools --bin bench --features switchboard/local
  else
    cargo run --quiet -p switchboard-tools --bin bench --features switchboard/local
  fi
fi
if [ -z "$only" ] || [ "$only" = isolation ]; then
  echo
  echo "## Isolation, black-box against make dev (scripts/isolation.sh)"
  ISOLATION_START=1 ISOLATION_EVENTS=${ISOLATION_EVENTS:-600} \
    ISOLATION_MAX_RATIO=${ISOLATION_MAX_RATIO:-1.3} scripts/isolation.sh
fi
