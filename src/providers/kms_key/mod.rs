//! KMS key. Identified by its key id; without state it is found
//! through its alias. Deleting it schedules the deletion.

use super::aws::errors::{aws_error, is_not_found, AwsError};
use super::aws::retry::{retry_eventual, Eventual};
use super::policy;
use super::props::{bool_prop, changed, str_prop, TagChanges};
use super::provider::{Context, Provider};
use super::{Aws, Failure, Hint};
use crate::engine::model::Kind;
use crate::engine::model::{Observed, Props};
use crate::engine::state::Creation;
use aws_config::retry::RetryConfig;
use aws_sdk_kms::operation::create_key::CreateKeyOutput;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;
use std::time::Duration;

mod orphans;
mod read;
pub use read::read;

fn outputs(key_id: &str, arn: &str) -> std::collections::BTreeMap<String, String> {
    [
        ("key_id".to_string(), key_id.to_string()),
        ("arn".to_string(), arn.to_string()),
    ]
    .into()
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

/// `CreateKey` is not idempotent: an attempt whose answer was lost (a
/// timeout, a dropped connection, a 5xx) may still have made a key. So the
/// SDK does not retry it; this loop does, and reports whether a key may have
/// been made behind its back.
async fn create_key_once(
    aws: &Aws,
    desired: &Props,
    tags: Vec<Tag>,
) -> Result<(CreateKeyOutput, bool), AwsError> {
    let mut uncertain = false;
    let mut backoff = Duration::from_millis(100);
    for attempt in 1.. {
        // Ok(Err(_)): a transient failure, retried here rather than by
        // retry_eventual (which retries only the propagation error).
        let sent = retry_eventual(&[Eventual::KmsPrincipalNotReady], || async {
            match aws
                .kms
                .create_key()
                .description(str_prop(desired, "description").unwrap_or_default())
                .key_usage(KeyUsageType::from(
                    str_prop(desired, "key_usage").unwrap_or("ENCRYPT_DECRYPT"),
                ))
                .key_spec(KeySpec::from(
                    str_prop(desired, "key_spec").unwrap_or("SYMMETRIC_DEFAULT"),
                ))
                .policy(policy::to_document(&desired["policy"]))
                .set_tags(Some(tags.clone()))
                .customize()
                .config_override(
                    aws_sdk_kms::config::Builder::default().retry_config(RetryConfig::disabled()),
                )
                .send()
                .await
            {
                Ok(out) => Ok(Ok(out)),
                Err(e) if is_transient(&e) => {
                    Ok(Err((maybe_carried_out(&e), aws_error("CreateKey")(e))))
                }
                Err(e) => Err(aws_error("CreateKey")(e)),
            }
        })
        .await?;
        match sent {
            Ok(out) => return Ok((out, uncertain)),
            Err((_, e)) if attempt >= CREATE_ATTEMPTS => {
                return Err(AwsError {
                    message: format!(
                        "{} (after {attempt} attempts; if one of them made a key, the next apply finds it by its tags)",
                        e.message
                    ),
                    ..e
                })
            }
            Err((maybe_done, _)) => {
                uncertain |= maybe_done;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    unreachable!("the loop returns")
}

const CREATE_ATTEMPTS: u32 = 6;

/// Whether a failed attempt may still have been carried out by KMS: its answer
/// was lost or it failed inside the service. A throttled request was not.
fn maybe_carried_out<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(se) => se.raw().status().is_server_error(),
        _ => false,
    }
}

/// Throttling, a 5xx, a timeout or a lost connection: worth another attempt.
fn is_transient<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(se) => {
            se.raw().status().is_server_error()
                || se
                    .err()
                    .code()
                    .is_some_and(|c| c.contains("Throttl") || c == "KMSInternalException")
        }
        _ => false,
    }
}

