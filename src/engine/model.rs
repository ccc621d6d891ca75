//! The engine's vocabulary: resource kinds, declared resources and property maps.
//! Plain data, no AWS types.

use super::expr::Expr;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Properties of one resource, by name, in their normalised form.
pub type Props = BTreeMap<String, Value>;

/// Resource types the providers know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "aws:kms/key")]
    KmsKey,
    #[serde(rename = "aws:kms/alias")]
    KmsAlias,
    #[serde(rename = "aws:logs/logGroup")]
    LogGroup,
    #[serde(rename = "aws:dynamodb/table")]
    Table,
    #[serde(rename = "aws:iam/role")]
    Role,
    #[serde(rename = "aws:lambda/function")]
    Function,
}

impl Kind {
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::KmsKey => "aws:kms/key",
            Kind::KmsAlias => "aws:kms/alias",
            Kind::LogGroup => "aws:logs/logGroup",
            Kind::Table => "aws:dynamodb/table",
            Kind::Role => "aws:iam/role",
            Kind::Function => "aws:lambda/function",
        }
    }

    /// Kinds whose deletion loses data or keys (the table's items, what the
    /// key encrypted): outside `destroy`, apply replaces or deletes them only
    /// when named in `--replace` (Terraform's `prevent_destroy`, on by
    /// default for stateful resources).
    pub fn holds_data(self) -> bool {
        matches!(self, Kind::KmsKey | Kind::Table)
    }

    /// Properties that AWS cannot change in place: a change to any of them
    /// replaces the resource (delete, then create).
    pub fn replace_keys(self) -> &'static [&'static str] {
        match self {
            Kind::KmsKey => &["key_spec", "key_usage"],
            Kind::KmsAlias => &["name"],
            Kind::LogGroup => &["name"],
            Kind::Table => &["name", "partition_key", "sort_key"],
            Kind::Role => &["name"],
            Kind::Function => &["name"],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.type_name())
    }
}

/// One resource as the program declares it.
#[derive(Debug, Clone)]
pub struct Declared {
    /// Logical name, unique in the program and stable across runs.
    pub key: &'static str,
    pub kind: Kind,
    pub props: BTreeMap<&'static str, Expr>,
    /// Dependencies that no property refers to (e.g. a function on the log
    /// group it writes to).
    pub depends_on: Vec<&'static str>,
}

impl Declared {
    /// Resources this one refers to through its properties: its dependencies.
    pub fn dependencies(&self) -> Vec<&'static str> {
        let mut deps = self.depends_on.clone();
        for e in self.props.values() {
            e.references(&mut deps);
        }
        deps
    }
}

/// What a provider reports for a live resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// Physical id (KMS key id, or the resource's name).
    pub id: String,
    pub props: Props,
    pub outputs: BTreeMap<String, String>,
}
