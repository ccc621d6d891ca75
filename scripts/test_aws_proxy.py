#!/usr/bin/env python3
"""Self-test of scripts/aws_proxy.py against a real moto server, run by hand:

    .venv/bin/python scripts/test_aws_proxy.py [-v] [TestCase.test_name]

Starts one moto_server (from .venv/bin) on a free loopback port and, per test,
a proxy in front of it; drives them with boto3 (path-style S3, no retries)
and raw http.client. Everything started is stopped at the end.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import aws_proxy  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

MOTO = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened")


def setUpModule():
    global MOTO
    port = free_port()
    proc = subprocess.Popen([os.path.join(ROOT, ".venv/bin/moto_server"), "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    MOTO = (proc, f"http://127.0.0.1:{port}")
    wait_port(port)


def tearDownModule():
    proc = MOTO[0]
    proc.terminate()
    proc.wait(10)


class ProxyProcess:
    """aws_proxy.py with `args`, in front of `upstream` (this module's moto
    by default); test_aws_authz_e2e.py's proxies are these too."""

    def __init__(self, *args, upstream=None):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "aws_proxy.py"), "--upstream",
             upstream or MOTO[1], "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on "), line + self.proc.stderr.read()
        self.url = line.removeprefix("listening on ")
        self.port = int(self.url.rsplit(":", 1)[1])

    def http(self, method, path, body=b"", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def stats(self) -> dict:
        return json.loads(self.http("GET", "/__proxy/stats")[2])

    def client(self, service):
        return boto3.client(
            service, endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                          s3={"addressing_style": "path"}))

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


def bucket_name() -> str:
    return "b-" + uuid.uuid4().hex[:12]


class ClassifyTest(unittest.TestCase):
    """S3 operation names, without a server."""

    def op(self, method, path, headers=None):
        h = {"Authorization": "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/s3/aws4_request, "
                              "SignedHeaders=host, Signature=x"}
        h.update(headers or {})
        service, op, protocol = aws_proxy.classify(method, path, h, b"")
        self.assertEqual((service, protocol), ("S3", "rest-xml"))
        return op

    def test_names(self):
        cases = [
            ("PUT", "/b/k?x-id=PutObject", "PutObject"),
            ("GET", "/b/k?x-id=GetObject", "GetObject"),
            ("GET", "/b/k", "GetObject"),
            ("PUT", "/b/k", "PutObject"),
            ("DELETE", "/b/k", "DeleteObject"),
            ("HEAD", "/b/k", "HeadObject"),
            ("HEAD", "/b", "HeadBucket"),
            ("PUT", "/b", "CreateBucket"),
            ("DELETE", "/b", "DeleteBucket"),
            ("GET", "/b", "ListObjects"),
            ("GET", "/b?list-type=2&prefix=x%2F", "ListObjectsV2"),
            ("GET", "/b?versioning", "GetBucketVersioning"),
            ("PUT", "/b?versioning", "PutBucketVersioning"),
            ("GET", "/b?versions", "ListObjectVersions"),
            ("POST", "/b?delete", "DeleteObjects"),
            ("GET", "/b?tagging", "GetBucketTagging"),
            ("PUT", "/b/k?tagging", "PutObjectTagging"),
            ("GET", "/b?location", "GetBucketLocation"),
            ("POST", "/b/k?uploads", "CreateMultipartUpload"),
            ("PUT", "/b/k?partNumber=1&uploadId=u", "UploadPart"),
            ("GET", "/", "ListBuckets"),
        ]
        for method, path, want in cases:
            self.assertEqual(self.op(method, path), want, (method, path))
        self.assertEqual(self.op("PUT", "/b/k", {"x-amz-copy-source": "/b/j"}), "CopyObject")

    def test_unsigned_x_id_and_other_services(self):
        self.assertEqual(aws_proxy.classify("PUT", "/b/k?x-id=PutObject", {}, b"")[:2],
                         ("S3", "PutObject"))
        auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/monitoring/"
                                 "aws4_request, SignedHeaders=host, Signature=x",
                "Content-Type": "application/x-www-form-urlencoded"}
        self.assertEqual(aws_proxy.classify("POST", "/", auth, b"Action=PutMetricAlarm&Version=x"),
                         ("CloudWatch", "PutMetricAlarm", "query"))
        self.assertTrue(aws_proxy.is_read_operation("HeadObject"))

    def test_rule_status(self):
        r = aws_proxy.Rule("S3.PutObject:1:412/PreconditionFailed:no: really")
        self.assertEqual((r.status, r.code, r.message), (412, "PreconditionFailed", "no: really"))
        r = aws_proxy.Rule("IAM.CreateRole:2:MalformedPolicyDocument:x")
        self.assertEqual((r.status, r.code), (400, "MalformedPolicyDocument"))

    def test_rate_limiter(self):
        lim = aws_proxy.RateLimiter({"IAM": 5})
        got = [lim.take("IAM") for _ in range(8)]
        self.assertEqual(got, [True] * 5 + [False] * 3)
        self.assertTrue(lim.take("S3"))
        time.sleep(0.25)  # ~1.25 tokens
        self.assertEqual([lim.take("iam"), lim.take("IAM")], [True, False])


