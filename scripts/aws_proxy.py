#!/usr/bin/env python3
"""A loopback HTTP proxy between an AWS client and an emulator (moto), which
adds latency and injects faults. Python 3.11 standard library only.

    python3 scripts/aws_proxy.py --upstream http://127.0.0.1:MOTOPORT --port 0 \
        [--latency-ms 50] [--fault-rate 0.2 --seed 42 --faults throttle,500,503,drop,latency] \
        [--rule 'Lambda.CreateFunction:3:InvalidParameterValueException:The role ...'] \
        [--rule 'S3.PutObject:1:412/PreconditionFailed:At least one of the pre-conditions ...'] \
        [--rule 'Lambda.CreateFunction:1:HOLD:'] [--rate-limit IAM=20] \
        [--max-requests N] [--max-seconds S] [--stats-file F] [--log F] \
        [--policy policy.json [--principal arn:aws:iam::123456789012:user/deployer]]

The first line on stdout is `listening on http://127.0.0.1:PORT`; point the
client at it (`AWS_ENDPOINT_URL=http://127.0.0.1:PORT`).

Every request (method, path, query, headers, body) is forwarded to the
upstream and its answer sent back. HTTP/1.1 with keep-alive, one thread per
client connection; each forwarded request opens a fresh upstream connection.
A HEAD answer keeps the upstream's Content-Length (the size a GET would
return, e.g. S3 HeadObject's object size), though it has no body.

Operations are named `Service.Operation`:
  * JSON protocols, from `X-Amz-Target`: `DynamoDB_20120810.X` -> DynamoDB.X,
    `TrentService.X` -> KMS.X, `Logs_20140328.X` -> Logs.X;
  * query protocol (IAM, STS, CloudWatch), from the form body's `Action=` and
    the service in the SigV4 credential scope: IAM.CreateRole,
    STS.GetCallerIdentity, CloudWatch.PutMetricAlarm (scope `monitoring`);
  * Lambda's REST API, from method and path (see LAMBDA_ROUTES);
  * S3 (REST-XML, path-style `/BUCKET/KEY`, scope `s3`), from the `x-id`
    query parameter the Rust SDK adds (`?x-id=PutObject`) or else from method,
    path and subresource (see s3_operation): S3.ListObjectsV2 (`list-type=2`),
    S3.GetBucketVersioning (`GET ?versioning`), S3.DeleteObjects
    (`POST ?delete`), S3.HeadObject, S3.CreateBucket (`PUT /BUCKET`),
    S3.CopyObject (PUT with `x-amz-copy-source`)...

Error answers take the service's shape: query XML `<ErrorResponse>` (IAM,
STS, CloudWatch), JSON `__type` (JSON services), `x-amzn-ErrorType` (Lambda),
and for S3 `<Error><Code>..</Code><Message>..</Message><RequestId>..</Error>`
as application/xml (a HEAD answer has no body, so the client sees only the
status, as with real S3).

Per request, in this order:
  1. `--latency-ms` is slept (every request, faulted or not: a real round trip);
  2. with `--policy`, the request is authorized (see Authorization below): a
     refused one is answered with the service's AccessDenied, is never
     forwarded nor faulted, takes no rule and draws nothing from the RNG;
  3. a `--rule OP:N:CODE:MESSAGE` answers the first N requests of OP with
     HTTP 400 and that AWS error (e.g. IAM propagation errors, to exercise the
     client's eventual-consistency retries); rules draw nothing from the RNG.
     CODE may carry a status, `STATUS/CODE`: `412/PreconditionFailed`,
     `409/ConditionalRequestConflict` (S3 conditional writes).
     CODE `DROP_AFTER` instead forwards the request and then drops the
     connection: the call happened, its answer was lost (e.g. a CreateKey);
     CODE `ANSWER` answers HTTP 200 with MESSAGE as the JSON body, for a
     call the emulator lacks (e.g. Lambda.GetAccountSettings);
     CODE `HOLD` (MESSAGE ignored) holds the request, not forwarded yet,
     until the test calls `POST /__proxy/release`, then forwards it as usual
     (no fault drawn). A test polls `GET /__proxy/stats` until `held` says
     its request is waiting (e.g. to kill or race a client mid-call). Holding
     blocks only that request's connection. A held request is released at
     the latest when the proxy stops or after --max-seconds;
  4. with `--rate-limit SERVICE=RATE` (repeatable, e.g. `IAM=20`, RATE in
     calls per second, a float; SERVICE as in the operation names, case
     ignored): a token bucket per service, holding at most max(RATE, 1)
     tokens (a one-second burst) and refilled continuously at RATE. A request
     that finds no token is answered with that service's `throttle` error
     (below) without being forwarded and draws nothing from the RNG, like
     AWS refusing a burst (IAM's ~20 calls/s). Requests answered by a rule
     take no token;
  5. with probability `--fault-rate`, a fault drawn uniformly from `--faults`:
       throttle  HTTP 400 ThrottlingException (JSON services), 400 Throttling
                 (IAM/STS/CloudWatch XML), 429 TooManyRequestsException (Lambda
                 REST), 503 SlowDown (S3): all in the SDK's list of throttling
                 codes;
       500, 503  that status with InternalFailure / ServiceUnavailable (Lambda:
                 ServiceException; S3: InternalError / ServiceUnavailable); the
                 SDK retries 500/502/503/504 as transient;
       drop      the connection is closed without an answer. The request is NOT
                 forwarded (`--drop-mode before`, the default): a client that
                 retries a non-idempotent call (CreateKey makes a new key every
                 time) would otherwise create duplicates that no client can
                 avoid. `--drop-mode after` forwards first, then drops, to test
                 exactly that;
       latency   an extra random 0.5-2 s before forwarding (answer is normal);
  6. otherwise the request is forwarded.

Faults are drawn independently per request from one `random.Random(seed)`:
the sequence of decisions is repeatable, though which request gets which
decision follows arrival order, which concurrency makes vary. The proxy does
not try to avoid consecutive faults on one operation. The arithmetic: with
fault rate p and the failing kinds being a fraction f of `--faults` (4 of 5
with the default list: `latency` only delays), one attempt fails with
probability q = p*f, and an operation fails only if all its attempts do. The
webhook-stack CLI uses the SDK's standard retry mode with 6 attempts, so an
operation fails with probability q^6: p=0.2, f=0.8 -> q=0.16 -> 1.7e-5 per
operation, ~0.07% for a 40-call apply (p=0.2, f=1: 6.4e-5 and ~0.26%).
(The SDK's retry token bucket, 500 tokens at 5 per retry, allows ~100
retries per client before it refuses to retry: far more than such a run needs.)

Bounded: stops by itself after `--max-requests` (default 100000) requests or
`--max-seconds` (default 3600). Writes its counts as JSON to `--stats-file`
on exit, on SIGTERM and on SIGINT.

`--cache-reads` (benchmarks only): a successful answer to a read
(Get*/List*/Describe*/Head*) is kept and returned, after the same latency,
to an identical later request (same method, path, target, body and
conditional headers: If-Match, If-None-Match, Range); any other request
empties the cache. It takes the emulator's own speed (one Python
process) out of read-only measurements such as `drift --all` over 50 stacks.

Authorization (`--policy FILE`, scripts/aws_authz.py): FILE holds an IAM
policy document, or a JSON list of documents that all apply, attached to
`--principal` (default arn:aws:iam::123456789012:user/deployer, moto's
account). Each request is decided as IAM decides it for identity-based
policies: explicit deny, else allow, else implicit deny, per action and
resource ARN (the principal's account, the region of the request's SigV4
credential scope), with condition keys such as aws:ResourceTag/K (the
resource's tags as the emulator holds them now), aws:RequestTag/K,
aws:TagKeys, iam:PassedToService, kms:ResourceAliases,
cloudwatch:namespace and s3:prefix. A request may take several checks:
UpdateAlias its alias, old and new key; CreateFunction iam:PassRole on its
role and, with a KMSKeyArn, kms:CreateGrant/Encrypt/Decrypt on the key;
creating with tags the service's tagging action. A refusal is AWS's
sentence in the service's error shape, e.g. for Lambda HTTP 403
AccessDeniedException "User: arn:aws:iam::123456789012:user/deployer is not
authorized to perform: lambda:GetFunction on resource:
arn:aws:lambda:us-east-1:123456789012:function:f because no identity-based
policy allows the lambda:GetFunction action". Some answers depend on what
the caller may do: S3 GetObject/HeadObject of a missing key is 403 unless
the caller may s3:ListBucket; Lambda GetFunction of a function whose
environment has a customer KMS key comes without its variables (and with
`Environment.Error`) to a caller not allowed kms:Decrypt on the key, and
without its tags to one not allowed lambda:ListTags. sts:GetCallerIdentity
is always allowed. `/moto-api` and `/__proxy/` requests are never
authorized. Without `--policy` (or after `POST /__proxy/policy` with a null
policy) nothing is authorized: every request goes on as above.

Control endpoints (never forwarded, never faulted, not counted):
  GET  /__proxy/stats   the counts so far, as JSON
  POST /__proxy/reset   zero the counts (not the RNG, the rules or the cache)
  POST /__proxy/reset?cache=1   the same, and empty the read cache
  POST /__proxy/release   release every request held by a HOLD rule so far
                        and stop those rules holding more; answers
                        {"released": N}. `?op=S3.PutObject` releases only
                        that operation's HOLD rules.
  POST /__proxy/policy  body {"policy": DOCUMENT|[DOCUMENTS]|null,
                        "principal": ARN (optional)}: replaces the policy
                        (null turns authorization off); answers {}, or 400
                        {"error": ...} for a policy it cannot take.

Besides the counts (requests, forwarded, faults, rules_fired...), the stats
carry `held` (requests held right now; not zeroed by reset), `held_total`
(requests ever held), `rate_limited` ({service: answers refused by
--rate-limit}), `rate_limited_total`, `denied` ({"ACTION on RESOURCE":
requests refused by --policy}) and `denied_total`. The `--log` line of a
refused request has the outcome `denied:ACTION`.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict

import aws_authz

# X-Amz-Target prefix (before the first '_' or '.') -> service name.
TARGET_SERVICES = {
    "DynamoDB": "DynamoDB",
    "TrentService": "KMS",
    "Logs": "Logs",
    "AWSLambda": "Lambda",
}

# SigV4 credential-scope service -> service name, for query and REST APIs.
SCOPE_SERVICES = {
    "iam": "IAM",
    "sts": "STS",
    "lambda": "Lambda",
    "kms": "KMS",
    "logs": "Logs",
    "dynamodb": "DynamoDB",
    "monitoring": "CloudWatch",
    "s3": "S3",
}

# Lambda REST API: (method, path regex) -> operation. First match wins.
_F = r"/(?P<v>\d{4}-\d{2}-\d{2})/functions"
LAMBDA_ROUTES = [
    ("POST", rf"^{_F}/?$", "CreateFunction"),
    ("GET", rf"^{_F}/?$", "ListFunctions"),
    ("GET", rf"^{_F}/[^/]+/?$", "GetFunction"),
    ("DELETE", rf"^{_F}/[^/]+/?$", "DeleteFunction"),
    ("GET", rf"^{_F}/[^/]+/configuration/?$", "GetFunctionConfiguration"),
    ("PUT", rf"^{_F}/[^/]+/configuration/?$", "UpdateFunctionConfiguration"),
    ("PUT", rf"^{_F}/[^/]+/code/?$", "UpdateFunctionCode"),
    ("GET", rf"^{_F}/[^/]+/concurrency/?$", "GetFunctionConcurrency"),
    ("PUT", rf"^{_F}/[^/]+/concurrency/?$", "PutFunctionConcurrency"),
    ("DELETE", rf"^{_F}/[^/]+/concurrency/?$", "DeleteFunctionConcurrency"),
    ("GET", rf"^{_F}/[^/]+/versions/?$", "ListVersionsByFunction"),
    ("POST", rf"^{_F}/[^/]+/versions/?$", "PublishVersion"),
    ("GET", rf"^{_F}/[^/]+/policy/?$", "GetPolicy"),
    ("POST", rf"^{_F}/[^/]+/policy/?$", "AddPermission"),
    ("DELETE", rf"^{_F}/[^/]+/policy/[^/]+/?$", "RemovePermission"),
    ("GET", rf"^{_F}/[^/]+/code-signing-config/?$", "GetFunctionCodeSigningConfig"),
    ("GET", rf"^{_F}/[^/]+/event-invoke-config/?$", "GetFunctionEventInvokeConfig"),
    ("GET", rf"^{_F}/[^/]+/url/?$", "GetFunctionUrlConfig"),
    ("DELETE", rf"^{_F}/[^/]+/url/?$", "DeleteFunctionUrlConfig"),
    ("GET", rf"^{_F}/[^/]+/aliases/?$", "ListAliases"),
    ("GET", rf"^{_F}/[^/]+/provisioned-concurrency/?$", "GetProvisionedConcurrencyConfig"),
    ("GET", rf"^{_F}/[^/]+/recursion-config/?$", "GetFunctionRecursionConfig"),
    ("GET", rf"^{_F}/[^/]+/runtime-management-config/?$", "GetRuntimeManagementConfig"),
    ("POST", rf"^{_F}/[^/]+/invocations/?$", "Invoke"),
    ("POST", r"^/\d{4}-\d{2}-\d{2}/tags/.+$", "TagResource"),
    ("DELETE", r"^/\d{4}-\d{2}-\d{2}/tags/.+$", "UntagResource"),
    ("GET", r"^/\d{4}-\d{2}-\d{2}/tags/.+$", "ListTags"),
    ("GET", r"^/\d{4}-\d{2}-\d{2}/account-settings/?$", "GetAccountSettings"),
]
LAMBDA_ROUTES = [(m, re.compile(p), op) for m, p, op in LAMBDA_ROUTES]

# S3 subresources (query parameters) -> the operation's noun; the verb comes
# from the method (GET -> Get, PUT -> Put, DELETE -> Delete).
S3_BUCKET_SUBRESOURCES = {
    "versioning": "BucketVersioning",
    "tagging": "BucketTagging",
    "policy": "BucketPolicy",
    "policyStatus": "BucketPolicyStatus",
    "encryption": "BucketEncryption",
    "lifecycle": "BucketLifecycleConfiguration",
    "ownershipControls": "BucketOwnershipControls",
    "acl": "BucketAcl",
    "cors": "BucketCors",
    "website": "BucketWebsite",
    "logging": "BucketLogging",
    "notification": "BucketNotificationConfiguration",
    "replication": "BucketReplication",
    "accelerate": "BucketAccelerateConfiguration",
    "requestPayment": "BucketRequestPayment",
    "object-lock": "ObjectLockConfiguration",
    "publicAccessBlock": "PublicAccessBlock",
}
S3_OBJECT_SUBRESOURCES = {
    "tagging": "ObjectTagging",
    "acl": "ObjectAcl",
    "retention": "ObjectRetention",
    "legal-hold": "ObjectLegalHold",
    "attributes": "ObjectAttributes",
}
S3_VERBS = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "expect",
    "content-length",
}

FAULT_KINDS = ("throttle", "500", "503", "drop", "latency")


def is_read_operation(op: str) -> bool:
    """Get*, List*, Describe*, Head*: the rule webhook-stack counts reads by."""
    return op.startswith(("Get", "List", "Describe", "Head"))


def credential_scope_service(headers) -> str | None:
    auth = headers.get("Authorization") or ""
    m = re.search(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request", auth)
    return m.group(1) if m else None


def s3_operation(method: str, path: str, headers) -> str:
    """The S3 operation of a path-style request (`/BUCKET/KEY?QUERY`): the
    `x-id` query parameter when there is one, else method, path and
    subresource."""
    url = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    if query.get("x-id"):
        return query["x-id"][0]
    bucket, _, key = url.path.lstrip("/").partition("/")
    if not bucket:
        return "ListBuckets" if method == "GET" else f"{method} /"
    if key:
        return _s3_object_operation(method, query, headers)
    return _s3_bucket_operation(method, query)


def _s3_object_operation(method: str, query: dict, headers) -> str:
    copy = "x-amz-copy-source" in headers
    if "uploadId" in query:
        return {"PUT": "UploadPartCopy" if copy else "UploadPart",
                "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload",
                "GET": "ListParts"}.get(method, f"{method} object")
    if "uploads" in query and method == "POST":
        return "CreateMultipartUpload"
    if "restore" in query and method == "POST":
        return "RestoreObject"
    for sub, noun in S3_OBJECT_SUBRESOURCES.items():
        if sub in query and method in S3_VERBS:
            return S3_VERBS[method] + noun
    if method == "PUT":
        return "CopyObject" if copy else "PutObject"
    return {"GET": "GetObject", "HEAD": "HeadObject",
            "DELETE": "DeleteObject"}.get(method, f"{method} object")


def _s3_bucket_operation(method: str, query: dict) -> str:
    if method == "GET":
        if query.get("list-type") == ["2"]:
            return "ListObjectsV2"
        for sub, op in (("versions", "ListObjectVersions"), ("uploads", "ListMultipartUploads"),
                        ("location", "GetBucketLocation")):
            if sub in query:
                return op
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    for sub, noun in S3_BUCKET_SUBRESOURCES.items():
        if sub in query and method in S3_VERBS:
            return S3_VERBS[method] + noun
    return {"GET": "ListObjects", "HEAD": "HeadBucket", "PUT": "CreateBucket",
            "DELETE": "DeleteBucket"}.get(method, f"{method} bucket")


def classify(method: str, path: str, headers, body: bytes) -> tuple[str, str, str]:
    """Returns (service, operation, protocol) with protocol one of
    'json', 'query', 'rest-json', 'rest-xml' (S3), 'other'."""
    target = headers.get("X-Amz-Target")
    if target:
        prefix, _, op = target.partition(".")
        base = re.split(r"[_.]", prefix)[0]
        return TARGET_SERVICES.get(base, base), op, "json"
    scope = credential_scope_service(headers)
    url = urllib.parse.urlsplit(path)
    url_path = url.path
    if scope == "s3" or (scope is None and "x-id" in urllib.parse.parse_qs(url.query)):
        return "S3", s3_operation(method, path, headers), "rest-xml"
    if scope == "lambda" or (scope is None and re.match(r"^/\d{4}-\d{2}-\d{2}/", url_path)):
        for m, rx, op in LAMBDA_ROUTES:
            if m == method and rx.match(url_path):
                return "Lambda", op, "rest-json"
        return "Lambda", f"{method} {url_path}", "rest-json"
    ctype = (headers.get("Content-Type") or "").lower()
    if method == "POST" and "x-www-form-urlencoded" in ctype:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action = (form.get("Action") or [""])[0]
        service = SCOPE_SERVICES.get(scope or "", (scope or "query").upper())
        return service, action or "Unknown", "query"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    if "Action" in query:
        service = SCOPE_SERVICES.get(scope or "", (scope or "query").upper())
        return service, query["Action"][0], "query"
    service = SCOPE_SERVICES.get(scope or "", scope or "Unknown")
    return service, f"{method} {url_path}", "other"


def error_response(service: str, protocol: str, status: int, code: str, message: str,
                   request_headers) -> tuple[int, list[tuple[str, str]], bytes]:
    """An AWS-shaped error for the service's protocol."""
    rid = "proxy-%016x" % random.getrandbits(64)
    if protocol == "rest-xml":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{_xml_escape(message)}</Message><RequestId>{rid}</RequestId></Error>"
        ).encode()
        return status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], body
    if protocol == "query":
        kind = "Sender" if status < 500 else "Receiver"
        body = (
            f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{_xml_escape(message)}</Message></Error>"
            f"<RequestId>{rid}</RequestId></ErrorResponse>"
        ).encode()
        return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)], body
    if protocol == "rest-json":
        kind = "User" if status < 500 else "Service"
        body = json.dumps({"Type": kind, "message": message}).encode()
        return status, [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", rid),
        ], body
    ctype = request_headers.get("Content-Type") or "application/x-amz-json-1.1"
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, [
        ("Content-Type", ctype),
        ("x-amzn-ErrorType", code),
        ("x-amzn-RequestId", rid),
    ], body


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fault_error(kind: str, service: str, protocol: str):
    """(status, code, message) of an injected error fault."""
    if kind == "throttle":
        if protocol == "rest-xml":  # S3 throttles with 503 SlowDown
            return 503, "SlowDown", "Please reduce your request rate."
        if protocol == "rest-json":  # Lambda throttles with 429
            return 429, "TooManyRequestsException", "Rate exceeded"
        if protocol == "query":
            return 400, "Throttling", "Rate exceeded"
        return 400, "ThrottlingException", "Rate exceeded"
    if kind == "500":
        if protocol == "rest-xml":
            return 500, "InternalError", "Internal failure (injected)"
        if protocol == "rest-json":
            return 500, "ServiceException", "Internal failure (injected)"
        return 500, "InternalFailure", "Internal failure (injected)"
    if kind == "503":
        if protocol == "rest-json":
            return 503, "ServiceException", "Service unavailable (injected)"
        return 503, "ServiceUnavailable", "Service unavailable (injected)"
    raise ValueError(kind)


