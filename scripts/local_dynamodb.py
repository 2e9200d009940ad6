"""What DynamoDB does and moto does not, as a WSGI layer around moto's application.

moto applies one request at a time, never cancels a transaction for contention, never
throttles and never fails. DynamoDB does all of that, and code that is only ever tested
against moto never learns to cope. This layer adds, per DynamoDB's documented semantics:

- Transaction conflicts. A TransactWriteItems that succeeds holds its items for a few
  milliseconds, as DynamoDB does while it commits (one whose condition fails is
  cancelled at once). Meanwhile another TransactWriteItems touching one of its items is
  cancelled (TransactionCanceledException, reason TransactionConflict at that item's
  position, None elsewhere), and a PutItem, UpdateItem or DeleteItem on one of its items
  fails with TransactionConflictException.
- ClientRequestToken: a TransactWriteItems repeated with the token of one that succeeded
  within 10 minutes answers that success again without applying anything; the same token
  with other parameters is IdempotentParameterMismatchException, and while the first is
  still in flight, TransactionInProgressException.
- Faults on data-plane calls: ThrottlingException / ProvisionedThroughputExceededException
  (HTTP 400) and InternalServerError (HTTP 500) at given rates, both before anything is
  applied; added latency; and stalls, where a write is applied and its answer is held
  past the client's attempt timeout, so the client retries a write that already happened
  (`stall_next` holds a read's answer too, so that a test can change what it read).

Items are identified by their key, read from the key schemas of template.yaml's tables
(a local table is named PREFIX + the table's logical id).

Settings come from the environment when the stack starts (the default rule, applying to
every table) and can be changed at run time for the tables of one name prefix:

    LOCAL_DYNAMODB_TRANSACTION_MS   how long a transaction stays in flight; 0 turns
                                    conflicts off (moto alone)
    LOCAL_DYNAMODB_THROTTLE_RATE    share of calls throttled (0 to 1)
    LOCAL_DYNAMODB_ERROR_RATE       share of calls failing with InternalServerError
    LOCAL_DYNAMODB_LATENCY_MS       added to every data-plane call
    LOCAL_DYNAMODB_STALL_RATE       share of writes whose answer is held after applying
    LOCAL_DYNAMODB_STALL_MS         how long a stalled answer is held

    POST   /_local/faults   {"tables": PREFIX, "transaction_ms": 20, "throttle_rate": 0.05,
                             "error_rate": 0.03, "latency_ms": 0, "stall_rate": 0,
                             "stall_ms": 3000, "stall_next": {"operation": "PutItem",
                             "count": 1, "table": "Employees"}}
                            (`table`, optional: only calls on a table whose name
                            contains it)
                            sets the rule for tables named PREFIX...; fields left out
                            keep the default rule's values
    DELETE /_local/faults?tables=PREFIX   removes that rule
    GET    /_local/faults[?tables=PREFIX] the rules, and what was injected on those tables
    GET    /_local/meter    what the data-plane calls cost so far: their count, the seconds
                            spent answering them, and the request units DynamoDB on demand
                            would bill, estimated from sizes (see `request_units`)

It also lists the emails the local SES accepted: GET /_local/ses/messages.
"""

import copy
import hashlib
import io
import json
import os
import random
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from urllib.parse import parse_qs

import yaml

ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
DATA_PLANE = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}
SINGLE_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
WRITES = SINGLE_WRITES | {"BatchWriteItem", "TransactWriteItems"}
TOKEN_WINDOW_S = 600
STATS = ("transaction_conflicts", "write_conflicts", "throttles", "server_errors", "stalls", "token_replays")


@dataclass
class Rule:
    transaction_ms: float = 0.0
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency_ms: float = 0.0
    stall_rate: float = 0.0
    stall_ms: float = 3000.0
    # Stall the next answers of one operation: {"operation": "PutItem", "count": 1}.
    stall_next: dict = field(default_factory=dict)

    @staticmethod
    def from_environment() -> "Rule":
        def number(name: str, default: float) -> float:
            value = os.environ.get(f"LOCAL_DYNAMODB_{name}", "")
            return float(value) if value.strip() else default

        return Rule(
            transaction_ms=number("TRANSACTION_MS", 0.0),
            throttle_rate=number("THROTTLE_RATE", 0.0),
            error_rate=number("ERROR_RATE", 0.0),
            latency_ms=number("LATENCY_MS", 0.0),
            stall_rate=number("STALL_RATE", 0.0),
            stall_ms=number("STALL_MS", 3000.0),
        )


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, ...) as plain values."""


def _untagged(loader, _suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_TemplateLoader.add_multi_constructor("!", _untagged)


def key_schemas(template_path: str) -> dict:
    """Each table's logical id with the names of its key attributes."""
    with open(template_path, encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=_TemplateLoader)
    return {
        logical_id: [element["AttributeName"] for element in resource["Properties"]["KeySchema"]]
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::DynamoDB::Table"
    }


