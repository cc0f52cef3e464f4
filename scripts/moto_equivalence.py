"""Equivalence check of moto_server.py's speed patches (run by `make test`).

Starts two emulators — one with every speed patch (`MOTO_PATCHES=all`), one with none — sends
both the same fixed corpus of the DynamoDB and SQS calls Switchboard makes (conditional puts,
transactions that pass and that are cancelled, queries with pagination, filters and
projections, GSI queries, update expressions of every kind, TTL attributes, batch reads and
writes, scans, SQS send/receive/delete/visibility, FIFO deduplication, queue attributes) and
requires every answer (status and body, less request ids, receipt handles and times) to be
identical. Also checks that the patched server really runs its patches (its start line).

`--time N` then times the corpus N times against servers with all patches, none, and all but
one (per patch), and prints the figures (docs/testing.md#what-each-patch-buys has them).

Usage: .venv/bin/python scripts/moto_equivalence.py [--time N]
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = "equivalence"
AUTH = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{svc}/aws4_request, SignedHeaders=host, Signature=0"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(patches, extra_env=None):
    port = free_port()
    env = dict(os.environ, MOTO_PATCHES=patches, **(extra_env or {}))
    env.pop("MOTO_PROFILE", None)
    log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"moto-equivalence-{port}.log"), "w+")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            requests.get(f"{url}/moto-api/", timeout=1)
            log.seek(0)
            return proc, url, log.read()
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"moto did not start on {url}")


def call(session, url, svc, op, body):
    if svc == "dynamodb":
        target, ctype = f"DynamoDB_20120810.{op}", "application/x-amz-json-1.0"
    elif svc == "streams":
        target, ctype, svc = f"DynamoDBStreams_20120810.{op}", "application/x-amz-json-1.0", "dynamodb"
    else:
        target, ctype = f"AmazonSQS.{op}", "application/x-amz-json-1.0"
    r = session.post(url + "/", data=json.dumps(body), headers={"X-Amz-Target": target, "Content-Type": ctype, "Authorization": AUTH.format(svc=svc)})
    try:
        parsed = r.json() if r.content else None
    except ValueError:
        parsed = r.text
    return r.status_code, parsed


S = lambda v: {"S": v}  # noqa: E731
N = lambda v: {"N": str(v)}  # noqa: E731


def key(pk, sk):
    return {"pk": S(pk), "sk": S(sk)}


def corpus(scale=1):
    """The fixed requests: (service, operation, body). `{queue}`/`{fifo}` become queue URLs."""
    t = TABLE
    reqs = [
        ("dynamodb", "CreateTable", {
            "TableName": t, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": [
                {"IndexName": "gsi1", "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}},
                {"IndexName": "gsi2", "KeySchema": [{"AttributeName": "gsi2pk", "KeyType": "HASH"}, {"AttributeName": "gsi2sk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "KEYS_ONLY"}},
            ],
        }),
        ("dynamodb", "UpdateTimeToLive", {"TableName": t, "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires_at"}}),
        ("dynamodb", "DescribeTimeToLive", {"TableName": t}),
    ]
    # Conditional puts: the first passes, the second fails (with and without the old item).
    for rc in ("NONE", "ALL_OLD"):
        for _ in range(2):
            reqs.append(("dynamodb", "PutItem", {"TableName": t, "Item": {**key("UNIQ#a@example.com", "UNIQ"), "owner": S("m1")}, "ConditionExpression": "attribute_not_exists(pk)", "ReturnValuesOnConditionCheckFailure": rc}))
    reqs.append(("dynamodb", "PutItem", {"TableName": t, "Item": {**key("UNIQ#a@example.com", "UNIQ"), "owner": S("m2")}, "ConditionExpression": "#o = :o", "ExpressionAttributeNames": {"#o": "owner"}, "ExpressionAttributeValues": {":o": S("m1")}, "ReturnValues": "ALL_OLD"}))
    # Many items in two partitions, with GSIs, TTL, every attribute type.
    for i in range(60 * scale):
        item = {
            **key(f"HOOK#{i % 2}", f"DELIVERY#{i:05d}"),
            "gsi1pk": S(f"STATUS#{'failed' if i % 3 == 0 else 'success'}"), "gsi1sk": S(f"{i:05d}"),
            "gsi2pk": S("DUE"), "gsi2sk": S(f"2026-12-0{1 + i % 9}T00:00:00Z#{i}"),
            "attempts": N(i % 5), "expires_at": N(1900000000 + i), "payload": S("x" * (i % 50)),
            "blob": {"B": "aGVsbG8="}, "tags": {"SS": ["a", "b"]}, "nums": {"NS": ["1", "2"]},
            "flags": {"M": {"ok": {"BOOL": i % 2 == 0}, "none": {"NULL": True}}}, "hist": {"L": [N(1), S("two")]},
        }
        reqs.append(("dynamodb", "PutItem", {"TableName": t, "Item": item}))
    # Transactions: a passing fan-out of 25 puts, a cancelled one (condition fails on the last),
    # and one with a ConditionCheck, an Update and a Delete.
    for tag, last_cond in (("ok", "attribute_not_exists(pk)"), ("cancel", "attribute_exists(nothing_here)")):
        items = [{"Put": {"TableName": t, "Item": {**key(f"FAN#{tag}", f"D#{j:03d}"), "n": N(j)}, "ConditionExpression": "attribute_not_exists(pk)"}} for j in range(24)]
        items.append({"Put": {"TableName": t, "Item": {**key(f"FAN#{tag}", "D#last"), "n": N(99)}, "ConditionExpression": last_cond}})
        reqs.append(("dynamodb", "TransactWriteItems", {"TransactItems": items}))
    reqs.append(("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"ConditionCheck": {"TableName": t, "Key": key("UNIQ#a@example.com", "UNIQ"), "ConditionExpression": "attribute_exists(pk)"}},
        {"Update": {"TableName": t, "Key": key("HOOK#0", "DELIVERY#00000"), "UpdateExpression": "SET attempts = attempts + :one", "ExpressionAttributeValues": {":one": N(1)}}},
        {"Delete": {"TableName": t, "Key": key("HOOK#1", "DELIVERY#00001"), "ConditionExpression": "attribute_exists(pk)"}},
    ]}))
    reqs.append(("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Update": {"TableName": t, "Key": key("HOOK#0", "DELIVERY#00002"), "UpdateExpression": "SET attempts = :z", "ExpressionAttributeValues": {":z": N(0)}}},
        {"ConditionCheck": {"TableName": t, "Key": key("UNIQ#nobody", "UNIQ"), "ConditionExpression": "attribute_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
    ]}))
    # Update expressions: simple SET (the fast path), SET on a new item, functions, ADD, REMOVE,
    # DELETE, nested paths, failing conditions, invalid ones.
    upd = [
        ("HOOK#0", "DELIVERY#00004", "SET last_triggered_at = :t, consecutive_failures = :zero", {}, {":t": S("2026-12-03T00:00:00Z"), ":zero": N(0)}, "ALL_NEW", None),
        ("HOOK#0", "DELIVERY#00004", "SET #s = :s, attempts = :a", {"#s": "status"}, {":s": S("success"), ":a": N(3)}, "UPDATED_OLD", None),
        ("NEW#1", "ITEM", "SET created = :t", {}, {":t": S("now")}, "ALL_NEW", None),
        ("HOOK#0", "DELIVERY#00006", "SET hist = list_append(hist, :l), c = if_not_exists(c, :z) ADD attempts :one, tags :t", {}, {":l": {"L": [S("x")]}, ":z": N(0), ":one": N(1), ":t": {"SS": ["c"]}}, "ALL_NEW", None),
        ("HOOK#0", "DELIVERY#00008", "REMOVE payload, flags.#n DELETE tags :t", {"#n": "none"}, {":t": {"SS": ["a"]}}, "ALL_NEW", None),
        ("HOOK#0", "DELIVERY#00010", "SET flags.ok = :f, hist[0] = :h", {}, {":f": {"BOOL": False}, ":h": N(7)}, "UPDATED_NEW", None),
        ("HOOK#0", "DELIVERY#00012", "SET attempts = :a", {}, {":a": N(1)}, "ALL_OLD", "attempts > :big"),
        ("HOOK#0", "DELIVERY#00012", "SET pk = :a", {}, {":a": S("no")}, "NONE", None),
        ("HOOK#0", "DELIVERY#00012", "SET size = :a", {}, {":a": S("reserved")}, "NONE", None),
        ("HOOK#0", "DELIVERY#00012", "SET a = :a, a = :b", {}, {":a": N(1), ":b": N(2)}, "NONE", None),
        ("HOOK#0", "DELIVERY#00012", "SET a = :missing", {}, {":a": N(1)}, "NONE", None),
        ("HOOK#0", "DELIVERY#00014", "SET big = :b", {}, {":b": S("y" * 300000)}, "NONE", None),
        ("HOOK#0", "DELIVERY#00014", "SET big2 = :b", {}, {":b": S("z" * 300000)}, "NONE", None),
    ]
    for pk, sk, expr, names, values, rv, cond in upd:
        body = {"TableName": t, "Key": key(pk, sk), "UpdateExpression": expr, "ExpressionAttributeValues": dict(values), "ReturnValues": rv}
        if names:
            body["ExpressionAttributeNames"] = names
        if cond:
            body["ConditionExpression"] = cond
            body["ExpressionAttributeValues"][":big"] = N(100)
        reqs.append(("dynamodb", "UpdateItem", body))
    # Reads: get, batch get, queries (pages, filters, projections, descending, GSIs), scans.
    reqs += [
        ("dynamodb", "GetItem", {"TableName": t, "Key": key("HOOK#0", "DELIVERY#00006"), "ConsistentRead": True}),
        ("dynamodb", "GetItem", {"TableName": t, "Key": key("HOOK#0", "DELIVERY#00006"), "ProjectionExpression": "attempts, flags.ok, hist[0]"}),
        ("dynamodb", "GetItem", {"TableName": t, "Key": key("NOPE", "NOPE")}),
        ("dynamodb", "BatchGetItem", {"RequestItems": {t: {"Keys": [key("HOOK#0", f"DELIVERY#{i:05d}") for i in range(0, 40, 2)]}}}),
        ("dynamodb", "BatchWriteItem", {"RequestItems": {t: [{"PutRequest": {"Item": {**key("BATCH", f"{i:03d}"), "v": N(i)}}} for i in range(20)] + [{"DeleteRequest": {"Key": key("HOOK#1", "DELIVERY#00003")}}]}}),
        ("dynamodb", "DeleteItem", {"TableName": t, "Key": key("HOOK#1", "DELIVERY#00005"), "ReturnValues": "ALL_OLD"}),
        ("dynamodb", "DeleteItem", {"TableName": t, "Key": key("HOOK#1", "DELIVERY#00007"), "ConditionExpression": "attempts = :x", "ExpressionAttributeValues": {":x": N(42)}}),
    ]
    queries = [
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("HOOK#0")}, "Limit": 7},
        {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)", "ExpressionAttributeValues": {":p": S("HOOK#1"), ":s": S("DELIVERY#000")}, "ScanIndexForward": False, "Limit": 9},
        {"KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b", "ExpressionAttributeValues": {":p": S("HOOK#0"), ":a": S("DELIVERY#00010"), ":b": S("DELIVERY#00030"), ":two": N(2)}, "FilterExpression": "attempts >= :two", "Limit": 4},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("HOOK#0")}, "ProjectionExpression": "sk, attempts, #f.ok", "ExpressionAttributeNames": {"#f": "flags"}, "Limit": 10},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("HOOK#1")}, "Select": "COUNT"},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("FAN#ok")}},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("FAN#cancel")}},
        {"IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p", "ExpressionAttributeValues": {":p": S("STATUS#failed"), ":n": N(1900000010)}, "FilterExpression": "expires_at > :n", "Limit": 5},
        {"IndexName": "gsi2", "KeyConditionExpression": "gsi2pk = :p AND gsi2sk < :t", "ExpressionAttributeValues": {":p": S("DUE"), ":t": S("2026-12-05")}, "Limit": 8},
        {"KeyConditionExpression": "pk = :p AND sk > :s", "ExpressionAttributeValues": {":p": S("BATCH"), ":s": S("005")}, "ConsistentRead": True},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("HOOK#0"), ":q": S("nope")}, "FilterExpression": "contains(payload, :q) OR attribute_not_exists(payload)"},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S("NOBODY")}},
        {"KeyConditionExpression": "sk = :p", "ExpressionAttributeValues": {":p": S("HOOK#0")}},
    ]
    for q in queries:
        reqs.append(("dynamodb", "Query", {"TableName": t, **q, "_paginate": True}))
    reqs.append(("dynamodb", "Scan", {"TableName": t, "Limit": 25, "_paginate": True}))
    reqs.append(("dynamodb", "Scan", {"TableName": t, "FilterExpression": "attempts = :a", "ExpressionAttributeValues": {":a": N(4)}, "_paginate": True}))
    # Malformed requests answer moto's own errors.
    reqs += [
        ("dynamodb", "PutItem", {"TableName": t, "Item": {"pk": S("only-pk")}}),
        ("dynamodb", "TransactWriteItems", {"TransactItems": [{"Put": {"TableName": "missing", "Item": key("a", "b")}}]}),
        ("dynamodb", "Query", {"TableName": t, "KeyConditionExpression": "pk = :p AND", "ExpressionAttributeValues": {":p": S("x")}}),
        ("dynamodb", "UpdateItem", {"TableName": t, "Key": key("a", "b"), "UpdateExpression": "SET", "ExpressionAttributeValues": {}}),
    ]
    # The table's stream: a passing transaction streams its items, a cancelled one nothing
    # (moto writes item by item, so the puts before the failing condition must not stay).
    st = t + "-stream"
    reqs.append(("dynamodb", "CreateTable", {
        "TableName": st, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    }))
    for tag, last_cond in (("ok", "attribute_not_exists(pk)"), ("cancel", "attribute_exists(nothing_here)")):
        reqs.append(("dynamodb", "TransactWriteItems", {"TransactItems": [
            {"Put": {"TableName": st, "Item": key(f"OUTBOX#{tag}", "B#1")}},
            {"Put": {"TableName": st, "Item": key(f"MEMBER#{tag}", "M"), "ConditionExpression": last_cond}},
        ]}))
    reqs.append(("streams", "_records", {"TableName": st}))
    # SQS: a standard queue (send, batch, receive, visibility, delete) and a FIFO one (dedup).
    reqs += [
        ("sqs", "CreateQueue", {"QueueName": "events", "Attributes": {"VisibilityTimeout": "60"}}),
        ("sqs", "CreateQueue", {"QueueName": "events.fifo", "Attributes": {"FifoQueue": "true", "ContentBasedDeduplication": "false"}}),
        ("sqs", "GetQueueUrl", {"QueueName": "events"}),
    ]
    for i in range(10 * scale):
        reqs.append(("sqs", "SendMessage", {"QueueUrl": "{queue}", "MessageBody": json.dumps({"event": "space.member_joined", "n": i}), "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "fanout"}}}))
    reqs += [
        ("sqs", "SendMessageBatch", {"QueueUrl": "{queue}", "Entries": [{"Id": f"e{i}", "MessageBody": f"batch {i}"} for i in range(5)]}),
        ("sqs", "GetQueueAttributes", {"QueueUrl": "{queue}", "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "VisibilityTimeout"]}),
        ("sqs", "ReceiveMessage", {"QueueUrl": "{queue}", "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"], "MessageSystemAttributeNames": ["ApproximateReceiveCount"], "_delete": True}),
        ("sqs", "ReceiveMessage", {"QueueUrl": "{queue}", "MaxNumberOfMessages": 3, "_visibility": 0}),
        ("sqs", "GetQueueAttributes", {"QueueUrl": "{queue}", "AttributeNames": ["All"]}),
        ("sqs", "ReceiveMessage", {"QueueUrl": "{queue}", "MaxNumberOfMessages": 10, "_delete": True}),
        ("sqs", "DeleteMessage", {"QueueUrl": "{queue}", "ReceiptHandle": "not-a-handle"}),
    ]
    for i in range(3):
        reqs.append(("sqs", "SendMessage", {"QueueUrl": "{fifo}", "MessageBody": "same", "MessageGroupId": "hook-1", "MessageDeduplicationId": "d-1" if i < 2 else "d-2"}))
    reqs += [
        ("sqs", "ReceiveMessage", {"QueueUrl": "{fifo}", "MaxNumberOfMessages": 10, "MessageSystemAttributeNames": ["All"], "_delete": True}),
        ("sqs", "GetQueueAttributes", {"QueueUrl": "{fifo}", "AttributeNames": ["ApproximateNumberOfMessages"]}),
    ]
    return reqs


VOLATILE = {"ReceiptHandle", "MessageId", "RequestId", "CreationDateTime", "CreatedTimestamp", "LastModifiedTimestamp",
            "SentTimestamp", "ApproximateFirstReceiveTimestamp", "SequenceNumber", "TableId", "LatestStreamArn", "LatestStreamLabel"}


def normalize(v, url):
    if isinstance(v, dict):
        return {k: ("<volatile>" if k in VOLATILE else normalize(x, url)) for k, x in v.items()}
    if isinstance(v, list):
        return [normalize(x, url) for x in v]
    if isinstance(v, str):
        return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", v.replace(url, "<url>"))
    return v


def stream_records(session, url, table):
    """The keys and event names of every record on the table's stream, oldest first."""
    _, d = call(session, url, "dynamodb", "DescribeTable", {"TableName": table})
    arn = d["Table"]["LatestStreamArn"]
    _, d = call(session, url, "streams", "DescribeStream", {"StreamArn": arn})
    out = []
    for shard in d["StreamDescription"]["Shards"]:
        _, it = call(session, url, "streams", "GetShardIterator", {"StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"})
        _, recs = call(session, url, "streams", "GetRecords", {"ShardIterator": it["ShardIterator"]})
        out += [(r["eventName"], r["dynamodb"]["Keys"]) for r in recs.get("Records", [])]
    return out


