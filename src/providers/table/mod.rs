//! DynamoDB table, identified by its name.

use super::aws::errors::{aws_error, is_not_found, AwsError};
use super::aws::retry::{retry_eventual, Eventual};
use super::props::{bool_prop, changed, str_prop, tags_value, TagChanges};
use super::provider::{Context, Provider};
use super::{Aws, Failure, Hint};
use crate::engine::model::Kind;
use crate::engine::model::{Observed, Props};
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ScalarAttributeType, SseSpecification, SseStatus, SseType, Tag,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long to wait for a table to become ACTIVE, or to be gone.
const TABLE_WAIT: Duration = Duration::from_secs(600);

fn outputs(name: &str, arn: &str) -> BTreeMap<String, String> {
    [
        ("name".to_string(), name.to_string()),
        ("arn".to_string(), arn.to_string()),
    ]
    .into()
}

/// Reads a table; with its ARN known (`hint`), the three reads go out at once.
pub async fn read(aws: &Aws, name: &str, hint: &Hint) -> Result<Option<Observed>, AwsError> {
    let describe = aws.dynamodb.describe_table().table_name(name).send();
    let backups = aws
        .dynamodb
        .describe_continuous_backups()
        .table_name(name)
        .send();
    // Which key is AWS's own for DynamoDB, to tell it from a customer key on
    // the table: asked at once, not after DescribeTable.
    let managed = aws.dynamodb_managed_key();
    let (described, early, managed) = match hint.output("arn") {
        Some(arn) => {
            let tags = aws
                .dynamodb
                .list_tags_of_resource()
                .resource_arn(arn)
                .send();
            let (d, b, t, m) = tokio::join!(describe, backups, tags, managed);
            (d, Some((arn, b, t)), m)
        }
        None => {
            let (d, m) = tokio::join!(describe, managed);
            (d, None, m)
        }
    };
    let table = match described {
        Ok(out) => out
            .table
            .ok_or_else(|| AwsError::invalid("DescribeTable", "no table description"))?,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("DescribeTable")(e)),
    };
    let arn = table.table_arn().unwrap_or_default().to_owned();
    let (backups, tags) = match early {
        Some((hinted, b, t)) if hinted == arn => (b, t),
        _ => {
            tokio::join!(
                aws.dynamodb
                    .describe_continuous_backups()
                    .table_name(name)
                    .send(),
                aws.dynamodb
                    .list_tags_of_resource()
                    .resource_arn(&arn)
                    .send(),
            )
        }
    };
    let pitr = backups
        .map_err(aws_error("DescribeContinuousBackups"))?
        .continuous_backups_description
        .and_then(|d| d.point_in_time_recovery_description)
        .and_then(|p| p.point_in_time_recovery_status)
        .is_some_and(|s| s == PointInTimeRecoveryStatus::Enabled);
    let tags = tags.map_err(aws_error("ListTagsOfResource"))?;
    let partition_key = key_attribute(&table, KeyType::Hash);
    let sort_key = key_attribute(&table, KeyType::Range);
    let sse_kms_key = match table.sse_description().and_then(|s| s.kms_master_key_arn()) {
        Some(arn) => customer_key(arn, managed)?,
        None => Value::Null,
    };
    let billing = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|b| b.as_str().to_owned())
        // A table created without a billing mode is provisioned.
        .unwrap_or_else(|| BillingMode::Provisioned.as_str().to_owned());
    let sse = table
        .sse_description()
        .and_then(|s| s.status())
        .is_some_and(|s| {
            matches!(
                s,
                SseStatus::Enabled | SseStatus::Enabling | SseStatus::Updating
            )
        });
    let props: Props = [
        ("name".to_string(), Value::from(name)),
        (
            "partition_key".to_string(),
            partition_key.unwrap_or(Value::Null),
        ),
        ("sort_key".to_string(), sort_key.unwrap_or(Value::Null)),
        ("billing_mode".to_string(), Value::from(billing)),
        ("sse_enabled".to_string(), Value::Bool(sse)),
        ("sse_kms_key".to_string(), sse_kms_key),
        ("point_in_time_recovery".to_string(), Value::Bool(pitr)),
        (
            "deletion_protection".to_string(),
            Value::Bool(table.deletion_protection_enabled().unwrap_or(false)),
        ),
        (
            "tags".to_string(),
            tags_value(tags.tags().iter().map(|t| (t.key(), t.value()))),
        ),
    ]
    .into();
    Ok(Some(Observed {
        id: name.into(),
        props,
        outputs: outputs(name, &arn),
    }))
}

