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


PROFILE = None
PROFILING = False


def serialize_dynamodb(app):
    def wrapped(environ, start_response):
        global PROFILING
        path = environ.get("PATH_INFO", "")
        if path in ("/__profile/start", "/__profile/stop"):
            PROFILING = path.endswith("start")
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return app(environ, start_response)
        with DYNAMODB:
            on = PROFILE is not None and PROFILING
            if on:
                PROFILE.enable()
            try:
                result = app(environ, start_response)
            finally:
                if on:
                    PROFILE.disable()
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
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
        atexit.register(lambda: PROFILE.dump_stats(os.environ["MOTO_PROFILE"]))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    cheap_transaction_backups()
    fast_item_responses()
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
