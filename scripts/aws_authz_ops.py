"""What IAM checks for each AWS request, for scripts/aws_authz.py: the
operation's action(s), the resource ARN(s) as AWS's Service Authorization
Reference defines them, and the request's condition keys. Python 3.11
standard library only.

`checks(req, up)` -> [Check]; `req` is a Request (aws_authz), `up` the
emulator lookups (aws_authz.Upstream) used to resolve what a request names
only indirectly (a KMS alias to its key) and to read a resource's current
tags when a policy's condition asks for them.

`MAPPED` lists the operations mapped on purpose, by service; any other
operation falls back to `PREFIX:OPERATION` on `*`.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from dataclasses import dataclass, field

from aws_authz_eval import Context

PREFIXES = {"KMS": "kms", "IAM": "iam", "Lambda": "lambda", "DynamoDB": "dynamodb",
            "Logs": "logs", "CloudWatch": "cloudwatch", "SQS": "sqs", "S3": "s3", "STS": "sts"}


@dataclass
class Check:
    """One authorization: `action` on `resource` with `context`. `shown` is
    the resource as the service writes it in its refusal (default: the
    ARN); `refusal`, if set, builds the whole answer instead:
    (principal, explicit) -> (status, code, message)."""
    action: str
    resource: str
    context: Context
    shown: str | None = None
    refusal: object = None
    meta: dict = field(default_factory=dict)


def _tag_context(tags: dict) -> dict:
    out = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    out["aws:TagKeys"] = list(tags)
    return out


def resource_tags(loader, *prefixes):
    """Lazy `aws:ResourceTag/K` (and aliases) from `loader()` -> dict."""
    cache = {}

    def get(key):
        if "tags" not in cache:
            cache["tags"] = {k.lower(): v for k, v in (loader() or {}).items()}
        return cache["tags"].get(key.split("/", 1)[1])

    return [(p, get) for p in prefixes or ("aws:resourcetag/",)]


def _members(form: dict, prefix: str) -> list[str]:
    """Query-protocol list `P.member.1`, `P.member.2`... (or `P.1`)."""
    out = []
    for n in range(1, 1000):
        v = form.get(f"{prefix}.member.{n}", form.get(f"{prefix}.{n}"))
        if v is None:
            break
        out.append(v)
    return out


def _member_tags(form: dict, prefix="Tags") -> dict:
    tags = {}
    for n in range(1, 1000):
        k = form.get(f"{prefix}.member.{n}.Key", form.get(f"{prefix}.{n}.Key"))
        if k is None:
            break
        tags[k] = form.get(f"{prefix}.member.{n}.Value", form.get(f"{prefix}.{n}.Value", ""))
    return tags


# ---- KMS -------------------------------------------------------------------

def _kms_key(req, up, action, key_id, extra=None, **kw):
    """The check of `action` on the key `key_id` names (id, key ARN, alias
    name or alias ARN), or None when no such key exists (the emulator then
    answers NotFoundException, as KMS does)."""
    key_arn = up.kms_key_arn(key_id) if key_id else None
    if not key_arn:
        return None
    lazy = resource_tags(lambda: up.kms_tags(key_arn))
    lazy.append(("kms:resourcealiases", lambda _k: up.kms_aliases(key_arn)))
    values = {"kms:CallerAccount": req.account, **(extra or {})}
    if key_id.startswith("alias/") or ":alias/" in key_id:
        values["kms:RequestAlias"] = key_id.rsplit(":", 1)[-1]
    return Check(action, key_arn, req.context(values, lazy), **kw)


def _kms_alias(req, name):
    return Check("kms:" + req.op, req.arn("kms", name),
                 req.context({"kms:CallerAccount": req.account}))


def _kms(req, up):
    p, op = req.params, req.op
    base = {"kms:CallerAccount": req.account}
    if op in ("ListKeys", "ListAliases"):
        return [Check("kms:" + op, "*", req.context(base))]
    if op == "CreateKey":
        tags = {t.get("TagKey"): t.get("TagValue", "") for t in p.get("Tags") or []}
        ctx = req.context({**base, **_tag_context(tags)} if tags else base)
        out = [Check("kms:CreateKey", "*", ctx)]
        if tags:
            # Tagging at creation takes kms:TagResource too, on the new key.
            out.append(Check("kms:TagResource", req.arn("kms", f"key/{uuid.uuid4()}"), ctx))
        return out
    if op in ("CreateAlias", "UpdateAlias", "DeleteAlias"):
        alias = p.get("AliasName") or ""
        out = [_kms_alias(req, alias)]
        if op != "CreateAlias":  # the key the alias points to now
            out.append(_kms_key(req, up, "kms:" + op, alias))
        if op != "DeleteAlias":  # the key it is to point to
            out.append(_kms_key(req, up, "kms:" + op, p.get("TargetKeyId") or ""))
        return [c for c in out if c]
    extra = {}
    if op == "TagResource":
        extra = _tag_context({t.get("TagKey"): t.get("TagValue", "") for t in p.get("Tags") or []})
    elif op == "UntagResource":
        extra = {"aws:TagKeys": list(p.get("TagKeys") or [])}
    check = _kms_key(req, up, "kms:" + op, p.get("KeyId") or "", extra)
    return [check] if check else []


KMS_OPS = ("CancelKeyDeletion CreateAlias CreateKey DeleteAlias DescribeKey DisableKey "
           "DisableKeyRotation EnableKey EnableKeyRotation GetKeyPolicy GetKeyRotationStatus "
           "ListAliases ListKeys ListResourceTags PutKeyPolicy ScheduleKeyDeletion TagResource "
           "UntagResource UpdateAlias UpdateKeyDescription").split()


# ---- IAM -------------------------------------------------------------------

def _iam(req, up):
    f, op = req.params, req.op
    if op in ("GetAccountAuthorizationDetails", "ListRoles", "ListPolicies"):
        return [Check("iam:" + op, "*", req.context())]
    name = f.get("RoleName") or ""
    path = f.get("Path") or "/"
    role_arn = f"arn:aws:iam::{req.account}:role{path if op == 'CreateRole' else '/'}{name}"
    lazy = resource_tags(lambda: up.role_tags(name), "aws:resourcetag/", "iam:resourcetag/")
    values = {}
    if op in ("CreateRole", "TagRole"):
        values = _tag_context(_member_tags(f))
    elif op == "UntagRole":
        values = {"aws:TagKeys": _members(f, "TagKeys")}
    elif op in ("AttachRolePolicy", "DetachRolePolicy"):
        values = {"iam:PolicyARN": f.get("PolicyArn")}
    if op == "CreateRole":
        # A new role has no tags to read; IAM writes its ARN in a refusal.
        ctx = req.context(values)
        out = [Check("iam:CreateRole", role_arn, ctx)]
        if _member_tags(f):
            out.append(Check("iam:TagRole", role_arn, ctx))
        return out
    # IAM writes an existing role as `role NAME` in its refusals.
    return [Check("iam:" + op, role_arn, req.context(values, lazy), shown=f"role {name}")]


IAM_OPS = ("AttachRolePolicy CreateRole DeleteRole DeleteRolePolicy DetachRolePolicy "
           "GetAccountAuthorizationDetails GetRole GetRolePolicy ListAttachedRolePolicies "
           "ListRolePolicies PutRolePolicy TagRole UntagRole UpdateAssumeRolePolicy ListRoles "
           "ListRoleTags").split()


def pass_role(req, up, role_arn, service):
    """iam:PassRole of `role_arn` to `service` (e.g. lambda.amazonaws.com)."""
    name = role_arn.rsplit("/", 1)[-1]
    lazy = resource_tags(lambda: up.role_tags(name), "aws:resourcetag/", "iam:resourcetag/")
    return Check("iam:PassRole", role_arn, req.context({"iam:PassedToService": service}, lazy))


# ---- Lambda ----------------------------------------------------------------

LAMBDA_ACTIONS = {"Invoke": "InvokeFunction"}


def function_arn(req, ident: str) -> str:
    """The function ARN (qualifier dropped) of a name, partial or full ARN."""
    ident = urllib.parse.unquote(ident)
    region, account = req.region, req.account
    parts = ident.split(":")
    if ident.startswith("arn:") and len(parts) >= 7:
        region, account, name = parts[3], parts[4], parts[6]
    elif len(parts) >= 3 and parts[1] == "function":
        account, name = parts[0], parts[2]
    else:
        name = parts[0]
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def lambda_kms_checks(req, up, key_arn, fn_arn):
    """What Lambda checks, as the caller, on the key of a function's
    environment: a grant for the function and encrypt/decrypt through it."""
    via = {"kms:ViaService": f"lambda.{req.region}.amazonaws.com",
           "kms:EncryptionContext:LambdaFunctionName": fn_arn.rsplit(":", 1)[-1]}
    out = []
    for action in ("kms:CreateGrant", "kms:Encrypt", "kms:Decrypt"):
        c = _kms_key(req, up, action, key_arn, via)
        if c and action == "kms:CreateGrant":
            c.refusal = lambda principal, explicit, c=c: (
                400, "InvalidParameterValueException",
                "Lambda was unable to configure access to your environment variables because "
                "the KMS key is invalid for CreateGrant. Please check your KMS key settings. "
                "KMS Exception: AccessDeniedException KMS Message: "
                + sentence(principal, c.action, c.resource, explicit))
        if c:
            out.append(c)
    return out


def _lambda(req, up):
    op = req.op
    action = "lambda:" + LAMBDA_ACTIONS.get(op, op)
    if op in ("ListFunctions", "GetAccountSettings"):
        return [Check(action, "*", req.context())]
    m = re.match(r"^/\d{4}-\d{2}-\d{2}/tags/(.+)$", req.url_path)
    if m:
        fn_arn = function_arn(req, m.group(1))
    elif op == "CreateFunction":
        fn_arn = function_arn(req, req.params.get("FunctionName") or "")
    else:
        m = re.match(r"^/\d{4}-\d{2}-\d{2}/functions/([^/]+)", req.url_path)
        if not m:
            return [Check(action, "*", req.context())]
        fn_arn = function_arn(req, m.group(1))
    lazy = resource_tags(lambda: up.lambda_tags(fn_arn))
    values = {}
    body = req.params if req.method in ("POST", "PUT") else {}
    if op == "TagResource":
        values = _tag_context(body.get("Tags") or {})
    elif op == "UntagResource":
        values = {"aws:TagKeys": req.query.get("tagKeys", [])}
    if op == "CreateFunction":
        tags = body.get("Tags") or {}
        ctx = req.context(_tag_context(tags) if tags else {})
        out = [Check(action, fn_arn, ctx)]
        if tags:
            out.append(Check("lambda:TagResource", fn_arn, ctx))
    else:
        out = [Check(action, fn_arn, req.context(values, lazy))]
    if op in ("CreateFunction", "UpdateFunctionConfiguration"):
        if body.get("Role"):
            out.append(pass_role(req, up, body["Role"], "lambda.amazonaws.com"))
        if body.get("KMSKeyArn"):
            out.extend(lambda_kms_checks(req, up, body["KMSKeyArn"], fn_arn))
    for c in out:
        c.meta["function_arn"] = fn_arn
    return out


LAMBDA_OPS = ("CreateFunction DeleteFunction DeleteFunctionConcurrency DeleteFunctionUrlConfig "
              "GetAccountSettings GetFunction GetFunctionConfiguration GetFunctionConcurrency "
              "GetFunctionUrlConfig GetPolicy Invoke ListTags PutFunctionConcurrency "
              "RemovePermission TagResource UntagResource UpdateFunctionCode "
              "UpdateFunctionConfiguration ListFunctions").split()


# ---- DynamoDB --------------------------------------------------------------

def _dynamodb(req, up):
    p, op = req.params, req.op
    if op in ("ListTables", "DescribeLimits", "DescribeEndpoints"):
        return [Check("dynamodb:" + op, "*", req.context())]
    tables = [p.get("ResourceArn") or p.get("TableName") or ""]
    if op in ("BatchGetItem", "BatchWriteItem"):
        tables = list(p.get("RequestItems") or {})
    out = []
    for t in tables:
        arn = t if t.startswith("arn:") else req.arn("dynamodb", f"table/{t}")
        lazy = resource_tags(lambda arn=arn: up.table_tags(arn))
        values = {}
        tags = {x.get("Key"): x.get("Value", "") for x in p.get("Tags") or []}
        if op in ("TagResource", "CreateTable"):
            values = _tag_context(tags)
        elif op == "UntagResource":
            values = {"aws:TagKeys": list(p.get("TagKeys") or [])}
        ctx = req.context(values, [] if op == "CreateTable" else lazy)
        out.append(Check("dynamodb:" + op, arn, ctx))
        if op == "CreateTable" and "Tags" in p:
            # Tags at creation take dynamodb:TagResource, even an empty list.
            out.append(Check("dynamodb:TagResource", arn, ctx))
    return out


DYNAMODB_OPS = ("CreateTable DeleteTable DescribeContinuousBackups DescribeTable GetItem PutItem "
                "UpdateItem DeleteItem Query ListTagsOfResource TagResource UntagResource "
                "UpdateTable UpdateContinuousBackups ListTables").split()


# ---- CloudWatch Logs -------------------------------------------------------

LOGS_BY_ARN = {"TagResource", "UntagResource", "ListTagsForResource"}


def _logs(req, up):
    p, op = req.params, req.op
    action = "logs:" + op
    if op in ("DescribeLogGroups", "DescribeDestinations", "DescribeQueries"):
        return [Check(action, "*", req.context())]
    if op in LOGS_BY_ARN:
        arn = p.get("resourceArn") or ""
        name = arn.split(":log-group:", 1)[-1].removesuffix(":*")
    else:
        name = p.get("logGroupName") or p.get("logGroupIdentifier") or p.get(
            "resourceIdentifier") or ""
        if name.startswith("arn:"):
            name = name.split(":log-group:", 1)[-1].removesuffix(":*")
        # CloudWatch Logs authorizes these on the group's streams:
        # `log-group:NAME:log-stream:`, which `log-group:NAME:*` matches.
        arn = req.arn("logs", f"log-group:{name}:log-stream:")
        if op in ("CreateLogStream", "PutLogEvents", "GetLogEvents"):
            arn += p.get("logStreamName") or ""
    tags = p.get("tags") or {}
    values = {}
    if op in ("TagResource", "TagLogGroup", "CreateLogGroup"):
        values = _tag_context(tags)
    elif op in ("UntagResource", "UntagLogGroup"):
        values = {"aws:TagKeys": list(p.get("tagKeys") or p.get("tags") or [])}
    group_arn = req.arn("logs", f"log-group:{name}")
    lazy = [] if op == "CreateLogGroup" else resource_tags(lambda: up.log_group_tags(group_arn))
    ctx = req.context(values, lazy)
    out = [Check(action, arn, ctx)]
    if op == "CreateLogGroup" and tags:
        out.append(Check("logs:TagResource", group_arn, ctx, refusal=lambda principal, explicit: (
            400, "AccessDeniedException",
            f"User with accountId: {req.account} is not authorized to perform CreateLogGroup "
            'with Tags. An additional permission "logs:TagResource" is required.')))
    return out


LOGS_OPS = ("AssociateKmsKey CreateLogGroup DeleteLogGroup DeleteRetentionPolicy DescribeLogGroups "
            "DisassociateKmsKey FilterLogEvents ListTagsForResource PutRetentionPolicy TagResource "
            "UntagResource ListTagsLogGroup TagLogGroup UntagLogGroup CreateLogStream "
            "PutLogEvents").split()


# ---- CloudWatch ------------------------------------------------------------

def _cloudwatch(req, up):
    f, op = req.params, req.op
    action = "cloudwatch:" + op
    if op == "PutMetricData":
        return [Check(action, "*", req.context({"cloudwatch:namespace": f.get("Namespace")}))]
    if op in ("ListTagsForResource", "TagResource", "UntagResource"):
        arns = [f.get("ResourceARN") or ""]
    elif op in ("DeleteAlarms", "DescribeAlarms"):
        arns = [req.arn("cloudwatch", f"alarm:{n}") for n in _members(f, "AlarmNames")]
        if not arns:  # every alarm (or those of a prefix)
            arns = [req.arn("cloudwatch", "alarm:*")]
    elif f.get("AlarmName"):
        arns = [req.arn("cloudwatch", f"alarm:{f['AlarmName']}")]
    else:
        return [Check(action, "*", req.context())]
    values = {}
    if op in ("TagResource", "PutMetricAlarm"):
        values = _tag_context(_member_tags(f))
    elif op == "UntagResource":
        values = {"aws:TagKeys": _members(f, "TagKeys")}
    out = []
    for arn in arns:
        lazy = resource_tags(lambda arn=arn: up.alarm_tags(arn))
        ctx = req.context(values, lazy)
        out.append(Check(action, arn, ctx))
        if op == "PutMetricAlarm" and _member_tags(f):
            out.append(Check("cloudwatch:TagResource", arn, ctx))
    return out


CLOUDWATCH_OPS = ("DeleteAlarms DescribeAlarms ListTagsForResource PutMetricAlarm PutMetricData "
                  "TagResource UntagResource").split()


# ---- SQS -------------------------------------------------------------------

def _sqs(req, up):
    p, op = req.params, req.op
    action = "sqs:" + op
    if op == "ListQueues":
        return [Check(action, "*", req.context())]
    url = p.get("QueueUrl") or ""
    if url:
        parts = urllib.parse.urlsplit(url).path.strip("/").split("/")
        account, name = (parts[-2], parts[-1]) if len(parts) >= 2 else (req.account, parts[-1])
    else:
        account, name = p.get("QueueOwnerAWSAccountId") or req.account, p.get("QueueName") or ""
        url = f"http://sqs.{req.region}.amazonaws.com/{account}/{name}"
    arn = f"arn:aws:sqs:{req.region}:{account}:{name}"
    tags = p.get("tags") if op == "CreateQueue" else p.get("Tags")
    if tags is None and req.protocol == "query":
        tags = _member_tags(p, "Tag")
    values = {}
    if op in ("CreateQueue", "TagQueue"):
        values = _tag_context(tags or {})
    elif op == "UntagQueue":
        values = {"aws:TagKeys": list(p.get("TagKeys") or _members(p, "TagKey"))}
    lazy = resource_tags(lambda: up.queue_tags(url))
    ctx = req.context(values, lazy)
    out = [Check(action, arn, ctx)]
    if op == "CreateQueue" and tags:
        out.append(Check("sqs:TagQueue", arn, ctx))
    return out


SQS_OPS = ("CreateQueue DeleteQueue GetQueueAttributes GetQueueUrl ListQueueTags "
           "SetQueueAttributes TagQueue UntagQueue ListQueues").split()


# ---- S3 --------------------------------------------------------------------

S3_ACTIONS = {"HeadObject": "GetObject", "CopyObject": "PutObject", "ListObjectsV2": "ListBucket",
              "ListObjects": "ListBucket", "HeadBucket": "ListBucket",
              "ListObjectVersions": "ListBucketVersions", "ListBuckets": "ListAllMyBuckets",
              "DeleteObjects": "DeleteObject"}


def s3_bucket_key(req):
    bucket, _, key = req.url_path.lstrip("/").partition("/")
    return urllib.parse.unquote(bucket), urllib.parse.unquote(key)


def _s3(req, up):
    op = req.op
    action = "s3:" + S3_ACTIONS.get(op, op)
    bucket, key = s3_bucket_key(req)
    if op == "ListBuckets" or not bucket:
        return [Check(action, "*", req.context())]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if op in ("ListObjectsV2", "ListObjects", "ListObjectVersions"):
        q = req.query
        values = {f"s3:{k}": q[k][0] for k in ("prefix", "delimiter", "max-keys") if k in q}
        return [Check(action, bucket_arn, req.context(values))]
    if op == "DeleteObjects":
        keys = re.findall(r"<Key>(.*?)</Key>", req.body.decode("utf-8", "replace"))
        return [Check(action, f"{bucket_arn}/{_xml_unescape(k)}", req.context()) for k in keys]
    if not key:
        return [Check(action, bucket_arn, req.context())]
    out = [Check(action, f"{bucket_arn}/{key}", req.context())]
    if op == "CopyObject":
        src = urllib.parse.unquote(req.header("x-amz-copy-source") or "").lstrip("/").split("?")[0]
        out.append(Check("s3:GetObject", f"arn:aws:s3:::{src}", req.context()))
    return out


def _xml_unescape(s):
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


S3_OPS = "GetObject HeadObject PutObject DeleteObject GetBucketVersioning ListObjectsV2".split()


def _sts(req, up):
    if req.op == "GetCallerIdentity":
        return []  # needs no permission
    return [Check("sts:" + req.op, "*", req.context())]


MAPPERS = {"KMS": _kms, "IAM": _iam, "Lambda": _lambda, "DynamoDB": _dynamodb, "Logs": _logs,
           "CloudWatch": _cloudwatch, "SQS": _sqs, "S3": _s3, "STS": _sts}
MAPPED = {"KMS": KMS_OPS, "IAM": IAM_OPS, "Lambda": LAMBDA_OPS, "DynamoDB": DYNAMODB_OPS,
          "Logs": LOGS_OPS, "CloudWatch": CLOUDWATCH_OPS, "SQS": SQS_OPS, "S3": S3_OPS,
          "STS": ["GetCallerIdentity"]}


def checks(req, up) -> list[Check]:
    mapper = MAPPERS.get(req.service)
    if mapper is None:
        prefix = PREFIXES.get(req.service, req.service.lower())
        return [Check(f"{prefix}:{req.op}", "*", req.context())]
    return mapper(req, up)


def sentence(principal, action, shown, explicit) -> str:
    """AWS's words for a refusal by identity-based policies."""
    head = f"User: {principal} is not authorized to perform: {action} on resource: {shown}"
    if explicit:
        return head + " with an explicit deny in an identity-based policy"
    return head + f" because no identity-based policy allows the {action} action"