class Rule:
    """`OP:N:CODE:MESSAGE`, CODE being `[STATUS/]CODE` (status 400 by
    default), DROP_AFTER, ANSWER or HOLD."""

    def __init__(self, spec: str):
        parts = spec.split(":", 3)
        if len(parts) != 4:
            raise argparse.ArgumentTypeError(
                f"--rule {spec!r}: expected OP:N:CODE:MESSAGE, e.g. "
                "Lambda.CreateFunction:3:InvalidParameterValueException:The role ...")
        self.op, n, self.code, self.message = parts
        self.spec_code = self.code
        self.status = 400
        m = re.fullmatch(r"(\d{3})/(.+)", self.code)
        if m:
            self.status, self.code = int(m.group(1)), m.group(2)
            if not 400 <= self.status <= 599:
                raise argparse.ArgumentTypeError(
                    f"--rule {spec!r}: the status must be an error, 400..599")
        self.remaining = int(n)
        self.fired = 0
        # HOLD rules: set by POST /__proxy/release; `held` counts the requests
        # waiting for it (both under Proxy.holds).
        self.released = False
        self.held = 0


def parse_rate_limit(spec: str) -> tuple[str, float]:
    """`SERVICE=CALLS_PER_SECOND` -> (service, rate)."""
    service, _, rate = spec.partition("=")
    try:
        value = float(rate)
    except ValueError:
        value = 0.0
    if not service or not value > 0:
        raise argparse.ArgumentTypeError(
            f"--rate-limit {spec!r}: expected SERVICE=CALLS_PER_SECOND, e.g. IAM=20")
    return service, value


