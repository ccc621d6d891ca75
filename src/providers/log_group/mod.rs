//! CloudWatch Logs log group, identified by its name.

use super::aws::errors::{aws_error, is_not_found, AwsError};
use super::aws::retry::{retry_eventual, Eventual};
use super::aws::survey::Listed;
use super::props::{changed, int_prop, map_prop, str_prop, tags_value, TagChanges};
use super::provider::{Context, Provider};
use super::{Aws, Failure, Hint};
use crate::engine::model::Kind;
use crate::engine::model::{Observed, Props};
use serde_json::Value;
use std::collections::BTreeMap;

fn outputs(name: &str, arn: &str) -> BTreeMap<String, String> {
    // The tagging API wants the ARN without the trailing `:*`.
    let arn = arn.strip_suffix(":*").unwrap_or(arn);
    [
        ("name".to_string(), name.to_string()),
        ("arn".to_string(), arn.to_string()),
    ]
    .into()
}

/// Reads a log group; with its ARN known (`hint`), both reads go out at once.
pub async fn read(aws: &Aws, name: &str, hint: &Hint) -> Result<Option<Observed>, AwsError> {
    let describe = async {
        let listed = match aws.survey() {
            Some(survey) => survey.log_group(aws, name).await,
            None => Listed::Unknown,
        };
        match listed {
            Listed::Found(group) => Ok(Some(group)),
            Listed::Absent => Ok(None),
            Listed::Unknown => aws
                .logs
                .describe_log_groups()
                .log_group_name_prefix(name)
                .send()
                .await
                .map(|out| {
                    out.log_groups
                        .unwrap_or_default()
                        .into_iter()
                        .find(|g| g.log_group_name() == Some(name))
                })
                .map_err(aws_error("DescribeLogGroups")),
        }
    };
    let (group, early_tags) = match hint.output("arn") {
        Some(arn) => {
            let tags = aws.logs.list_tags_for_resource().resource_arn(arn).send();
            let (group, tags) = tokio::join!(describe, tags);
            (group, Some((arn, tags)))
        }
        None => (describe.await, None),
    };
    let Some(group) = group? else {
        return Ok(None);
    };
    let arn = group.arn().unwrap_or_default();
    let outputs = outputs(name, arn);
    let tags = match early_tags {
        Some((hinted, tags)) if hinted == outputs["arn"] => tags,
        _ => {
            aws.logs
                .list_tags_for_resource()
                .resource_arn(&outputs["arn"])
                .send()
                .await
        }
    }
    .map_err(aws_error("ListTagsForResource"))?;
    let props: Props = [
        ("name".to_string(), Value::from(name)),
        (
            "retention_in_days".to_string(),
            group
                .retention_in_days()
                .map(Value::from)
                .unwrap_or(Value::Null),
        ),
        (
            "kms_key_id".to_string(),
            group.kms_key_id().map(Value::from).unwrap_or(Value::Null),
        ),
        (
            "tags".to_string(),
            tags_value(tags.tags().cloned().unwrap_or_default()),
        ),
    ]
    .into();
    Ok(Some(Observed {
        id: name.into(),
        props,
        outputs,
    }))
}

pub async fn create(aws: &Aws, desired: &Props, arn: &str) -> Result<Observed, Failure> {
    let name = str_prop(desired, "name").unwrap_or_default();
    retry_eventual(
        &[Eventual::LogsOperationAborted, Eventual::LogsKmsKeyNotReady],
        || async {
            aws.logs
                .create_log_group()
                .log_group_name(name)
                .set_kms_key_id(str_prop(desired, "kms_key_id").map(str::to_owned))
                .set_tags(Some(map_prop(desired, "tags").into_iter().collect()))
                .send()
                .await
                .map_err(aws_error("CreateLogGroup"))
        },
    )
    .await?;
    let mut created = Observed {
        id: name.into(),
        props: desired.clone(),
        outputs: outputs(name, arn),
    };
    if let Some(days) = int_prop(desired, "retention_in_days") {
        if let Err(e) = put_retention(aws, name, days).await {
            created
                .props
                .insert("retention_in_days".into(), Value::Null);
            return Err(Failure::partial(e, created));
        }
    }
    Ok(created)
}

async fn put_retention(aws: &Aws, name: &str, days: i32) -> Result<(), AwsError> {
    retry_eventual(&[Eventual::LogsOperationAborted], || async {
        aws.logs
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days)
            .send()
            .await
            .map(|_| ())
            .map_err(aws_error("PutRetentionPolicy"))
    })
    .await
}

pub async fn update(aws: &Aws, current: &Observed, desired: &Props) -> Result<Observed, Failure> {
    let name = current.id.as_str();
    let have = &current.props;
    if changed(desired, have, "retention_in_days") {
        match int_prop(desired, "retention_in_days") {
            Some(days) => put_retention(aws, name, days).await?,
            None => {
                aws.logs
                    .delete_retention_policy()
                    .log_group_name(name)
                    .send()
                    .await
                    .map_err(aws_error("DeleteRetentionPolicy"))?;
            }
        }
    }
    if changed(desired, have, "kms_key_id") {
        match str_prop(desired, "kms_key_id") {
            Some(key) => {
                retry_eventual(
                    &[Eventual::LogsOperationAborted, Eventual::LogsKmsKeyNotReady],
                    || async {
                        aws.logs
                            .associate_kms_key()
                            .log_group_name(name)
                            .kms_key_id(key)
                            .send()
                            .await
                            .map_err(aws_error("AssociateKmsKey"))
                    },
                )
                .await?;
            }
            None => {
                aws.logs
                    .disassociate_kms_key()
                    .log_group_name(name)
                    .send()
                    .await
                    .map_err(aws_error("DisassociateKmsKey"))?;
            }
        }
    }
    let arn = &current.outputs["arn"];
    TagChanges::between(desired, have)
        .apply(
            |keys| async move {
                aws.logs
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("UntagResource"))
            },
            |tags| async move {
                aws.logs
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags.into_iter().collect()))
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

pub async fn delete(aws: &Aws, name: &str) -> Result<(), AwsError> {
    match aws
        .logs
        .delete_log_group()
        .log_group_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws_error("DeleteLogGroup")(e)),
    }
}

/// The provider of `aws:logs/logGroup`.
pub struct LogGroup;

pub const KIND: Kind = Kind::new("aws:logs/logGroup");

impl Provider for LogGroup {
    fn kind(&self) -> Kind {
        KIND
    }

    fn replace_keys(&self) -> &'static [&'static str] {
        &["name"]
    }

    async fn read(&self, aws: &Aws, id: &str, hint: &Hint) -> Result<Option<Observed>, AwsError> {
        read(aws, id, hint).await
    }

    async fn create(&self, cx: &Context<'_>, desired: &Props) -> Result<Observed, Failure> {
        let name = str_prop(desired, "name").unwrap_or_default();
        let arn = format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            cx.aws.region, cx.account, name
        );
        create(cx.aws, desired, &arn).await
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
        delete(cx.aws, &current.id).await
    }
}
