"""moto server with DynamoDB requests serialized and cheap transaction backups.

moto's DynamoDB backend checks a condition and then writes without a lock, so two concurrent
requests can both pass `attribute_not_exists` — which real DynamoDB never allows. Serializing the
DynamoDB requests (and only them: SQS long polls, SES and the moto API stay concurrent) restores
the atomic conditional writes and transactions that Switchboard's uniqueness relies on.

Usage: python scripts/moto_server.py -H 127.0.0.1 -p 4566
"""
import argparse
import os
import signal
import sys
import threading
import time

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

DYNAMODB = threading.Lock()


def cheap_transaction_backups():
    """Back up only the items a transaction touches.

    moto's TransactWriteItems deep-copies the whole table once per item of the transaction, to
    restore it if a condition fails: a 100-item transaction on a table of N items copies 100 x N
    items, so transactions slow down as the table grows (a 1 -> 1,000 fan-out took minutes). This
    keeps the semantics — all or nothing — by copying only the touched items and restoring them
    on failure. Safe because DynamoDB requests are serialized (see `serialize_dynamodb`).
    """
    import copy
    import types

    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = models.DynamoDBBackend.transact_write_items
    real_copy = models.copy

    def keep_tables(obj, *args, **kwargs):
        return obj if isinstance(obj, Table) else real_copy.deepcopy(obj, *args, **kwargs)

    def transact_write_items(self, transact_items):
        snapshot = []
        for item in transact_items:
            try:
                op_type, op = next(iter(item.items()))
                table = self.get_table(op["TableName"])
                key = op["Item"] if op_type == "Put" else op["Key"]
                h = DynamoType(key[table.hash_key_attr])
                r = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            except Exception:
                return original(self, transact_items)  # malformed: moto's own path reports it
            snapshot.append((table, h, r, copy.deepcopy(table.get_item(h, r))))
        models.copy = types.SimpleNamespace(deepcopy=keep_tables, copy=real_copy.copy)
        try:
            return original(self, transact_items)
        except Exception:
            for table, h, r, old in reversed(snapshot):
                if r is None:
                    if old is None:
                        table.items.pop(h, None)
                    else:
                        table.items[h] = old
                elif old is None:
                    table.items.get(h, {}).pop(r, None)
                else:
                    table.items[h][r] = old
            raise
        finally:
            models.copy = real_copy

    models.DynamoDBBackend.transact_write_items = transact_write_items


def fast_item_responses():
    """Writes the responses of the item reads with `json.dumps`.

    moto 5.2 serializes every response by walking botocore's shape model member by member: a
    Query or BatchGetItem of 1,000 items spent most of its time there. A read's result is already
    the wire shape (items as attribute-value maps), so `json.dumps` writes the same JSON (bytes as
    base64, timestamps as epoch seconds, as the JSON protocol does). `MOTO_CHECK_FAST=1` runs
    both and logs any difference.
    """
    import base64
    import datetime
    import json

    from moto.dynamodb.responses import DynamoResult

    fast_ops = {"GetItem", "BatchGetItem", "Query", "Scan"}
    slow = DynamoResult.execute_result
    check = os.environ.get("MOTO_CHECK_FAST") == "1"

    def default(o):
        if isinstance(o, (bytes, bytearray)):
            return base64.b64encode(o).decode()
        if isinstance(o, datetime.datetime):
            return o.timestamp()
        raise TypeError(type(o).__name__)

    def execute_result(self, context):
        if context.operation_model.name not in fast_ops or not isinstance(self.result, dict):
            return slow(self, context)
        body = json.dumps(self.result, default=default, separators=(",", ":"))
        if check:
            status, headers, slow_body = slow(self, context)
            if status != 200 or json.loads(slow_body) != json.loads(body):
                print(f"MOTO_CHECK_FAST differs: {status} {headers} {slow_body[:300]} vs {body[:300]}", file=sys.stderr, flush=True)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = execute_result


