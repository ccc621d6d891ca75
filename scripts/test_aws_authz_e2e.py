"""End-to-end tests of the proxy's authorization mode: a moto_server (.venv's,
through scripts/moto_server.py, on a free loopback port) and, per test, a proxy with --policy in
front of it, driven with boto3 (no retries, path-style S3) and raw HTTP
(CloudWatch's query protocol, which this boto3 no longer speaks). Setup and
checks go to moto directly, past the proxy. Run from
scripts/test_aws_authz.py (or alone, the same way).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from test_aws_proxy import ProxyProcess  # noqa: E402

__all__ = ["KmsTest", "DynamoDbTest", "LambdaTest", "IamTest", "LogsTest", "CloudWatchTest",
           "SqsTest", "S3Test", "ControlTest", "CliTest"]

ACCOUNT = "123456789012"
P = f"arn:aws:iam::{ACCOUNT}:user/deployer"
MOTO = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setUpModule():
    global MOTO
    port = free_port()
    # moto_server, with the project's one addition (scripts/moto_server.py:
    # a Lambda function's DeadLetterConfig, which the CLI's drift reads).
    proc = subprocess.Popen([os.path.join(ROOT, ".venv/bin/python"),
                             os.path.join(HERE, "moto_server.py"), "-H", "127.0.0.1",
                             "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    MOTO = (proc, f"http://127.0.0.1:{port}")
    end = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def tearDownModule():
    MOTO[0].terminate()
    MOTO[0].wait(10)


def client(service, url):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                                      s3={"addressing_style": "path"}))


def moto(service):
    return client(service, MOTO[1])


def sentence(action, resource, explicit=False):
    head = f"User: {P} is not authorized to perform: {action} on resource: {resource}"
    if explicit:
        return head + " with an explicit deny in an identity-based policy"
    return head + f" because no identity-based policy allows the {action} action"


def allow(action, resource="*", condition=None, effect="Allow"):
    s = {"Effect": effect, "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Proxy(ProxyProcess):
    """The proxy with `policy` (and `args`), in front of this module's moto."""

    def __init__(self, policy, *args):
        self.dir = tempfile.TemporaryDirectory()
        path = os.path.join(self.dir.name, "policy.json")
        with open(path, "w") as f:
            json.dump(policy, f)
        self.log = os.path.join(self.dir.name, "log.jsonl")
        super().__init__("--max-seconds", "120", "--policy", path, "--log", self.log, *args,
                         upstream=MOTO[1])

    def query(self, scope, params):
        """A query-protocol call as the Rust SDK sends it (form body, SigV4 scope)."""
        auth = (f"AWS4-HMAC-SHA256 Credential=testing/20261207/us-east-1/{scope}/aws4_request, "
                "SignedHeaders=host, Signature=0")
        return self.http("POST", "/", urllib.parse.urlencode(params).encode(), {
            "Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})

    def set_policy(self, policy, principal=None):
        body = {"policy": policy, **({"principal": principal} if principal else {})}
        return self.http("POST", "/__proxy/policy", json.dumps(body).encode())

    def close(self):
        super().close()
        self.dir.cleanup()


class Case(unittest.TestCase):
    maxDiff = None

    def start(self, policy, *args):
        self.proxy = Proxy(policy, *args)
        self.addCleanup(self.proxy.close)
        return self.proxy

    def refused(self, call, status, code, message):
        with self.assertRaises(ClientError) as e:
            call()
        r = e.exception.response
        self.assertEqual((r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"],
                          r["Error"].get("Message")), (status, code, message))


class KmsTest(Case):
    def test_resource_tags_are_read_live_and_explicit_deny_wins(self):
        key = moto("kms").create_key()["KeyMetadata"]["Arn"]
        kms = self.start(doc(
            allow("kms:DescribeKey", "arn:aws:kms:*:*:key/*",
                  {"StringEquals": {"aws:ResourceTag/Team": "pay"}}),
            allow("kms:DescribeKey", "*", {"StringEquals": {"aws:ResourceTag/Lock": "yes"}},
                  effect="Deny"))).client("kms")
        self.refused(lambda: kms.describe_key(KeyId=key), 400, "AccessDeniedException",
                     sentence("kms:DescribeKey", key))
        moto("kms").tag_resource(KeyId=key, Tags=[{"TagKey": "Team", "TagValue": "pay"}])
        self.assertEqual(kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"], key)
        moto("kms").tag_resource(KeyId=key, Tags=[{"TagKey": "Lock", "TagValue": "yes"}])
        self.refused(lambda: kms.describe_key(KeyId=key), 400, "AccessDeniedException",
                     sentence("kms:DescribeKey", key, explicit=True))

    def test_request_tags_on_create_key_and_nothing_forwarded(self):
        dev = {"StringEquals": {"aws:RequestTag/Env": "dev"}}
        kms = self.start(doc(allow("kms:CreateKey", "*", dev),
                             allow("kms:TagResource", "arn:aws:kms:*:*:key/*", dev))).client("kms")
        before = len(moto("kms").list_keys()["Keys"])
        for tags in ([{"TagKey": "Env", "TagValue": "prod"}], []):
            self.refused(lambda: kms.create_key(Tags=tags), 400, "AccessDeniedException",
                         sentence("kms:CreateKey", "*"))
        self.assertEqual(len(moto("kms").list_keys()["Keys"]), before)
        key = kms.create_key(Tags=[{"TagKey": "Env", "TagValue": "dev"}])["KeyMetadata"]["KeyId"]
        self.assertEqual(moto("kms").list_resource_tags(KeyId=key)["Tags"],
                         [{"TagKey": "Env", "TagValue": "dev"}])

    def test_update_alias_needs_alias_old_and_new_key(self):
        a, b = (moto("kms").create_key()["KeyMetadata"]["Arn"] for _ in range(2))
        alias = name("alias/a")
        moto("kms").create_alias(AliasName=alias, TargetKeyId=a)
        alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:{alias}"
        proxy = self.start(doc(allow("kms:UpdateAlias", [alias_arn, a])))
        kms = proxy.client("kms")
        self.refused(lambda: kms.update_alias(AliasName=alias, TargetKeyId=b), 400,
                     "AccessDeniedException", sentence("kms:UpdateAlias", b))
        proxy.set_policy(doc(allow("kms:UpdateAlias", [alias_arn, b])))
        self.refused(lambda: kms.update_alias(AliasName=alias, TargetKeyId=b), 400,
                     "AccessDeniedException", sentence("kms:UpdateAlias", a))
        proxy.set_policy(doc(allow("kms:UpdateAlias", [alias_arn, a, b])))
        kms.update_alias(AliasName=alias, TargetKeyId=b)
        self.assertEqual(moto("kms").describe_key(KeyId=alias)["KeyMetadata"]["Arn"], b)


class DynamoDbTest(Case):
    def test_refusal_shape_and_not_forwarded(self):
        table = name("t")
        arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}"
        proxy = self.start(doc(allow("dynamodb:DescribeTable", arn)))
        ddb = proxy.client("dynamodb")
        create = dict(TableName=table, BillingMode="PAY_PER_REQUEST",
                      AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                      KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        self.refused(lambda: ddb.create_table(**create), 400, "AccessDeniedException",
                     sentence("dynamodb:CreateTable", arn))
        self.assertNotIn(table, moto("dynamodb").list_tables()["TableNames"])
        other = json.dumps({"TableName": "other"}).encode()
        status, headers, body = proxy.http("POST", "/", other, {
            "X-Amz-Target": "DynamoDB_20120810.DescribeTable",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AK/20261207/us-east-1/dynamodb/"
                             "aws4_request, SignedHeaders=host, Signature=0"})
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body), {
            "__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
            "message": sentence("dynamodb:DescribeTable", arn.replace(table, "other"))})
        # Tags at creation take dynamodb:TagResource as well.
        proxy.set_policy(doc(allow("dynamodb:CreateTable", arn)))
        self.refused(lambda: ddb.create_table(**create, Tags=[{"Key": "A", "Value": "1"}]), 400,
                     "AccessDeniedException", sentence("dynamodb:TagResource", arn))
        ddb.create_table(**create)
        self.assertIn(table, moto("dynamodb").list_tables()["TableNames"])


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    return buf.getvalue()


class LambdaTest(Case):
    def role(self):
        trust = json.dumps(doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole"}))
        return moto("iam").create_role(RoleName=name("r"), AssumeRolePolicyDocument=trust)[
            "Role"]["Arn"]

    def create(self, lam, fn, role, **kw):
        return lam.create_function(FunctionName=fn, Runtime="provided.al2023", Role=role,
                                   Handler="bootstrap", Code={"ZipFile": zip_bytes()}, **kw)

    def test_create_function_takes_pass_role_to_lambda(self):
        role, fn = self.role(), name("f")
        fn_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn}"
        create = allow(["lambda:CreateFunction", "lambda:GetFunction"], fn_arn)
        proxy = self.start(doc(create))
        lam = proxy.client("lambda")
        self.refused(lambda: self.create(lam, fn, role), 403, "AccessDeniedException",
                     sentence("iam:PassRole", role))
        self.refused(lambda: lam.get_function(FunctionName=fn), 404,  # not created
                     "ResourceNotFoundException", f"Function not found: {fn_arn}")
        for service, ok in (("ec2.amazonaws.com", False), ("lambda.amazonaws.com", True)):
            proxy.set_policy(doc(create, allow("iam:PassRole", role, {
                "StringEquals": {"iam:PassedToService": service}})))
            if ok:
                self.create(lam, fn, role)
            else:
                self.refused(lambda: self.create(lam, fn, role), 403, "AccessDeniedException",
                             sentence("iam:PassRole", role))
        self.assertEqual(lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"], fn_arn)
        self.refused(lambda: lam.delete_function(FunctionName=fn), 403, "AccessDeniedException",
                     sentence("lambda:DeleteFunction", fn_arn))

    def test_get_function_without_kms_decrypt_or_list_tags(self):
        key = moto("kms").create_key()["KeyMetadata"]["Arn"]
        fn = name("f")
        fn_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn}"
        self.create(moto("lambda"), fn, self.role(), KMSKeyArn=key, Tags={"Env": "dev"},
                    Environment={"Variables": {"TABLE": "t"}})
        proxy = self.start(doc(allow("lambda:GetFunction", fn_arn)))
        got = proxy.client("lambda").get_function(FunctionName=fn)
        env = got["Configuration"]["Environment"]
        self.assertNotIn("Variables", env)
        self.assertEqual(env["Error"], {
            "ErrorCode": "AccessDeniedException",
            "Message": "Lambda was unable to decrypt the environment variables because KMS access "
                       "was denied. Please check the function's KMS key settings. KMS Exception: "
                       "AccessDeniedException KMS Message: " + sentence("kms:Decrypt", key)})
        self.assertNotIn("Tags", got)
        self.assertEqual(got["TagsError"]["ErrorCode"], "AccessDeniedException")
        proxy.set_policy(doc(allow(["lambda:GetFunction", "lambda:ListTags"], fn_arn),
                             allow("kms:Decrypt", key, {"StringEquals": {
                                 "kms:ViaService": "lambda.us-east-1.amazonaws.com"}})))
        got = proxy.client("lambda").get_function(FunctionName=fn)
        self.assertEqual(got["Configuration"]["Environment"], {"Variables": {"TABLE": "t"}})
        self.assertEqual(got["Tags"], {"Env": "dev"})
        self.refused(lambda: proxy.client("lambda").list_functions(), 403,
                     "AccessDeniedException", sentence("lambda:ListFunctions", "*"))


class IamTest(Case):
    def test_role_refusals(self):
        role = name("r")
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        proxy = self.start(doc(allow("iam:CreateRole", arn)))
        iam = proxy.client("iam")
        self.refused(lambda: iam.get_role(RoleName=role), 403, "AccessDenied",
                     sentence("iam:GetRole", f"role {role}"))
        create = dict(RoleName=role, AssumeRolePolicyDocument="{}")
        self.refused(lambda: iam.create_role(**create, Tags=[{"Key": "A", "Value": "1"}]), 403,
                     "AccessDenied", sentence("iam:TagRole", arn))
        self.refused(lambda: moto("iam").get_role(RoleName=role), 404, "NoSuchEntity",
                     f"Role {role} not found")
        iam.create_role(**create)
        status, _, body = proxy.query("iam", {"Action": "DeleteRole", "Version": "2010-05-08",
                                              "RoleName": role})
        self.assertEqual(status, 403)
        self.assertIn(b"<Type>Sender</Type><Code>AccessDenied</Code><Message>" +
                      sentence("iam:DeleteRole", f"role {role}").encode() + b"</Message>", body)


class LogsTest(Case):
    def test_log_group_actions_on_its_streams(self):
        group = "/aws/lambda/" + name("g")
        arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}"
        proxy = self.start(doc(allow("logs:CreateLogGroup", arn)))
        logs = proxy.client("logs")
        self.refused(lambda: logs.create_log_group(logGroupName=group), 400,
                     "AccessDeniedException", sentence("logs:CreateLogGroup", arn + ":log-stream:"))
        groups = moto("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        self.assertEqual(groups, [])
        proxy.set_policy(doc(allow("logs:CreateLogGroup", arn + ":*")))
        self.refused(lambda: logs.create_log_group(logGroupName=group, tags={"A": "1"}), 400,
                     "AccessDeniedException",
                     f"User with accountId: {ACCOUNT} is not authorized to perform CreateLogGroup "
                     'with Tags. An additional permission "logs:TagResource" is required.')
        logs.create_log_group(logGroupName=group)
        self.assertEqual(len(moto("logs").describe_log_groups(logGroupNamePrefix=group)[
            "logGroups"]), 1)


class CloudWatchTest(Case):
    def test_query_refusal_and_namespace_condition(self):
        alarm = name("a")
        proxy = self.start(doc(allow("cloudwatch:PutMetricData", "*", {
            "StringEquals": {"cloudwatch:namespace": "WebhookStack"}})))
        status, headers, body = proxy.query("monitoring", {
            "Action": "PutMetricAlarm", "Version": "2010-08-01", "AlarmName": alarm,
            "MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum",
            "Period": "60", "EvaluationPeriods": "1", "Threshold": "1",
            "ComparisonOperator": "GreaterThanThreshold"})
        arn = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{alarm}"
        self.assertEqual((status, headers["Content-Type"]), (403, "text/xml"))
        self.assertTrue(body.decode().startswith(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>"
            + sentence("cloudwatch:PutMetricAlarm", arn) + "</Message></Error>"), body)
        data = {"Action": "PutMetricData", "Version": "2010-08-01",
                "MetricData.member.1.MetricName": "Drift", "MetricData.member.1.Value": "1"}
        self.assertEqual(proxy.query("monitoring", {**data, "Namespace": "WebhookStack"})[0], 200)
        status, _, body = proxy.query("monitoring", {**data, "Namespace": "Other"})
        self.assertEqual(status, 403)
        self.assertIn(sentence("cloudwatch:PutMetricData", "*").encode(), body)
        self.assertEqual(proxy.stats()["forwarded"], 1)


class SqsTest(Case):
    def test_json_refusal_lower_case_action(self):
        queue = name("q")
        arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}"
        proxy = self.start(doc(allow("sqs:CreateQueue", arn)))
        sqs = proxy.client("sqs")
        self.refused(lambda: sqs.create_queue(QueueName=queue, tags={"A": "1"}), 403,
                     "AccessDenied", sentence("sqs:tagqueue", arn))
        self.assertNotIn("QueueUrls", moto("sqs").list_queues(QueueNamePrefix=queue))
        url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        self.refused(lambda: sqs.get_queue_attributes(QueueUrl=url), 403, "AccessDenied",
                     sentence("sqs:getqueueattributes", arn))


