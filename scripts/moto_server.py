"""moto server with DynamoDB requests serialized, queues made thread-safe, and speed patches.

moto's DynamoDB backend checks a condition and then writes without a lock, so two concurrent
requests can both pass `attribute_not_exists` — which real DynamoDB never allows. Serializing the
DynamoDB requests (and only them: SQS long polls, SES and the moto API stay concurrent) restores
the atomic conditional writes and transactions that Switchboard's uniqueness relies on
(`serialize_dynamodb`); `atomic_queues` does the same for SQS's message lists. Both are fixes and
always on.

The speed patches (`SPEED_PATCHES`) reach into moto's private internals. They are written against
one moto release, `PINNED_MOTO` (requirements-dev.txt pins it): with any other version they are
left out and moto answers on its own. `scripts/moto_equivalence.py` (run by `make test`) sends a
fixed corpus of the requests Switchboard makes to a patched and an unpatched server and requires
identical answers.

Environment: `MOTO_PATCHES=all` (default), `none`, or a comma list of patch names;
`MOTO_PATCHES_OFF=a,b` leaves those out of the selection. `MOTO_PROFILE=file` loads
`moto_profile.py` (profiling, not loaded otherwise). `MOTO_GC`, `MOTO_WSGI`: see
`rare_collections` and `serve`.

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
    A cancelled transaction also leaves the table's stream as it was: moto writes items one by
    one, so the writes before the failing condition have already added stream records, which
    moto's whole-table restore drops with the table; here they are cut off by hand (real
    DynamoDB never streams a cancelled transaction, and the relay would forward its events).
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
        streams = {id(t): (t.stream_shard, len(t.stream_shard.items))
                   for t, _, _, _ in snapshot if t.stream_shard is not None}
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
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            models.copy = real_copy

    models.DynamoDBBackend.transact_write_items = transact_write_items


def cached_expressions():
    """Parses each condition and update expression once.

    moto parses a ConditionExpression three times per transaction item (the handler's validation,
    the transaction's check, then `put_item`/`update_item` again) and an UpdateExpression twice,
    and a 100-item transaction repeats the same few expressions: parsing was a quarter of a
    fan-out's emulator time. A condition's parse depends only on the expression, its attribute
    names and its values, and gives a tree of operators that only read the item they evaluate
    (and the names and values found, which the handler checks): the cache keeps one tree per
    (expression, names, values) built from private copies of the names and values. An update
    expression's tree depends on the string alone, and every reader either reads it
    (`find_clauses`) or deep-copies it before changing it (`Validator`). Expressions that fail
    to parse are not cached: moto parses them again and raises its own error.
    """
    import json

    from moto.dynamodb import comparisons
    from moto.dynamodb.parsing import expressions

    parser_class = comparisons.ConditionExpressionParser
    original_parse = parser_class.parse
    conditions = {}

    def parse(self):
        expr = self.condition_expression
        if not expr or not isinstance(expr, str):
            return original_parse(self)
        try:
            key = (
                expr,
                json.dumps(self.expression_attribute_names),
                json.dumps(self.expression_attribute_values),
            )
        except (TypeError, ValueError):  # bytes and the like: not cached
            return original_parse(self)
        hit = conditions.get(key)
        if hit is None:
            private = parser_class(expr, json.loads(key[1]), json.loads(key[2]))
            try:
                op = original_parse(private)
            except Exception:
                op = None
            if op is None:
                return original_parse(self)  # raises moto's own error for this request
            hit = (op, tuple(private.expr_attr_names_found), tuple(private.expr_attr_values_found))
            if len(conditions) > 4096:
                conditions.clear()
            conditions[key] = hit
        self.expr_attr_names_found.extend(hit[1])
        self.expr_attr_values_found.extend(hit[2])
        return hit[0]

    parser_class.parse = parse

    original_make = expressions.UpdateExpressionParser.make.__func__
    updates = {}

    def make(cls, expression_str):
        if not isinstance(expression_str, str):
            return original_make(cls, expression_str)
        ast = updates.get(expression_str)
        if ast is None:
            ast = original_make(cls, expression_str)
            if len(updates) > 4096:
                updates.clear()
            updates[expression_str] = ast
        return ast

    expressions.UpdateExpressionParser.make = classmethod(make)


def fast_simple_updates():
    """Applies `SET name = :value, ...` to an existing item without moto's AST pipeline.

    moto validates an update by deep-copying the expression's tree and running ten tree walkers
    over it, then an executor, and deep-copies the item first (for a stream): ~60 % of a
    fan-out's health updates (`SET last_triggered_at = :t, consecutive_failures = :zero`).
    For an expression made only of SET actions whose targets are top-level attributes and whose
    values are `:placeholders`, every one of those checks depends on the expression, the names,
    the values and the table's keys alone, so this checks them up front and, when the update is
    plainly valid (names and values defined, no reserved word, no key attribute, no duplicate
    target, the item small enough that no assignment can exceed the 400 KB limit), assigns
    the values in order, as moto's executor would. Anything else — a new item, a stream, a
    failing condition, ADD/REMOVE, nested paths, functions, any doubt — runs moto's own
    `update_item` from the start (nothing has changed by then), which gives its answer or error.
    """
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize
    from moto.dynamodb.parsing import ast_nodes as n
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords
    from moto.dynamodb.comparisons import get_filter_expression

    reserved = ReservedKeywords.get_reserved_keywords()
    original = models.DynamoDBBackend.update_item
    plans = {}

    def plan_of(ast):
        """[(is_placeholder, name_or_placeholder, value_placeholder)] or None."""
        if type(ast) is not n.UpdateExpression or len(ast.children or []) != 1:
            return None
        clause = ast.children[0]
        if type(clause) is not n.UpdateExpressionSetClause or len(clause.children or []) != 1:
            return None
        plan = []
        actions = clause.children[0]
        while actions is not None:
            if type(actions) is not n.UpdateExpressionSetActions or not 1 <= len(actions.children or []) <= 2:
                return None
            action = actions.children[0]
            if type(action) is not n.UpdateExpressionSetAction or len(action.children or []) != 2:
                return None
            path, value = action.children
            if type(path) is not n.UpdateExpressionPath or len(path.children or []) != 1:
                return None
            if type(value) is not n.UpdateExpressionValue or len(value.children or []) != 1:
                return None
            target, source = path.children[0], value.children[0]
            if type(target) not in (n.ExpressionAttribute, n.ExpressionAttributeName):
                return None
            if type(source) is not n.ExpressionAttributeValue:
                return None
            if len(target.children or []) != 1 or len(source.children or []) != 1:
                return None
            if not isinstance(target.children[0], str) or not isinstance(source.children[0], str):
                return None
            plan.append((type(target) is n.ExpressionAttributeName, target.children[0], source.children[0]))
            actions = actions.children[1] if len(actions.children) == 2 else None
        return plan

    def prepare(self, table_name, key, update_expression, names, values, condition_expression):
        """(item, [(name, DynamoType)]) when the fast path applies, else None (nothing changed)."""
        if not isinstance(update_expression, str) or not update_expression:
            return None
        if update_expression not in plans:
            plan = plan_of(UpdateExpressionParser.make(update_expression))
            if len(plans) > 4096:
                plans.clear()
            plans[update_expression] = plan
        plan = plans[update_expression]
        if plan is None or not isinstance(values, dict):
            return None
        table = self.get_table(table_name)
        if table.stream_shard is not None:
            return None
        key_attrs = table.table_key_attrs
        defined = {d["AttributeName"] for d in table.attr}
        assignments = []
        for is_placeholder, token, placeholder in plan:
            if is_placeholder:
                if not isinstance(names, dict) or token not in names:
                    return None
                name = names[token]
            else:
                if token.upper() in reserved:
                    return None
                name = token
            if not isinstance(name, str) or name in key_attrs or token in key_attrs:
                return None
            if {token, name} & (defined | set(table.attribute_keys)):
                return None
            if placeholder not in values or any(name == a for a, _ in assignments):
                return None
            assignments.append((name, placeholder))
        if all([table.hash_key_attr in key, table.range_key_attr in key]):
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr])
        elif table.hash_key_attr in key:
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = None
        else:
            return None
        item = table.get_item(hash_value, range_value)
        if item is None:
            return None
        if not get_filter_expression(condition_expression, names, values).expr(item):
            return None
        new = [(name, DynamoType(values[placeholder])) for name, placeholder in assignments]
        size = sum(
            bytesize(str(k)) + (v.size() if type(v) is DynamoType else bytesize(str(v)))
            for k, v in item.attrs.items()
        )
        size += sum(bytesize(name) + value.size() for name, value in new)
        if size > 405000:
            return None
        return item, new

    def update_item(
        self,
        table_name,
        key,
        update_expression,
        expression_attribute_names,
        expression_attribute_values,
        attribute_updates=None,
        expected=None,
        condition_expression=None,
        return_values_on_condition_check_failure=None,
    ):
        args = (table_name, key, update_expression, expression_attribute_names, expression_attribute_values)
        kwargs = dict(
            attribute_updates=attribute_updates,
            expected=expected,
            condition_expression=condition_expression,
            return_values_on_condition_check_failure=return_values_on_condition_check_failure,
        )
        ready = None
        if not attribute_updates and not expected:
            try:
                ready = prepare(self, table_name, key, update_expression, expression_attribute_names, expression_attribute_values, condition_expression)
            except Exception:
                ready = None
        if ready is None:
            return original(self, *args, **kwargs)
        item, new = ready
        for name, value in new:
            dict.__setitem__(item.attrs, name, value)
        return item

    models.DynamoDBBackend.update_item = update_item


def linear_item_sizes():
    """Builds an item checking its size once per attribute, not once per attribute pair.

    moto's `LimitedSizeDict` sums the size of every attribute already set each time one is added,
    so building an item of n attributes walks n^2/2 values (a delivery record: ~8 % of a
    fan-out's time). Building a fresh item keeps a running total instead: the check before each
    attribute compares the same sum with the same 405,000-byte limit and raises the same
    `ItemSizeTooLarge` at the same attribute.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    def item_init(self, hash_key, range_key, attrs):
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = LimitedSizeDict()
        total = 0
        for key, value in attrs.items():
            value = DynamoType(value)
            added = bytesize(key) + value.size()
            if total + added > 405000:
                raise ItemSizeTooLarge
            dict.__setitem__(self.attrs, key, value)
            total += added

    Item.__init__ = item_init

    original_size = DynamoType.size

    def rebuilt_size(v):
        """`DynamoType(v).size()` without the rebuild: that constructor copies every list and map
        below a `DynamoType` v (same types, same values), so only their contents count."""
        if type(v) is not DynamoType:
            return DynamoType(v).size()
        if v.type == "L":
            return sum(rebuilt_size(x) for x in v.value)
        if v.type == "M":
            return sum(bytesize(k) + rebuilt_size(x) for k, x in v.value.items())
        return original_size(v)

    def size(self):
        # moto sizes each value of a map through `DynamoType(v).size()`, which rebuilds all of
        # v first: sizing a map nested d deep rebuilt its leaves d times.
        if self.type != "M":
            return original_size(self)
        return sum(bytesize(k) + rebuilt_size(v) for k, v in self.value.items())

    DynamoType.size = size


def compiled_json_requests():
    """Walks a JSON request with functions built once per operation instead of per value.

    moto turns a JSON-protocol body into parameters by walking botocore's shape model beside the
    JSON: for every value it looks the handler up by name, and for every attribute value (a
    structure of ten members, one present) it asks for all ten. A 100-item transaction spent
    more time there than in DynamoDB's own logic. The functions built here follow the same shapes
    and do the same thing to every value — members in the model's order, `null` members left
    out, blobs decoded, numbers and timestamps converted, other scalars kept — with the lookups
    done once; a one-key object (an attribute value) goes straight to its member. They apply to
    moto's `JSONParser` only (with its plain `dict` maps); anything else runs moto's walk.
    """
    from moto.core import parse as p

    JSONParser = p.JSONParser
    expected = (
        JSONParser._parse_shape is p.RequestParser._parse_shape
        and JSONParser._parse_list is p.RequestParser._parse_list
        and JSONParser._parse_map is p.RequestParser._parse_map
        and JSONParser._parse_structure is p.BaseJSONParser._parse_structure
        and JSONParser._parse_json_body.__qualname__ == "JSONParser._parse_json_body"
    )
    if not expected:
        return
    original_body = JSONParser._parse_json_body
    compiled = {}  # id(input shape) -> (shape, function)

    def compile_shape(shape, memo):
        name = shape.name
        if name in memo:
            return memo[name]
        cell = []

        def deferred(parser, value):  # a shape that contains itself (AttributeValue)
            return cell[0](parser, value)

        memo[name] = deferred
        kind = shape.type_name
        if kind == "structure":
            fn = structure(shape, memo)
        elif kind == "list":
            fn = list_of(compile_shape(shape.member, memo))
        elif kind == "map":
            fn = map_of(compile_shape(shape.key, memo), compile_shape(shape.value, memo))
        else:
            handler = getattr(JSONParser, f"_parse_{kind}", None)
            if handler is None:  # moto's `_default_handle`: the value as it is
                fn = None
            else:
                fn = scalar(handler, shape)
        cell.append(fn if fn is not None else (lambda parser, value: value))
        memo[name] = cell[0]
        return cell[0]

    def scalar(handler, shape):
        return lambda parser, value: handler(parser, shape, value)

    def list_of(member):
        return lambda parser, node: [member(parser, item) for item in node]

    def map_of(key, value_fn):
        def parse(parser, value):
            parsed = {}
            for k, v in value.items():
                parsed[key(parser, k)] = value_fn(parser, v)
            return parsed

        return parse

    def structure(shape, memo):
        if shape.is_document_type:
            return lambda parser, value: value
        members = []
        for member_name, member_shape in shape.members.items():
            json_name = member_shape.serialization.get("name", member_name)
            members.append((member_name, json_name, compile_shape(member_shape, memo)))
        by_json = {json_name: (member_name, fn) for member_name, json_name, fn in members}
        if len(by_json) != len(members):
            by_json = None  # two members under one JSON name: the general loop decides

        def parse(parser, value):
            if value is None:
                return None
            if by_json is not None and type(value) is dict and len(value) == 1:
                for json_name, raw in value.items():
                    entry = by_json.get(json_name)
                    if entry is None or raw is None:
                        return {}
                    return {entry[0]: entry[1](parser, raw)}
            parsed = {}
            for member_name, json_name, fn in members:
                raw = value.get(json_name)
                if raw is not None:
                    parsed[member_name] = fn(parser, raw)
            return parsed

        return parse

    def _parse_json_body(self, raw_body, shape):
        if type(self) is not JSONParser or self.MAP_TYPE is not dict or shape is None:
            return original_body(self, raw_body, shape)
        entry = compiled.get(id(shape))
        if entry is None or entry[0] is not shape:
            try:
                entry = (shape, compile_shape(shape, {}))
            except Exception:  # a model this does not know: moto's walk
                entry = None
            if entry is None:
                return original_body(self, raw_body, shape)
            compiled[id(shape)] = entry
        return entry[1](self, self._parse_body_as_json(raw_body))

    JSONParser._parse_json_body = _parse_json_body


def fast_result_dicts():
    """moto's `dynamo_to_dict` (which turns a result's items into plain dicts) with the common
    cases — strings, plain dicts and lists, attribute values other than binary — tested first by
    exact type; everything else goes to moto's function, which recurses back into this one."""
    import moto.dynamodb.models.utilities as utilities
    import moto.dynamodb.responses as responses
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    original = utilities.dynamo_to_dict

    def dynamo_to_dict(obj):
        kind = type(obj)
        if kind is str:
            return obj
        if kind is DynamoType and obj.type not in ("B", "BS"):
            return {obj.type: dynamo_to_dict(obj.value)}
        if kind is dict or kind is LimitedSizeDict:
            return {k: dynamo_to_dict(v) for k, v in obj.items()}
        if kind is list:
            return [dynamo_to_dict(v) for v in obj]
        return original(obj)

    if getattr(responses, "dynamo_to_dict", None) is original:
        utilities.dynamo_to_dict = dynamo_to_dict
        responses.dynamo_to_dict = dynamo_to_dict


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

    Such a Query (without a projection) also skips moto's deep copy of the items it found
    (1,000 endpoint records copied per fan-out): the handler turns them into new plain dicts
    (`DynamoResult`) and serializes them within the same request, under `DYNAMODB`, and the
    filter only reads them, so nothing can change them in between. A projection builds its
    items from the copies, so it keeps them.
    """
    import copy
    import types

    import moto.dynamodb.models.table as table_module
    from moto.dynamodb.models.table import Table

    real_copy = table_module.copy
    no_deepcopy = types.SimpleNamespace(deepcopy=lambda obj, *a, **k: obj, copy=copy.copy)
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
        # moto's backend passes projection_expressions and index_name as the 7th and 8th
        # positional arguments.
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        projection = kwargs.get("projection_expressions", args[5] if len(args) > 5 else None)
        if index_name or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        local.scope = (self, hash_key)
        if not projection:
            table_module.copy = no_deepcopy
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            local.scope = None
            table_module.copy = real_copy

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


def serialize_dynamodb(app, inner=None):
    """Runs DynamoDB requests one at a time (their whole answer is produced under the lock);
    other services' requests run concurrently. `inner` (profiling) wraps the app inside."""
    served = inner(app) if inner else app

    def wrapped(environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return served(environ, start_response)
        with DYNAMODB:
            result = served(environ, start_response)
            body = b"".join(result)
            if hasattr(result, "close"):
                result.close()
        return [body]

    return wrapped


def rare_collections():
    """Runs Python's cycle collector every 100,000 allocations instead of every 700.

    A table of a few thousand deliveries is a few hundred thousand objects, and with the default
    thresholds the collector walked them again and again: 0.4 s of the 1.6 s moto spent on a
    1,000-endpoint fan-out (300 collections). Collection timing changes no answer; garbage
    cycles just wait a little longer. `MOTO_GC=a,b,c` sets other thresholds.
    """
    import gc

    thresholds = os.environ.get("MOTO_GC", "100000,20,20")
    gc.set_threshold(*[int(x) for x in thresholds.split(",")])


# The moto release the speed patches are written against (requirements-dev.txt pins it).
PINNED_MOTO = "5.2.5"

# Speed patches, by name: each changes how fast moto answers, never what it answers.
SPEED_PATCHES = {
    "transaction_backups": cheap_transaction_backups,
    "cached_expressions": cached_expressions,
    "simple_updates": fast_simple_updates,
    "item_sizes": linear_item_sizes,
    "json_requests": compiled_json_requests,
    "result_dicts": fast_result_dicts,
    "item_responses": fast_item_responses,
    "module_list": cached_module_list,
    "partition_queries": partition_queries,
    "queue_attributes": cheap_queue_attributes,
}


def selected_patches(environ, version):
    """The speed patches to apply: none unless moto is `PINNED_MOTO`, then `MOTO_PATCHES`
    (`all`, `none` or names) less `MOTO_PATCHES_OFF`. Unknown names are an error."""
    if version != PINNED_MOTO:
        return []
    wanted = environ.get("MOTO_PATCHES", "all").strip()
    if wanted == "all":
        names = list(SPEED_PATCHES)
    elif wanted in ("", "none"):
        names = []
    else:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
    off = {n.strip() for n in environ.get("MOTO_PATCHES_OFF", "").split(",") if n.strip()}
    unknown = (set(names) | off) - set(SPEED_PATCHES)
    if unknown:
        raise SystemExit(f"unknown moto patches: {', '.join(sorted(unknown))} (known: {', '.join(SPEED_PATCHES)})")
    return [n for n in names if n not in off]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    from importlib.metadata import version

    moto_version = version("moto")
    names = selected_patches(os.environ, moto_version)
    if moto_version != PINNED_MOTO:
        print(f" * moto {moto_version} is not {PINNED_MOTO}: speed patches left out", file=sys.stderr, flush=True)
    print(f" * moto {moto_version}, speed patches: {', '.join(names) or 'none'}", flush=True)
    inner = None
    if os.environ.get("MOTO_PROFILE"):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import moto_profile

        inner = moto_profile.install(os.environ["MOTO_PROFILE"])
    rare_collections()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    atomic_queues()
    for name in names:
        SPEED_PATCHES[name]()
    app = serialize_dynamodb(DomainDispatcherApplication(create_backend_app), inner)
    serve(app, args.host, args.port)


def werkzeug_errors(app):
    """Answers an exception that escapes moto as werkzeug's server does: werkzeug's
    `InternalServerError` page (waitress has its own) and `Error on request:` with the traceback
    in the log."""
    import traceback

    from werkzeug.exceptions import InternalServerError

    def wrapped(environ, start_response):
        started = []

        def tracking_start_response(status, headers, exc_info=None):
            started.append(status)
            return start_response(status, headers, exc_info)

        try:
            return app(environ, tracking_start_response)
        except Exception:
            print(f"Error on request:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            exc_info = sys.exc_info() if started else None

            def error_start_response(status, headers, _=None):
                return start_response(status, headers, exc_info)

            return InternalServerError()(environ, error_start_response)

    return wrapped


def serve(app, host, port):
    """Serves with waitress, which keeps HTTP/1.1 connections open, when it is installed.

    Werkzeug's development server answers every request with `Connection: close`, so each AWS
    call of the SDK opened a new TCP connection (about a tenth of the dispatch process's CPU
    went to reconnecting). Waitress keeps them open; the same WSGI app answers. Its threads
    run the requests (a long poll holds one while it waits, so there are plenty); idle
    connections cost none and close after 5 minutes (after the SDK's own idle limit). One
    difference: waitress drops request headers whose name has an underscore (moto's werkzeug
    handler keeps them for S3 metadata, which Switchboard does not use). `MOTO_WSGI=werkzeug`
    serves as before.
    """
    if os.environ.get("MOTO_WSGI") != "werkzeug":
        try:
            import waitress
        except ImportError:
            waitress = None
        if waitress is not None:
            print(f" * Running on http://{host}:{port} (waitress)", flush=True)
            waitress.serve(
                werkzeug_errors(app),
                host=host,
                port=port,
                threads=64,
                connection_limit=2000,
                backlog=2048,
                channel_timeout=300,
                ident=None,
                _quiet=True,
            )
            return
    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
