#!/usr/bin/env bash
# Start-to-first-event time of each function, measured locally: the release binary is started
# against cargo-lambda's runtime emulator (`cargo lambda watch --only-lambda-apis`) with a moto
# server behind it, and one sample event from events/ is invoked at once; the time is from
# starting the process to the answer of that first event (runtime init + app init + the event).
# A second, warm invocation is timed for comparison.
#
# usage: infra/measure_start.sh [binary dir, default target/release] [runs, default 5]
# Build first: cargo build --release -p incoming -p admin -p dispatch -p sweeper
# (Lambda runs the arm64 build; this host's native build has the same profile and code.)
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=${1:-target/release}
runs=${2:-5}
[ -d .venv/bin ] && PATH="$PWD/.venv/bin:$PATH"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
moto_port=$(python3 scripts/free_port.py)
mkdir -p target/measure
pids+=("$(scripts/moto.sh "$moto_port" target/measure/moto.log)")
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
local_bin=target/debug/local
[ -x "$local_bin" ] || cargo build -q -p switchboard-tools --bin local
eval "$("$local_bin" setup | sed 's/^/export /')"
export LOCAL_MODE=true ADMIN_USER=admin ADMIN_PASSWORD=admin RUST_LOG=warn
# For the deployed admin sign-in: the first request verifies an argon2id hash.
admin_hash=$(printf 'admin\n' | "$local_bin" hash-password)

rt_port=$(python3 scripts/free_port.py)
cargo lambda watch --only-lambda-apis -A 127.0.0.1 -P "$rt_port" >target/measure/runtime.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q "starting Runtime server" target/measure/runtime.log 2>/dev/null && break
  sleep 0.1
done

ms() { date +%s%3N; }
# One function runs at a time, under the emulator's default function name `_`.
invoke() { # event file -> prints the HTTP status of the invoke
  curl -s -m 60 -o /dev/null -w '%{http_code}' -X POST --data-binary @"$1" \
    "http://127.0.0.1:$rt_port/2015-03-31/functions/_/invocations" || true
}

printf '%-10s %-34s %s\n' function event "first event (ms) per run | warm (ms)"
for pair in incoming:incoming-unknown-key.json admin:admin-list-incoming-webhooks.json \
  admin+hash:admin-list-incoming-webhooks.json dispatch:dispatch-sqs-batch.json \
  sweeper:sweeper-schedule.json; do
  name=${pair%%:*} event=events/${pair#*:}
  fn=${name%+hash}
  if [ "$name" = admin+hash ]; then
    auth=(env -u ADMIN_PASSWORD ADMIN_PASSWORD_HASH="$admin_hash")
  else
    auth=(env)
  fi
  firsts=() warm=
  for _ in $(seq 1 "$runs"); do
    t0=$(ms)
    "${auth[@]}" AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:$rt_port/.rt AWS_LAMBDA_FUNCTION_NAME=_ \
      AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 \
      "$bin_dir/$fn" >>"target/measure/$fn.log" 2>&1 &
    pid=$!
    code=$(invoke "$event")
    t1=$(ms)
    t2=$(ms)
    invoke "$event" >/dev/null
    t3=$(ms)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$code" = 200 ] || { echo "$fn: invoke answered $code" >&2; exit 1; }
    firsts+=("$((t1 - t0))")
    warm=$((t3 - t2))
  done
  printf '%-10s %-34s %s | %s\n' "$name" "${event#events/}" "${firsts[*]}" "$warm"
done
