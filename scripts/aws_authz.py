"""Authorization for scripts/aws_proxy.py: each request is decided as AWS
IAM decides it for a caller whose identity-based policies are given, and
refused in the service's own error shape and words. Python 3.11 standard
library only.

    python3 scripts/aws_proxy.py --upstream URL --policy policy.json \
        [--principal arn:aws:iam::123456789012:user/deployer]

  * The policy file holds one policy document or a JSON list of documents
    (all apply). `POST /__proxy/policy` with `{"policy": DOC|[DOCS]|null,
    "principal": ARN}` replaces it while the proxy runs (null: off).
  * Each request becomes one or more checks (action, resource ARN,
    condition keys: aws_authz_ops.py); it is allowed only if every check
    is, each decided by aws_authz_eval.py (explicit deny, else allow, else
    implicit deny). ARNs take the principal's account and the region of the
    request's SigV4 credential scope.
  * Condition keys: aws:PrincipalArn, aws:PrincipalAccount,
    aws:RequestedRegion, kms:CallerAccount; aws:RequestTag/K and aws:TagKeys
    from the request's tags; aws:ResourceTag/K, the resource's tags as the
    emulator holds them now, read from it only when a condition asks;
    kms:ResourceAliases (the key's aliases), kms:ViaService,
    iam:PassedToService, iam:PolicyARN, cloudwatch:namespace, s3:prefix.
  * Checks AWS makes without a call of their own: creating with tags also
    takes the service's tagging action (kms:TagResource, iam:TagRole,
    lambda:TagResource, dynamodb:TagResource, logs:TagResource, sqs:TagQueue,
    cloudwatch:TagResource); Lambda CreateFunction and
    UpdateFunctionConfiguration take iam:PassRole on the role
    (iam:PassedToService = lambda.amazonaws.com) and, with a KMSKeyArn,
    kms:CreateGrant, kms:Encrypt and kms:Decrypt on the key (through
    Lambda: kms:ViaService = lambda.REGION.amazonaws.com).
  * sts:GetCallerIdentity is always allowed.
  * A refusal names the first check refused: `User: PRINCIPAL is not
    authorized to perform: ACTION on resource: RESOURCE because no
    identity-based policy allows the ACTION action` (or `... with an
    explicit deny in an identity-based policy`), as KMS and CloudWatch Logs
    (400 AccessDeniedException), DynamoDB (400
    com.amazonaws.dynamodb.v20120810#AccessDeniedException), Lambda (403
    AccessDeniedException), IAM, STS and CloudWatch (403 AccessDenied, query
    XML), SQS (403, `x-amzn-query-error: AccessDenied;Sender`, action in
    lower case as SQS writes it) and S3 (403 AccessDenied, the resource in
    quotes) answer it. IAM writes an existing role as `role NAME`. Lambda
    answers a refused kms:CreateGrant with its own InvalidParameterValue
    ("...the KMS key is invalid for CreateGrant...") and CloudWatch Logs a
    refused tag-on-create with its own sentence.
  * Answers that depend on the caller's permissions:
      - S3 GetObject/HeadObject of a key that does not exist: 404 only to a
        caller allowed s3:ListBucket on the bucket (s3:prefix = the key),
        else 403 AccessDenied, as S3 does;
      - Lambda GetFunction/GetFunctionConfiguration of a function whose
        environment is encrypted with a customer key (KMSKeyArn): a caller
        not allowed kms:Decrypt on it gets the function without its
        variables and `Environment.Error` {"ErrorCode":
        "AccessDeniedException", "Message": "Lambda was unable to decrypt
        the environment variables because KMS access was denied. ..."};
      - Lambda GetFunction: tags only to a caller allowed lambda:ListTags,
        else `TagsError` instead.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import namedtuple
from functools import cached_property

import aws_authz_ops as ops
from aws_authz_eval import ALLOW, EXPLICIT_DENY, Context, PolicyError, decide, load_policies

DEFAULT_PRINCIPAL = "arn:aws:iam::123456789012:user/deployer"

# The refusal (status, code) each service answers with.
DENIAL_SHAPES = {
    "KMS": (400, "AccessDeniedException"),
    "Logs": (400, "AccessDeniedException"),
    "DynamoDB": (400, "com.amazonaws.dynamodb.v20120810#AccessDeniedException"),
    "Lambda": (403, "AccessDeniedException"),
    "SQS": (403, "com.amazon.coral.service#AccessDeniedException"),
    "S3": (403, "AccessDenied"),
}

Refusal = namedtuple("Refusal", "status headers body key action")


class Request:
    """One request as the mapping reads it."""

    def __init__(self, method, path, headers, body, service, op, protocol, principal, account):
        self.method, self.headers, self.body = method, headers, body
        self.service = "SQS" if service == "AmazonSQS" else service
        self.op, self.protocol = op, protocol
        self.principal, self.account = principal, account
        url = urllib.parse.urlsplit(path)
        self.url_path = url.path
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        m = re.search(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request",
                      headers.get("Authorization") or "")
        self.akid, self.date, self.region = (m.group(1), m.group(2), m.group(3)) if m else (
            "AKIDEXAMPLE", "20250101", "us-east-1")

    def header(self, name):
        return self.headers.get(name)

    @cached_property
    def params(self) -> dict:
        """The JSON body (JSON protocols, Lambda) or the form (query)."""
        if self.protocol == "query":
            form = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"),
                                         keep_blank_values=True)
            form.update({k: v for k, v in self.query.items() if k not in form})
            return {k: v[0] for k, v in form.items()}
        try:
            got = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return got if isinstance(got, dict) else {}

    def arn(self, service, rest):
        return f"arn:aws:{service}:{self.region}:{self.account}:{rest}"

    def context(self, values=None, lazy=None) -> Context:
        base = {"aws:PrincipalArn": self.principal, "aws:PrincipalAccount": self.account,
                "aws:RequestedRegion": self.region}
        base.update({k: v for k, v in (values or {}).items() if v is not None})
        return Context(base, lazy)


class Upstream:
    """Reads the emulator on the proxy's own account (not counted, not
    authorized): a KMS key's ARN, tags and aliases, other resources' tags.
    Each answer is None (or empty) when the emulator has no such thing."""

    def __init__(self, forward, req: Request):
        self.forward, self.req = forward, req
        self.cache = {}

    def _auth(self, scope):
        r = self.req
        return (f"AWS4-HMAC-SHA256 Credential={r.akid}/{r.date}/{r.region}/{scope}/aws4_request, "
                "SignedHeaders=host, Signature=0")

    def _call(self, method, path, scope, body=b"", headers=None):
        key = (method, path, scope, body, (headers or {}).get("X-Amz-Target"))
        if key not in self.cache:
            h = {"Authorization": self._auth(scope), "Host": "localhost", **(headers or {})}
            try:
                status, _, data = self.forward(method, path, h, body)
            except OSError:
                status, data = 599, b""
            self.cache[key] = data if 200 <= status < 300 else None
        return self.cache[key]

    def _json(self, scope, target, payload, ctype="application/x-amz-json-1.1"):
        data = self._call("POST", "/", scope, json.dumps(payload).encode(),
                          {"X-Amz-Target": target, "Content-Type": ctype})
        try:
            return json.loads(data) if data else None
        except ValueError:
            return None

    def _query(self, scope, params) -> str:
        data = self._call("POST", "/", scope, urllib.parse.urlencode(params).encode(),
                          {"Content-Type": "application/x-www-form-urlencoded"})
        return data.decode("utf-8", "replace") if data else ""

    def kms_key_arn(self, key_id):
        got = self._json("kms", "TrentService.DescribeKey", {"KeyId": key_id})
        return ((got or {}).get("KeyMetadata") or {}).get("Arn")

    def kms_tags(self, key_arn):
        got = self._json("kms", "TrentService.ListResourceTags", {"KeyId": key_arn}) or {}
        return {t["TagKey"]: t.get("TagValue", "") for t in got.get("Tags") or []}

    def kms_aliases(self, key_arn):
        got = self._json("kms", "TrentService.ListAliases", {"KeyId": key_arn}) or {}
        return [a["AliasName"] for a in got.get("Aliases") or []]

    def role_tags(self, name):
        xml = self._query("iam", {"Action": "ListRoleTags", "Version": "2010-05-08",
                                  "RoleName": name})
        return _xml_tags(xml)

    def alarm_tags(self, arn):
        xml = self._query("monitoring", {"Action": "ListTagsForResource",
                                         "Version": "2010-08-01", "ResourceARN": arn})
        return _xml_tags(xml)

    def lambda_tags(self, fn_arn):
        data = self._call("GET", "/2017-03-31/tags/" + urllib.parse.quote(fn_arn, safe=""),
                          "lambda")
        try:
            return json.loads(data).get("Tags") or {} if data else {}
        except ValueError:
            return {}

    def table_tags(self, arn):
        got = self._json("dynamodb", "DynamoDB_20120810.ListTagsOfResource",
                         {"ResourceArn": arn}, "application/x-amz-json-1.0") or {}
        return {t["Key"]: t.get("Value", "") for t in got.get("Tags") or []}

    def log_group_tags(self, arn):
        got = self._json("logs", "Logs_20140328.ListTagsForResource", {"resourceArn": arn}) or {}
        return got.get("tags") or {}

    def queue_tags(self, url):
        got = self._json("sqs", "AmazonSQS.ListQueueTags", {"QueueUrl": url},
                         "application/x-amz-json-1.0") or {}
        return got.get("Tags") or {}


def _xml_tags(xml: str) -> dict:
    pairs = re.findall(r"<member>\s*<Key>(.*?)</Key>\s*<Value>(.*?)</Value>\s*</member>", xml,
                       re.DOTALL)
    return {k: v for k, v in pairs}


class Authorizer:
    """The policy in force (thread-safe to replace) and the decisions.
    `forward(method, path, headers, body)` reaches the emulator;
    `error_response(service, protocol, status, code, message, headers)`
    shapes an error as the proxy does."""

    def __init__(self, forward, error_response, policy=None, principal=DEFAULT_PRINCIPAL):
        self.forward, self.error_response = forward, error_response
        self.lock = threading.Lock()
        self.statements, self.principal = None, principal
        self.set(policy, principal)

    def set(self, policy, principal=None):
        """Replaces the policy (None: authorization off). Raises PolicyError."""
        statements = None if policy is None else load_policies(policy)
        principal = principal or self.principal
        if not re.fullmatch(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:.+", principal or ""):
            raise PolicyError(f"the principal must be an IAM or STS ARN, not {principal!r}")
        with self.lock:
            self.statements, self.principal = statements, principal

    def describe(self):
        with self.lock:
            if self.statements is None:
                return None
            return {"principal": self.principal, "statements": len(self.statements)}

    def authorize(self, method, path, headers, body, service, op, protocol):
        """None when authorization is off; else (refusal or None, after):
        `after(status, headers, data)` -> (status, headers, data, refused)
        adjusts the upstream's answer to what the caller may see (`refused`
        is the key of a refusal it made, or None)."""
        with self.lock:
            statements, principal = self.statements, self.principal
        if statements is None:
            return None
        account = principal.split(":")[4]
        req = Request(method, path, headers, body, service, op, protocol, principal, account)
        up = Upstream(self.forward, req)
        try:
            checks = ops.checks(req, up)
            for c in checks:
                verdict = decide(statements, c.action, c.resource, c.context)
                if verdict != ALLOW:
                    return self.refuse(req, c, verdict == EXPLICIT_DENY), None
        except Exception as e:  # a request the mapping cannot read: say so, never allow it
            answer = self.error_response(
                req.service, protocol, 500, "InternalFailure",
                f"aws_proxy could not authorize {req.service}.{op}: {e!r}", headers)
            return Refusal(*answer, None, None), None
        return None, self.after(req, up, statements, checks)

    def refuse(self, req, check, explicit) -> Refusal:
        if check.refusal:
            status, code, message = check.refusal(req.principal, explicit)
        else:
            status, code = DENIAL_SHAPES.get(req.service, (403, "AccessDenied"))
            message = self.message(req, check, explicit)
        status, headers, body = self.error_response(
            req.service, req.protocol, status, code, message, req.headers)
        if req.service == "SQS":
            headers = headers + [("x-amzn-query-error", "AccessDenied;Sender")]
        return Refusal(status, headers, body, f"{check.action} on {check.resource}", check.action)

    @staticmethod
    def message(req, check, explicit):
        action, shown = check.action, check.shown or check.resource
        if req.service == "SQS":
            action = action.lower()  # as SQS writes it
        if req.service == "S3":
            shown = f'"{shown}"'
        return ops.sentence(req.principal, action, shown, explicit)

    def after(self, req, up, statements, checks):
        if req.service == "S3" and req.op in ("GetObject", "HeadObject"):
            return lambda status, headers, data: self.s3_missing_key(
                req, statements, status, headers, data)
        if req.service == "Lambda" and req.op in ("GetFunction", "GetFunctionConfiguration"):
            fn_arn = checks[0].meta.get("function_arn") if checks else None
            return lambda status, headers, data: self.lambda_view(
                req, up, statements, fn_arn, status, headers, data)
        return None

    def s3_missing_key(self, req, statements, status, headers, data):
        if status != 404:
            return status, headers, data, None
        bucket, key = ops.s3_bucket_key(req)
        if b"NoSuchBucket" in data:
            return status, headers, data, None
        check = ops.Check("s3:ListBucket", f"arn:aws:s3:::{bucket}",
                          req.context({"s3:prefix": key}))
        verdict = decide(statements, check.action, check.resource, check.context)
        if verdict == ALLOW:
            return status, headers, data, None
        r = self.refuse(req, check, verdict == EXPLICIT_DENY)
        return r.status, r.headers, r.body, r.key

    def lambda_view(self, req, up, statements, fn_arn, status, headers, data):
        if status != 200 or not fn_arn:
            return status, headers, data, None
        try:
            doc = json.loads(data)
        except ValueError:
            return status, headers, data, None
        config = doc.get("Configuration", doc) if req.op == "GetFunction" else doc
        changed = False
        key_arn = (config or {}).get("KMSKeyArn")
        env = (config or {}).get("Environment")
        if key_arn and isinstance(env, dict) and "Variables" in env:
            for c in ops.lambda_kms_checks(req, up, key_arn, fn_arn):
                if c.action != "kms:Decrypt":
                    continue
                verdict = decide(statements, c.action, c.resource, c.context)
                if verdict != ALLOW:
                    config["Environment"] = {"Error": {
                        "ErrorCode": "AccessDeniedException",
                        "Message": "Lambda was unable to decrypt the environment variables "
                                   "because KMS access was denied. Please check the function's "
                                   "KMS key settings. KMS Exception: AccessDeniedException KMS "
                                   "Message: " + ops.sentence(req.principal, c.action, c.resource,
                                                              verdict == EXPLICIT_DENY)}}
                    changed = True
        if req.op == "GetFunction" and doc.get("Tags"):
            c = ops.Check("lambda:ListTags", fn_arn, req.context(
                None, ops.resource_tags(lambda: up.lambda_tags(fn_arn))))
            verdict = decide(statements, c.action, c.resource, c.context)
            if verdict != ALLOW:
                del doc["Tags"]
                doc["TagsError"] = {"ErrorCode": "AccessDeniedException",
                                    "Message": ops.sentence(req.principal, c.action, c.resource,
                                                            verdict == EXPLICIT_DENY)}
                changed = True
        if not changed:
            return status, headers, data, None
        return status, headers, json.dumps(doc).encode(), None


def read_policy_file(path):
    """The policy (document or list) in `path`; raises PolicyError."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise PolicyError(f"cannot read {path}: {e}") from None
    except ValueError as e:
        raise PolicyError(f"{path} is not JSON: {e}") from None
    load_policies(doc)
    return doc


def control_body(body: bytes):
    """(policy, principal) of a `POST /__proxy/policy` body; raises PolicyError."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError as e:
        raise PolicyError(f"the body is not JSON: {e}") from None
    if not isinstance(doc, dict) or "policy" not in doc:
        raise PolicyError('expected {"policy": DOCUMENT|[DOCUMENTS]|null, "principal": ARN}')
    return doc["policy"], doc.get("principal")
