#!/usr/bin/env python3
"""Black-box isolation check against a running `make dev` (driven by scripts/isolation.sh).

Two local receivers: `healthy` answers 200 at once and notes when each event arrives; `hung`
holds every request ISOLATION_HOLD_SECONDS (40) before answering. Through the admin API only
(HTTP Basic), as an integrator would:

  1. an endpoint for `healthy` subscribed to feed.created;
  2. N events published one after the other, then N by PUBLISHERS parallel clients, each run
     timed from its first publish until all N have arrived at `healthy` (distinct events: a
     redelivery counts once);
  3. an endpoint for `hung` subscribed to the same event, and both runs again.

Prints the four times and the two ratios (beside the hung endpoint / alone), deletes both
endpoints, and exits 1 when a ratio is above ISOLATION_MAX_RATIO (2 when the stack or a run
fails). ISOLATION_ALLOWANCE_SECONDS (default 0) is taken off each "beside" time before its
ratio is judged: what a healthy endpoint's events may wait behind the hung endpoint's first
attempts (each batch in flight holds up to one fast-lane budget, FAST_LANE_MS, on its first
one), which weighs much more in a run of a few seconds than in a long one. Standard library
only.
"""

import base64
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENT = "feed.created"


def env_int(name, default):
    return int(os.environ.get(name, default))


BASE = os.environ.get("ISOLATION_BASE", "http://127.0.0.1:9000").rstrip("/")
ADMIN = f"{BASE}/lambda-url/admin/admin"
N = env_int("ISOLATION_EVENTS", 600)
PUBLISHERS = env_int("ISOLATION_PUBLISHERS", 8)
MAX_RATIO = float(os.environ.get("ISOLATION_MAX_RATIO", "1.3"))
HOLD = float(os.environ.get("ISOLATION_HOLD_SECONDS", "40"))
ALLOWANCE = float(os.environ.get("ISOLATION_ALLOWANCE_SECONDS", "0"))
READY_SECONDS = env_int("ISOLATION_READY_SECONDS", 600)
RUN_TIMEOUT = float(os.environ.get("ISOLATION_RUN_TIMEOUT", str(max(120, N))))
AUTH = "Basic " + base64.b64encode(
    f"{os.environ.get('ADMIN_USER', 'admin')}:{os.environ.get('ADMIN_PASSWORD', 'admin')}".encode()
).decode()
TAG = f"isolation-{os.getpid()}-{int(time.time())}"


def log(msg):
    print(f"isolation: {msg}", flush=True)


class Fail(Exception):
    pass


# --- receivers -------------------------------------------------------------------------------


class Arrivals:
    """Distinct events per run seen by the healthy receiver, and when the last one came."""

    def __init__(self):
        self.cond = threading.Condition()
        self.seen = {}
        self.last = {}
        self.requests = 0

    def note(self, run, i):
        with self.cond:
            self.requests += 1
            s = self.seen.setdefault(run, set())
            if i not in s:
                s.add(i)
                self.last[run] = time.monotonic()
            self.cond.notify_all()

    def wait(self, run, n, deadline):
        with self.cond:
            while len(self.seen.get(run, ())) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return len(self.seen.get(run, ())), None
                self.cond.wait(min(left, 1.0))
            return n, self.last[run]


