//! KMS key (SPEC §1 #1). Identified by its key id; without state it is found
//! through its alias. Deleting it schedules the deletion.

use super::errors::{aws_error, service_error, AwsError};
use super::policy;
use super::props::{bool_prop, changed, str_prop, tags_value, TagChanges};
use super::retry::{retry_eventual, Eventual};
use super::{Aws, Failure};
use crate::engine::model::{Observed, Props};
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use serde_json::Value;

fn outputs(key_id: &str, arn: &str) -> std::collections::BTreeMap<String, String> {
    [
        ("key_id".to_string(), key_id.to_string()),
        ("arn".to_string(), arn.to_string()),
    ]
    .into()
}

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
        Err(e) if service_error(&e).is_some_and(|s| s.is_not_found_exception()) => return Ok(None),
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

fn tag_list(props: &Props) -> Vec<Tag> {
    super::props::map_prop(props, "tags")
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .expect("key and value set")
        })
        .collect()
}

pub async fn create(aws: &Aws, desired: &Props) -> Result<Observed, Failure> {
    let out = retry_eventual(&[Eventual::KmsPrincipalNotReady], || async {
        aws.kms
            .create_key()
            .description(str_prop(desired, "description").unwrap_or_default())
            .key_usage(KeyUsageType::from(
                str_prop(desired, "key_usage").unwrap_or("ENCRYPT_DECRYPT"),
            ))
            .key_spec(KeySpec::from(
                str_prop(desired, "key_spec").unwrap_or("SYMMETRIC_DEFAULT"),
            ))
            .policy(policy::to_document(&desired["policy"]))
            .set_tags(Some(tag_list(desired)))
            .send()
            .await
            .map_err(aws_error("CreateKey"))
    })
    .await?;
    let meta = out
        .key_metadata
        .ok_or_else(|| AwsError::invalid("CreateKey", "no key metadata"))?;
    let created = Observed {
        id: meta.key_id.clone(),
        props: {
            let mut p = desired.clone();
            p.insert("enable_key_rotation".into(), Value::Bool(false));
            p
        },
        outputs: outputs(&meta.key_id, meta.arn().unwrap_or_default()),
    };
    if bool_prop(desired, "enable_key_rotation") == Some(true) {
        aws.kms
            .enable_key_rotation()
            .key_id(&meta.key_id)
            .send()
            .await
            .map_err(|e| Failure::partial(aws_error("EnableKeyRotation")(e), created.clone()))?;
    }
    Ok(Observed {
        props: desired.clone(),
        ..created
    })
}

pub async fn update(aws: &Aws, current: &Observed, desired: &Props) -> Result<Observed, Failure> {
    let id = current.id.as_str();
    let have = &current.props;
    // A key pending deletion or disabled accepts no other change: fix that first.
    match str_prop(have, "key_state") {
        Some(s) if s == KeyState::PendingDeletion.as_str() => {
            aws.kms
                .cancel_key_deletion()
                .key_id(id)
                .send()
                .await
                .map_err(aws_error("CancelKeyDeletion"))?;
            aws.kms
                .enable_key()
                .key_id(id)
                .send()
                .await
                .map_err(aws_error("EnableKey"))?;
        }
        Some(s) if s == KeyState::Disabled.as_str() => {
            aws.kms
                .enable_key()
                .key_id(id)
                .send()
                .await
                .map_err(aws_error("EnableKey"))?;
        }
        _ => {}
    }
    if changed(desired, have, "description") {
        aws.kms
            .update_key_description()
            .key_id(id)
            .description(str_prop(desired, "description").unwrap_or_default())
            .send()
            .await
            .map_err(aws_error("UpdateKeyDescription"))?;
    }
    if changed(desired, have, "enable_key_rotation") {
        if bool_prop(desired, "enable_key_rotation") == Some(true) {
            aws.kms
                .enable_key_rotation()
                .key_id(id)
                .send()
                .await
                .map_err(aws_error("EnableKeyRotation"))?;
        } else {
            aws.kms
                .disable_key_rotation()
                .key_id(id)
                .send()
                .await
                .map_err(aws_error("DisableKeyRotation"))?;
        }
    }
    if changed(desired, have, "policy") {
        retry_eventual(&[Eventual::KmsPrincipalNotReady], || async {
            aws.kms
                .put_key_policy()
                .key_id(id)
                .policy_name("default")
                .policy(policy::to_document(&desired["policy"]))
                .send()
                .await
                .map_err(aws_error("PutKeyPolicy"))
        })
        .await?;
    }
    TagChanges::between(desired, have)
        .apply(
            |keys| async move {
                aws.kms
                    .untag_resource()
                    .key_id(id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("UntagResource"))
            },
            |tags| async move {
                let list = tags
                    .into_iter()
                    .map(|(k, v)| {
                        Tag::builder()
                            .tag_key(k)
                            .tag_value(v)
                            .build()
                            .expect("key and value set")
                    })
                    .collect();
                aws.kms
                    .tag_resource()
                    .key_id(id)
                    .set_tags(Some(list))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("TagResource"))
            },
        )
        .await?;
    Ok(Observed {
        id: current.id.clone(),
        props: desired.clone(),
        outputs: current.outputs.clone(),
    })
}

/// Schedules the key's deletion. A key already pending deletion, or gone, is
/// fine: that is where a destroy wants it.
pub async fn delete(aws: &Aws, current: &Observed, window_days: i32) -> Result<(), AwsError> {
    if str_prop(&current.props, "key_state") == Some(KeyState::PendingDeletion.as_str()) {
        return Ok(());
    }
    // Scheduled by key id: the emulator fails on an ARN here.
    match aws
        .kms
        .schedule_key_deletion()
        .key_id(&current.id)
        .pending_window_in_days(window_days)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if service_error(&e).is_some_and(|s| s.is_not_found_exception()) => Ok(()),
        Err(e) => Err(aws_error("ScheduleKeyDeletion")(e)),
    }
}

/// Finds a key this stack created but did not record (its run was killed
/// between CreateKey and saving state): an enabled, customer-managed key
/// carrying all of `tags`. The newest wins if there are several.
pub async fn find_by_tags(
    aws: &Aws,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<Option<String>, AwsError> {
    let keys: Vec<String> = aws
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
    let mut best: Option<(aws_smithy_types::DateTime, String)> = None;
    for key_id in keys {
        let meta = match aws.kms.describe_key().key_id(&key_id).send().await {
            Ok(out) => out.key_metadata,
            Err(e) if service_error(&e).is_some_and(|s| s.is_not_found_exception()) => continue,
            Err(e) => return Err(aws_error("DescribeKey")(e)),
        };
        let Some(meta) = meta else { continue };
        let ours = meta.key_manager().map(|m| m.as_str()) != Some("AWS")
            && meta.key_state() != Some(&KeyState::PendingDeletion);
        if !ours {
            continue;
        }
        let found = aws
            .kms
            .list_resource_tags()
            .key_id(&key_id)
            .send()
            .await
            .map_err(aws_error("ListResourceTags"))?;
        let has = |k: &str, v: &str| {
            found
                .tags()
                .iter()
                .any(|t| t.tag_key() == k && t.tag_value() == v)
        };
        if tags.iter().all(|(k, v)| has(k, v)) {
            let created = meta
                .creation_date()
                .cloned()
                .unwrap_or(aws_smithy_types::DateTime::from_secs(0));
            if best
                .as_ref()
                .is_none_or(|(d, _)| created.secs() >= d.secs())
            {
                best = Some((created, key_id));
            }
        }
    }
    Ok(best.map(|(_, id)| id))
}
