#!/usr/bin/env python3
"""End-to-end check of the built handler: the real `bootstrap` (arm64, under
qemu) run by the Runtime API emulator (runtime_api.py) against a DynamoDB
table in a moto server, then the items read back over DynamoDB's HTTP API.

    e2e.py --endpoint http://127.0.0.1:PORT --workdir DIR -- COMMAND [ARG...]

COMMAND runs the function (e.g. `qemu-aarch64-static -L /usr/aarch64-linux-gnu
target/lambda/e2e/bootstrap`). The moto server must be running; this script
creates the table `transactions-e2e` in it. Prints one `ok: ...` or
`FAIL: ...` line per check on stdout (scripts/check-handler-artifact.sh counts
them); exit status 1 if any check failed. Standard library only: no boto3.
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
# moto is on loopback: an http_proxy from the environment must not be used.
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
TABLE = "transactions-e2e"
MISSING_TABLE = "transactions-e2e-missing"

SEED = (
    '{"transactionId":"txn_test_001","amount":99.99,"currency":"USD",'
    '"status":"completed","provider":"stripe","timestamp":"2025-01-15T10:30:00Z"}'
)
# Older than the seed (same transaction, earlier timestamp): must answer stale.
OLDER = (
    '{"transactionId":"txn_test_001","amount":99.99,"currency":"USD",'
    '"status":"authorized","provider":"stripe","timestamp":"2025-01-15T10:00:00Z"}'
)
# Negative amount: 400 naming the field, nothing written.
BAD = (
    '{"transactionId":"txn_bad_001","amount":-5,"currency":"USD",'
    '"status":"completed","provider":"stripe","timestamp":"2025-01-15T10:30:00Z"}'
)
BIG_AMOUNT = "12345678901234567.89"
BIG = (
    '{"transactionId":"txn_test_002","amount":%s,"currency":"USD",'
    '"status":"completed","provider":"stripe","timestamp":"2025-01-15T11:00:00Z"}' % BIG_AMOUNT
)
HTTP_DOC = (
    '{"transactionId":"txn_test_003","amount":0.1,"currency":"EUR",'
    '"status":"pending","provider":"adyen","timestamp":"2025-01-15T12:00:00+01:00"}'
)
HTTP = json.dumps(
    {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/"}},
        "body": base64.b64encode(HTTP_DOC.encode()).decode(),
        "isBase64Encoded": True,
    },
    separators=(",", ":"),
)

# (name, payload, its transactionId, expected statusCode, result word or the 400's field)
CASES = [
    ("seed payload", SEED, "txn_test_001", 200, "recorded"),
    ("redelivery of the seed payload", SEED, "txn_test_001", 200, "duplicate"),
    ("older event of the same transaction", OLDER, "txn_test_001", 200, "stale"),
    ("bad payload (negative amount)", BAD, "txn_bad_001", 400, "amount"),
    ("18-digit amount", BIG, "txn_test_002", 200, "recorded"),
    ("function-URL event, base64 body", HTTP, "txn_test_003", 200, "recorded"),
]

passed = 0
failed = 0


def ok(message):
    global passed
    passed += 1
    print("ok: " + message, flush=True)


def fail(message):
    global failed
    failed += 1
    print("FAIL: " + message, flush=True)


def check(condition, message, detail=""):
    if condition:
        ok(message)
    else:
        fail(message + (" -- " + detail if detail else ""))
    return condition


def dynamodb(endpoint, operation, body):
    """One DynamoDB JSON-protocol call; moto accepts any signature."""
    request = urllib.request.Request(
        endpoint.rstrip("/") + "/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810." + operation,
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/"
            "dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    try:
        with NO_PROXY.open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, {"raw": text[:300]}


def get_item(endpoint, transaction_id):
    status, body = dynamodb(
        endpoint,
        "GetItem",
        {
            "TableName": TABLE,
            "Key": {"transactionId": {"S": transaction_id}},
            "ConsistentRead": True,
        },
    )
    if status != 200:
        raise RuntimeError("GetItem %s: HTTP %d %s" % (transaction_id, status, body))
    return body.get("Item")


def run_function(command, events, workdir, name, extra_env):
    """Runs COMMAND under the emulator; returns (results, log lines)."""
    events_path = os.path.join(workdir, name + ".events.jsonl")
    out_path = os.path.join(workdir, name + ".results.json")
    log_path = os.path.join(workdir, name + ".log")
    with open(events_path, "w", encoding="utf-8") as f:
        f.write("\n".join(events) + "\n")
    if os.path.exists(log_path):
        os.remove(log_path)
    # A clean environment: only what Lambda would set (plus PATH), so nothing from the
    # caller's (AWS_PROFILE, AWS_ENDPOINT_URL_DYNAMODB, proxies, ...) reaches the function.
    env = dict({"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}, **extra_env)
    emulator = subprocess.run(
        [
            sys.executable,
            os.path.join(HERE, "runtime_api.py"),
            "--events", events_path,
            "--out", out_path,
            "--log", log_path,
            "--timeout", "120",
            "--invoke-timeout", "30",
            "--",
        ]
        + command,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )
    with open(out_path) as f:
        results = json.load(f)
    results["emulator_status"] = emulator.returncode
    with open(log_path, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    return results, lines


def parse_logs(lines):
    records, not_json = [], []
    for line in lines:
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError
            records.append(record)
        except ValueError:
            not_json.append(line)
    return records, not_json


def event_lines(records, request_id):
    """The handler's per-event lines for one invocation (the runtime's span names it)."""
    return [
        r
        for r in records
        if r.get("message") in ("event processed", "event rejected", "event not recorded; the sender should retry")
        and (r.get("span") or {}).get("requestId") == request_id
    ]


def function_env(endpoint, table):
    return {
        "TABLE_NAME": table,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "webhook-processor-e2e",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "x",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/webhook-processor-e2e",
        "ENVIRONMENT_SUFFIX": "e2e",
        "LOG_LEVEL": "info",
    }


def main_checks(args):
    endpoint = args.endpoint

    # --- the table ---------------------------------------------------------------
    status, body = dynamodb(
        endpoint,
        "CreateTable",
        {
            "TableName": TABLE,
            "AttributeDefinitions": [{"AttributeName": "transactionId", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "transactionId", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    table_status = (body.get("TableDescription") or {}).get("TableStatus")
    if not check(
        status == 200,
        "moto DynamoDB table %s created (PAY_PER_REQUEST, key transactionId S, %s)"
        % (TABLE, table_status),
        "HTTP %d %s" % (status, body),
    ):
        return

    # --- the invocations ------------------------------------------------------------
    results, lines = run_function(
        args.command, [case[1] for case in CASES], args.workdir, "e2e", function_env(endpoint, TABLE)
    )
    invocations = results["invocations"]
    check(
        results["emulator_status"] == 0
        and results["init_error"] is None
        and len(invocations) == len(CASES)
        and all(i["kind"] == "response" for i in invocations),
        "bootstrap served %d invocations through the Runtime API emulator (%s, %.1f s, "
        "per invocation %s ms)"
        % (
            len(CASES),
            results["exit"]["reason"],
            results["elapsed_s"],
            "/".join("%g" % i.get("elapsed_ms", -1) for i in invocations),
        ),
        "init_error=%s kinds=%s protocol_errors=%s"
        % (results["init_error"], [i["kind"] for i in invocations], results["protocol_errors"]),
    )

    records, not_json = parse_logs(lines)
    check(
        records and not not_json,
        "every log line is a JSON object (%d lines)" % len(records),
        "not JSON: %r" % not_json[:3],
    )
    check(
        any(r.get("message") == "handler ready" and r.get("table") == TABLE for r in records),
        "cold start logs 'handler ready' with the table name",
    )

    for (name, _, tx_id, want_status, want), inv in zip(CASES, invocations):
        body = inv.get("body") if inv["kind"] == "response" else None
        got_status = body.get("statusCode") if isinstance(body, dict) else None
        try:
            inner = json.loads(body["body"]) if isinstance(body, dict) else None
        except (ValueError, TypeError):
            inner = None
        if want_status == 200:
            good = got_status == 200 and inner == {"transactionId": tx_id, "result": want}
            shown = "200 %s" % want
        else:
            good = (
                got_status == 400
                and isinstance(inner, dict)
                and inner.get("error") == "validation_failed"
                and inner.get("field") == want
            )
            shown = "400 naming field '%s' (%s)" % (want, inner and inner.get("message"))
        check(good, "%s -> %s" % (name, shown), "got %s" % json.dumps(body))

        # Its one log line: the transaction id (when there is one) and the result.
        mine = event_lines(records, inv.get("request_id"))
        if want_status == 200:
            log_ok = (
                len(mine) == 1
                and mine[0].get("result") == want
                and mine[0].get("transaction_id") == tx_id
                and mine[0].get("provider")
                and "latency_ms" in mine[0]
            )
        else:
            log_ok = (
                len(mine) == 1
                and mine[0].get("status_code") == 400
                and mine[0].get("field") == want
                and mine[0].get("transaction_id") == tx_id
            )
        check(
            log_ok,
            "  one JSON log line for it: %s"
            % (
                ", ".join(
                    "%s=%s" % (k, mine[0].get(k))
                    for k in ("transaction_id", "provider", "result", "status_code", "field")
                    if mine and k in mine[0]
                )
                if mine
                else "none"
            ),
            "lines for request %s: %s" % (inv.get("request_id"), mine),
        )

    dumped = [p for _, p, _, _, _ in CASES if any(p in line or json.dumps(p)[1:-1] in line for line in lines)]
    check(
        lines and not dumped,
        "no log line contains a whole payload",
        "no log lines" if not lines else "dumped: %s" % dumped[:2],
    )

    # --- read back ------------------------------------------------------------------
    def item_check(transaction_id, want, label):
        try:
            item = get_item(endpoint, transaction_id)
        except RuntimeError as e:
            fail("%s: %s" % (label, e))
            return
        got = {k: v for k, v in (item or {}).items() if k in want}
        check(
            got == want,
            "%s: GetItem %s -> %s" % (label, transaction_id, " ".join(
                "%s=%s" % (k, list(v.values())[0]) for k, v in sorted(want.items()) if k != "transactionId"
            )),
            "item: %s" % json.dumps(item),
        )

    item_check(
        "txn_test_001",
        {
            "transactionId": {"S": "txn_test_001"},
            "amount": {"N": "99.99"},
            "currency": {"S": "USD"},
            "status": {"S": "completed"},
            "provider": {"S": "stripe"},
            "timestamp": {"S": "2025-01-15T10:30:00Z"},
        },
        "seed item stored exactly, unchanged by the redelivery and the older event",
    )
    item_check(
        "txn_test_002",
        {"transactionId": {"S": "txn_test_002"}, "amount": {"N": BIG_AMOUNT}},
        "18-digit amount stored digit for digit",
    )
    item_check(
        "txn_test_003",
        {
            "transactionId": {"S": "txn_test_003"},
            "amount": {"N": "0.1"},
            "currency": {"S": "EUR"},
            "status": {"S": "pending"},
            "provider": {"S": "adyen"},
            "timestamp": {"S": "2025-01-15T12:00:00+01:00"},
        },
        "base64 HTTP body stored",
    )
    try:
        bad = get_item(endpoint, "txn_bad_001")
        check(bad is None, "bad payload wrote nothing (GetItem txn_bad_001 -> no item)", "item: %s" % bad)
    except RuntimeError as e:
        fail("bad payload wrote nothing: %s" % e)
    status, body = dynamodb(endpoint, "Scan", {"TableName": TABLE, "Select": "COUNT"})
    check(
        status == 200 and body.get("Count") == 3,
        "table holds exactly 3 items (3 recorded events, no duplicate)",
        "HTTP %d %s" % (status, body),
    )

    # --- a DynamoDB failure is an invocation error --------------------------------
    results, lines = run_function(
        args.command, [SEED], args.workdir, "e2e-missing-table", function_env(endpoint, MISSING_TABLE)
    )
    inv = results["invocations"][0] if results["invocations"] else {}
    body = inv.get("body") if isinstance(inv.get("body"), dict) else {}
    check(
        inv.get("kind") == "error"
        and body.get("errorType") == "StoreError"
        and "txn_test_001" in (body.get("errorMessage") or ""),
        "table missing -> invocation error posted to /invocation/{id}/error (%s: %s)"
        % (body.get("errorType"), body.get("errorMessage")),
        "got %s %s" % (inv.get("kind"), json.dumps(inv.get("body"))),
    )
    records, _ = parse_logs(lines)
    mine = event_lines(records, inv.get("request_id"))
    check(
        len(mine) == 1
        and mine[0].get("level") == "ERROR"
        and mine[0].get("transaction_id") == "txn_test_001"
        and mine[0].get("result") == "error",
        "  its log line: level=ERROR transaction_id=txn_test_001 result=error",
        "lines: %s" % mine,
    )


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="moto server URL")
    parser.add_argument("--workdir", required=True, help="for events, results and logs")
    parser.add_argument("command", nargs="+", help="runs the function")
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    try:
        main_checks(args)
    except Exception as e:  # a crash of the checker is a failed check, not a traceback only
        fail("e2e checker crashed: %s: %s" % (type(e).__name__, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
