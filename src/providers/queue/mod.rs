//! SQS queue (the dead-letter queue), identified by its name; its URL and
//! ARN are outputs.

use super::aws::errors::{aws_error, is_not_found, AwsError};
use super::aws::retry::{retry_eventual, Eventual};
use super::props::{changed, map_prop, str_prop, tags_value, TagChanges};
use super::provider::{Context, Provider};
use super::{Aws, Failure, Hint};
use crate::engine::model::{Kind, Observed, Props};
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The provider of `aws:sqs/queue`.
pub struct Queue;

pub const KIND: Kind = Kind::new("aws:sqs/queue");

/// The attributes the stack declares, by property.
const ATTRIBUTES: [(&str, Attr); 2] = [
    ("kms_master_key_id", Attr::KmsMasterKeyId),
    ("message_retention_seconds", Attr::MessageRetentionPeriod),
];

fn outputs(name: &str, url: &str, arn: &str) -> BTreeMap<String, String> {
    [("name", name), ("url", url), ("arn", arn)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The declared attributes as SQS takes them (all strings).
fn attributes(desired: &Props) -> HashMap<Attr, String> {
    ATTRIBUTES
        .iter()
        .filter_map(|(prop, attr)| {
            let text = match desired.get(*prop)? {
                Value::String(s) => s.clone(),
                Value::Null => return None,
                other => other.to_string(),
            };
            Some((attr.clone(), text))
        })
        .collect()
}

async fn url_of(aws: &Aws, name: &str) -> Result<Option<String>, AwsError> {
    match aws.sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => Ok(out.queue_url),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(aws_error("GetQueueUrl")(e)),
    }
}

async fn read(aws: &Aws, name: &str, hint: &Hint) -> Result<Option<Observed>, AwsError> {
    // The URL is known from state; without it, one lookup by name.
    let url = match hint.output("url") {
        Some(url) => url.to_owned(),
        None => match url_of(aws, name).await? {
            Some(url) => url,
            None => return Ok(None),
        },
    };
    let attrs = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(Attr::All)
        .send();
    let tags = aws.sqs.list_queue_tags().queue_url(&url).send();
    let (attrs, tags) = tokio::join!(attrs, tags);
    let attrs = match attrs {
        Ok(out) => out.attributes.unwrap_or_default(),
        // A URL from state whose queue is gone.
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("GetQueueAttributes")(e)),
    };
    let tags = match tags {
        Ok(out) => out.tags.unwrap_or_default(),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("ListQueueTags")(e)),
    };
    let attr = |a: &Attr| attrs.get(a).cloned();
    let mut props: Props = [
        ("name".to_string(), Value::from(name)),
        ("tags".to_string(), tags_value(tags)),
    ]
    .into();
    props.insert(
        "kms_master_key_id".into(),
        attr(&Attr::KmsMasterKeyId).map_or(Value::Null, Value::from),
    );
    props.insert(
        "message_retention_seconds".into(),
        attr(&Attr::MessageRetentionPeriod)
            .and_then(|s| s.parse::<i64>().ok())
            .map_or(Value::Null, Value::from),
    );
    let arn = attr(&Attr::QueueArn).unwrap_or_default();
    Ok(Some(Observed {
        id: name.into(),
        props,
        outputs: outputs(name, &url, &arn),
    }))
}

async fn create(cx: &Context<'_>, desired: &Props) -> Result<Observed, Failure> {
    let aws = cx.aws;
    let name = str_prop(desired, "name").unwrap_or_default();
    let url = retry_eventual(&[Eventual::SqsQueueDeletedRecently], || async {
        aws.sqs
            .create_queue()
            .queue_name(name)
            .set_attributes(Some(attributes(desired)))
            .set_tags(Some(map_prop(desired, "tags").into_iter().collect()))
            .send()
            .await
            .map_err(aws_error("CreateQueue"))
    })
    .await?
    .queue_url
    .unwrap_or_default();
    let arn = format!("arn:aws:sqs:{}:{}:{name}", aws.region, cx.account);
    Ok(Observed {
        id: name.into(),
        props: desired.clone(),
        outputs: outputs(name, &url, &arn),
    })
}

async fn update(aws: &Aws, current: &Observed, desired: &Props) -> Result<Observed, Failure> {
    let url = &current.outputs["url"];
    let have = &current.props;
    let mut changes = attributes(desired);
    changes.retain(|attr, _| {
        let prop = ATTRIBUTES.iter().find(|(_, a)| a == attr).map(|(p, _)| *p);
        prop.is_some_and(|p| changed(desired, have, p))
    });
    // An attribute no longer declared goes back to SQS's default.
    if changed(desired, have, "kms_master_key_id") && desired["kms_master_key_id"].is_null() {
        changes.insert(Attr::KmsMasterKeyId, String::new());
    }
    if !changes.is_empty() {
        aws.sqs
            .set_queue_attributes()
            .queue_url(url)
            .set_attributes(Some(changes))
            .send()
            .await
            .map_err(aws_error("SetQueueAttributes"))?;
    }
    TagChanges::between(desired, have)
        .apply(
            |keys| async move {
                aws.sqs
                    .untag_queue()
                    .queue_url(url)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("UntagQueue"))
            },
            |tags| async move {
                aws.sqs
                    .tag_queue()
                    .queue_url(url)
                    .set_tags(Some(tags.into_iter().collect()))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("TagQueue"))
            },
        )
        .await?;
    Ok(Observed {
        id: current.id.clone(),
        props: desired.clone(),
        outputs: current.outputs.clone(),
    })
}

async fn delete(aws: &Aws, current: &Observed) -> Result<(), AwsError> {
    let url = match current.outputs.get("url") {
        Some(url) => url.clone(),
        None => match url_of(aws, &current.id).await? {
            Some(url) => url,
            None => return Ok(()),
        },
    };
    match aws.sqs.delete_queue().queue_url(url).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws_error("DeleteQueue")(e)),
    }
}

impl Provider for Queue {
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
        create(cx, desired).await
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_are_sent_as_sqs_takes_them() {
        let desired: Props = [
            (
                "kms_master_key_id".to_string(),
                json!("arn:aws:kms:r:a:key/k"),
            ),
            ("message_retention_seconds".to_string(), json!(1209600)),
        ]
        .into();
        let attrs = attributes(&desired);
        assert_eq!(attrs[&Attr::KmsMasterKeyId], "arn:aws:kms:r:a:key/k");
        assert_eq!(attrs[&Attr::MessageRetentionPeriod], "1209600");
    }
}
