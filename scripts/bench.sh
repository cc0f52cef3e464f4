#!/usr/bin/env bash
# `make bench`: fan-out and execution figures against a private emulator. Pass PROFILE=release
# for release-build figures (slower to build).
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
port=$(python3 scripts/free_port.py)
mkdir -p target/test-logs
moto_pid=$(scripts/moto.sh "$port" target/test-logs/bench-moto.log)
trap 'kill $moto_pid 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
if [ "${PROFILE:-debug}" = release ]; then
  cargo run --quiet --release -p switchboard-tools --bin bench --features switchboard/local
else
  cargo run --quiet -p switchboard-tools --bin bench --features switchboard/local
fi