arrivals = Arrivals()
held = {"now": 0, "total": 0}
held_lock = threading.Lock()


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def answer(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")


class Healthy(Quiet):
    def do_POST(self):
        raw = self.body()
        try:
            data = json.loads(raw).get("data") or {}
            run, i = data.get("isolation_run"), data.get("i")
        except (ValueError, AttributeError):
            run, i = None, None
        self.answer()
        if isinstance(run, str) and run.startswith(TAG) and isinstance(i, int):
            arrivals.note(run[len(TAG) + 1 :], i)


class Hung(Quiet):
    def do_POST(self):
        self.body()
        with held_lock:
            held["now"] += 1
            held["total"] += 1
        try:
            time.sleep(HOLD)
            self.answer()
        except OSError:
            pass  # dispatch gave up at 30 s and closed the connection
        finally:
            with held_lock:
                held["now"] -= 1


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


def serve(handler):
    srv = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


# --- admin API -------------------------------------------------------------------------------


def admin(method, path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ADMIN + path, data=data, method=method)
    req.add_header("Authorization", AUTH)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready():
    deadline = time.monotonic() + READY_SECONDS
    last = ""
    while time.monotonic() < deadline:
        try:
            status, _ = admin("GET", "/spaces", timeout=20)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as e:
            last = str(e)
        time.sleep(1)
    raise Fail(f"the admin API at {ADMIN} did not answer 200 within {READY_SECONDS}s ({last})")


def create_endpoint(name, url):
    status, body = admin(
        "POST",
        "/webhooks",
        {"name": f"{TAG} {name}", "url": url, "events": [EVENT], "retry_count": 5},
    )
    if status != 201:
        raise Fail(f"creating the {name} endpoint: HTTP {status}: {body[:300]!r}")
    return json.loads(body)["id"]


def publish(run, i):
    payload = {"event": EVENT, "data": {"isolation_run": f"{TAG}-{run}", "i": i}}
    for attempt in range(5):
        try:
            status, body = admin("POST", "/events", payload)
        except OSError as e:
            status, body = None, str(e).encode()
        if status == 202:
            return
        time.sleep(0.2 * (attempt + 1))
    raise Fail(f"publishing event {i} of {run}: HTTP {status}: {body[:300]!r}")


def timed_run(run, n, parallel):
    start = time.monotonic()
    if parallel:
        with ThreadPoolExecutor(PUBLISHERS) as pool:
            list(pool.map(lambda i: publish(run, i), range(n)))
    else:
        for i in range(n):
            publish(run, i)
    published = time.monotonic() - start
    got, last = arrivals.wait(run, n, start + RUN_TIMEOUT)
    if last is None:
        raise Fail(f"{run}: {got} of {n} events arrived at the healthy endpoint in {RUN_TIMEOUT:.0f}s")
    elapsed = last - start
    log(f"{run}: {n} events published in {published:.2f}s, all delivered after {elapsed:.2f}s")
    return elapsed


def main():
    _, healthy_url = serve(Healthy)
    _, hung_url = serve(Hung)
    log(f"stack {BASE}; healthy receiver {healthy_url}, hung receiver {hung_url} (holds {HOLD:.0f}s)")
    wait_ready()
    ids = []
    try:
        ids.append(create_endpoint("healthy", healthy_url))
        # Warm-up (not timed): the first invocations of relay and dispatch start their instances
        # (under cargo lambda watch, the first one also builds the function).
        log("warm-up: one event to the healthy endpoint")
        timed_run("warmup", 1, False)
        times = {}
        times["sequential alone"] = timed_run("sequential-alone", N, False)
        times["parallel alone"] = timed_run("parallel-alone", N, True)
        ids.append(create_endpoint("hung", hung_url))
        times["sequential beside hung"] = timed_run("sequential-beside", N, False)
        times["parallel beside hung"] = timed_run("parallel-beside", N, True)
        with held_lock:
            log(f"the hung receiver held {held['total']} requests ({held['now']} still open)")
    finally:
        for wid in ids:
            try:
                admin("DELETE", f"/webhooks/{wid}")
            except OSError:
                pass
    ways = ("sequential", "parallel")
    raw = {way: times[f"{way} beside hung"] / times[f"{way} alone"] for way in ways}
    # The ratio judged: the "beside" time less the allowance (never below the "alone" time).
    ratios = {
        way: max(times[f"{way} beside hung"] - ALLOWANCE, times[f"{way} alone"]) / times[f"{way} alone"]
        for way in ways
    }
    print()
    print(f"isolation: {N} events, healthy endpoint alone vs beside one that holds every request {HOLD:.0f}s")
    judged = f"{'judged':>8}" if ALLOWANCE else ""
    print(f"  {'publishing':<12} {'alone':>9} {'beside hung':>12} {'ratio':>7}{judged}")
    for way, label in (("sequential", "sequential"), ("parallel", f"{PUBLISHERS} parallel")):
        line = (
            f"  {label:<12} {times[way + ' alone']:>8.2f}s {times[way + ' beside hung']:>11.2f}s"
            f" {raw[way]:>6.2f}x"
        )
        print(line + (f" {ratios[way]:>6.2f}x" if ALLOWANCE else ""))
    if ALLOWANCE:
        print(f"  (judged: the time beside the hung endpoint less {ALLOWANCE:g} s for its first attempts)")
    print(
        "ISOLATION_RESULT "
        + json.dumps(
            {"events": N, "publishers": PUBLISHERS, "max_ratio": MAX_RATIO, "allowance_seconds": ALLOWANCE}
            | {k.replace(" ", "_"): round(v, 3) for k, v in times.items()}
            | {f"ratio_{k}": round(v, 3) for k, v in raw.items()}
            | ({f"judged_{k}": round(v, 3) for k, v in ratios.items()} if ALLOWANCE else {})
        ),
        flush=True,
    )
    over = [f"{k} {v:.2f}" for k, v in ratios.items() if v > MAX_RATIO]
    if over:
        print(f"isolation: FAIL: ratio above {MAX_RATIO}: {', '.join(over)}", file=sys.stderr)
        return 1
    print(f"isolation: ok (both ratios <= {MAX_RATIO})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        print(f"isolation: FAIL: {e}", file=sys.stderr)
        sys.exit(2)