class S3Test(Case):
    def test_missing_key_is_403_without_list_bucket(self):
        b = name("b")
        moto("s3").create_bucket(Bucket=b)
        moto("s3").put_object(Bucket=b, Key="there", Body=b"x")
        get = allow("s3:GetObject", f"arn:aws:s3:::{b}/*")
        proxy = self.start(doc(get))
        s3 = proxy.client("s3")
        self.assertEqual(s3.get_object(Bucket=b, Key="there")["Body"].read(), b"x")
        msg = sentence("s3:ListBucket", f'"arn:aws:s3:::{b}"')
        self.refused(lambda: s3.get_object(Bucket=b, Key="missing"), 403, "AccessDenied", msg)
        self.refused(lambda: s3.head_object(Bucket=b, Key="missing"), 403, "403", "Forbidden")
        self.refused(lambda: s3.put_object(Bucket=b, Key="k", Body=b"1"), 403, "AccessDenied",
                     sentence("s3:PutObject", f'"arn:aws:s3:::{b}/k"'))
        self.assertEqual(proxy.stats()["denied"], {
            f"s3:ListBucket on arn:aws:s3:::{b}": 2, f"s3:PutObject on arn:aws:s3:::{b}/k": 1})
        proxy.set_policy(doc(get, allow("s3:ListBucket", f"arn:aws:s3:::{b}", {
            "StringLike": {"s3:prefix": "miss*"}})))
        self.refused(lambda: s3.get_object(Bucket=b, Key="missing"), 404, "NoSuchKey",
                     "The specified key does not exist.")
        self.refused(lambda: s3.head_object(Bucket=b, Key="missing"), 404, "404", "Not Found")
        self.refused(lambda: s3.get_object(Bucket=b, Key="other"), 403, "AccessDenied", msg)


