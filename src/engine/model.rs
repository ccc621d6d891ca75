//! The engine's vocabulary: resource type tokens, declared resources and property maps.
//! Plain data, no AWS types.

use super::expr::Expr;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Mutex, OnceLock};

/// Properties of one resource, by name, in their normalised form.
pub type Props = BTreeMap<String, Value>;

/// A resource type's token, as written in state and plans
/// (`aws:lambda/function`). The engine knows types only by their token;
/// what a type means comes from its provider, through [`Schema`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind(&'static str);

impl Kind {
    pub const fn new(token: &'static str) -> Kind {
        Kind(token)
    }

    pub fn token(self) -> &'static str {
        self.0
    }

    /// The kind for a token read from a file. Tokens are few, so each
    /// distinct one is kept for the life of the process.
    fn intern(token: String) -> Kind {
        static SEEN: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
        let mut seen = SEEN.get_or_init(Default::default).lock().expect("kinds");
        if let Some(known) = seen.get(token.as_str()) {
            return Kind(known);
        }
        let leaked: &'static str = Box::leak(token.into_boxed_str());
        seen.insert(leaked);
        Kind(leaked)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kind({})", self.0)
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Kind::intern)
    }
}

/// What the engine needs to know of each resource type. The provider
/// registry answers it; the engine never sees an AWS type.
pub trait Schema: Sync {
    /// Properties that AWS cannot change in place: a change to any of them
    /// replaces the resource (delete, then create).
    fn replace_keys(&self, kind: Kind) -> &'static [&'static str];
    /// What replacing or deleting a resource of this kind loses (the
    /// table's items, what the key encrypted), for types that hold data.
    /// Outside `destroy`, apply does that only when the resource is named in
    /// `--replace` (Terraform's `prevent_destroy`, on by default).
    fn loses(&self, kind: Kind) -> Option<&'static str>;
    /// Puts properties in the form both sides of a comparison share.
    fn normalize(&self, kind: Kind, props: Props) -> Props;
    /// The property of a live resource that makes AWS refuse to delete it
    /// (deletion protection), if it is set.
    fn guarded_by(&self, _kind: Kind, _live: &Props) -> Option<&'static str> {
        None
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

/// Kinds and a schema for the engine's own tests, which know no provider.
#[cfg(test)]
pub mod testing {
    use super::{Kind, Props, Schema};

    pub const KEY: Kind = Kind::new("aws:kms/key");
    pub const ALIAS: Kind = Kind::new("aws:kms/alias");
    pub const LOG_GROUP: Kind = Kind::new("aws:logs/logGroup");
    pub const TABLE: Kind = Kind::new("aws:dynamodb/table");
    pub const ROLE: Kind = Kind::new("aws:iam/role");

    /// Names force a replacement; the table holds data; nothing is normalised.
    pub struct TestSchema;

    impl Schema for TestSchema {
        fn replace_keys(&self, kind: Kind) -> &'static [&'static str] {
            if kind == TABLE {
                &["name", "partition_key", "sort_key"]
            } else {
                &["name"]
            }
        }

        fn loses(&self, kind: Kind) -> Option<&'static str> {
            (kind == TABLE).then_some("every item it holds")
        }

        fn normalize(&self, _: Kind, props: Props) -> Props {
            props
        }
    }
}