class RateLimiter:
    """One token bucket per service (names compared without case): at most
    max(rate, 1) tokens, refilled continuously at `rate` per second, full at
    the start. Thread-safe."""

    def __init__(self, rates: dict[str, float]):
        self.rates = {s.lower(): r for s, r in rates.items()}
        self.lock = threading.Lock()
        now = time.monotonic()
        self.buckets = {s: (max(r, 1.0), now) for s, r in self.rates.items()}

    def take(self, service: str) -> bool:
        """False if the service is limited and has no token left; else takes
        one (when limited) and returns True."""
        key = service.lower()
        rate = self.rates.get(key)
        if rate is None:
            return True
        with self.lock:
            tokens, last = self.buckets[key]
            now = time.monotonic()
            tokens = min(max(rate, 1.0), tokens + (now - last) * rate)
            ok = tokens >= 1.0
            self.buckets[key] = (tokens - 1.0 if ok else tokens, now)
            return ok


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.started = time.time()
        self.requests = 0
        self.forwarded = 0
        self.faults = Counter()
        self.rules_fired = Counter()
        self.per_operation = Counter()
        self.per_operation_faults = defaultdict(Counter)
        self.upstream_status = Counter()
        self.upstream_errors = 0
        self.cache_hits = 0
        self.held_total = 0
        self.rate_limited = Counter()
        self.denied = Counter()

    def as_dict(self, rules, config) -> dict:
        return {
            "config": config,
            "elapsed_seconds": round(time.time() - self.started, 3),
            "requests": self.requests,
            "forwarded": self.forwarded,
            "faults": dict(self.faults),
            "faults_total": sum(self.faults.values()),
            "rules_fired": dict(self.rules_fired),
            "rules_remaining": {r.op: r.remaining for r in rules},
            "per_operation": dict(sorted(self.per_operation.items())),
            "per_operation_faults": {k: dict(v) for k, v in sorted(self.per_operation_faults.items())},
            "upstream_status": {str(k): v for k, v in sorted(self.upstream_status.items())},
            "upstream_errors": self.upstream_errors,
            "cache_hits": self.cache_hits,
            "held_total": self.held_total,
            "rate_limited": dict(sorted(self.rate_limited.items())),
            "rate_limited_total": sum(self.rate_limited.values()),
            "denied": dict(sorted(self.denied.items())),
            "denied_total": sum(self.denied.values()),
        }


