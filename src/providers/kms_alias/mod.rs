//! KMS alias, identified by its name.

use super::aws::errors::{aws_error, is_not_found, AwsError};
use super::aws::retry::{retry_eventual, Eventual};
use super::aws::survey::Listed;
use super::props::str_prop;
use super::provider::{Context, Provider};
use super::{Aws, Failure, Hint};
use crate::engine::model::Kind;
use crate::engine::model::{Observed, Props};
use std::collections::BTreeMap;

/// An alias ARN is its key's ARN with `key/<id>` replaced by the alias name.
pub fn alias_arn(key_arn: &str, name: &str) -> String {
    match key_arn.rsplit_once(":key/") {
        Some((prefix, _)) => format!("{prefix}:{name}"),
        None => String::new(),
    }
}

fn observed(name: &str, target_key_id: &str, arn: String) -> Observed {
    Observed {
        id: name.into(),
        props: [
            ("name".to_string(), name.into()),
            ("target_key_id".to_string(), target_key_id.into()),
        ]
        .into(),
        outputs: BTreeMap::from([
            ("name".to_string(), name.to_string()),
            ("arn".to_string(), arn),
        ]),
    }
}

/// One call: describing the alias describes the key it targets.
pub async fn read(aws: &Aws, name: &str) -> Result<Option<Observed>, AwsError> {
    if let Some(survey) = aws.survey() {
        match survey.alias(aws, name).await {
            Listed::Found(a) => return Ok(Some(observed(name, &a.target_key_id, a.arn))),
            Listed::Absent => return Ok(None),
            Listed::Unknown => {}
        }
    }
    match aws.kms.describe_key().key_id(name).send().await {
        Ok(out) => {
            let meta = out
                .key_metadata
                .ok_or_else(|| AwsError::invalid("DescribeKey", "no key metadata"))?;
            Ok(Some(observed(
                name,
                &meta.key_id,
                alias_arn(meta.arn().unwrap_or_default(), name),
            )))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(aws_error("DescribeKey")(e)),
    }
}

pub async fn create(aws: &Aws, desired: &Props, arn: String) -> Result<Observed, AwsError> {
    let name = str_prop(desired, "name").unwrap_or_default();
    let target = str_prop(desired, "target_key_id").unwrap_or_default();
    // Right after CreateKey the key may not be visible yet.
    retry_eventual(&[Eventual::KmsKeyNotYetVisible], || async {
        aws.kms
            .create_alias()
            .alias_name(name)
            .target_key_id(target)
            .send()
            .await
            .map_err(aws_error("CreateAlias"))
    })
    .await?;
    Ok(observed(name, target, arn))
}

pub async fn update(aws: &Aws, current: &Observed, desired: &Props) -> Result<Observed, AwsError> {
    let target = str_prop(desired, "target_key_id").unwrap_or_default();
    aws.kms
        .update_alias()
        .alias_name(&current.id)
        .target_key_id(target)
        .send()
        .await
        .map_err(aws_error("UpdateAlias"))?;
    Ok(observed(
        &current.id,
        target,
        current.outputs.get("arn").cloned().unwrap_or_default(),
    ))
}

pub async fn delete(aws: &Aws, name: &str) -> Result<(), AwsError> {
    match aws.kms.delete_alias().alias_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws_error("DeleteAlias")(e)),
    }
}

/// The provider of `aws:kms/alias`.
pub struct KmsAlias;

pub const KIND: Kind = Kind::new("aws:kms/alias");

impl Provider for KmsAlias {
    fn kind(&self) -> Kind {
        KIND
    }

    fn replace_keys(&self) -> &'static [&'static str] {
        &["name"]
    }

    async fn read(&self, aws: &Aws, id: &str, _hint: &Hint) -> Result<Option<Observed>, AwsError> {
        read(aws, id).await
    }

    async fn create(&self, cx: &Context<'_>, desired: &Props) -> Result<Observed, Failure> {
        let name = str_prop(desired, "name").unwrap_or_default();
        let arn = format!("arn:aws:kms:{}:{}:{}", cx.aws.region, cx.account, name);
        Ok(create(cx.aws, desired, arn).await?)
    }

    async fn update(
        &self,
        cx: &Context<'_>,
        current: &Observed,
        desired: &Props,
    ) -> Result<Observed, Failure> {
        Ok(update(cx.aws, current, desired).await?)
    }

    async fn delete(&self, cx: &Context<'_>, current: &Observed) -> Result<(), AwsError> {
        delete(cx.aws, &current.id).await
    }
}
