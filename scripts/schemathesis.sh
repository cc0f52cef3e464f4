#!/usr/bin/env bash
# The admin API against its own OpenAPI document (`GET /admin/openapi.json`), with schemathesis:
# every operation of the document, whatever routes it lists, gets generated requests (a bounded
# number of examples) and must answer without a 5xx, with a status code, content type and body
# that the document declares, and must refuse missing and wrong credentials.
#
# Serves the functions with `cargo lambda watch` on a free port over a fresh table of the emulator
# at $AWS_ENDPOINT_URL (scripts/test.sh exports it; run alone, a private moto is started).
# SCHEMATHESIS_EXAMPLES (default 8) bounds the examples per operation; logs and the report go
# to target/test-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-0}
export PATH=$root/.venv/bin:$PATH
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export NO_PROXY=127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}
export no_proxy=$NO_PROXY
examples=${SCHEMATHESIS_EXAMPLES:-8}
logs=$root/target/test-logs
mkdir -p "$logs"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-schemathesis.XXXXXX")
watch_pid=""
moto_pid=""

# shellcheck source=scripts/lib/stack.sh
source scripts/lib/stack.sh

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid_group "$watch_pid"
  stop_pid_group "$moto_pid"
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "schemathesis: FAIL: $*" >&2
  exit 1
}
step() { echo "schemathesis: $*"; }

command -v schemathesis >/dev/null ||
  fail "schemathesis is not installed (make venv installs requirements-dev.txt)"

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  moto_port=$(python3 scripts/free_port.py)
  moto_pid=$(scripts/moto.sh "$moto_port" "$logs/schemathesis-moto.log")
  export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
  step "started moto on $AWS_ENDPOINT_URL"
fi

step "building the binaries"
build_functions || fail "cargo build failed"
setup_out=$(TABLE_NAME=schemathesis-$$ target/debug/local setup) || fail "local setup failed"
while IFS='=' read -r k v; do
  case $k in
    TABLE_NAME | QUEUE_URL | MAIL_FROM | SECRETS_KEY_ID) export "$k=$v" ;;
  esac
done <<<"$setup_out"

port=$(python3 scripts/free_port.py)
base=http://127.0.0.1:$port
ADMIN=$base/lambda-url/admin
export LOCAL_MODE=true ADMIN_USER=admin ADMIN_PASSWORD=admin
export PUBLIC_BASE_URL=$base/lambda-url/incoming PORTAL_URL=$base/lambda-url/incoming/portal/
export RUST_LOG=${RUST_LOG:-info}
unset ADMIN_PASSWORD_HASH RATE_LIMIT_PER_MINUTE 2>/dev/null || true

step "starting cargo lambda watch on $base (log: $logs/schemathesis-watch.log)"
start_watch "$port" "$logs/schemathesis-watch.log" 2
deadline=$((SECONDS + 420))
until [ "$(curl -s -o "$tmp/openapi.json" -w '%{http_code}' --max-time 20 -u admin:admin \
  "$ADMIN/admin/openapi.json" || true)" = 200 ]; do
  kill -0 "$watch_pid" 2>/dev/null || fail "cargo lambda watch exited"
  [ $SECONDS -lt $deadline ] || fail "the admin function did not serve /admin/openapi.json"
  sleep 1
done
operations=$(jq '[.paths[] | keys[]] | length' "$tmp/openapi.json")
step "document: $operations operations; up to $examples examples each"

# Every operation refuses requests without credentials and with wrong ones (unless the document
# marks it public with `security: []`).
# This replaces schemathesis' own `ignored_auth` check: it repeats one wrong user name, whose
# failures back off per (source, name) and end in 429 with Retry-After, which it counts as a
# failure; here 401 and 429 both count as refused.
python3 - "$tmp/openapi.json" "$ADMIN" <<'PY' || fail "an operation accepted missing or wrong credentials"
import base64, json, sys, urllib.request, urllib.error

doc = json.load(open(sys.argv[1]))
base = sys.argv[2]
wrong = "Basic " + base64.b64encode(b"admin:not-the-password").decode()
bad = []
checked = 0
for path, item in doc["paths"].items():
    for method, op in item.items():
        if method not in ("get", "post", "put", "patch", "delete"):
            continue
        if op.get("security", doc.get("security")) == []:
            continue
        concrete = path
        for p in op.get("parameters", []) + item.get("parameters", []):
            if p.get("in") == "path":
                value = "1" if p.get("schema", {}).get("type") == "integer" else "x"
                concrete = concrete.replace("{" + p["name"] + "}", value)
        for label, headers in (("missing", {}), ("wrong", {"Authorization": wrong})):
            body = b"{}" if method in ("post", "put", "patch") else None
            req = urllib.request.Request(base + concrete, data=body, method=method.upper(),
                                         headers={**headers, "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            checked += 1
            # 401: refused; 429: refused while the source is backed off after failed sign-ins.
            if status not in (401, 429):
                bad.append(f"{method.upper()} {path} with {label} credentials: HTTP {status}")
print(f"schemathesis: {checked} requests without or with wrong credentials refused")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY

step "running schemathesis (log: $logs/schemathesis.log)"
status=0
schemathesis run "$tmp/openapi.json" --url "$ADMIN" --auth admin:admin \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --mode positive --generation-codec utf-8 --max-examples "$examples" --seed "${SCHEMATHESIS_SEED:-20261201}" --workers 2 \
  --phases examples,coverage,fuzzing --request-timeout 60 --no-color \
  --suppress-health-check all --report junit --report-junit-path "$logs/schemathesis-junit.xml" \
  >"$logs/schemathesis.log" 2>&1 || status=$?
tail -n 25 "$logs/schemathesis.log"
[ "$status" = 0 ] || fail "schemathesis found problems (details in $logs/schemathesis.log)"
step "passed"
