#!/usr/bin/env bash
# Browser tests of the admin web UI: headless Debian chromium driven by playwright-core
# (tests/browser) against the local stack: `cargo lambda watch` serving the functions, and the
# queue bridge feeding `dispatch`, on a fresh table of the emulator at $AWS_ENDPOINT_URL.
#
# scripts/test.sh calls it with moto running and AWS_ENDPOINT_URL exported; run alone, it starts
# its own moto on a free port. Screenshots of every screen go to $SCREENSHOT_DIR
# (default docs/screenshots). Logs: target/test-logs/browser-*.log. BROWSER_TESTS=<regex> runs only
# the tests whose names match (node's --test-name-pattern); the page signs in in the second test,
# so include it: BROWSER_TESTS='sign in with|parked'.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-0}
if [ -d .venv/bin ]; then export PATH="$root/.venv/bin:$PATH"; fi
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
logs=target/test-logs
mkdir -p "$logs"

# Process groups started here (each started with setsid: its PID is its group id), and plain
# processes (moto, when this script started it).
groups=()
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for g in "${groups[@]}"; do kill -- "-$g" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for g in "${groups[@]}"; do
    for _ in $(seq 1 50); do kill -0 -- "-$g" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$g" 2>/dev/null || true
  done
  exit "$rc"
}
trap cleanup EXIT INT TERM

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

echo "== browser: tools"
if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (Debian package)"
  apt_install chromium
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing nodejs and npm (Debian packages)"
  apt_install nodejs npm
fi
# playwright-core only: it never downloads a browser; /usr/bin/chromium is used.
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  mport=$(python3 scripts/free_port.py)
  pids+=("$(scripts/moto.sh "$mport" "$logs/browser-moto.log")")
  export AWS_ENDPOINT_URL=http://127.0.0.1:$mport
  echo "moto started on $AWS_ENDPOINT_URL"
fi

echo "== browser: build"
cargo build --workspace --bins --features local
eval "$(TABLE_NAME=ui-$$ target/debug/local setup | sed 's/^/export /')"

port=$(python3 scripts/free_port.py)
base=http://127.0.0.1:$port
export LOCAL_MODE=true ADMIN_USER=admin ADMIN_PASSWORD=admin
export PUBLIC_BASE_URL=$base/lambda-url/incoming
export RUST_LOG=${RUST_LOG:-info}
# --ignore-changes: screenshots written during the run must not reload the functions.
# One instance per function: the page's requests are sequential. (The emulator's sporadic 500 on
# large responses, once blamed on extra instances, is handled by the Runtime API relay in
# shared/src/runtime/relay.rs.)
setsid cargo lambda watch -A 127.0.0.1 -P "$port" --concurrency 1 --ignore-changes --features local \
  >"$logs/browser-functions.log" 2>&1 &
groups+=($!)

echo "== browser: waiting for the functions on $base (they compile on the first request)"
ready=
for _ in $(seq 1 600); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -u admin:admin "$base/lambda-url/admin/admin/event-types" || true)
  if [ "$code" = 200 ]; then ready=1; break; fi
  sleep 1
done
if [ -z "$ready" ]; then
  echo "the admin function did not answer; last lines of its log:" >&2
  tail -n 40 "$logs/browser-functions.log" >&2
  exit 1
fi
# Warm the other functions up so the first webhook call and delivery do not wait for them.
curl -s -o /dev/null -X POST "$base/lambda-url/incoming/webhook/warm-up" || true
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"Records":[]}' \
  "$base/2015-03-31/functions/dispatch/invocations" || true

setsid target/debug/local bridge "$base" >"$logs/browser-bridge.log" 2>&1 &
groups+=($!)

echo "== browser: tests (chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
status=0
(
  cd tests/browser
  SWITCHBOARD_URL=$base SCREENSHOT_DIR="${SCREENSHOT_DIR:-$root/docs/screenshots}" \
    CHROMIUM=/usr/bin/chromium node --test ${BROWSER_TESTS:+--test-name-pattern="$BROWSER_TESTS"} ui.test.mjs
) || status=$?
if [ "$status" != 0 ]; then
  echo "browser tests failed; logs in $logs/browser-functions.log and $logs/browser-bridge.log" >&2
fi
exit "$status"