/// The key attribute of one kind (HASH or RANGE), as `{name, type}`.
fn key_attribute(
    table: &aws_sdk_dynamodb::types::TableDescription,
    kind: KeyType,
) -> Option<Value> {
    let key = table.key_schema().iter().find(|k| k.key_type == kind)?;
    let ty = table
        .attribute_definitions()
        .iter()
        .find(|a| a.attribute_name == key.attribute_name)
        .map(|a| a.attribute_type.as_str().to_owned())
        .unwrap_or_default();
    Some(json!({"name": key.attribute_name, "type": ty}))
}

/// The table's SSE key when it is not the AWS-managed `aws/dynamodb` key,
/// else null (the seed uses the AWS-managed key). AWS names the
/// key either way; `alias/aws/dynamodb` says which one is AWS's.
fn customer_key(arn: &str, managed: Result<Option<String>, AwsError>) -> Result<Value, AwsError> {
    // No AWS-managed DynamoDB key in this account and region: the table's
    // key is someone's own.
    Ok(if managed?.as_deref() == Some(arn) {
        Value::Null
    } else {
        Value::from(arn)
    })
}

fn sse_spec(enabled: bool) -> SseSpecification {
    // Enabled with no key named: the AWS-managed key `aws/dynamodb`, as the
    // seed's `SSESpecification: {SSEEnabled: true}`.
    let b = SseSpecification::builder().enabled(enabled);
    if enabled {
        b.sse_type(SseType::Kms).build()
    } else {
        b.build()
    }
}

async fn set_pitr(aws: &Aws, name: &str, enabled: bool) -> Result<(), AwsError> {
    let spec = PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(enabled)
        .build()
        .expect("enabled is set");
    retry_eventual(
        &[Eventual::BackupsNotReady, Eventual::TableBusy],
        || async {
            aws.dynamodb
                .update_continuous_backups()
                .table_name(name)
                .point_in_time_recovery_specification(spec.clone())
                .send()
                .await
                .map(|_| ())
                .map_err(aws_error("UpdateContinuousBackups"))
        },
    )
    .await
}

async fn wait_active(aws: &Aws, name: &str) -> Result<(), AwsError> {
    aws.dynamodb
        .wait_until_table_exists()
        .table_name(name)
        .wait(TABLE_WAIT)
        .await
        .map(|_| ())
        .map_err(|e| {
            AwsError::invalid(
                "DescribeTable",
                format!("table {name} did not become ACTIVE: {e}"),
            )
        })
}