class ControlTest(Case):
    def test_policy_endpoint_stats_and_log(self):
        proxy = self.start(doc())
        sts, s3 = proxy.client("sts"), proxy.client("s3")
        self.assertEqual(sts.get_caller_identity()["Account"], ACCOUNT)  # needs no permission
        self.refused(lambda: s3.list_buckets(), 403, "AccessDenied",
                     sentence("s3:ListAllMyBuckets", '"*"'))
        self.assertEqual(proxy.http("GET", "/moto-api/")[0], 200)  # never authorized
        other = f"arn:aws:iam::{ACCOUNT}:user/other"
        self.assertEqual(proxy.set_policy(doc(), other)[:1], (200,))
        with self.assertRaises(ClientError) as e:
            s3.list_buckets()
        self.assertIn(f"User: {other} is not", e.exception.response["Error"]["Message"])
        st = proxy.stats()
        self.assertEqual((st["denied_total"], st["denied"]), (2, {"s3:ListAllMyBuckets on *": 2}))
        self.assertEqual(st["config"]["authorization"], {"principal": other, "statements": 0})
        self.assertEqual(proxy.set_policy(None)[:1], (200,))
        s3.list_buckets()
        self.assertIsNone(proxy.stats()["config"]["authorization"])
        status, _, body = proxy.set_policy({"Statement": [{"Effect": "Perhaps"}]})
        self.assertEqual(status, 400)
        self.assertIn("Effect", json.loads(body)["error"])
        proxy.http("POST", "/__proxy/reset")
        st = proxy.stats()
        self.assertEqual((st["denied_total"], st["denied"]), (0, {}))
        with open(proxy.log) as f:
            outcomes = [json.loads(line)["outcome"] for line in f]
        self.assertEqual(outcomes, ["forwarded", "denied:s3:ListAllMyBuckets",
                                    "denied:s3:ListAllMyBuckets", "forwarded"])

    def test_refused_before_rules_and_faults(self):
        proxy = self.start(doc(allow("sts:*")), "--fault-rate", "1", "--faults", "500",
                           "--rule", "S3.ListBuckets:5:SlowDown:x")
        self.refused(lambda: proxy.client("s3").list_buckets(), 403, "AccessDenied",
                     sentence("s3:ListAllMyBuckets", '"*"'))
        st = proxy.stats()
        self.assertEqual((st["faults_total"], st["rules_fired"], st["forwarded"]), (0, {}, 0))
        self.assertEqual(st["rules_remaining"], {"S3.ListBuckets": 5})


