//! Reading a key (by key id, ARN or alias), and finding a key a killed run
//! created but never recorded.

use super::outputs;
use crate::engine::model::{Observed, Props};
use crate::providers::aws::errors::{aws_error, is_not_found, service_error, AwsError};
use crate::providers::props::tags_value;
use crate::providers::{policy, Aws};
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType};
use serde_json::Value;

/// Reads a key by key id, key ARN or alias name. With a key id or ARN the
/// four reads go out at once; an alias must be resolved first.
pub async fn read(aws: &Aws, id: &str) -> Result<Option<Observed>, AwsError> {
    let (described, early) = if id.starts_with("alias/") {
        (aws.kms.describe_key().key_id(id).send().await, None)
    } else {
        let (d, rotation, policy, tags) = tokio::join!(
            aws.kms.describe_key().key_id(id).send(),
            aws.kms.get_key_rotation_status().key_id(id).send(),
            aws.kms
                .get_key_policy()
                .key_id(id)
                .policy_name("default")
                .send(),
            aws.kms.list_resource_tags().key_id(id).send(),
        );
        (d, Some((rotation, policy, tags)))
    };
    let meta = match described {
        Ok(out) => out
            .key_metadata
            .ok_or_else(|| AwsError::invalid("DescribeKey", "no key metadata"))?,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("DescribeKey")(e)),
    };
    let key_id = meta.key_id.clone();
    let (rotation, policy_doc, tags) = match early {
        Some(done) => done,
        None => {
            tokio::join!(
                aws.kms.get_key_rotation_status().key_id(&key_id).send(),
                aws.kms
                    .get_key_policy()
                    .key_id(&key_id)
                    .policy_name("default")
                    .send(),
                aws.kms.list_resource_tags().key_id(&key_id).send(),
            )
        }
    };
    let rotation = match rotation {
        Ok(r) => Value::Bool(r.key_rotation_enabled),
        // A disabled or pending-deletion key has no readable rotation status;
        // its key_state already tells what is wrong.
        Err(e) if service_error(&e).is_some_and(|s| s.is_kms_invalid_state_exception()) => {
            Value::Null
        }
        Err(e) => return Err(aws_error("GetKeyRotationStatus")(e)),
    };
    let policy_doc = policy_doc
        .map_err(aws_error("GetKeyPolicy"))?
        .policy
        .unwrap_or_default();
    let policy_doc =
        policy::parse_document(&policy_doc).map_err(|m| AwsError::invalid("GetKeyPolicy", m))?;
    let tags = tags.map_err(aws_error("ListResourceTags"))?;
    let mut props = Props::new();
    props.insert(
        "description".into(),
        meta.description.clone().unwrap_or_default().into(),
    );
    props.insert(
        "key_usage".into(),
        // AWS's defaults when the key was created without them (the
        // emulator then echoes nothing).
        meta.key_usage
            .as_ref()
            .map(|u| u.as_str())
            .filter(|u| !u.is_empty())
            .unwrap_or(KeyUsageType::EncryptDecrypt.as_str())
            .into(),
    );
    props.insert(
        "key_spec".into(),
        meta.key_spec
            .as_ref()
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(KeySpec::SymmetricDefault.as_str())
            .into(),
    );
    props.insert(
        "key_state".into(),
        meta.key_state
            .as_ref()
            .map(|s| s.as_str())
            .unwrap_or_default()
            .into(),
    );
    props.insert("enable_key_rotation".into(), rotation);
    props.insert("policy".into(), policy_doc);
    props.insert(
        "tags".into(),
        tags_value(tags.tags().iter().map(|t| (t.tag_key(), t.tag_value()))),
    );
    let arn = meta.arn.clone().unwrap_or_default();
    Ok(Some(Observed {
        id: key_id.clone(),
        props,
        outputs: outputs(&key_id, &arn),
    }))
}

/// What one key is to the stack, as far as this caller may see.
enum Seen {
    /// Enabled, customer-managed and carrying the tags.
    Tagged(Candidate),
    /// Gone, AWS-managed, pending deletion or without the tags.
    Other,
    /// The caller may not read it.
    Refused,
}

/// How often a key whose read was refused is read again, and how long the
/// first pause between rounds lasts (doubled each round).
const REFUSED_ROUNDS: u32 = 3;
const REFUSED_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

/// A key carrying the stack's tags.
pub(super) struct Candidate {
    pub id: String,
    pub created: aws_smithy_types::DateTime,
    /// All its tags.
    pub tags: std::collections::BTreeMap<String, String>,
}

/// Every enabled (not pending deletion), customer-managed key carrying all
/// of `tags`.
///
/// A key the caller may not read is not this stack's: the stack's own
/// permissions reach exactly the keys with its tags, so every other key of
/// a shared account refuses them. But a refusal may also be IAM still
/// propagating a change, and taking this stack's key for another's would
/// leave it behind. So refused keys are read again, a few rounds apart,
/// and only a key refused every time is taken for someone else's.
pub(super) async fn keys_with_tags(
    aws: &Aws,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<Candidate>, AwsError> {
    let mut left: Vec<String> = aws
        .kms
        .list_keys()
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|k| {
            k.map_err(aws_error("ListKeys"))
                .map(|k| k.key_id.unwrap_or_default())
        })
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    let mut pause = REFUSED_PAUSE;
    for round in 1..=REFUSED_ROUNDS {
        let mut refused = Vec::new();
        for key_id in left {
            match inspect(aws, &key_id, tags).await? {
                Seen::Tagged(candidate) => out.push(candidate),
                Seen::Other => {}
                Seen::Refused => refused.push(key_id),
            }
        }
        if refused.is_empty() || round == REFUSED_ROUNDS {
            break;
        }
        left = refused;
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    Ok(out)
}

/// Reads one key's state, manager, creation date and tags.
async fn inspect(
    aws: &Aws,
    key_id: &str,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<Seen, AwsError> {
    let refused = |code: Option<&str>| code == Some("AccessDeniedException");
    let meta = match aws.kms.describe_key().key_id(key_id).send().await {
        Ok(out) => out.key_metadata,
        Err(e) if is_not_found(&e) => return Ok(Seen::Other),
        Err(e) if refused(service_error(&e).and_then(|s| s.meta().code())) => {
            return Ok(Seen::Refused)
        }
        Err(e) => return Err(aws_error("DescribeKey")(e)),
    };
    let Some(meta) = meta else {
        return Ok(Seen::Other);
    };
    let candidate = meta.key_manager().map(|m| m.as_str()) != Some("AWS")
        && meta.key_state() != Some(&KeyState::PendingDeletion);
    if !candidate {
        return Ok(Seen::Other);
    }
    let found = match aws.kms.list_resource_tags().key_id(key_id).send().await {
        Ok(found) => found,
        Err(e) if is_not_found(&e) => return Ok(Seen::Other),
        Err(e) if refused(service_error(&e).and_then(|s| s.meta().code())) => {
            return Ok(Seen::Refused)
        }
        Err(e) => return Err(aws_error("ListResourceTags")(e)),
    };
    let all: std::collections::BTreeMap<String, String> = found
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    if !tags.iter().all(|(k, v)| all.get(k) == Some(v)) {
        return Ok(Seen::Other);
    }
    Ok(Seen::Tagged(Candidate {
        id: key_id.to_string(),
        created: meta
            .creation_date()
            .cloned()
            .unwrap_or(aws_smithy_types::DateTime::from_secs(0)),
        tags: all,
    }))
}
