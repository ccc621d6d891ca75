//! IAM role with its inline policies, identified by its name.
//! Extra inline policies and attached managed policies are part of what is
//! read, so a plan removes them and drift reports them.

use super::aws::errors::{aws_error, is_not_found, AwsError};
use super::aws::retry::{retry_eventual, Eventual};
use super::policy;
use super::props::{str_prop, TagChanges};
use super::provider::{Context, Provider};
use super::{Aws, Failure, Hint};
use crate::engine::model::Kind;
use crate::engine::model::{Observed, Props};
use aws_sdk_iam::types::Tag;
use futures_util::future::join_all;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

mod read;
pub use read::read;

fn outputs(name: &str, arn: &str) -> BTreeMap<String, String> {
    [
        ("name".to_string(), name.to_string()),
        ("arn".to_string(), arn.to_string()),
    ]
    .into()
}

fn policies(props: &Props) -> Map<String, Value> {
    props
        .get("inline_policies")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn managed(props: &Props) -> Vec<String> {
    props
        .get("managed_policy_arns")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn put_policy(aws: &Aws, role: &str, name: &str, doc: &Value) -> Result<(), AwsError> {
    retry_eventual(
        &[
            Eventual::IamRoleNotYetVisible,
            Eventual::IamConcurrentModification,
        ],
        || async {
            aws.iam
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(policy::to_document(doc))
                .send()
                .await
                .map(|_| ())
                .map_err(aws_error("PutRolePolicy"))
        },
    )
    .await
}

fn iam_tags(tags: BTreeMap<String, String>) -> Vec<Tag> {
    tags.into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value set")
        })
        .collect()
}

pub async fn create(aws: &Aws, desired: &Props) -> Result<Observed, Failure> {
    let name = str_prop(desired, "name").unwrap_or_default();
    let out = retry_eventual(
        &[
            Eventual::IamConcurrentModification,
            Eventual::IamPrincipalNotReady,
        ],
        || async {
            aws.iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(policy::to_document(&desired["assume_role_policy"]))
                .set_tags(Some(iam_tags(super::props::map_prop(desired, "tags"))))
                .send()
                .await
                .map_err(aws_error("CreateRole"))
        },
    )
    .await?;
    let arn = out.role().map(|r| r.arn()).unwrap_or_default();
    let mut created = Observed {
        id: name.into(),
        props: desired.clone(),
        outputs: outputs(name, arn),
    };
    // What exists so far, in case a follow-up call fails.
    created
        .props
        .insert("inline_policies".into(), Value::Object(Map::new()));
    created
        .props
        .insert("managed_policy_arns".into(), Value::Array(vec![]));
    let current = created.clone();
    let done = update(aws, &current, desired).await.map_err(|f| Failure {
        partial: f.partial.or(Some(created)),
        ..f
    })?;
    Ok(done)
}

pub async fn update(aws: &Aws, current: &Observed, desired: &Props) -> Result<Observed, Failure> {
    let name = current.id.as_str();
    let have = &current.props;
    if desired.get("assume_role_policy") != have.get("assume_role_policy") {
        aws.iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(policy::to_document(&desired["assume_role_policy"]))
            .send()
            .await
            .map_err(aws_error("UpdateAssumeRolePolicy"))?;
    }
    let (want, got) = (policies(desired), policies(have));
    for (p, doc) in &want {
        if got.get(p) != Some(doc) {
            put_policy(aws, name, p, doc).await?;
        }
    }
    for p in got.keys().filter(|p| !want.contains_key(*p)) {
        aws.iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(p)
            .send()
            .await
            .map_err(aws_error("DeleteRolePolicy"))?;
    }
    let (want, got) = (managed(desired), managed(have));
    for arn in want.iter().filter(|a| !got.contains(a)) {
        aws.iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(aws_error("AttachRolePolicy"))?;
    }
    for arn in got.iter().filter(|a| !want.contains(a)) {
        aws.iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(aws_error("DetachRolePolicy"))?;
    }
    TagChanges::between(desired, have)
        .apply(
            |keys| async move {
                aws.iam
                    .untag_role()
                    .role_name(name)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("UntagRole"))
            },
            |tags| async move {
                aws.iam
                    .tag_role()
                    .role_name(name)
                    .set_tags(Some(iam_tags(tags)))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("TagRole"))
            },
        )
        .await?;
    Ok(Observed {
        id: current.id.clone(),
        props: desired.clone(),
        outputs: current.outputs.clone(),
    })
}