class S3Test(unittest.TestCase):
    def setUp(self):
        self.proxy = ProxyProcess("--max-seconds", "60")
        self.s3 = self.proxy.client("s3")

    def tearDown(self):
        self.proxy.close()

    def test_operations_and_head_length(self):
        b = bucket_name()
        self.s3.create_bucket(Bucket=b)
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        self.s3.put_object(Bucket=b, Key="stacks/a.json", Body=b"x" * 1234)
        head = self.s3.head_object(Bucket=b, Key="stacks/a.json")
        self.assertEqual(head["ContentLength"], 1234)
        auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/s3/"
                                 "aws4_request, SignedHeaders=host, Signature=x"}
        status, headers, body = self.proxy.http("HEAD", f"/{b}/stacks/a.json", headers=auth)
        self.assertEqual((status, headers.get("Content-Length"), body), (200, "1234", b""))
        self.assertEqual(self.s3.get_object(Bucket=b, Key="stacks/a.json")["Body"].read(),
                         b"x" * 1234)
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket=b, Prefix="stacks/")["Contents"]]
        self.assertEqual(keys, ["stacks/a.json"])
        self.s3.list_object_versions(Bucket=b)
        self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "stacks/a.json"}]})
        self.s3.head_bucket(Bucket=b)
        ops = self.proxy.stats()["per_operation"]
        for op in ("CreateBucket", "PutBucketVersioning", "GetBucketVersioning", "PutObject",
                   "HeadObject", "GetObject", "ListObjectsV2", "ListObjectVersions",
                   "DeleteObjects", "HeadBucket"):
            self.assertIn(f"S3.{op}", ops)


