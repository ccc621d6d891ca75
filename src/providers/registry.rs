//! The provider registry: one [`Provider`] per resource type, each in its
//! own file, all listed in [`PROVIDERS`]. Adding a resource type is one
//! file in `providers/`, one line here and its declaration in the program.

pub use super::provider::{Context, DynProvider, Provider};
use super::AwsError;
use crate::engine::model::{Kind, Props, Schema};

/// Every resource type this build can manage.
pub static PROVIDERS: &[&dyn DynProvider] = &[
    &super::kms_key::KmsKey,
    &super::kms_alias::KmsAlias,
    &super::log_group::LogGroup,
    &super::table::Table,
    &super::role::Role,
    &super::function::Function,
    &super::alarm::Alarm,
    &super::queue::Queue,
];

/// The provider of `kind`, or an error naming the type this build lacks
/// (a state written by a newer build).
pub fn provider(kind: Kind) -> Result<&'static dyn DynProvider, AwsError> {
    PROVIDERS
        .iter()
        .copied()
        .find(|p| p.kind() == kind)
        .ok_or_else(|| {
            AwsError::invalid(
                "registry",
                format!("this build of webhook-stack does not know the resource type {kind}"),
            )
        })
}

/// The registry as the engine sees it: type tokens and property maps only.
pub struct Registry;

impl Schema for Registry {
    fn replace_keys(&self, kind: Kind) -> &'static [&'static str] {
        provider(kind).map_or(&[], |p| p.replace_keys())
    }

    fn loses(&self, kind: Kind) -> Option<&'static str> {
        // A type this build does not know is treated as holding data.
        provider(kind).map_or(Some("what it holds"), |p| p.loses())
    }

    fn guarded_by(&self, kind: Kind, live: &Props) -> Option<&'static str> {
        provider(kind).ok()?.guarded_by(live)
    }

    fn normalize(&self, kind: Kind, mut props: Props) -> Props {
        super::props::normalize_tags(&mut props);
        if let Ok(p) = provider(kind) {
            p.normalize(&mut props);
        }
        props
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_registered_once_and_round_trips_through_state() {
        let mut tokens: Vec<&str> = PROVIDERS.iter().map(|p| p.kind().token()).collect();
        tokens.sort();
        tokens.dedup();
        assert_eq!(tokens.len(), PROVIDERS.len());
        for p in PROVIDERS {
            let json = serde_json::to_string(&p.kind()).unwrap();
            let back: Kind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, p.kind());
            assert!(provider(back).is_ok());
        }
        let unknown: Kind = serde_json::from_str("\"aws:sns/topic\"").unwrap();
        let err = provider(unknown).err().unwrap().to_string();
        assert!(
            err.contains("does not know the resource type aws:sns/topic"),
            "{err}"
        );
        assert!(Registry.loses(unknown).is_some());
    }
}