/// Creates the key, tagged with its creation's token (`creation`). When a key may already exist behind the stack's back
/// (`pending`: an earlier run died after sending CreateKey; or an attempt
/// here lost its answer), every other key that creation made is an orphan
/// of it: it is scheduled for deletion, and the run says so, so that a
/// stack never keeps two live keys.
pub async fn create(
    aws: &Aws,
    desired: &Props,
    pending: Option<&Creation>,
    creation: Option<&str>,
) -> Result<Observed, Failure> {
    let started = crate::ambient::now();
    let mut tags = tag_list(desired);
    if let Some(token) = creation {
        tags.push(
            Tag::builder()
                .tag_key(orphans::CREATION_TAG)
                .tag_value(token)
                .build()
                .expect("key and value set"),
        );
    }
    let (out, uncertain) = create_key_once(aws, desired, tags).await?;
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
    if pending.is_some() || uncertain {
        let made = orphans::Made::by(pending, creation, started);
        let tags = super::props::map_prop(desired, "tags");
        // Not swept: the creation stays pending, and the next run sweeps.
        orphans::sweep(aws, &tags, &made, &meta.key_id)
            .await
            .map_err(|e| Failure::unsettled(e, created.clone()))?;
    }
    if bool_prop(desired, "enable_key_rotation") == Some(true) {
        retry_eventual(&[Eventual::KmsKeyNotYetVisible], || async {
            aws.kms
                .enable_key_rotation()
                .key_id(&meta.key_id)
                .send()
                .await
                .map_err(aws_error("EnableKeyRotation"))
        })
        .await
        .map_err(|e| Failure::partial(e, created.clone()))?;
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
        retry_eventual(
            &[
                Eventual::KmsPrincipalNotReady,
                Eventual::KmsKeyNotYetVisible,
            ],
            || async {
                aws.kms
                    .put_key_policy()
                    .key_id(id)
                    .policy_name("default")
                    .policy(policy::to_document(&desired["policy"]))
                    .send()
                    .await
                    .map_err(aws_error("PutKeyPolicy"))
            },
        )
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
    schedule_deletion(aws, &current.id, window_days).await
}

/// A key made by a lost CreateKey was never used: AWS's shortest window.
pub(super) const ORPHAN_WINDOW_DAYS: i32 = 7;

pub(super) async fn schedule_deletion(
    aws: &Aws,
    key_id: &str,
    window_days: i32,
) -> Result<(), AwsError> {
    // Scheduled by key id: the emulator fails on an ARN here.
    match aws
        .kms
        .schedule_key_deletion()
        .key_id(key_id)
        .pending_window_in_days(window_days)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws_error("ScheduleKeyDeletion")(e)),
    }
}

/// The provider of `aws:kms/key`.
pub struct KmsKey;

pub const KIND: Kind = Kind::new("aws:kms/key");

impl Provider for KmsKey {
    fn kind(&self) -> Kind {
        KIND
    }

    fn replace_keys(&self) -> &'static [&'static str] {
        &["key_spec", "key_usage"]
    }

    fn loses(&self) -> Option<&'static str> {
        Some("the key, and what it encrypted becomes unreadable")
    }

    fn normalize(&self, props: &mut Props) {
        if let Some(p) = props.get_mut("policy") {
            *p = super::policy::canonical(p);
        }
        // The creation's mark stays on the key for good: not a property.
        if let Some(Value::Object(tags)) = props.get_mut("tags") {
            tags.remove(orphans::CREATION_TAG);
        }
    }

    async fn read(&self, aws: &Aws, id: &str, _hint: &Hint) -> Result<Option<Observed>, AwsError> {
        read(aws, id).await
    }

    async fn create(&self, cx: &Context<'_>, desired: &Props) -> Result<Observed, Failure> {
        create(cx.aws, desired, cx.pending, cx.creation).await
    }

    async fn update(
        &self,
        cx: &Context<'_>,
        current: &Observed,
        desired: &Props,
    ) -> Result<Observed, Failure> {
        self.settle(cx, current).await?;
        update(cx.aws, current, desired).await
    }

    /// A pending creation settled by a key found without creating it (the
    /// key its killed run made, found by its token; or a key a second state
    /// of the suffix made, found through the alias) may have made other
    /// keys before its run died: swept as `create` would.
    async fn settle(&self, cx: &Context<'_>, found: &Observed) -> Result<(), AwsError> {
        let Some(pending) = cx.pending else {
            return Ok(());
        };
        let tags = super::props::map_prop(&found.props, "tags");
        let made = orphans::Made::by(Some(pending), None, crate::ambient::now());
        orphans::sweep(cx.aws, &tags, &made, &found.id).await
    }

    async fn delete(&self, cx: &Context<'_>, current: &Observed) -> Result<(), AwsError> {
        delete(cx.aws, current, cx.kms_deletion_window_days).await
    }

    async fn find_unrecorded(
        &self,
        aws: &Aws,
        desired: &Props,
        pending: &Creation,
    ) -> Result<Option<Observed>, AwsError> {
        let tags = super::props::map_prop(desired, "tags");
        match orphans::find(aws, &tags, pending).await? {
            Some(id) => read(aws, &id).await,
            None => Ok(None),
        }
    }
}
