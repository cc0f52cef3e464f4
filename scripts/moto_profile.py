"""Profiling of the emulator, loaded by moto_server.py only when `MOTO_PROFILE=file` is set.

Between `GET /__profile/start` and `GET /__profile/stop` (tools/bin/bench.rs calls them around
the 1 -> 1,000 fan-out), DynamoDB requests run under cProfile — they are serialized, so one
profiler sees them all — and every request's time is added up per operation. At exit, `file`
holds the cProfile stats and `file.ops` the per-operation table, with the window's CPU and wall
time and the garbage collector's runs.

With `MOTO_PYSPY=file` as well, py-spy samples the whole server (every thread, not only
DynamoDB's) in that window instead of cProfile: `--nonblocking`, 250 Hz, raw (collapsed stacks)
unless `MOTO_PYSPY_FORMAT` says. `MOTO_PYSPY=off` profiles nothing: the `.ops` table and the
window's CPU time only.
"""
import atexit
import cProfile
import gc
import io
import json
import os
import signal
import subprocess
import threading
import time

PROFILE = cProfile.Profile()
SPY = None
PROFILING = False
WINDOW = []
GC_TIME = [0.0, 0, None]
OPS = {}
STATS = threading.Lock()


def gc_timer(phase, info):
    if phase == "start":
        GC_TIME[2] = time.perf_counter()
    elif GC_TIME[2] is not None:
        GC_TIME[0] += time.perf_counter() - GC_TIME[2]
        GC_TIME[1] += 1


def detail(environ):
    """`Operation [IndexName] [KeyConditionExpression]` of a JSON request (body left readable)."""
    op = environ.get("HTTP_X_AMZ_TARGET", "").split(".")[-1] or environ.get("PATH_INFO", "")
    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size)
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        body = json.loads(raw or b"{}")
        extra = " ".join(str(body.get(k, "")) for k in ("IndexName", "KeyConditionExpression"))
    except (ValueError, AttributeError):
        extra = ""
    return f"{op} {extra}".strip()


def sample(start):
    global SPY
    out = os.environ.get("MOTO_PYSPY")
    if not out:
        return
    if out == "off":
        SPY = False
        return
    if start and SPY is None:
        fmt = os.environ.get("MOTO_PYSPY_FORMAT", "raw")
        cmd = ["py-spy", "record", "--nonblocking", "-r", "250", "-f", fmt, "-o", out, "-p", str(os.getpid())]
        SPY = subprocess.Popen(cmd)
        time.sleep(0.5)  # attached before the profiled requests start
    elif not start and SPY:
        SPY.send_signal(signal.SIGINT)
        SPY.wait()


def count_time(op, started):
    with STATS:
        total, count = OPS.get(op, (0.0, 0))
        OPS[op] = (total + time.perf_counter() - started, count + 1)


def window(path, start_response):
    """`/__profile/start` and `/__profile/stop`."""
    global PROFILING
    PROFILING = path.endswith("start")
    sample(PROFILING)
    if PROFILING:
        WINDOW[:] = [time.process_time(), time.perf_counter()]
        GC_TIME[:] = [0.0, 0, None]
    elif WINDOW:
        cpu, wall = time.process_time() - WINDOW[0], time.perf_counter() - WINDOW[1]
        OPS[f"(window: {cpu:.2f} s of CPU in {wall:.2f} s, {GC_TIME[1]} gc runs {GC_TIME[0]:.2f} s)"] = (0.0, 0)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def install(path):
    """Registers the dump at exit and returns the wrapper moto_server.py puts inside its
    DynamoDB lock (so a DynamoDB request's profile covers exactly that request)."""

    def dump():
        PROFILE.dump_stats(path)
        with open(path + ".ops", "w") as f:
            for op, (total, count) in sorted(OPS.items(), key=lambda kv: -kv[1][0]):
                f.write(f"{op} {count} calls {total:.2f} s\n")

    atexit.register(dump)
    gc.callbacks.append(gc_timer)

    def inner(app):
        def wrapped(environ, start_response):
            p = environ.get("PATH_INFO", "")
            if p in ("/__profile/start", "/__profile/stop"):
                return window(p, start_response)
            if not PROFILING:
                return app(environ, start_response)
            op = detail(environ)
            dynamodb = environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB")
            if dynamodb and SPY is None:
                PROFILE.enable()
            started = time.perf_counter()
            try:
                result = app(environ, start_response)
                if not dynamodb:
                    return result
                body = b"".join(result)
                if hasattr(result, "close"):
                    result.close()
                return [body]
            finally:
                if dynamodb and SPY is None:
                    PROFILE.disable()
                count_time(op, started)

        return wrapped

    return inner