def sent_messages() -> list:
    """Every email the local SES accepted: moto's own /moto-api/data.json has them too,
    but dumps every table's every item with them, which takes seconds."""
    from moto.ses.models import ses_backends

    messages = []
    for regions in ses_backends.values():
        for backend in regions.values():
            for message in backend.sent_messages:
                messages.append(
                    {
                        "source": getattr(message, "source", None),
                        "subject": getattr(message, "subject", None),
                        "body": getattr(message, "body", None),
                        "destinations": getattr(message, "destinations", None),
                    }
                )
    return messages


def _size(value) -> int:
    """An item's size as DynamoDB bills it, over-estimated by its JSON's length."""
    return len(json.dumps(value, separators=(",", ":"))) if value else 0


def keep_items_not_tables() -> None:
    """moto 5.2's TransactWriteItems deep-copies every table a transaction touches, on
    every transaction, to roll back a cancelled one: its cost grows with the tables, not
    with the items (16 ms on an empty table, 221 ms at 20,000 items), and a busy stack
    slows past the functions' timeouts. DynamoDB's cost is per item. This keeps, before
    each transaction, a copy of the items it touches only, and puts them back if moto
    cancels or refuses it; moto's own copy of each table is made the table itself."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    if getattr(DynamoDBBackend.transact_write_items, "keeps_items", False):
        return
    original = DynamoDBBackend.transact_write_items
    # Nothing else in moto's DynamoDB deep-copies a table (backups copy its items).
    Table.__deepcopy__ = lambda table, memo: table

    def touched(backend, transact_item):
        """(table, hash key, range key) of the item a step acts on, or None."""
        _, op = next(iter(transact_item.items()))
        table = backend.tables.get(op.get("TableName"))
        key = op.get("Item") if "Item" in op else op.get("Key")
        if table is None or not isinstance(key, dict) or table.hash_key_attr not in key:
            return None
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                return None
            range_value = DynamoType(key[table.range_key_attr])
        return table, DynamoType(key[table.hash_key_attr]), range_value

    def transact_write_items(self, transact_items):
        kept = []
        for transact_item in transact_items[:100]:
            where = touched(self, transact_item)
            if where:
                table, hash_value, range_value = where
                kept.append((where, copy.deepcopy(table.get_item(hash_value, range_value))))
        try:
            return original(self, transact_items)
        except Exception:
            # In reverse, so that an item a transaction names twice gets its first copy.
            for (table, hash_value, range_value), item in reversed(kept):
                if range_value is None:
                    if item is None:
                        table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value] = item
                elif item is None:
                    if hash_value in table.items:
                        table.items[hash_value].pop(range_value, None)
                        if not table.items[hash_value]:
                            del table.items[hash_value]
                else:
                    table.items[hash_value][range_value] = item
            raise

    transact_write_items.keeps_items = True
    DynamoDBBackend.transact_write_items = transact_write_items


def _units(size: int, per_unit: int) -> int:
    return max(1, -(-size // per_unit))


def request_units(operation: str, request: dict, answer: dict) -> tuple:
    """(read units, write units) one call costs on demand: a strongly consistent read
    is a unit per 4 KB (half for an eventually consistent one), a write a unit per 1 KB,
    and a transaction twice either. A refused conditional write is billed as a write.
    A transaction's updates, deletes and condition checks count their minimum, 2 units:
    the request does not carry the item they touch, and DynamoDB bills them by its size
    (those of PlanoAuth's transactions are items under 1 KB)."""
    consistent = 1 if request.get("ConsistentRead") else 0.5
    if operation == "GetItem":
        return _units(_size(answer.get("Item")), 4096) * consistent, 0
    if operation in ("Query", "Scan"):
        return _units(sum(_size(item) for item in answer.get("Items", [])), 4096) * consistent, 0
    if operation == "BatchGetItem":
        # Consistency is asked per table.
        tables = request.get("RequestItems", {})
        return sum(
            _units(_size(item), 4096) * (1 if tables.get(table, {}).get("ConsistentRead") else 0.5)
            for table, found in answer.get("Responses", {}).items()
            for item in found
        ), 0
    if operation == "TransactGetItems":
        return sum(2 * _units(_size(r.get("Item")), 4096) for r in answer.get("Responses", [])), 0
    if operation == "PutItem":
        return 0, _units(_size(request.get("Item")), 1024)
    if operation in ("UpdateItem", "DeleteItem"):
        return 0, _units(_size(answer.get("Attributes")), 1024)
    if operation == "BatchWriteItem":
        writes = [w for ws in request.get("RequestItems", {}).values() for w in ws]
        return 0, sum(_units(_size(w.get("PutRequest", {}).get("Item")), 1024) for w in writes)
    if operation == "TransactWriteItems":
        items = request.get("TransactItems", [])
        return 0, sum(2 * _units(_size(i.get("Put", {}).get("Item")), 1024) for i in items)
    return 0, 0


def _error(status: str, code: str, message: str, **extra) -> tuple:
    body = json.dumps({"__type": ERROR_PREFIX + code, "message": message, **extra}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
    return status, headers, body


class LocalDynamoDb:
    def __init__(self, moto_app, template_path: str):
        self.moto = moto_app
        self.schemas = key_schemas(template_path)
        keep_items_not_tables()
        # moto applies a TransactWriteItems step by step, and another request between two
        # steps would see it half-applied; DynamoDB applies each request atomically, and so
        # does this.
        self.one_at_a_time = threading.Lock()
        self.state = threading.Lock()
        self.rules = {"": Rule.from_environment()}
        self.in_flight = {}  # item key -> count of transactions holding it
        self.tokens = {}  # ClientRequestToken -> (fingerprint, answer or None, expiry)
        self.stats = {}  # table name -> {stat: count}
        self.meter = {"calls": 0, "seconds": 0.0, "read_units": 0.0, "write_units": 0.0}
        # LOCAL_DYNAMODB_LOG=1: a line per call in the stack's log (time, operation,
        # tables, HTTP code, error), to see a race as the store saw it.
        self.log = os.environ.get("LOCAL_DYNAMODB_LOG", "") not in ("", "0")

    # --- WSGI -------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_local/faults"):
            return self._respond(start_response, self._control(environ))
        if environ.get("PATH_INFO", "") == "/_local/meter":
            with self.state:
                return self._respond(start_response, self._json("200 OK", dict(self.meter)))
        if environ.get("PATH_INFO", "") == "/_local/ses/messages":
            return self._respond(start_response, self._json("200 OK", {"messages": sent_messages()}))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self._respond(start_response, self._apply(environ))
        operation = target.split(".", 1)[-1]
        started = time.perf_counter()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self._respond(start_response, self._apply(environ))
        tables = self._tables(operation, request)
        rule = self._rule_for(tables)
        if operation in DATA_PLANE:
            fault = self._fault(rule, tables)
            if fault:
                return self._respond(start_response, fault)
        if operation == "TransactWriteItems":
            answer = self._transact(environ, request, rule, tables)
        elif operation in SINGLE_WRITES and rule.transaction_ms > 0:
            key = self._key(request["TableName"], request.get("Key") or request.get("Item") or {})
            with self.one_at_a_time:
                with self.state:
                    busy = key in self.in_flight
                if busy:
                    self._count(tables, "write_conflicts")
                    answer = _error(
                        "400 Bad Request",
                        "TransactionConflictException",
                        "Transaction is ongoing for the item",
                    )
                else:
                    answer = self._apply_locked(environ)
        else:
            answer = self._apply(environ)
        if answer[0].startswith("200"):
            self._maybe_stall(rule, operation, tables)
        if operation in DATA_PLANE:
            self._measure(operation, request, answer, time.perf_counter() - started)
        if self.log:
            failure = json.loads(answer[2]) if answer[0][0] != "2" and answer[2] else {}
            reasons = [reason.get("Code") for reason in failure.get("CancellationReasons", [])]
            code = failure.get("__type", "").split("#")[-1] + (f" {reasons}" if reasons else "")
            print(f"{time.monotonic():.3f} {operation} {','.join(tables)} {answer[0][:3]} {code}", flush=True)
        return self._respond(start_response, answer)

    def _respond(self, start_response, answer):
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    def _apply(self, environ) -> tuple:
        """moto's answer to the request, applied atomically."""
        with self.one_at_a_time:
            return self._apply_locked(environ)

    def _apply_locked(self, environ) -> tuple:
        captured = {}
        written = []

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return written.append

        chunks = list(self.moto(environ, capture))
        return captured["status"], captured["headers"], b"".join(written + chunks)

    # --- what DynamoDB does ------------------------------------------------------------

    def _fault(self, rule: Rule, tables: list):
        if rule.latency_ms > 0:
            time.sleep(rule.latency_ms / 1000)
        draw = random.random()
        if draw < rule.throttle_rate:
            self._count(tables, "throttles")
            code = random.choice(["ThrottlingException", "ProvisionedThroughputExceededException"])
            return _error("400 Bad Request", code, "Rate of requests exceeds the allowed throughput.")
        if draw < rule.throttle_rate + rule.error_rate:
            self._count(tables, "server_errors")
            return _error("500 Internal Server Error", "InternalServerError", "Internal server error")
        return None

    def _transact(self, environ, request, rule: Rule, tables: list) -> tuple:
        token = request.get("ClientRequestToken")
        fingerprint = hashlib.sha256(
            json.dumps({k: v for k, v in request.items() if k != "ClientRequestToken"}, sort_keys=True).encode()
        ).hexdigest()
        keys = [self._key(*self._target(item)) for item in request.get("TransactItems", [])]
        with self.state:
            if token:
                now = time.monotonic()
                self.tokens = {t: v for t, v in self.tokens.items() if v[2] > now}
                known = self.tokens.get(token)
                if known:
                    if known[0] != fingerprint:
                        return _error(
                            "400 Bad Request",
                            "IdempotentParameterMismatchException",
                            "The request uses the same client token as a previous, but non-identical request.",
                        )
                    if known[1] is None:
                        return _error(
                            "400 Bad Request",
                            "TransactionInProgressException",
                            "The transaction with the given request token is already in progress.",
                        )
                    self._count_locked(tables, "token_replays")
                    return known[1]
                self.tokens[token] = (fingerprint, None, now + TOKEN_WINDOW_S)
        answer = None
        held = False
        try:
            # DynamoDB checks a transaction's conditions holding its items, cancels it at
            # once if one fails, and otherwise holds them on while it commits. moto checks
            # and writes at once, one request at a time: here a transaction is checked
            # against those committing, applied, and if it was, holds its items after.
            answer = self._conflict(keys, rule, tables)
            if answer:
                return answer
            with self.one_at_a_time:
                # Again: another transaction may have committed while this one waited.
                answer = self._conflict(keys, rule, tables)
                if answer:
                    return answer
                answer = self._apply_locked(environ)
                if rule.transaction_ms > 0 and answer[0].startswith("200"):
                    with self.state:
                        for key in keys:
                            self.in_flight[key] = self.in_flight.get(key, 0) + 1
                    held = True
            if held:
                time.sleep(rule.transaction_ms / 1000)
        finally:
            with self.state:
                if held:
                    for key in keys:
                        self.in_flight[key] -= 1
                        if not self.in_flight[key]:
                            del self.in_flight[key]
                if token:
                    if answer is not None and answer[0].startswith("200"):
                        self.tokens[token] = (fingerprint, answer, time.monotonic() + TOKEN_WINDOW_S)
                    else:
                        self.tokens.pop(token, None)
        return answer

    def _conflict(self, keys: list, rule: Rule, tables: list):
        """The cancellation of a transaction touching items others are committing."""
        with self.state:
            conflicts = [key in self.in_flight for key in keys]
            if rule.transaction_ms > 0 and any(conflicts):
                self._count_locked(tables, "transaction_conflicts")
                return self._cancelled(conflicts)
        return None

    @staticmethod
    def _cancelled(conflicts: list) -> tuple:
        reasons = [
            {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            if conflict
            else {"Code": "None"}
            for conflict in conflicts
        ]
        codes = ", ".join(reason["Code"] for reason in reasons)
        return _error(
            "400 Bad Request",
            "TransactionCanceledException",
            f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            CancellationReasons=reasons,
        )

    def _maybe_stall(self, rule: Rule, operation: str, tables: list) -> None:
        """Holds a successful answer: a write's at `stall_rate`, as a lost answer, and the
        next `stall_next` ones of any operation (a read held while another request
        changes what it read)."""
        stall = False
        with self.state:
            planned = rule.stall_next
            table = planned.get("table")
            on_table = table is None or any(table in name for name in tables)
            if planned.get("operation") == operation and on_table and planned.get("count", 0) > 0:
                planned["count"] -= 1
                stall = True
        if stall or (operation in WRITES and random.random() < rule.stall_rate):
            self._count(tables, "stalls")
            time.sleep(rule.stall_ms / 1000)

    # --- items, tables and rules ---------------------------------------------------------

    @staticmethod
    def _target(transact_item: dict) -> tuple:
        (kind, operation), = transact_item.items()
        return operation["TableName"], operation.get("Key") or operation.get("Item") or {}

    def _key(self, table: str, item: dict) -> tuple:
        logical_ids = [logical_id for logical_id in self.schemas if table.endswith(logical_id)]
        if not logical_ids:
            # A table template.yaml does not define: its whole item identifies it.
            return table, json.dumps(item, sort_keys=True)
        names = self.schemas[max(logical_ids, key=len)]
        return table, json.dumps([item.get(name) for name in names], sort_keys=True)

    def _tables(self, operation: str, request: dict) -> list:
        if "TableName" in request:
            return [request["TableName"]]
        if operation in ("TransactWriteItems", "TransactGetItems"):
            return sorted({self._target(item)[0] for item in request.get("TransactItems", [])})
        return sorted(request.get("RequestItems", {}))

    def _rule_for(self, tables: list) -> Rule:
        with self.state:
            prefixes = [p for p in self.rules if tables and all(t.startswith(p) for t in tables)]
            return self.rules[max(prefixes, key=len)] if prefixes else self.rules[""]

    def _count(self, tables: list, stat: str) -> None:
        with self.state:
            self._count_locked(tables, stat)

    def _count_locked(self, tables: list, stat: str) -> None:
        if tables:
            counts = self.stats.setdefault(tables[0], dict.fromkeys(STATS, 0))
            counts[stat] += 1

    def _measure(self, operation: str, request: dict, answer: tuple, seconds: float) -> None:
        status, _, body = answer
        billed = status.startswith("200") or b"ConditionalCheckFailed" in body
        try:
            document = json.loads(body or b"{}") if billed else {}
        except ValueError:
            document = {}
        reads, writes = request_units(operation, request, document) if billed else (0, 0)
        with self.state:
            self.meter["calls"] += 1
            self.meter["seconds"] += seconds
            self.meter["read_units"] += reads
            self.meter["write_units"] += writes

    # --- the control endpoint ------------------------------------------------------------

    def _control(self, environ) -> tuple:
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        prefix = query.get("tables", [""])[0]
        with self.state:
            if method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                settings = json.loads(environ["wsgi.input"].read(length) or b"{}")
                prefix = settings.pop("tables", "")
                known = {f.name for f in fields(Rule)}
                unknown = set(settings) - known
                if unknown:
                    return self._json("400 Bad Request", {"error": f"unknown settings {sorted(unknown)}"})
                base = self.rules[""] if prefix else Rule.from_environment()
                self.rules[prefix] = replace(base, **{"stall_next": {}, **settings})
            elif method == "DELETE":
                if prefix:
                    self.rules.pop(prefix, None)
                else:
                    self.rules[""] = Rule.from_environment()
            injected = dict.fromkeys(STATS, 0)
            for table, counts in self.stats.items():
                if table.startswith(prefix):
                    for stat, count in counts.items():
                        injected[stat] += count
            rules = {p: asdict(rule) for p, rule in self.rules.items()}
        return self._json("200 OK", {"rules": rules, "injected": injected})

    @staticmethod
    def _json(status: str, document: dict) -> tuple:
        body = json.dumps(document).encode()
        return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body
