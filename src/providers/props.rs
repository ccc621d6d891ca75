//! Reading typed values out of property maps, and tag maps.

use super::aws::errors::AwsError;
use crate::engine::model::Props;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub fn str_prop<'a>(p: &'a Props, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
}

pub fn bool_prop(p: &Props, key: &str) -> Option<bool> {
    p.get(key).and_then(Value::as_bool)
}

pub fn int_prop(p: &Props, key: &str) -> Option<i32> {
    p.get(key)
        .and_then(Value::as_i64)
        .and_then(|v| i32::try_from(v).ok())
}

/// A string → string map property (tags, environment variables).
pub fn map_prop(p: &Props, key: &str) -> BTreeMap<String, String> {
    p.get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a property differs between what is wanted and what is there.
pub fn changed(desired: &Props, current: &Props, key: &str) -> bool {
    desired.get(key) != current.get(key)
}

/// Tags as a JSON object, without the `aws:` tags that AWS adds and owns.
pub fn tags_value<I, K, V>(tags: I) -> Value
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let m: Map<String, Value> = tags
        .into_iter()
        .map(|(k, v)| (k.into(), Value::String(v.into())))
        .filter(|(k, _)| !k.starts_with("aws:"))
        .collect();
    Value::Object(m)
}

/// Removes `aws:` tags from a tags property, wherever it came from.
pub fn normalize_tags(props: &mut Props) {
    if let Some(Value::Object(m)) = props.get_mut("tags") {
        m.retain(|k, _| !k.starts_with("aws:"));
    }
}

/// What to untag and what to (re)tag to go from `current` to `desired` tags.
pub struct TagChanges {
    pub remove: Vec<String>,
    pub set: BTreeMap<String, String>,
}

impl TagChanges {
    /// Untags, then tags, calling each only when there is something to do.
    pub async fn apply<U, UF, T, TF>(self, untag: U, tag: T) -> Result<(), AwsError>
    where
        U: FnOnce(Vec<String>) -> UF,
        UF: std::future::Future<Output = Result<(), AwsError>>,
        T: FnOnce(BTreeMap<String, String>) -> TF,
        TF: std::future::Future<Output = Result<(), AwsError>>,
    {
        if !self.remove.is_empty() {
            untag(self.remove).await?;
        }
        if !self.set.is_empty() {
            tag(self.set).await?;
        }
        Ok(())
    }

    pub fn between(desired: &Props, current: &Props) -> Self {
        let want = map_prop(desired, "tags");
        let have = map_prop(current, "tags");
        TagChanges {
            remove: have
                .keys()
                .filter(|k| !want.contains_key(*k))
                .cloned()
                .collect(),
            set: want
                .into_iter()
                .filter(|(k, v)| have.get(k) != Some(v))
                .collect(),
        }
    }
}
