# Shared by the scripts that run the functions under `cargo lambda watch` on free ports
# (scripts/e2e.sh, scripts/schemathesis.sh). Source it from the repository root.
#
# Functions are built and served with the `local` feature (the Runtime API relay, see
# shared/src/runtime/relay.rs); deployed builds never have it.
LOCAL_FEATURES=${LOCAL_FEATURES:-local}

alive() { # alive PID: running (a zombie is not)
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [ -n "$st" ] && [ "${st#Z}" = "$st" ]
}

stop_pid_group() {
  # Stops a process we started (and, when it leads its own process group, its children).
  local pid=$1
  [ -n "$pid" ] || return 0
  alive "$pid" || return 0
  local pgid
  pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)
  local target=$pid
  [ "$pgid" = "$pid" ] && target=-$pid
  # The function instances run in process groups of their own: remember them by pid.
  local children
  children=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ' || true)
  kill -TERM -- "$target" 2>/dev/null || true
  for _ in $(seq 1 50); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then kill -KILL -- "$target" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  local child
  for child in $children; do
    kill -KILL "$child" 2>/dev/null || true
  done
}

# build_functions: every binary, with the local feature (what `cargo lambda watch` then runs).
build_functions() {
  cargo build --workspace --bins --quiet --features "$LOCAL_FEATURES"
}

# start_watch PORT LOG CONCURRENCY: serves the functions on 127.0.0.1:PORT in its own process
# group; sets $watch_pid. --ignore-changes: edits made while a test runs must not reload the
# functions under it.
start_watch() {
  setsid cargo lambda watch -A 127.0.0.1 -P "$1" --concurrency "$3" --ignore-changes \
    --features "$LOCAL_FEATURES" >"$2" 2>&1 </dev/null &
  watch_pid=$!
}