class S3ErrorTest(unittest.TestCase):
    def tearDown(self):
        self.proxy.close()

    def start(self, *args):
        self.proxy = ProxyProcess("--max-seconds", "60", *args)
        self.s3 = self.proxy.client("s3")

    def test_rule_with_status(self):
        self.start("--rule", "S3.PutObject:1:412/PreconditionFailed:At least one of the "
                             "pre-conditions you specified did not hold")
        b = bucket_name()
        self.s3.create_bucket(Bucket=b)
        with self.assertRaises(ClientError) as e:
            self.s3.put_object(Bucket=b, Key="k", Body=b"1", IfNoneMatch="*")
        err = e.exception.response
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 412)
        self.assertEqual(err["Error"]["Code"], "PreconditionFailed")
        self.s3.put_object(Bucket=b, Key="k", Body=b"1")  # the rule fired once
        status, headers, body = self.proxy.http("PUT", f"/{b}/k2?x-id=PutObject", b"z")
        self.assertEqual(status, 200)
        st = self.proxy.stats()
        self.assertEqual(st["rules_fired"], {"S3.PutObject": 1})
        self.assertIn("S3.PutObject:1:412/PreconditionFailed", st["config"]["rules"])

    def test_rule_xml_shape(self):
        self.start("--rule", "S3.DeleteObject:1:409/ConditionalRequestConflict:a <conflict>")
        status, headers, body = self.proxy.http("DELETE", "/b/k?x-id=DeleteObject")
        self.assertEqual(status, 409)
        self.assertEqual(headers["Content-Type"], "application/xml")
        self.assertRegex(body.decode(), r'^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error>'
                         r"<Code>ConditionalRequestConflict</Code><Message>a &lt;conflict&gt;"
                         r"</Message><RequestId>proxy-[0-9a-f]{16}</RequestId></Error>$")

    def fault(self, kind):
        self.start("--fault-rate", "1", "--faults", kind)
        with self.assertRaises(ClientError) as e:
            self.s3.list_buckets()
        r = e.exception.response
        return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]

    def test_fault_throttle(self):
        self.assertEqual(self.fault("throttle"), (503, "SlowDown"))

    def test_fault_500(self):
        self.assertEqual(self.fault("500"), (500, "InternalError"))

    def test_fault_503(self):
        self.assertEqual(self.fault("503"), (503, "ServiceUnavailable"))


