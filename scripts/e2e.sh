#!/usr/bin/env bash
# End to end: every seed client example, unchanged but for its URL (and a distinct email),
# against the real `incoming` and `admin` binaries served by `cargo lambda watch`.
#
# Called by scripts/test.sh with moto running and AWS_ENDPOINT_URL exported. Run on its own,
# it starts (and stops) a private moto on a free port. Exits non-zero with a message naming the
# client and the mismatch on any failure; `cargo lambda watch` is always stopped.
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
PY=$root/.venv/bin/python
[ -x "$PY" ] || PY=python3

logs=$root/target/test-logs
mkdir -p "$logs"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-e2e.XXXXXX")
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
  echo "e2e: FAIL: $*" >&2
  if [ -n "$watch_pid" ] && [ -f "$logs/e2e-watch.log" ]; then
    echo "e2e: last lines of $logs/e2e-watch.log:" >&2
    grep -v 'All subsystems finished' "$logs/e2e-watch.log" | tail -n 30 | cut -c1-400 >&2 || true
  fi
  exit 1
}
step() { echo "e2e: $*"; }

for tool in curl jq node npm; do
  command -v "$tool" >/dev/null || fail "'$tool' is required but not installed"
done

# --- emulator -----------------------------------------------------------------------------------
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  moto_port=$(python3 scripts/free_port.py)
  moto_pid=$(scripts/moto.sh "$moto_port" "$logs/e2e-moto.log")
  export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
  step "started moto on $AWS_ENDPOINT_URL"
fi

# --- build, stack, Node client dependencies -----------------------------------------------------
step "building the binaries"
build_functions || fail "cargo build failed"

step "creating stack e2e-$$ on $AWS_ENDPOINT_URL"
setup_out=$(TABLE_NAME=e2e-$$ target/debug/local setup) || fail "local setup failed"
while IFS='=' read -r k v; do
  case $k in
    TABLE_NAME | QUEUE_URL | DLQ_URL | MAIL_FROM | SECRETS_KEY_ID) export "$k=$v" ;;
  esac
done <<<"$setup_out"
[ -n "${TABLE_NAME:-}" ] && [ -n "${QUEUE_URL:-}" ] && [ -n "${MAIL_FROM:-}" ] ||
  fail "local setup printed no TABLE_NAME/QUEUE_URL/MAIL_FROM: $setup_out"

# npm ci only when node_modules is missing or older than the lock file.
if (cd tests/e2e && [ node_modules/.package-lock.json -nt package-lock.json ] &&
  node -e "require('axios'); require('form-data')") >/dev/null 2>&1; then
  step "Node client dependencies are installed (tests/e2e/node_modules)"
else
  step "installing the Node client's dependencies (npm ci in tests/e2e)"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error) >"$logs/e2e-npm.log" 2>&1 ||
    { cat "$logs/e2e-npm.log" >&2; fail "npm ci in tests/e2e failed"; }
fi

# --- functions ----------------------------------------------------------------------------------
port=$(python3 scripts/free_port.py)
base=http://127.0.0.1:$port
ADMIN=$base/lambda-url/admin
INCOMING=$base/lambda-url/incoming
export LOCAL_MODE=true ADMIN_USER=admin ADMIN_PASSWORD=admin
export PUBLIC_BASE_URL=$INCOMING PORTAL_URL=$INCOMING/portal/
export RUST_LOG=${RUST_LOG:-info}
unset ADMIN_PASSWORD_HASH RATE_LIMIT_PER_MINUTE COURSE_MODULE_ENABLED MAX_BODY_BYTES 2>/dev/null || true

step "starting cargo lambda watch on $base (log: $logs/e2e-watch.log)"
# Own process group (setsid), stopped as a group by `cleanup` (the function instances it spawns
# get groups of their own: `stop_pid_group` ends those by pid).
start_watch "$port" "$logs/e2e-watch.log" 4

# The server answers first; each function compiles (or at least links) on its first request.
deadline=$((SECONDS + 420))
until curl -s -o /dev/null "$base/"; do
  kill -0 "$watch_pid" 2>/dev/null || fail "cargo lambda watch exited"
  [ $SECONDS -lt $deadline ] || fail "cargo lambda watch did not listen on $base"
  sleep 0.5
