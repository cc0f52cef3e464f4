#!/usr/bin/env bash
# `make test`: lint, then every test against a private emulator on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's heading says when it starts (seconds since make test began; bash's SECONDS), so a
# log shows where the time goes (docs/testing.md#where-make-test-spends-its-time).
phase() { echo "== $* [t=${SECONDS}s]"; }
mkdir -p target/test-logs
# The Python tools (.venv: moto, cfn-lint, sam, schemathesis) install while fmt and clippy run:
# pip waits on the disk more than on a core.
phase "python tools (make venv, in the background; log: target/test-logs/venv.log)"
make --no-print-directory venv >target/test-logs/venv.log 2>&1 &
venv_pid=$!
phase "cargo fmt --check"
cargo fmt --all -- --check
phase "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

phase "admin UI: eslint"
scripts/ui_lint.sh

phase "python tools ready"
wait "$venv_pid" || { cat target/test-logs/venv.log >&2; echo "make venv failed" >&2; exit 1; }

phase "SAM template: cfn-lint and sam validate --lint"
scripts/template_check.sh

phase "emulator: moto speed patches answer as moto does (scripts/moto_equivalence.py)"
.venv/bin/python scripts/moto_equivalence.py

phase "receivers' toolchains (node express, php, standardwebhooks)"
(cd tests/receivers && npm ci --no-audit --no-fund --loglevel=error)
if ! command -v php >/dev/null 2>&1; then
  (apt-get install -y php-cli >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y php-cli >/dev/null 2>&1)) \
    || { echo "php-cli could not be installed: the seed 004 PHP receiver needs it" >&2; exit 1; }
fi

export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
port=$(python3 scripts/free_port.py)
moto_pid=$(scripts/moto.sh "$port" target/test-logs/moto.log)
trap 'kill $moto_pid 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
echo "== moto on $AWS_ENDPOINT_URL"

phase "cargo test"
# With the `local` feature the e2e, schemathesis and browser phases reuse these builds (the
# feature adds only the Runtime API relay for `cargo lambda watch`, which no test reaches).
cargo test --workspace --features local

phase "seed clients against cargo lambda watch"
scripts/e2e.sh

phase "admin API against its OpenAPI document (schemathesis)"
scripts/schemathesis.sh

phase "admin UI in headless Chromium"
SCREENSHOT_DIR=${SCREENSHOT_DIR:-target/screenshots} scripts/browser.sh
echo "== all tests passed in ${SECONDS} s"