class HoldTest(unittest.TestCase):
    def tearDown(self):
        self.proxy.close()

    def wait_held(self, n, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.proxy.stats()
            if st["held"] == n:
                return st
            time.sleep(0.02)
        self.fail(f"never {n} held: {st['held']}")

    def test_hold_and_release(self):
        self.proxy = ProxyProcess("--max-seconds", "60", "--rule", "S3.PutObject:2:HOLD:")
        s3 = self.proxy.client("s3")
        b = bucket_name()
        s3.create_bucket(Bucket=b)
        results = []
        threads = [threading.Thread(target=lambda k=k: results.append(
            s3.put_object(Bucket=b, Key=k, Body=b"v")["ResponseMetadata"]["HTTPStatusCode"]))
            for k in ("k1", "k2")]
        for t in threads:
            t.start()
        st = self.wait_held(2)
        self.assertEqual(st["held_total"], 2)
        # Not forwarded yet; other calls go through meanwhile.
        self.assertEqual(s3.list_objects_v2(Bucket=b)["KeyCount"], 0)
        self.assertEqual(json.loads(self.proxy.http("POST", "/__proxy/release")[2]), {"released": 2})
        for t in threads:
            t.join(10)
        self.assertEqual(results, [200, 200])
        self.assertEqual(s3.list_objects_v2(Bucket=b)["KeyCount"], 2)
        s3.put_object(Bucket=b, Key="k3", Body=b"v")  # no longer held
        st = self.proxy.stats()
        self.assertEqual((st["held"], st["held_total"], st["rules_remaining"]["S3.PutObject"]),
                         (0, 2, 0))

    def test_release_one_op(self):
        self.proxy = ProxyProcess("--max-seconds", "60", "--rule", "S3.PutObject:5:HOLD:",
                                  "--rule", "S3.CreateBucket:5:HOLD:")
        s3 = self.proxy.client("s3")
        t = threading.Thread(target=lambda: s3.create_bucket(Bucket=bucket_name()))
        t.start()
        self.wait_held(1)
        self.assertEqual(json.loads(self.proxy.http("POST", "/__proxy/release?op=S3.PutObject")[2]),
                         {"released": 0})
        self.assertEqual(self.proxy.stats()["held"], 1)
        self.assertEqual(json.loads(
            self.proxy.http("POST", "/__proxy/release?op=S3.CreateBucket")[2]), {"released": 1})
        t.join(10)
        self.assertFalse(t.is_alive())

    def test_released_at_shutdown(self):
        self.proxy = ProxyProcess("--max-seconds", "2", "--rule", "S3.CreateBucket:1:HOLD:")
        s3 = self.proxy.client("s3")
        t0 = time.monotonic()
        b = bucket_name()
        s3.create_bucket(Bucket=b)  # held until the proxy stops, then forwarded
        self.assertLess(time.monotonic() - t0, 6)
        self.assertEqual(self.proxy.proc.wait(10), 0)
        self.assertIn("(max-seconds)", self.proxy.proc.stderr.read())


class RateLimitTest(unittest.TestCase):
    def tearDown(self):
        self.proxy.close()

    def test_iam_burst(self):
        self.proxy = ProxyProcess("--max-seconds", "60", "--rate-limit", "IAM=5",
                                  "--rate-limit", "s3=1000", "--fault-rate", "0")
        iam = self.proxy.client("iam")
        codes = []
        for _ in range(12):
            try:
                iam.list_roles()
                codes.append("ok")
            except ClientError as e:
                r = e.response
                codes.append((r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]))
        self.assertEqual(codes.count("ok"), 5, codes)  # the burst; 12 calls take < 0.2 s
        self.assertEqual(set(codes) - {"ok"}, {(400, "Throttling")})
        time.sleep(1.0)
        iam.list_roles()  # refilled
        self.proxy.client("s3").list_buckets()
        st = self.proxy.stats()
        self.assertEqual(st["rate_limited"], {"IAM": 7})
        self.assertEqual(st["rate_limited_total"], 7)
        self.assertEqual(st["config"]["rate_limits"], {"IAM": 5.0, "s3": 1000.0})
        self.assertEqual(st["forwarded"], 7)

    def test_concurrent(self):
        self.proxy = ProxyProcess("--max-seconds", "60", "--rate-limit", "STS=10")
        sts = self.proxy.client("sts")
        lock = threading.Lock()
        ok = []

        def call():
            try:
                sts.get_caller_identity()
                with lock:
                    ok.append(1)
            except ClientError as e:
                assert e.response["Error"]["Code"] == "Throttling"

        threads = [threading.Thread(target=call) for _ in range(30)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        elapsed = time.monotonic() - t0
        st = self.proxy.stats()
        self.assertEqual(len(ok) + st["rate_limited"].get("STS", 0), 30)
        self.assertLessEqual(len(ok), 10 + 10 * elapsed + 1)


class ExistingBehaviourTest(unittest.TestCase):
    def tearDown(self):
        self.proxy.close()

    def test_query_rule_and_lambda_throttle(self):
        self.proxy = ProxyProcess("--max-seconds", "60",
                                  "--rule", "IAM.GetRole:1:NoSuchEntity:not yet")
        iam = self.proxy.client("iam")
        with self.assertRaises(ClientError) as e:
            iam.get_role(RoleName="r")
        r = e.exception.response
        self.assertEqual((r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]),
                         (400, "NoSuchEntity"))
        self.proxy.close()
        self.proxy = ProxyProcess("--max-seconds", "60", "--fault-rate", "1", "--faults", "throttle")
        with self.assertRaises(ClientError) as e:
            self.proxy.client("lambda").list_functions()
        r = e.exception.response
        self.assertEqual((r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]),
                         (429, "TooManyRequestsException"))
        st = self.proxy.stats()
        for k in ("requests", "forwarded", "faults", "faults_total", "rules_fired",
                  "rules_remaining", "per_operation", "per_operation_faults", "upstream_status",
                  "upstream_errors", "cache_hits", "held", "held_total", "rate_limited",
                  "rate_limited_total"):
            self.assertIn(k, st)

    def test_cache_reads_head(self):
        self.proxy = ProxyProcess("--max-seconds", "60", "--cache-reads")
        s3 = self.proxy.client("s3")
        b = bucket_name()
        s3.create_bucket(Bucket=b)
        s3.put_object(Bucket=b, Key="k", Body=b"abc")
        for _ in range(3):
            self.assertEqual(s3.head_object(Bucket=b, Key="k")["ContentLength"], 3)
        self.assertEqual(self.proxy.stats()["cache_hits"], 2)


if __name__ == "__main__":
    unittest.main()