class Proxy:
    def __init__(self, args):
        self.args = args
        up = urllib.parse.urlsplit(args.upstream)
        if up.scheme != "http" or not up.hostname:
            sys.exit("aws_proxy: --upstream must be http://HOST:PORT")
        self.up_host, self.up_port = up.hostname, up.port or 80
        self.rng = random.Random(args.seed)
        self.rng_lock = threading.Lock()
        self.faults = [f for f in args.faults.split(",") if f]
        for f in self.faults:
            if f not in FAULT_KINDS:
                sys.exit(f"aws_proxy: unknown fault {f!r} (known: {','.join(FAULT_KINDS)})")
        if args.fault_rate > 0 and not self.faults:
            sys.exit("aws_proxy: --fault-rate needs at least one kind in --faults")
        self.rules = args.rule
        self.limiter = RateLimiter(dict(args.rate_limit))
        # Requests held by HOLD rules wait on this; `held` counts them.
        self.holds = threading.Condition()
        self.held = 0
        self.stats = Stats()
        self.stop = threading.Event()
        # Requests forwarded to the upstream whose answer has not come back:
        # on stopping, the proxy waits for them, so that "the proxy stopped"
        # means "the upstream has done everything it was asked".
        self.in_flight = 0
        self.idle = threading.Condition()
        self.cache = {}
        self.cache_lock = threading.Lock()
        self.log_file = open(args.log, "a", buffering=1) if args.log else None
        try:
            policy = aws_authz.read_policy_file(args.policy) if args.policy else None
            self.authz = aws_authz.Authorizer(self.forward, error_response, policy,
                                              args.principal)
        except aws_authz.PolicyError as e:
            sys.exit(f"aws_proxy: --policy: {e}")
        self.log_lock = threading.Lock()

    def config(self) -> dict:
        a = self.args
        return {
            "upstream": a.upstream,
            "latency_ms": a.latency_ms,
            "fault_rate": a.fault_rate,
            "seed": a.seed,
            "faults": self.faults,
            "drop_mode": a.drop_mode,
            "rules": [f"{r.op}:{r.fired + r.remaining}:{r.spec_code}" for r in self.rules],
            "rate_limits": dict(a.rate_limit),
            "authorization": self.authz.describe(),
        }

    def snapshot(self) -> dict:
        with self.stats.lock:
            d = self.stats.as_dict(self.rules, self.config())
        with self.holds:
            d["held"] = self.held
        return d

    def write_stats(self):
        if not self.args.stats_file:
            return
        tmp = self.args.stats_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.snapshot(), f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, self.args.stats_file)

    def log(self, **fields):
        if self.log_file:
            with self.log_lock:
                self.log_file.write(json.dumps(fields) + "\n")

    def decide(self, service: str, op_name: str):
        """('rule', rule) | ('rate_limit', None) | ('fault', (kind, extra))
        | ('forward', None)."""
        with self.stats.lock:
            for r in self.rules:
                if r.op == op_name and r.remaining > 0:
                    r.remaining -= 1
                    r.fired += 1
                    self.stats.rules_fired[r.op] += 1
                    return "rule", r
        if not self.limiter.take(service):
            with self.stats.lock:
                self.stats.rate_limited[service] += 1
            return "rate_limit", None
        if self.args.fault_rate > 0:
            with self.rng_lock:
                hit = self.rng.random() < self.args.fault_rate
                kind = self.rng.choice(self.faults) if hit else None
                extra = self.rng.uniform(0.5, 2.0) if kind == "latency" else 0.0
            if kind:
                return "fault", (kind, extra)
        return "forward", None

    def hold(self, rule: Rule):
        """Blocks until `rule` is released, the proxy stops (see wake_held)
        or --max-seconds have passed."""
        with self.stats.lock:
            self.stats.held_total += 1
        with self.holds:
            self.held += 1
            rule.held += 1
            try:
                self.holds.wait_for(lambda: rule.released or self.stop.is_set(),
                                    self.args.max_seconds)
            finally:
                self.held -= 1
                rule.held -= 1

    def release(self, op: str | None = None) -> int:
        """Releases the requests held by HOLD rules (of `op`, or all) and
        stops those rules holding more. Returns how many were released."""
        with self.stats.lock, self.holds:
            released = 0
            for r in self.rules:
                if r.code == "HOLD" and op in (None, r.op):
                    r.remaining = 0
                    r.released = True
                    released += r.held
            self.holds.notify_all()
        return released

    def wake_held(self):
        """Lets held requests see that the proxy stops."""
        with self.holds:
            self.holds.notify_all()

    def begin(self):
        with self.idle:
            self.in_flight += 1

    def end(self):
        with self.idle:
            self.in_flight -= 1
            self.idle.notify_all()

    def wait_idle(self, timeout):
        """Waits until no forwarded request is waiting for the upstream."""
        with self.idle:
            return self.idle.wait_for(lambda: self.in_flight == 0, timeout)

    def forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(self.up_host, self.up_port, timeout=self.args.upstream_timeout)
        try:
            out_headers = {}
            for k, v in headers.items():
                if k.lower() not in HOP_BY_HOP:
                    out_headers[k] = v
            if body or method in ("POST", "PUT", "PATCH"):
                out_headers["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=out_headers)
            resp = conn.getresponse()
            data = resp.read()
            # A HEAD answer keeps the upstream's Content-Length: the size of
            # what a GET would return (e.g. S3 HeadObject's object size).
            keep = {"content-length"} if method == "HEAD" else set()
            resp_headers = [(k, v) for k, v in resp.getheaders()
                            if k.lower() not in HOP_BY_HOP or k.lower() in keep]
            return resp.status, resp_headers, data
        finally:
            conn.close()


def make_handler(proxy: Proxy):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY: with Nagle on, a response's body waits for the ACK of
        # its headers, which the client delays by up to 40 ms.
        disable_nagle_algorithm = True
        server_version = "aws-proxy"
        sys_version = ""

        def log_message(self, fmt, *a):  # quiet: counts go to the stats file
            pass

        def read_body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def send(self, status, headers, body):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if not (self.command == "HEAD" and any(k.lower() == "content-length" for k, _ in headers)):
                self.send_header("Content-Length", str(len(body)))
            if proxy.stop.is_set():
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def control(self, path, query, body=b"") -> bool:
            if path == "/__proxy/stats":
                self.send(200, [("Content-Type", "application/json")],
                          json.dumps(proxy.snapshot(), indent=2, sort_keys=True).encode())
                return True
            if path == "/__proxy/reset":
                with proxy.stats.lock:
                    proxy.stats.reset()
                if "cache=1" in query.split("&"):
                    with proxy.cache_lock:
                        proxy.cache.clear()
                self.send(200, [("Content-Type", "application/json")], b"{}")
                return True
            if path == "/__proxy/policy":
                if self.command != "POST":
                    self.send(405, [("Content-Type", "application/json")],
                              b'{"error": "POST a policy"}')
                    return True
                try:
                    proxy.authz.set(*aws_authz.control_body(body))
                except aws_authz.PolicyError as e:
                    self.send(400, [("Content-Type", "application/json")],
                              json.dumps({"error": str(e)}).encode())
                    return True
                self.send(200, [("Content-Type", "application/json")], b"{}")
                return True
            if path == "/__proxy/release":
                op = (urllib.parse.parse_qs(query).get("op") or [None])[0]
                n = proxy.release(op)
                self.send(200, [("Content-Type", "application/json")],
                          json.dumps({"released": n}).encode())
                return True
            return False

        def handle_any(self):
            t0 = time.monotonic()
            body = self.read_body()
            url = urllib.parse.urlsplit(self.path)
            url_path = url.path
            if url_path.startswith("/__proxy/") and self.control(url_path, url.query, body):
                return
            if url_path.startswith("/moto-api"):
                # The emulator's own API: passed through untouched and uncounted.
                status, headers, data = proxy.forward(self.command, self.path, self.headers, body)
                self.send(status, headers, data)
                return
            service, op, protocol = classify(self.command, self.path, self.headers, body)
            name = f"{service}.{op}"
            with proxy.stats.lock:
                over = proxy.stats.requests >= proxy.args.max_requests
                if not over:
                    # Counted as in flight before stop can be set for it.
                    proxy.begin()
                    proxy.stats.requests += 1
                    proxy.stats.per_operation[name] += 1
                    if proxy.stats.requests >= proxy.args.max_requests:
                        proxy.stop.set()
            if over:
                # Past --max-requests: nothing more is forwarded.
                self.close_connection = True
                return
            try:
                self.handle_counted(t0, body, service, op, protocol, name)
            finally:
                proxy.end()

        def handle_counted(self, t0, body, service, op, protocol, name):
            if proxy.args.latency_ms:
                time.sleep(proxy.args.latency_ms / 1000.0)
            after = None
            decision = proxy.authz.authorize(self.command, self.path, self.headers, body,
                                             service, op, protocol)
            if decision is not None:
                refusal, after = decision
                if refusal is not None:
                    if refusal.key:
                        self.count_denied(refusal.key)
                    self.send(refusal.status, refusal.headers, refusal.body)
                    outcome = f"denied:{refusal.action}" if refusal.key else "authz-error"
                    proxy.log(t=round(time.time(), 4), op=name, outcome=outcome,
                              ms=round((time.monotonic() - t0) * 1000, 1))
                    return
            what, detail = proxy.decide(service, name)
            outcome = "forwarded"
            drop_after = proxy.args.drop_mode == "after"
            if what == "rule" and detail.code == "DROP_AFTER":
                what, detail, drop_after = "fault", ("drop", 0.0), True
            if what == "rule" and detail.code == "HOLD":
                proxy.hold(detail)
                what, outcome = "forward", "rule:HOLD"
            if what == "rule" and detail.code == "ANSWER":
                self.send(200, [("Content-Type", "application/json")], detail.message.encode())
                outcome = "rule:ANSWER"
            elif what == "rule":
                self.send(*error_response(
                    service, protocol, detail.status, detail.code, detail.message, self.headers))
                outcome = f"rule:{detail.code}"
            elif what == "rate_limit":
                status, code, message = fault_error("throttle", service, protocol)
                self.send(*error_response(service, protocol, status, code, message, self.headers))
                outcome = "rate_limited"
            elif what == "fault" and detail[0] == "drop":
                self.count_fault(name, "drop")
                self.drop(body, drop_after)
                outcome = "fault:drop"
            elif what == "fault" and detail[0] != "latency":
                kind = detail[0]
                self.count_fault(name, kind)
                status, code, message = fault_error(kind, service, protocol)
                self.send(*error_response(service, protocol, status, code, message, self.headers))
                outcome = f"fault:{kind}"
            else:
                if what == "fault":  # latency
                    self.count_fault(name, "latency")
                    time.sleep(detail[1])
                    outcome = "fault:latency"
                from_cache, denied = self.forward_and_answer(body, service, op, protocol, after)
                if denied:
                    outcome = f"denied:{denied}"
                elif from_cache:
                    outcome = "cache"
            proxy.log(t=round(time.time(), 4), op=name, outcome=outcome,
                      ms=round((time.monotonic() - t0) * 1000, 1))

        def count_denied(self, key):
            with proxy.stats.lock:
                proxy.stats.denied[key] += 1

        def count_fault(self, name, kind):
            with proxy.stats.lock:
                proxy.stats.faults[kind] += 1
                proxy.stats.per_operation_faults[name][kind] += 1

        def drop(self, body, drop_after):
            """Closes the connection without an answer (after forwarding the
            request if `drop_after`)."""
            if drop_after:
                try:
                    proxy.forward(self.command, self.path, self.headers, body)
                    with proxy.stats.lock:
                        proxy.stats.forwarded += 1
                except OSError:
                    pass
            self.close_connection = True
            try:
                # Reset on close, like a connection that died.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass

        def forward_and_answer(self, body, service, op, protocol, after=None):
            """Forwards the request and sends the upstream's answer, as
            `after` (from the authorization) adjusts it to what the caller may
            see. Returns (from the read cache?, the action of a refusal that
            `after` made, or None)."""
            key = None
            if proxy.args.cache_reads:
                if is_read_operation(op):
                    key = (self.command, self.path, self.headers.get("X-Amz-Target"), body,
                           self.headers.get("If-Match"), self.headers.get("If-None-Match"),
                           self.headers.get("Range"))
                    with proxy.cache_lock:
                        hit = proxy.cache.get(key)
                    if hit:
                        with proxy.stats.lock:
                            proxy.stats.cache_hits += 1
                        return True, self.answer(*hit, after)
                else:
                    with proxy.cache_lock:
                        proxy.cache.clear()
            try:
                status, headers, data = proxy.forward(self.command, self.path, self.headers, body)
                if key is not None and 200 <= status < 300:
                    with proxy.cache_lock:
                        proxy.cache[key] = (status, headers, data)
            except OSError as e:
                with proxy.stats.lock:
                    proxy.stats.upstream_errors += 1
                status, headers, data = error_response(
                    service, protocol, 502, "BadGateway", f"upstream: {e}", self.headers)
            with proxy.stats.lock:
                proxy.stats.forwarded += 1
                proxy.stats.upstream_status[status] += 1
            return False, self.answer(status, headers, data, after)

        def answer(self, status, headers, data, after):
            """Sends the answer, through `after`; the refused action, or None."""
            denied = None
            if after is not None:
                status, headers, data, key = after(status, headers, data)
                if key:
                    self.count_denied(key)
                    denied = key.split(" on ", 1)[0]
            self.send(status, headers, data)
            return denied

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="the emulator, http://HOST:PORT")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: any free port")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--faults", default="throttle,500,503,drop,latency")
    p.add_argument("--drop-mode", choices=["before", "after"], default="before",
                   help="drop without forwarding (default) or after forwarding")
    p.add_argument("--rule", action="append", type=Rule, default=[],
                   help="OP:N:CODE:MESSAGE, repeatable; CODE is [STATUS/]CODE, "
                        "DROP_AFTER, ANSWER or HOLD")
    p.add_argument("--rate-limit", action="append", type=parse_rate_limit, default=[],
                   metavar="SERVICE=RATE",
                   help="answer a service's calls beyond RATE per second (token bucket, "
                        "1 s burst) with its throttling error, e.g. IAM=20; repeatable")
    p.add_argument("--max-requests", type=int, default=100000)
    p.add_argument("--max-seconds", type=float, default=3600.0)
    p.add_argument("--upstream-timeout", type=float, default=60.0)
    p.add_argument("--cache-reads", action="store_true",
                   help="answer repeated identical reads (Get*/List*/Describe*/Head*) from a cache "
                        "that any other request empties (to take the emulator's speed out of a "
                        "read-only measurement)")
    p.add_argument("--stats-file")
    p.add_argument("--log", help="append one JSON line per request to this file")
    p.add_argument("--policy", metavar="FILE",
                   help="authorize each request as IAM would under this identity-based policy "
                        "(a JSON document, or a JSON list of documents)")
    p.add_argument("--principal", default=aws_authz.DEFAULT_PRINCIPAL, metavar="ARN",
                   help="the caller the policy is attached to (default: %(default)s)")
    a = p.parse_args(argv)
    if not 0.0 <= a.fault_rate <= 1.0:
        p.error("--fault-rate must be within 0..1")
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        p.error("--host must be a loopback address")
    if not re.fullmatch(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:.+", a.principal):
        p.error("--principal must be an IAM or STS ARN, e.g. " + aws_authz.DEFAULT_PRINCIPAL)
    return a


def main(argv=None):
    args = parse_args(argv)
    proxy = Proxy(args)
    server = Server((args.host, args.port), make_handler(proxy))
    port = server.server_address[1]
    print(f"listening on http://{args.host}:{port}", flush=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: proxy.stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    deadline = time.monotonic() + args.max_seconds
    reason = "signal"
    while not proxy.stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            reason = "max-seconds"
            break
        proxy.stop.wait(min(left, 0.5))
    else:
        with proxy.stats.lock:
            if proxy.stats.requests >= args.max_requests:
                reason = "max-requests"
    proxy.stop.set()
    # Held requests go on (forwarded) rather than hang.
    proxy.wake_held()
    # Requests already forwarded (e.g. the max-requests-th) run to their end
    # upstream before the proxy reports that it stopped: a test that kills
    # its client then sees everything the upstream will ever do.
    proxy.wait_idle(proxy.args.upstream_timeout + 5)
    # Let their answers go out.
    time.sleep(0.05)
    server.shutdown()
    server.server_close()
    proxy.write_stats()
    s = proxy.snapshot()
    print(f"aws_proxy: stopped ({reason}) after {s['requests']} requests, "
          f"{s['faults_total']} faults, {sum(s['rules_fired'].values())} rule answers",
          file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
