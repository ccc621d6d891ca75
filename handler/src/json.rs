//! A JSON object read one level deep: each member's value stays raw text.
//!
//! Keeping values raw is what lets the amount reach DynamoDB as the sender's digits, and
//! lets each field report its own type error instead of one opaque serde message.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The members of a JSON object, in order, values unparsed.
#[derive(Debug)]
pub struct JsonObject<'a> {
    members: Vec<(String, &'a RawValue)>,
    /// Keys that appear more than once. RFC 8259 leaves duplicates undefined and parsers
    /// disagree on which copy wins, so a payment event with one is refused, not guessed at.
    duplicates: Vec<String>,
}

/// Why a text is not a readable JSON object.
#[derive(Debug)]
pub enum ObjectError {
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Not valid JSON: the position only, never the text (it could echo the payload).
    Syntax { line: usize, column: usize },
}

impl<'a> JsonObject<'a> {
    pub fn parse(text: &'a str) -> Result<JsonObject<'a>, ObjectError> {
        if !text.trim_start().starts_with('{') {
            return match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => Err(ObjectError::NotAnObject),
                Err(e) => Err(ObjectError::Syntax {
                    line: e.line(),
                    column: e.column(),
                }),
            };
        }
        serde_json::from_str(text).map_err(|e| ObjectError::Syntax {
            line: e.line(),
            column: e.column(),
        })
    }

    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn duplicates(&self) -> &[String] {
        &self.duplicates
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonObject<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = JsonObject<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut members: Vec<(String, &'de RawValue)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    members.push((key, map.next_value()?));
                }
                // Sort a list of the keys rather than compare each pair: a 64 KiB object can
                // hold thousands of members.
                let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
                keys.sort_unstable();
                let mut duplicates: Vec<String> = keys
                    .windows(2)
                    .filter(|w| w[0] == w[1])
                    .map(|w| w[0].to_owned())
                    .collect();
                duplicates.dedup();
                Ok(JsonObject {
                    members,
                    duplicates,
                })
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// The JSON type of a raw value, for error messages ("must be a string, not a number").
pub fn type_name(value: &RawValue) -> &'static str {
    match value.get().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_values_raw_and_finds_duplicates() {
        let object = JsonObject::parse(r#"{"a": 0.10, "b": {"c": [1]}, "a": 2}"#).unwrap();
        assert_eq!(object.get("a").unwrap().get(), "0.10");
        assert_eq!(object.get("b").unwrap().get(), r#"{"c": [1]}"#);
        assert_eq!(object.duplicates(), ["a"]);
        // Escaped keys are compared after unescaping.
        let object = JsonObject::parse(r#"{"a": 1, "\u0061": 2, "a": 3, "b": 4}"#).unwrap();
        assert_eq!(object.duplicates(), ["a"]);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            JsonObject::parse("[1]"),
            Err(ObjectError::NotAnObject)
        ));
        assert!(matches!(
            JsonObject::parse("\"x\""),
            Err(ObjectError::NotAnObject)
        ));
        assert!(matches!(
            JsonObject::parse("{\"a\":"),
            Err(ObjectError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            JsonObject::parse("nope"),
            Err(ObjectError::Syntax { .. })
        ));
    }
}
