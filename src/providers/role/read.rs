//! Reading a role: from the run's listing of the account's roles when there
//! is one (`survey.rs`), else with the role's own calls. Both give the same
//! props, so that a plan or drift does not depend on the way it read.

use super::outputs;
use crate::engine::model::{Observed, Props};
use crate::providers::aws::errors::{aws_error, is_not_found, AwsError};
use crate::providers::aws::survey::Listed;
use crate::providers::policy;
use crate::providers::props::tags_value;
use crate::providers::{Aws, Hint};
use aws_sdk_iam::types::Tag;
use futures_util::future::join_all;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A role as read: its ARN, trust policy, inline policy documents by name
/// and attached managed policy ARNs (both as AWS gives them), and tags.
struct Read<'a> {
    arn: &'a str,
    trust: Option<&'a str>,
    inline: Vec<(String, &'a str)>,
    managed: Vec<String>,
    tags: &'a [Tag],
}

/// `from`: the operations that gave the policy documents and the role, for
/// an error naming a document that does not parse.
fn observed(name: &str, read: Read<'_>, from: [&'static str; 2]) -> Result<Observed, AwsError> {
    let [policies_from, role_from] = from;
    let mut inline = Map::new();
    for (p, doc) in read.inline {
        let parsed =
            policy::parse_document(doc).map_err(|m| AwsError::invalid(policies_from, m))?;
        inline.insert(p, parsed);
    }
    let trust = read
        .trust
        .map(policy::parse_document)
        .transpose()
        .map_err(|m| AwsError::invalid(role_from, m))?
        .unwrap_or(Value::Null);
    let mut managed = read.managed;
    managed.sort();
    let props: Props = [
        ("name".to_string(), Value::from(name)),
        ("assume_role_policy".to_string(), trust),
        ("inline_policies".to_string(), Value::Object(inline)),
        ("managed_policy_arns".to_string(), Value::from(managed)),
        (
            "tags".to_string(),
            tags_value(read.tags.iter().map(|t| (t.key(), t.value()))),
        ),
    ]
    .into();
    Ok(Observed {
        id: name.into(),
        props,
        outputs: outputs(name, read.arn),
    })
}

/// Reads a role with its policies: from the run's listing of the account's
/// roles when there is one (`survey.rs`), else with the role's own calls.
pub async fn read(aws: &Aws, name: &str, hint: &Hint) -> Result<Option<Observed>, AwsError> {
    if let Some(survey) = aws.survey() {
        match survey.role(aws, name).await {
            Listed::Found(r) => {
                let read = Read {
                    arn: r.arn().unwrap_or_default(),
                    trust: r.assume_role_policy_document(),
                    inline: r
                        .role_policy_list()
                        .iter()
                        .map(|p| {
                            let name = p.policy_name().unwrap_or_default().to_owned();
                            (name, p.policy_document().unwrap_or_default())
                        })
                        .collect(),
                    managed: r
                        .attached_managed_policies()
                        .iter()
                        .map(|p| p.policy_arn().unwrap_or_default().to_owned())
                        .collect(),
                    tags: r.tags(),
                };
                let from = "GetAccountAuthorizationDetails";
                return observed(name, read, [from, from]).map(Some);
            }
            Listed::Absent => return Ok(None),
            Listed::Unknown => {}
        }
    }
    read_alone(aws, name, hint).await
}

/// Reads a role with its own calls. The inline policies named in `hint` are
/// fetched alongside the listing, so a converged role takes one round trip.
async fn read_alone(aws: &Aws, name: &str, hint: &Hint) -> Result<Option<Observed>, AwsError> {
    let recorded: Vec<&String> = hint
        .properties
        .get("inline_policies")
        .and_then(serde_json::Value::as_object)
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    let guessed = join_all(recorded.iter().map(|p| {
        aws.iam
            .get_role_policy()
            .role_name(name)
            .policy_name(p.as_str())
            .send()
    }));
    let (role, names, attached, guessed) = tokio::join!(
        aws.iam.get_role().role_name(name).send(),
        aws.iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>(),
        aws.iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>(),
        guessed,
    );
    let role = match role {
        Ok(out) => out
            .role
            .ok_or_else(|| AwsError::invalid("GetRole", "no role"))?,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("GetRole")(e)),
    };
    let names: Vec<String> = names
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(aws_error("ListRolePolicies"))?;
    let managed: Vec<String> = attached
        .into_iter()
        .map(|r| {
            r.map_err(aws_error("ListAttachedRolePolicies"))
                .map(|p| p.policy_arn.unwrap_or_default())
        })
        .collect::<Result<_, _>>()?;
    // Documents already fetched by name; a policy deleted since is simply
    // not in the listing.
    let mut fetched = BTreeMap::new();
    for (p, doc) in recorded.iter().zip(guessed) {
        if let Ok(doc) = doc {
            fetched.insert((*p).clone(), doc.policy_document);
        }
    }
    let missing: Vec<&String> = names.iter().filter(|p| !fetched.contains_key(*p)).collect();
    let docs = missing.iter().map(|p| {
        aws.iam
            .get_role_policy()
            .role_name(name)
            .policy_name(p.as_str())
            .send()
    });
    for (p, doc) in missing.iter().zip(join_all(docs).await) {
        let doc = doc.map_err(aws_error("GetRolePolicy"))?;
        fetched.insert((*p).clone(), doc.policy_document);
    }
    let read = Read {
        arn: role.arn(),
        trust: role.assume_role_policy_document(),
        inline: names
            .iter()
            .map(|p| (p.clone(), fetched[p].as_str()))
            .collect(),
        managed,
        tags: role.tags(),
    };
    observed(name, read, ["GetRolePolicy", "GetRole"]).map(Some)
}
