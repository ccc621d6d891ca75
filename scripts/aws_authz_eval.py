"""IAM's evaluation of identity-based policies, for scripts/aws_authz.py.
Python 3.11 standard library only.

    policies = load_policies(DOC_OR_LIST)      # raises PolicyError
    decide(policies, "kms:DescribeKey", "arn:aws:kms:...:key/K", context)
        -> ALLOW | EXPLICIT_DENY | IMPLICIT_DENY

A request is denied if any statement with Effect Deny matches it (explicit
deny), else allowed if any Allow statement matches, else denied (implicit
deny). A statement matches when its Action/NotAction, Resource/NotResource
and every condition match.

  * Action: `service:Name`, `*` and `?` wildcards, without regard to case.
  * Resource: an ARN pattern with `*` and `?` (case-sensitive); `*` may span
    `:` and `/` (`log-group:NAME:*` matches `log-group:NAME:log-stream:`).
  * Condition: operators are ANDed, the keys of one operator are ANDed, the
    values of one key are ORed. Operators: String(Not)Equals,
    String(Not)EqualsIgnoreCase, String(Not)Like, Arn(Not)Equals,
    Arn(Not)Like, Numeric(Not)Equals, NumericLessThan(Equals),
    NumericGreaterThan(Equals), Bool, Null; each but Null may carry the
    `ForAnyValue:` or `ForAllValues:` prefix and the `IfExists` suffix.
    Condition key names are compared without case (`aws:RequestTag/Env` is
    `aws:requesttag/env`); values as each operator says.
  * A key absent from the request: the operator is false, except that a
    negated operator (StringNotEquals, StringNotLike, ArnNotLike...) is then
    true, as AWS documents it; `...IfExists` is true; `Null: true` is true;
    `ForAllValues:` is true (an empty set), `ForAnyValue:` false.
  * Multivalued keys (aws:TagKeys, kms:ResourceAliases...) are matched only
    through `ForAnyValue:`/`ForAllValues:`; a plain operator on one is false.
  * Policy variables (`${aws:username}`) are not expanded.

The context is a `Context`: a key's values (a list of strings) or None when
the request lacks it; its values may be fetched lazily (see Context).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

ALLOW = "allow"
EXPLICIT_DENY = "explicit_deny"
IMPLICIT_DENY = "implicit_deny"

# Keys whose values are a set: a plain (single-valued) operator never matches.
MULTIVALUED_KEYS = {"aws:tagkeys", "kms:resourcealiases", "kms:encryptioncontextkeys",
                    "kms:grantoperations", "aws:calledvia"}

_BASE_OPERATORS = {
    "stringequals", "stringnotequals", "stringequalsignorecase", "stringnotequalsignorecase",
    "stringlike", "stringnotlike", "arnequals", "arnnotequals", "arnlike", "arnnotlike",
    "numericequals", "numericnotequals", "numericlessthan", "numericlessthanequals",
    "numericgreaterthan", "numericgreaterthanequals", "bool", "null",
}
_NEGATED = {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals",
            "arnnotlike", "numericnotequals"}


class PolicyError(ValueError):
    """A policy document this evaluator cannot take."""


class Context:
    """The request's condition keys. `values` maps a key (any case) to a
    string or a list of strings; `lazy` is a list of (prefix, loader): a key
    starting with `prefix` (lower case) that `values` lacks is answered by
    `loader(key_lower)`, called when a condition first asks for it (e.g.
    aws:ResourceTag/*, fetched from the emulator only if a policy reads it)."""

    def __init__(self, values=None, lazy=None):
        self.values = {}
        for k, v in (values or {}).items():
            self.set(k, v)
        self.lazy = list(lazy or [])

    def set(self, key, value):
        if value is None:
            return
        self.values[key.lower()] = [value] if isinstance(value, str) else [str(x) for x in value]

    def get(self, key: str):
        k = key.lower()
        if k in self.values:
            return self.values[k]
        for prefix, loader in self.lazy:
            if k.startswith(prefix):
                got = loader(k)
                got = None if got is None else ([got] if isinstance(got, str) else list(got))
                self.values[k] = got
                return got
        return None


def _as_list(x) -> list:
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def _value_str(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def load_policies(doc) -> list[dict]:
    """Statements of one policy document or a list of them (a JSON string
    or parsed JSON), normalised. None or [] gives no statement."""
    if isinstance(doc, (str, bytes)):
        try:
            doc = json.loads(doc)
        except ValueError as e:
            raise PolicyError(f"not JSON: {e}") from None
    docs = doc if isinstance(doc, list) else ([] if doc is None else [doc])
    out = []
    for d in docs:
        if not isinstance(d, dict) or "Statement" not in d:
            raise PolicyError("a policy document is an object with a Statement")
        for i, s in enumerate(_as_list(d["Statement"])):
            out.append(_statement(s, i))
    return out


def _statement(s, i) -> dict:
    where = f"statement {s.get('Sid') or i}" if isinstance(s, dict) else f"statement {i}"
    if not isinstance(s, dict):
        raise PolicyError(f"{where}: not an object")
    effect = s.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be Allow or Deny, not {effect!r}")
    if ("Action" in s) == ("NotAction" in s):
        raise PolicyError(f"{where}: exactly one of Action and NotAction")
    if ("Resource" in s) == ("NotResource" in s):
        raise PolicyError(f"{where}: exactly one of Resource and NotResource")
    cond = s.get("Condition") or {}
    if not isinstance(cond, dict):
        raise PolicyError(f"{where}: Condition must be an object")
    conditions = []
    for op, keys in cond.items():
        parsed = _parse_operator(op)
        if parsed is None:
            raise PolicyError(f"{where}: unsupported condition operator {op!r}")
        if not isinstance(keys, dict):
            raise PolicyError(f"{where}: {op} must map condition keys to values")
        for key, values in keys.items():
            conditions.append((parsed, key, [_value_str(v) for v in _as_list(values)]))
    return {
        "sid": s.get("Sid"),
        "effect": effect,
        "actions": [str(a) for a in _as_list(s.get("Action", s.get("NotAction")))],
        "not_action": "NotAction" in s,
        "resources": [str(r) for r in _as_list(s.get("Resource", s.get("NotResource")))],
        "not_resource": "NotResource" in s,
        "conditions": conditions,
    }


def _parse_operator(op: str):
    """(qualifier, base, if_exists) of `ForAnyValue:StringLikeIfExists`, or
    None when unknown."""
    qualifier, _, base = op.rpartition(":")
    qualifier = qualifier.lower()
    if qualifier not in ("", "foranyvalue", "forallvalues"):
        return None
    base = base.lower()
    if_exists = base.endswith("ifexists") and base != "null"
    if if_exists:
        base = base[: -len("ifexists")]
    if base not in _BASE_OPERATORS:
        return None
    return qualifier, base, if_exists


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool):
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rx, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def _arn_match(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: the six colon-separated parts, each with wildcards."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return False
    return all(wildcard_match(a, b) for a, b in zip(p, v))


def _number(s):
    try:
        return float(s)
    except ValueError:
        return None


def _one(base: str, policy_value: str, value: str) -> bool:
    """Whether one request value matches one policy value (the positive
    sense of a negated operator)."""
    if base in ("stringequals", "stringnotequals"):
        return value == policy_value
    if base in ("stringequalsignorecase", "stringnotequalsignorecase"):
        return value.casefold() == policy_value.casefold()
    if base in ("stringlike", "stringnotlike"):
        return wildcard_match(policy_value, value)
    if base in ("arnequals", "arnnotequals", "arnlike", "arnnotlike"):
        return _arn_match(policy_value, value)
    if base == "bool":
        return value.lower() == policy_value.lower()
    a, b = _number(value), _number(policy_value)
    if a is None or b is None:
        return False
    return {
        "numericequals": a == b, "numericnotequals": a == b,
        "numericlessthan": a < b, "numericlessthanequals": a <= b,
        "numericgreaterthan": a > b, "numericgreaterthanequals": a >= b,
    }[base]


def _value_matches(base: str, policy_values: list[str], value: str) -> bool:
    """One request value against the key's policy values (ORed), negation
    applied."""
    hit = any(_one(base, pv, value) for pv in policy_values)
    return not hit if base in _NEGATED else hit


def condition_matches(parsed, key: str, policy_values: list[str], ctx: Context) -> bool:
    qualifier, base, if_exists = parsed
    values = ctx.get(key)
    if base == "null":
        want_missing = any(v.lower() == "true" for v in policy_values)
        return (values is None or values == []) == want_missing
    if values is None:
        if if_exists:
            return True
        if qualifier == "forallvalues":
            return True
        if qualifier == "foranyvalue":
            return False
        return base in _NEGATED
    if qualifier == "foranyvalue":
        return any(_value_matches(base, policy_values, v) for v in values)
    if qualifier == "forallvalues":
        return all(_value_matches(base, policy_values, v) for v in values)
    if key.lower() in MULTIVALUED_KEYS or len(values) != 1:
        return False
    return _value_matches(base, policy_values, values[0])


def statement_matches(s: dict, action: str, resource: str, ctx: Context) -> bool:
    hit = any(wildcard_match(a, action, ignore_case=True) for a in s["actions"])
    if hit == s["not_action"]:
        return False
    hit = any(wildcard_match(r, resource) for r in s["resources"])
    if hit == s["not_resource"]:
        return False
    return all(condition_matches(p, k, v, ctx) for p, k, v in s["conditions"])


def decide(statements: list[dict], action: str, resource: str, ctx: Context) -> str:
    allowed = False
    for s in statements:
        if s["effect"] == "Deny":
            if statement_matches(s, action, resource, ctx):
                return EXPLICIT_DENY
        elif not allowed and statement_matches(s, action, resource, ctx):
            allowed = True
    # Denies are all looked at before an allow counts.
    return ALLOW if allowed else IMPLICIT_DENY