def run(url, reqs):
    """Sends the corpus (following pages, deleting or releasing what is received): the answers."""
    session = requests.Session()
    queues = {}
    out = []
    for svc, op, body in reqs:
        body = json.loads(json.dumps(body))
        paginate, delete, visibility = body.pop("_paginate", False), body.pop("_delete", False), body.pop("_visibility", None)
        if "QueueUrl" in body:
            body["QueueUrl"] = queues.get(body["QueueUrl"], body["QueueUrl"])
        if op == "_records":
            out.append(("StreamRecords", 200, stream_records(session, url, body["TableName"])))
            continue
        while True:
            status, answer = call(session, url, svc, op, body)
            out.append((op, status, answer))
            if op == "CreateQueue" and status == 200:
                queues["{fifo}" if body["QueueName"].endswith(".fifo") else "{queue}"] = answer["QueueUrl"]
            if op == "ReceiveMessage" and status == 200:
                for m in (answer or {}).get("Messages", []):
                    if delete:
                        out.append(("DeleteMessage", *call(session, url, "sqs", "DeleteMessage", {"QueueUrl": body["QueueUrl"], "ReceiptHandle": m["ReceiptHandle"]})))
                    elif visibility is not None:
                        out.append(("ChangeMessageVisibility", *call(session, url, "sqs", "ChangeMessageVisibility", {"QueueUrl": body["QueueUrl"], "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": visibility})))
            if not (paginate and status == 200 and isinstance(answer, dict) and answer.get("LastEvaluatedKey")):
                break
            body["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return [(op, status, normalize(answer, url)) for op, status, answer in out]


def check():
    fast, fast_url, fast_log = start("all")
    slow, slow_url, _ = start("none")
    try:
        if "speed patches: none" in fast_log or "left out" in fast_log:
            raise SystemExit(f"the patched emulator runs without its patches:\n{fast_log}")
        reqs = corpus()
        a, b = run(fast_url, reqs), run(slow_url, reqs)
    finally:
        fast.kill()
        slow.kill()
    differ = [(i, x, y) for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if len(a) != len(b) or differ:
        for i, x, y in differ[:5]:
            print(f"answer {i} differs:\n  patched:   {json.dumps(x)[:600]}\n  unpatched: {json.dumps(y)[:600]}", file=sys.stderr)
        raise SystemExit(f"moto speed patches: {len(differ)} of {len(b)} answers differ ({len(a)} vs {len(b)} answers)")
    statuses = sorted({s for _, s, _ in a})
    print(f"moto speed patches: {len(a)} answers identical with and without them (statuses {statuses})")


def timing(rounds, scale):
    sys.path.insert(0, HERE)
    from moto_server import SPEED_PATCHES

    configs = [("all", "all", {}), ("none", "none", {})] + [(f"all but {n}", "all", {"MOTO_PATCHES_OFF": n}) for n in SPEED_PATCHES]
    reqs = corpus(scale)
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(pid):  # the server's user + system CPU seconds: steadier than wall time on a busy machine
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    for label, patches, env in configs:
        walls, cpus = [], []
        for _ in range(rounds):
            proc, url, _ = start(patches, env)
            try:
                before, started = cpu(proc.pid), time.perf_counter()
                run(url, reqs)
                walls.append(time.perf_counter() - started)
                cpus.append(cpu(proc.pid) - before)
            finally:
                proc.kill()
        print(f"{label:32} {min(cpus):6.2f} s of emulator CPU, {min(walls):6.2f} s wall (best of {rounds}, {len(reqs)} requests)", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--time", type=int, default=0, help="time the corpus N times per configuration")
    parser.add_argument("--scale", type=int, default=10, help="corpus size factor for --time")
    args = parser.parse_args()
    if args.time:
        timing(args.time, args.scale)
    else:
        check()


if __name__ == "__main__":
    main()