def partition_queries():
    """Reads one partition for a Query on the table's own key.

    moto answers such a Query by sorting every item of the table and keeping those of the
    partition: each Query cost O(N log N) in the table's size (112 ms at a few thousand items),
    and the `endpoints` read of every fan-out slowed as deliveries piled up. This hands the
    Query just the partition's items, in the same order. Index queries are left as they are.
    """
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    local = threading.local()

    def all_items(self):
        scope = getattr(local, "scope", None)
        if scope is None or scope[0] is not self:
            return original_all_items(self)
        part = self.items.get(scope[1])
        if part is None:
            return []
        if not self.range_key_attr:
            return [part]
        return sorted(part.values(), key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def query(self, hash_key, *args, **kwargs):
        # moto's backend passes index_name as the 8th positional argument.
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        if index_name or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        local.scope = (self, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            local.scope = None

    Table.all_items = all_items
    Table.query = query


def cheap_queue_attributes():
    """Sends and receives without counting the queue.

    moto's SQS reads the queue's full attribute map on every message sent (for
    `ContentBasedDeduplication`) and every message received (for `MessageRetentionPeriod`),
    and that map includes three `ApproximateNumberOf*` counts, each a walk over every message
    of the queue: sending or receiving one message cost O(queue length), and a queue of a few
    hundred retries took 40 % of the emulator's time. Within send and receive those counts read
    as 0 (neither call uses them); `GetQueueAttributes` still counts.
    """
    from moto.sqs.models import Queue, SQSBackend

    local = threading.local()
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        counted = getattr(Queue, name)

        def uncounted(self, counted=counted):
            return 0 if getattr(local, "cheap", False) else counted.fget(self)

        setattr(Queue, name, property(uncounted))

    for name in ("send_message", "send_message_batch", "receive_message"):
        original = getattr(SQSBackend, name)

        def cheap(self, *args, original=original, **kwargs):
            local.cheap = True
            try:
                return original(self, *args, **kwargs)
            finally:
                local.cheap = False

        setattr(SQSBackend, name, cheap)


def atomic_queues():
    """Makes each queue's message list change atomically.

    moto's SQS is not thread-safe: `Queue.delete_message` rebuilds the message list from a
    snapshot without the queue's lock while `add_message` appends under it, so a message sent
    while another is deleted could vanish (16 of 10,000 in a backlog run), and a receive
    iterating the in-flight set while a delete changes it fails with `RuntimeError`. SQS loses
    nothing; here delete, receive and visibility changes hold the queue's lock (a `Condition`
    over an `RLock`: a long poll's wait releases it).
    """
    from moto.sqs.models import Queue, SQSBackend

    original_delete = Queue.delete_message

    def delete_message(self, receipt_handle):
        with self._messages_lock:
            return original_delete(self, receipt_handle)

    Queue.delete_message = delete_message

    for name in ("receive_message", "change_message_visibility"):
        original = getattr(SQSBackend, name)

        def locked(self, queue_name, *args, original=original, **kwargs):
            with self.get_queue(queue_name)._messages_lock:
                return original(self, queue_name, *args, **kwargs)

        setattr(SQSBackend, name, locked)


def cached_module_list():
    """Lists moto's service modules once.

    moto's dispatcher asks `list_of_moto_modules()` on every request — a `listdir` of its package
    and an `isdir` per entry (~250 `stat` calls) — under the dispatcher's global lock, so every
    request of every service queued behind that filesystem walk.
    """
    import moto.backends as backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


PROFILE = None
PROFILING = False
OPS = {}
STATS = threading.Lock()


def detail(environ):
    """`Operation [IndexName] [KeyConditionExpression]` of a JSON request (body left readable)."""
    import io
    import json

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


def count_time(op, started):
    with STATS:
        total, count = OPS.get(op, (0.0, 0))
        OPS[op] = (total + time.perf_counter() - started, count + 1)


def serialize_dynamodb(app):
    def wrapped(environ, start_response):
        global PROFILING
        path = environ.get("PATH_INFO", "")
        if path in ("/__profile/start", "/__profile/stop"):
            PROFILING = path.endswith("start")
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        on = PROFILE is not None and PROFILING
        op = detail(environ) if on else None
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            started = time.perf_counter()
            try:
                return app(environ, start_response)
            finally:
                if on:
                    count_time(op, started)
        with DYNAMODB:
            if on:
                PROFILE.enable()
            started = time.perf_counter()
            try:
                result = app(environ, start_response)
                body = b"".join(result)
                if hasattr(result, "close"):
                    result.close()
            finally:
                if on:
                    PROFILE.disable()
                    count_time(op, started)
        return [body]

    return wrapped


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    if os.environ.get("MOTO_PROFILE"):
        # Profiles DynamoDB requests only (they are serialized, so one profiler sees them all).
        import atexit
        import cProfile

        global PROFILE
        PROFILE = cProfile.Profile()
        def dump():
            PROFILE.dump_stats(os.environ["MOTO_PROFILE"])
            with open(os.environ["MOTO_PROFILE"] + ".ops", "w") as f:
                for op, (total, count) in sorted(OPS.items(), key=lambda kv: -kv[1][0]):
                    f.write(f"{op} {count} calls {total:.2f} s\n")

        atexit.register(dump)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    cheap_transaction_backups()
    fast_item_responses()
    cached_module_list()
    partition_queries()
    cheap_queue_attributes()
    atomic_queues()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        serialize_dynamodb(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