BIN = os.environ.get("WEBHOOK_STACK_BIN") or os.path.join(ROOT, "target/debug/webhook-stack")


@unittest.skipUnless(os.access(BIN, os.X_OK), "target/debug/webhook-stack is not built")
class CliTest(Case):
    """The CLI itself, under the policy `webhook-stack permissions` prints."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.zip = os.path.join(self.tmp.name, "handler.zip")
        with zipfile.ZipFile(self.zip, "w") as z:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o100755 << 16
            z.writestr(info, "#!/bin/sh\n")

    def cli(self, suffix, *args, url=None):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "WEBHOOK_STACK_", "ENVIRONMENT_SUFFIX"))}
        env.update(AWS_ENDPOINT_URL=url or MOTO[1], AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1", NO_COLOR="1",
                   WEBHOOK_STACK_HANDLER_ZIP=self.zip)
        return subprocess.run([BIN, *args, "--suffix", suffix, "--state-dir",
                               os.path.join(self.tmp.name, "state")],
                              env=env, capture_output=True, text=True, timeout=900,
                              stdin=subprocess.DEVNULL)

    def policy(self, suffix):
        out = self.cli(suffix, "permissions", "--account", ACCOUNT, "--alarms=true",
                       "--dead-letter-queue=true")
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_apply_drift_destroy_under_the_printed_policy(self):
        suffix = "az" + uuid.uuid4().hex[:6]
        proxy = self.start(self.policy(suffix))
        for args in (("config", "set", "alarms", "true"),
                     ("config", "set", "dead_letter_queue", "true"), ("apply", "--yes"),
                     ("drift",), ("config", "set", "tags.Team", "pay"),
                     ("config", "set", "memory_size", "512"), ("apply", "--yes"),
                     ("destroy", "--yes")):
            out = self.cli(suffix, *args, url=proxy.url)
            self.assertEqual(out.returncode, 0, f"{args}: {out.stderr}")
        st = proxy.stats()
        self.assertEqual(st["denied"], {})
        self.assertGreater(st["per_operation"].get("Lambda.CreateFunction", 0), 0)

    def test_another_stacks_policy_is_refused(self):
        suffix = "az" + uuid.uuid4().hex[:6]
        proxy = self.start(self.policy("someone-else"))
        out = self.cli(suffix, "apply", "--yes", url=proxy.url)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(f"User: {P} is not authorized to perform: ", out.stderr)
        self.assertGreater(proxy.stats()["denied_total"], 0)
        self.assertNotIn(f"transactions-{suffix}", moto("dynamodb").list_tables()["TableNames"])
        self.assertEqual([f for f in moto("lambda").list_functions()["Functions"]
                          if f["FunctionName"].endswith(suffix)], [])


if __name__ == "__main__":
    unittest.main()
