//! The key's alias, `alias/webhook-processor-S`: how the key is found.

use super::{always, props, Body, Resource, StackContext, KMS_KEY};
use crate::engine::expr::{lit, output};
use crate::names::Suffix;
use crate::providers::kms_alias::KIND;

pub const KMS_ALIAS: &str = "kms_alias";

pub const RESOURCE: Resource = Resource {
    key: KMS_ALIAS,
    kind: KIND,
    name: alias_name,
    limit: Some(("KMS (alias name)", 256)),
    declared_when: always,
    declare,
    amend: None,
    outputs: &[("KMSKeyAlias", "name")],
};

pub(super) fn alias_name(s: &Suffix) -> String {
    format!("alias/webhook-processor-{s}")
}

fn declare(ctx: &StackContext) -> Body {
    Body {
        props: props([
            ("name", lit(ctx.name(KMS_ALIAS))),
            ("target_key_id", output(KMS_KEY, "key_id")),
        ]),
        depends_on: vec![],
    }
}