/// Removes the inline and managed policies (IAM refuses to delete a role
/// that has any), then the role. Works from what the plan read moments ago;
/// if a policy was added since, or IAM still sees one it was just told to
/// remove, it answers DeleteConflict: the role is read again and the
/// deletion retried, for IAM's propagation time.
pub async fn delete(aws: &Aws, current: &Observed) -> Result<(), AwsError> {
    let name = current.id.as_str();
    let first = std::sync::atomic::AtomicBool::new(true);
    retry_eventual(&[Eventual::IamDeleteConflict], || async {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return detach_all_and_delete(aws, name, &current.props).await;
        }
        let hint = Hint {
            properties: current.props.clone(),
            ..Hint::default()
        };
        match read(aws, name, &hint).await? {
            Some(live) => detach_all_and_delete(aws, name, &live.props).await,
            None => Ok(()),
        }
    })
    .await
}

async fn detach_all_and_delete(aws: &Aws, name: &str, props: &Props) -> Result<(), AwsError> {
    let gone = |e: &AwsError| e.code.as_deref() == Some("NoSuchEntity");
    // Independent calls: all at once. A policy or role already gone is fine.
    let inline = policies(props);
    let deletes = inline.keys().map(|p| async move {
        aws.iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(p)
            .send()
            .await
            .map(drop)
            .map_err(aws_error("DeleteRolePolicy"))
    });
    let detaches = managed(props).into_iter().map(|arn| async move {
        aws.iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map(drop)
            .map_err(aws_error("DetachRolePolicy"))
    });
    let (deleted, detached) = tokio::join!(join_all(deletes), join_all(detaches));
    for result in deleted.into_iter().chain(detached) {
        match result {
            Err(e) if !gone(&e) => return Err(e),
            _ => {}
        }
    }
    match aws.iam.delete_role().role_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws_error("DeleteRole")(e)),
    }
}

/// The provider of `aws:iam/role`.
pub struct Role;

pub const KIND: Kind = Kind::new("aws:iam/role");

impl Provider for Role {
    fn kind(&self) -> Kind {
        KIND
    }

    fn replace_keys(&self) -> &'static [&'static str] {
        &["name"]
    }

    fn normalize(&self, props: &mut Props) {
        let canon = |v: &mut Value| *v = super::policy::canonical(v);
        props.get_mut("assume_role_policy").map(canon);
        if let Some(Value::Object(m)) = props.get_mut("inline_policies") {
            m.values_mut().for_each(canon);
        }
        if let Some(Value::Array(a)) = props.get_mut("managed_policy_arns") {
            a.sort_by_key(|v| v.to_string());
        }
    }

    async fn read(&self, aws: &Aws, id: &str, hint: &Hint) -> Result<Option<Observed>, AwsError> {
        read(aws, id, hint).await
    }

    async fn create(&self, cx: &Context<'_>, desired: &Props) -> Result<Observed, Failure> {
        create(cx.aws, desired).await
    }

    async fn update(
        &self,
        cx: &Context<'_>,
        current: &Observed,
        desired: &Props,
    ) -> Result<Observed, Failure> {
        update(cx.aws, current, desired).await
    }

    async fn delete(&self, cx: &Context<'_>, current: &Observed) -> Result<(), AwsError> {
        delete(cx.aws, current).await
    }
}
