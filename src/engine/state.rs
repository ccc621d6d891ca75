//! The state's data: what was last applied, per resource, and the
//! creations in flight. Plain data owned by the engine; `crate::state`
//! only loads, saves and locks it.

use super::model::{Kind, Props};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The only state format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    #[serde(rename = "type")]
    pub kind: Kind,
    /// Physical id: the KMS key id, or the resource's name.
    pub id: String,
    /// Properties as last applied (normalised).
    pub properties: Props,
    pub outputs: BTreeMap<String, String>,
    pub dependencies: Vec<String>,
    /// The state serial that last wrote this resource.
    #[serde(default)]
    pub serial: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// Identifies this stack's history; a state file from another history is
    /// never mistaken for an older version of this one.
    pub lineage: String,
    /// Rises by one on every write.
    pub serial: u64,
    pub suffix: String,
    pub region: String,
    pub account: String,
    pub resources: BTreeMap<String, ResourceState>,
    /// Creations started and not yet recorded. A run killed between asking
    /// AWS to create a resource and saving its id leaves its entry here, and
    /// the next run looks for what it may have created before creating again
    /// (a KMS key has no name to find it by).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pending: BTreeMap<String, Pending>,
    /// Stack settings, saved with the state so that every machine
    /// plans with the same values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub started: String,
    /// Marks what this creation made: a KMS key carries it as a tag, so
    /// that a later run tells the key a killed run (or a lost answer) made
    /// from anyone else's. Absent in states written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A creation that was pending when a run began, as providers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Creation {
    /// When it began (an unreadable time counts as now, so that no older
    /// resource is ever taken for something it made).
    pub since: chrono::DateTime<chrono::Utc>,
    pub token: Option<String>,
}

impl Pending {
    pub fn creation(&self) -> Creation {
        Creation {
            since: chrono::DateTime::parse_from_rfc3339(&self.started)
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or_else(|_| crate::ambient::now()),
            token: self.token.clone(),
        }
    }
}

impl State {
    /// Forgets what is settled: a recorded resource that the program no
    /// longer declares and that no longer exists (nothing is left to
    /// delete, and `drift` would report it deleted on every run). Pending
    /// creations stay: only an apply's step settles one, through the
    /// resource's provider, which cleans up what the creation may have left
    /// (a KMS key it made before its run died). Returns whether anything
    /// was forgotten.
    pub fn forget_settled(&mut self, declared: &[&str], exists: impl Fn(&str) -> bool) -> bool {
        let before = self.resources.len();
        self.resources
            .retain(|k, _| declared.contains(&k.as_str()) || exists(k));
        before != self.resources.len()
    }

    pub fn new(suffix: &str, region: &str, account: &str) -> Self {
        State {
            version: FORMAT_VERSION,
            lineage: crate::ambient::uuid().to_string(),
            serial: 0,
            suffix: suffix.into(),
            region: region.into(),
            account: account.into(),
            resources: BTreeMap::new(),
            pending: BTreeMap::new(),
            settings: BTreeMap::new(),
        }
    }
}
