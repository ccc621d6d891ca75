//! The stack, declared as code: the CloudFormation stack's six resources,
//! and those the settings add, with their properties and the references
//! between them. References to other resources' outputs become the
//! dependency graph's edges.
//!
//! Each resource is one file here (its name, properties and references) and
//! one row of [`RESOURCES`]; its type's behaviour is its provider's, in
//! `providers/`. The logical names, the physical names and their limits,
//! what `--replace` accepts and what a load reads all come from the table.

mod alarms;
mod dead_letter_queue;
mod function;
mod kms_alias;
mod kms_key;
mod log_group;
mod role;
mod table;

use crate::engine::expr::{lit, Expr};
use crate::engine::model::{Declared, Kind};
use crate::names::{Suffix, SuffixError};
use crate::settings::Settings;
use serde_json::json;
use std::collections::BTreeMap;

pub use function::FUNCTION;
pub use kms_key::KMS_KEY;
pub use log_group::LOG_GROUP;
pub use role::ROLE;
pub use table::TABLE;

/// One resource of the program.
pub struct Resource {
    /// Logical name, unique in the program and stable across runs.
    pub key: &'static str,
    pub kind: Kind,
    /// The physical name the resource is found by when state does not
    /// record it (for the KMS key, which has none, its alias's).
    pub name: fn(&Suffix) -> String,
    /// The service limiting that name and its longest length, where the
    /// name is the resource's own.
    pub limit: Option<(&'static str, usize)>,
    /// Whether the settings declare it.
    pub declared_when: fn(&Settings) -> bool,
    /// Its properties and references.
    pub declare: fn(&StackContext) -> Body,
    /// Changes it makes to other resources' declarations when declared
    /// (a permission in the role's policy, a property of the function).
    pub amend: Option<fn(&StackContext, &mut [Declared])>,
    /// The stack outputs it gives (`outputs`): output name (the
    /// CloudFormation stack's, for the six) and the resource's own output.
    pub outputs: &'static [(&'static str, &'static str)],
}

/// A resource's declaration, less its key and type (from its row).
pub struct Body {
    pub props: BTreeMap<&'static str, Expr>,
    /// Dependencies that no property refers to.
    pub depends_on: Vec<&'static str>,
}

fn always(_: &Settings) -> bool {
    true
}

/// Every resource the program may declare, in reading order (the engine
/// orders work by the references).
pub static RESOURCES: &[Resource] = &[
    kms_key::RESOURCE,
    kms_alias::RESOURCE,
    log_group::RESOURCE,
    table::RESOURCE,
    role::RESOURCE,
    function::RESOURCE,
    alarms::ERROR_RATE,
    alarms::DURATION,
    alarms::THROTTLES,
    alarms::TABLE_ERRORS,
    alarms::DRIFT,
    dead_letter_queue::RESOURCE,
    dead_letter_queue::ALARM,
];

/// The row of logical name `key`.
pub fn resource(key: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.key == key)
}

/// The logical names of every resource the program may declare.
pub fn keys() -> Vec<&'static str> {
    RESOURCES.iter().map(|r| r.key).collect()
}

/// The physical name of resource `key` in stack `suffix`.
pub fn name(suffix: &Suffix, key: &str) -> String {
    resource(key).map(|r| (r.name)(suffix)).unwrap_or_default()
}

/// Checks every physical name of stack `suffix` against its service's
/// limit. The longest suffix fits them all (a test proves it); this keeps
/// the table honest at run time, before any AWS call.
pub fn check_names(suffix: &Suffix) -> Result<(), SuffixError> {
    for r in RESOURCES {
        let Some((service, max)) = r.limit else {
            continue;
        };
        let name = (r.name)(suffix);
        if name.len() > max {
            return Err(SuffixError::NameTooLong {
                len: name.len(),
                name,
                service,
                max,
            });
        }
    }
    Ok(())
}

/// What the program needs to know about where it is deployed.
#[derive(Debug, Clone)]
pub struct StackContext {
    pub suffix: Suffix,
    pub region: String,
    pub account: String,
    /// base64(sha256(zip)) of the function's code package.
    pub code_sha256: String,
    pub settings: Settings,
    /// Physical names by logical name, computed once.
    names: BTreeMap<&'static str, String>,
}

impl StackContext {
    pub fn new(
        suffix: Suffix,
        region: String,
        account: String,
        code_sha256: String,
        settings: Settings,
    ) -> StackContext {
        let names = RESOURCES
            .iter()
            .map(|r| (r.key, (r.name)(&suffix)))
            .collect();
        StackContext {
            suffix,
            region,
            account,
            code_sha256,
            settings,
            names,
        }
    }

    /// The physical name of resource `key`.
    pub fn name(&self, key: &str) -> &str {
        self.names.get(key).map_or("", String::as_str)
    }

    /// The resources the settings declare.
    pub fn resources(&self) -> impl Iterator<Item = &'static Resource> + '_ {
        RESOURCES
            .iter()
            .filter(|r| (r.declared_when)(&self.settings))
    }

    pub(crate) fn tags(&self) -> Expr {
        let mut tags = json!({
            "Project": "webhook-processor",
            "Environment": self.suffix.as_str(),
            "ManagedBy": "webhook-stack",
        });
        for (k, v) in &self.settings.extra_tags {
            tags[k] = json!(v);
        }
        lit(tags)
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account
        )
    }
}

/// Declares the stack.
pub fn declare(ctx: &StackContext) -> Vec<Declared> {
    let rows: Vec<&Resource> = ctx.resources().collect();
    let mut declared: Vec<Declared> = rows
        .iter()
        .map(|r| {
            let body = (r.declare)(ctx);
            Declared {
                key: r.key,
                kind: r.kind,
                props: body.props,
                depends_on: body.depends_on,
            }
        })
        .collect();
    for amend in rows.iter().filter_map(|r| r.amend) {
        amend(ctx, &mut declared);
    }
    declared
}

pub(crate) fn props<const N: usize>(
    entries: [(&'static str, Expr); N],
) -> BTreeMap<&'static str, Expr> {
    entries.into_iter().collect()
}

/// The declaration of `key` among `declared`, for an amendment.
fn declared_mut<'a>(declared: &'a mut [Declared], key: &str) -> &'a mut Declared {
    declared
        .iter_mut()
        .find(|d| d.key == key)
        .unwrap_or_else(|| panic!("{key} is always declared"))
}

#[cfg(test)]
mod tests;
