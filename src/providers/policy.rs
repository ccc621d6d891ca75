//! IAM and KMS policy documents: a canonical form for comparing, and back.
//!
//! AWS echoes documents URL-encoded, reordered, with single values unwrapped
//! from one-element lists and account ids in place of root ARNs. The
//! canonical form erases every such difference, and nothing else: an added
//! action, resource, principal, condition or statement still shows.
//! Statements are keyed by `Sid` (or, for statements without one, by a hash of
//! their content), so a plan can say which statement changed.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Keys whose value may be a string or a list of strings, order irrelevant.
const SET_KEYS: [&str; 4] = ["Action", "NotAction", "Resource", "NotResource"];

/// Decodes a document as IAM returns it (URL-encoded JSON) or as given.
pub fn parse_document(raw: &str) -> Result<Value, String> {
    let decoded = if raw.trim_start().starts_with('{') {
        raw.to_owned()
    } else {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|e| format!("policy is not UTF-8 after URL-decoding: {e}"))?
            .into_owned()
    };
    serde_json::from_str(&decoded).map_err(|e| format!("policy is not JSON: {e}"))
}

/// Canonical form of a policy document. A value that is not a document (for
/// example the `(known after apply)` marker) is returned as it is.
pub fn canonical(doc: &Value) -> Value {
    let Some(obj) = doc.as_object() else {
        return doc.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        if k != "Statement" {
            out.insert(k.clone(), v.clone());
        }
    }
    let statements: Vec<&Value> = match obj.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        // Already canonical (statements keyed by Sid): a statement itself
        // always has an `Effect`.
        Some(Value::Object(m)) if !m.contains_key("Effect") && m.values().all(Value::is_object) => {
            m.values().collect()
        }
        Some(single) => vec![single],
        None => vec![],
    };
    let mut keyed = Map::new();
    for s in statements {
        let c = canonical_statement(s);
        let key = match c.get("Sid").and_then(Value::as_str) {
            Some(sid) if !sid.is_empty() && !keyed.contains_key(sid) => sid.to_owned(),
            _ => content_key(&c),
        };
        keyed.insert(key, c);
    }
    out.insert("Statement".into(), Value::Object(keyed));
    Value::Object(out)
}

/// The document to send to AWS, from its canonical form.
pub fn to_document(canonical: &Value) -> String {
    let mut doc = canonical.clone();
    if let Some(Value::Object(statements)) = doc.get("Statement").cloned() {
        let list: Vec<Value> = statements.into_values().collect();
        doc["Statement"] = Value::Array(list);
    }
    doc.to_string()
}

fn content_key(statement: &Value) -> String {
    let digest = Sha256::digest(sorted_json(statement).as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("statement-{hex}")
}

/// JSON text with object keys sorted at every level, whatever order the map
/// keeps them in (serde_json keeps insertion order when a dependency enables
/// its `preserve_order` feature): the same statement always hashes the same.
fn sorted_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), sorted_json(&m[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(sorted_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn canonical_statement(s: &Value) -> Value {
    let Some(obj) = s.as_object() else {
        return s.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let v = match k.as_str() {
            k if SET_KEYS.contains(&k) => string_set(v),
            "Principal" | "NotPrincipal" => principal(v),
            "Condition" => condition(v),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// A string or list of strings as a sorted, de-duplicated list.
fn string_set(v: &Value) -> Value {
    let mut items: Vec<Value> = match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    items.sort_by_key(sorted_json);
    items.dedup();
    Value::Array(items)
}

fn principal(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(kind, ids)| {
                    let ids = string_set(ids);
                    let ids = if kind == "AWS" {
                        let mut v: Vec<Value> =
                            ids.as_array().into_iter().flatten().map(root_arn).collect();
                        v.sort_by_key(|x| x.to_string());
                        v.dedup();
                        Value::Array(v)
                    } else {
                        ids
                    };
                    (kind.clone(), ids)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// AWS accepts `"123456789012"` for `"arn:aws:iam::123456789012:root"` and
/// may echo either.
fn root_arn(v: &Value) -> Value {
    match v.as_str() {
        Some(s) if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Value::String(format!("arn:aws:iam::{s}:root"))
        }
        _ => v.clone(),
    }
}

fn condition(v: &Value) -> Value {
    match v {
        Value::Object(ops) => Value::Object(
            ops.iter()
                .map(|(op, keys)| {
                    let keys = match keys {
                        Value::Object(k) => Value::Object(
                            k.iter()
                                .map(|(name, vals)| (name.clone(), string_set(vals)))
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    (op.clone(), keys)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                 "Action": "kms:*", "Resource": "*"},
                {"Sid": "B", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                 "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
            ]
        })
    }

    #[test]
    fn equivalent_forms_are_equal() {
        let reordered = json!({
            "Statement": [
                {"Resource": ["*"], "Condition": {"StringEquals": {"aws:SourceAccount": ["123456789012"]}},
                 "Action": ["kms:GenerateDataKey*", "kms:Decrypt", "kms:Decrypt"], "Sid": "B",
                 "Principal": {"Service": ["lambda.amazonaws.com"]}, "Effect": "Allow"},
                {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": ["123456789012"]},
                 "Action": ["kms:*"], "Resource": "*"}
            ],
            "Version": "2012-10-17"
        });
        assert_eq!(canonical(&doc()), canonical(&reordered));
        let encoded: String = percent_encoding::utf8_percent_encode(
            &reordered.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        assert_eq!(
            canonical(&parse_document(&encoded).unwrap()),
            canonical(&doc())
        );
    }

    #[test]
    fn real_differences_remain() {
        let base = canonical(&doc());
        let mut more_actions = doc();
        more_actions["Statement"][1]["Action"] =
            json!(["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt"]);
        let mut other_principal = doc();
        other_principal["Statement"][0]["Principal"] =
            json!({"AWS": "arn:aws:iam::999999999999:root"});
        let mut extra = doc();
        extra["Statement"]
            .as_array_mut()
            .unwrap()
            .push(json!({"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}));
        let mut no_condition = doc();
        no_condition["Statement"][1]
            .as_object_mut()
            .unwrap()
            .remove("Condition");
        for changed in [more_actions, other_principal, extra, no_condition] {
            assert_ne!(canonical(&changed), base);
        }
    }

    #[test]
    fn a_sidless_statement_keys_the_same_in_any_field_order() {
        let a: Value = serde_json::from_str(
            r#"{"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{"Statement": [{"Action": ["sts:AssumeRole"], "Principal": {"Service": ["lambda.amazonaws.com"]}, "Effect": "Allow"}]}"#,
        )
        .unwrap();
        let keys = |v: &Value| -> Vec<String> {
            canonical(v)["Statement"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(keys(&a), keys(&b));
        assert_eq!(
            sorted_json(&json!({"b": 1, "a": [{"d": 2, "c": 3}]})),
            r#"{"a":[{"c":3,"d":2}],"b":1}"#
        );
    }

    #[test]
    fn round_trips_through_the_document_form() {
        let c = canonical(&doc());
        let back = canonical(&serde_json::from_str(&to_document(&c)).unwrap());
        assert_eq!(back, c);
        assert_eq!(canonical(&c), c, "canonical is idempotent");
        assert!(c["Statement"]["A"].is_object());
        let sidless = canonical(&json!({"Statement": {"Effect": "Allow", "Action": "s3:*"}}));
        let key = sidless["Statement"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        assert!(key.starts_with("statement-"), "{key}");
    }
}