done
# ready FUNCTION WANT_STATUS JQ_CHECK CURL_ARGS...: polls until a request answers as expected.
ready() {
  local what=$1 want=$2 check=$3 got=""
  shift 3
  while :; do
    got=$(curl -s -o "$tmp/ready.json" -w '%{http_code}' --max-time 20 "$@" || true)
    if [ "$got" = "$want" ] && jq -e "$check" "$tmp/ready.json" >/dev/null 2>&1; then return 0; fi
    kill -0 "$watch_pid" 2>/dev/null || fail "cargo lambda watch exited"
    if grep -q 'error: could not compile' "$logs/e2e-watch.log"; then
      fail "the $what function does not compile (the sources changed after the build?)"
    fi
    [ $SECONDS -lt $deadline ] || fail "$what function not ready (last status '$got')"
    sleep 1
  done
}
ready admin 200 '.spaces | type == "array"' -u admin:admin "$ADMIN/admin/spaces"
ready incoming 404 '.success == false' -X POST "$INCOMING/webhook/not-a-real-key-000"
step "functions ready (${SECONDS}s since start)"

# --- admin API ----------------------------------------------------------------------------------
resp=$tmp/resp.json
# admin METHOD PATH [JSON]: sets $status, body in $resp.
admin() {
  local args=(-sS -u admin:admin -X "$1" -o "$resp" -w '%{http_code}' --max-time 60)
  if [ $# -ge 3 ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
  status=$(curl "${args[@]}" "$ADMIN$2") || fail "admin $1 $2: curl failed"
}
expect() { # expect STATUS JQ_EXPR WHAT [jq args...]
  local want=$1 expr=$2 what=$3
  shift 3
  [ "$status" = "$want" ] || fail "$what: HTTP $status (expected $want): $(cat "$resp")"
  jq -e "$@" "$expr" "$resp" >/dev/null || fail "$what: response does not satisfy '$expr': $(cat "$resp")"
}

admin POST /admin/spaces '{"title":"E2E Premium Members"}'
expect 201 '.id > 0 and .title == "E2E Premium Members"' "create space"
SPACE=$(jq -r .id "$resp")
admin POST /admin/courses '{"title":"E2E Onboarding"}'
expect 201 '.id > 0 and .title == "E2E Onboarding"' "create course"
COURSE=$(jq -r .id "$resp")
admin POST /admin/incoming-webhooks \
  "{\"title\":\"E2E seed clients\",\"space_ids\":[$SPACE],\"course_ids\":[$COURSE],\"send_wp_welcome_email\":true}"
expect 201 '.id > 0 and (.key | length) >= 22 and .send_wp_welcome_email == true
  and .space_ids == [$s] and .course_ids == [$c] and (.webhook_url | type) == "string"' \
  "create incoming webhook" --argjson s "$SPACE" --argjson c "$COURSE"
WEBHOOK_ID=$(jq -r .id "$resp")
KEY=$(jq -r .key "$resp")
WEBHOOK_URL=$(jq -r .webhook_url "$resp")
[ "$WEBHOOK_URL" = "$INCOMING/webhook/$KEY" ] ||
  fail "webhook_url is '$WEBHOOK_URL', expected '$INCOMING/webhook/$KEY'"
# The seed-000 URL form and the seed-001 portal form of the same webhook.
WP_URL=$INCOMING/wp-json/fluent-community/v2/webhook/$KEY
PORTAL_URL_FORM="$INCOMING/portal/?fcom_action=incoming_webhook&webhook=$KEY"
step "space $SPACE, course $COURSE, webhook $WEBHOOK_ID: $WEBHOOK_URL"

# --- checks shared by every client --------------------------------------------------------------
emails=()
# check_run NAME EMAIL OUT_PREFIX [FIRST_NAME]: the call succeeded, created the member, and the
# member is visible through the admin API with the space and the course.
check_run() {
  local name=$1 email=$2 out=$3 first=${4-}
  [ -f "$out.status" ] || fail "$name: the client saved no response"
  local code
  code=$(cat "$out.status")
  [ "$code" = 200 ] || fail "$name: HTTP $code (expected 200): $(cat "$out.json" 2>/dev/null)"
  jq -e --argjson s "$SPACE" --argjson c "$COURSE" '
      .success == true and .status == "success"
      and .message == "webhook has been successfully executed"
      and (.user_id | type) == "number" and .created == true
      and .spaces.added == [$s] and .courses.added == [$c]
      and .welcome_email == "sent"' "$out.json" >/dev/null ||
    fail "$name: unexpected response body: $(cat "$out.json")"
  if grep -q 'SecurePassword123' "$out.json"; then fail "$name: the response echoes the password"; fi
  local user_id lower
  user_id=$(jq -r .user_id "$out.json")
  lower=$(printf '%s' "$email" | tr '[:upper:]' '[:lower:]')
  status=$(curl -sS -u admin:admin -o "$resp" -w '%{http_code}' --max-time 60 -G \
    --data-urlencode "email=$email" "$ADMIN/admin/users") || fail "$name: users lookup failed"
  expect 200 '(.users | length) == 1 and .users[0].user_id == $u and .users[0].email == $e
      and ([.users[0].spaces[].space_id] | index($s)) != null
      and ([.users[0].courses[].course_id] | index($c)) != null
      and ($f == "" or .users[0].first_name == $f)' \
    "$name: GET /admin/users?email=$email" \
    --argjson u "$user_id" --arg e "$lower" --argjson s "$SPACE" --argjson c "$COURSE" --arg f "$first"
  emails+=("$lower")
  step "ok: $name ($email -> user $user_id)"
}

# curl_save OUT_PREFIX CURL_ARGS...: runs a seed's curl command, keeping the response.
curl_save() {
  local out=$1
  shift
  curl "$@" --silent --show-error --max-time 60 -o "$out.json" -w '%{http_code}' >"$out.status" ||
    fail "curl $*: transport error"
}

# --- seed 000: cURL, basic request (email only), on the seed's wp-json URL form ------------------
out=$tmp/curl-basic
curl_save "$out" --request POST \
  --url "$WP_URL" \
  --header 'Content-Type: multipart/form-data' \
  --form email=curl-basic@example.com
check_run "seed 000 curl (basic)" curl-basic@example.com "$out"

# --- seed 000: cURL, complete request (all fields) ----------------------------------------------
out=$tmp/curl-complete
curl_save "$out" --request POST \
  --url "$WEBHOOK_URL" \
  --header 'Content-Type: multipart/form-data' \
  --form email=curl-complete@example.com \
  --form first_name=John \
  --form last_name=Doe \
  --form user_login=johndoe \
  --form user_pass=SecurePassword123
check_run "seed 000 curl (complete)" curl-complete@example.com "$out" John

# --- seed 000: Python requests (form-urlencoded) ------------------------------------------------
out=$tmp/python
"$PY" tests/e2e/seed_python.py "$WP_URL" Python.Client@Example.com "$out" >"$out.log" 2>&1 ||
  fail "seed 000 python exited non-zero: $(cat "$out.log")"
check_run "seed 000 python requests" Python.Client@Example.com "$out" John

# --- seed 000: Node axios + form-data -----------------------------------------------------------
out=$tmp/node
node tests/e2e/seed_node.js "$WEBHOOK_URL" node-client@example.com "$out" >"$out.log" 2>&1 ||
  fail "seed 000 node exited non-zero: $(cat "$out.log")"
check_run "seed 000 node axios + form-data" node-client@example.com "$out" John

# --- seed 000: PHP (only where php is installed) ------------------------------------------------
if command -v php >/dev/null; then
  out=$tmp/php
  php tests/e2e/seed_php.php "$WP_URL" php-client@example.com "$out" >"$out.log" 2>&1 ||
    fail "seed 000 php exited non-zero: $(cat "$out.log")"
  check_run "seed 000 php" php-client@example.com "$out" John
else
  step "skipped: seed 000 PHP example (php is not installed)"
fi

# --- seed 001: the portal URL form --------------------------------------------------------------
out=$tmp/portal
curl_save "$out" --request POST \
  --url "$PORTAL_URL_FORM" \
  --form 'email=portal-user@example.com' \
  --form 'first_name=Jane' \
  --form 'last_name=Doe' \
  --form 'user_login=janedoe'
check_run "seed 001 portal curl" portal-user@example.com "$out" Jane

# --- seed 002: cURL with the Insomnia user agent ------------------------------------------------
out=$tmp/curl-002
curl_save "$out" --request POST \
  --url "$WEBHOOK_URL" \
  --header 'Content-Type: multipart/form-data' \
  --header 'User-Agent: insomnia/8.6.1' \
  --form email=jewelssssss@example.com \
  --form first_name=FirstName \
  --form last_name=Lastname \
  --form user_login=user_login \
  --form user_pass=user_password
check_run "seed 002 curl" jewelssssss@example.com "$out" FirstName

# --- a JSON body ----------------------------------------------------------------------------------
out=$tmp/json
curl_save "$out" --request POST \
  --url "$WEBHOOK_URL" \
  --header 'Content-Type: application/json' \
  --data '{"email":"json-client@example.com","first_name":"Jay","last_name":"Son"}'
check_run "JSON body" json-client@example.com "$out" Jay

# --- the activity log lists every call ------------------------------------------------------------
admin GET "/admin/incoming-webhooks/$WEBHOOK_ID/runs?per_page=100"
runs_json=$(printf '%s\n' "${emails[@]}" | jq -R . | jq -s .)
expect 200 '.pagination.total == ($want | length) and (.runs | length) == ($want | length)
    and ([.runs[] | select(.outcome == "success" and .status_code == 200 and .created == true) | .email]
         | sort) == ($want | sort)
    and ([.runs[].email] == ($want | reverse))' \
  "runs log of webhook $WEBHOOK_ID (newest first, one success per client)" --argjson want "$runs_json"
if grep -q 'SecurePassword123' "$resp"; then fail "the runs log contains a password"; fi
admin GET "/admin/incoming-webhooks/$WEBHOOK_ID"
expect 200 '.running_count == $n and (.last_run_at | type) == "string"' \
  "running_count of webhook $WEBHOOK_ID" --argjson n "${#emails[@]}"

# --- and a failing call is reported as the seeds say ----------------------------------------------
out=$tmp/missing-email
curl_save "$out" --request POST --url "$WEBHOOK_URL" --form first_name=NoEmail
[ "$(cat "$out.status")" = 423 ] && jq -e '.success == false and .status == "failed"' "$out.json" >/dev/null ||
  fail "missing email: expected 423 failed, got HTTP $(cat "$out.status"): $(cat "$out.json")"

# --- large responses arrive whole through the emulator --------------------------------------------
out=$(node tests/e2e/large_responses.mjs "$ADMIN" 150 2>&1) || fail "large responses: $out"
step "large responses: $out"

step "all ${#emails[@]} seed clients passed"

# --- isolation, black-box against `make dev` itself (scripts/isolation.sh) -------------------------
# A private scripts/dev.sh on free ports against the same moto: 40 events to a healthy endpoint,
# alone and beside one that holds every request 40 s, published one by one and by 8 clients.
# 40 events last a second or a few, and each batch in flight (4 per lane) holds up to one
# fast-lane budget (3 s) on the hung endpoint's first attempt, mostly at the same time: each
# "beside" time is judged less two budgets (6 s), against 3.0 (a starved lane waits out the
# 40 s hold, ×10 or more; make bench: 600 events, 1.3, no allowance).
# E2E_ISOLATION=0 skips it.
if [ "${E2E_ISOLATION:-1}" = 1 ]; then
  stop_pid_group "$watch_pid" # the seed clients' functions are done: free the CPU
  watch_pid=""
  step "isolation: 40 events beside a hung endpoint, against scripts/dev.sh"
  ISOLATION_START=1 ISOLATION_EVENTS=${E2E_ISOLATION_EVENTS:-40} \
    ISOLATION_MAX_RATIO=${E2E_ISOLATION_MAX_RATIO:-3.0} ISOLATION_ALLOWANCE_SECONDS=6 scripts/isolation.sh ||
    fail "isolation check failed (scripts/isolation.sh, figures above)"
fi