pub async fn create(aws: &Aws, desired: &Props) -> Result<Observed, Failure> {
    let name = str_prop(desired, "name").unwrap_or_default();
    let pk = &desired["partition_key"];
    let pk_name = pk["name"].as_str().unwrap_or_default();
    let pk_type = pk["type"].as_str().unwrap_or("S");
    let tags: Vec<Tag> = super::props::map_prop(desired, "tags")
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value set")
        })
        .collect();
    let out = aws
        .dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(pk_name)
                .attribute_type(ScalarAttributeType::from(pk_type))
                .build()
                .expect("name and type set"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(pk_name)
                .key_type(KeyType::Hash)
                .build()
                .expect("name and type set"),
        )
        .billing_mode(BillingMode::from(
            str_prop(desired, "billing_mode").unwrap_or("PAY_PER_REQUEST"),
        ))
        .sse_specification(sse_spec(bool_prop(desired, "sse_enabled").unwrap_or(false)))
        .set_deletion_protection_enabled(bool_prop(desired, "deletion_protection"))
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(aws_error("CreateTable"))?;
    let arn = out
        .table_description()
        .and_then(|t| t.table_arn())
        .unwrap_or_default();
    let mut created = Observed {
        id: name.into(),
        props: desired.clone(),
        outputs: outputs(name, arn),
    };
    created
        .props
        .insert("point_in_time_recovery".into(), Value::Bool(false));
    wait_active(aws, name)
        .await
        .map_err(|e| Failure::partial(e, created.clone()))?;
    if bool_prop(desired, "point_in_time_recovery") == Some(true) {
        set_pitr(aws, name, true)
            .await
            .map_err(|e| Failure::partial(e, created.clone()))?;
    }
    created.props = desired.clone();
    Ok(created)
}

pub async fn update(aws: &Aws, current: &Observed, desired: &Props) -> Result<Observed, Failure> {
    let name = current.id.as_str();
    let have = &current.props;
    let billing = changed(desired, have, "billing_mode");
    let sse = changed(desired, have, "sse_enabled") || changed(desired, have, "sse_kms_key");
    let protection = changed(desired, have, "deletion_protection");
    if billing || sse || protection {
        let mut req = aws.dynamodb.update_table().table_name(name);
        if protection {
            req = req.set_deletion_protection_enabled(bool_prop(desired, "deletion_protection"));
        }
        if billing {
            req = req.billing_mode(BillingMode::from(
                str_prop(desired, "billing_mode").unwrap_or("PAY_PER_REQUEST"),
            ));
        }
        if sse {
            req =
                req.sse_specification(sse_spec(bool_prop(desired, "sse_enabled").unwrap_or(false)));
        }
        retry_eventual(&[Eventual::TableBusy], || async {
            req.clone().send().await.map_err(aws_error("UpdateTable"))
        })
        .await?;
        wait_active(aws, name).await?;
    }
    if changed(desired, have, "point_in_time_recovery") {
        set_pitr(
            aws,
            name,
            bool_prop(desired, "point_in_time_recovery").unwrap_or(false),
        )
        .await?;
    }
    let arn = &current.outputs["arn"];
    TagChanges::between(desired, have)
        .apply(
            |keys| async move {
                aws.dynamodb
                    .untag_resource()
                    .resource_arn(arn)
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
                            .key(k)
                            .value(v)
                            .build()
                            .expect("key and value set")
                    })
                    .collect();
                aws.dynamodb
                    .tag_resource()
                    .resource_arn(arn)
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

pub async fn delete(aws: &Aws, name: &str) -> Result<(), AwsError> {
    match aws.dynamodb.delete_table().table_name(name).send().await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(aws_error("DeleteTable")(e)),
    }
    aws.dynamodb
        .wait_until_table_not_exists()
        .table_name(name)
        .wait(TABLE_WAIT)
        .await
        .map(|_| ())
        .map_err(|e| {
            AwsError::invalid(
                "DescribeTable",
                format!("table {name} was not deleted: {e}"),
            )
        })
}

/// The provider of `aws:dynamodb/table`.
pub struct Table;

pub const KIND: Kind = Kind::new("aws:dynamodb/table");

impl Provider for Table {
    fn kind(&self) -> Kind {
        KIND
    }

    fn replace_keys(&self) -> &'static [&'static str] {
        &["name", "partition_key", "sort_key"]
    }

    fn loses(&self) -> Option<&'static str> {
        Some("every item it holds")
    }

    fn guarded_by(&self, live: &Props) -> Option<&'static str> {
        (bool_prop(live, "deletion_protection") == Some(true)).then_some("deletion_protection")
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
        delete(cx.aws, &current.id).await
    }
}
