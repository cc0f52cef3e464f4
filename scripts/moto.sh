#!/usr/bin/env bash
# Starts moto server (DynamoDB requests serialized: see moto_server.py) on 127.0.0.1:$1 in the background, waits until it answers, prints its PID.
set -euo pipefail
port=$1
log=${2:-/dev/null}
here=$(cd "$(dirname "$0")" && pwd)
py=$here/../.venv/bin/python
[ -x "$py" ] || py=python3
"$py" "$here/moto_server.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
    echo "$pid"
    exit 0
  fi
  sleep 0.2
done
echo "moto did not start on port $port" >&2
kill "$pid" 2>/dev/null || true
exit 1
