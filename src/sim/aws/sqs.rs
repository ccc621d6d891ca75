//! SQS (JSON protocol): queues, their attributes and tags. Messages are not
//! modelled.
//!
//! Error codes are the ones the SDK reports against AWS: SQS answers JSON
//! with an `x-amzn-query-error` header, and the SDK takes its code (the
//! query protocol's, e.g. `AWS.SimpleQueueService.NonExistentQueue`) over
//! the JSON `__type` (`QueueDoesNotExist`).
//!
//! Decoded by hand, not with `operations!`: several inputs hold `HashMap`s,
//! whose printed order changes from one map to the next, and the printed
//! input is what decides an attempt's fault. Here the maps print sorted.

use super::{Answer, Call, Fail, Item, World};
use aws_sdk_sqs::operation::{
    create_queue::*, delete_queue::*, get_queue_attributes::*, get_queue_url::*,
    list_queue_tags::*, set_queue_attributes::*, tag_queue::*, untag_queue::*,
};
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use aws_smithy_runtime_api::client::interceptors::context::{Error as OpError, Input, Output};
use std::collections::{BTreeMap, HashMap};

/// How long a deleted queue's name stays unusable, in ticks (60 s on AWS).
pub const DELETED_RECENTLY_TICKS: u64 = 60;

#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
    /// The settable attributes, defaults included, by name (`VisibilityTimeout`
    /// -> `"30"`). `KmsMasterKeyId` is absent when SSE-KMS is off.
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created_tick: u64,
    pub modified_tick: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sqs {
    /// By queue name.
    pub queues: BTreeMap<String, Queue>,
    /// Deleted queue names and the tick of their deletion: CreateQueue
    /// refuses the name for [`DELETED_RECENTLY_TICKS`].
    pub deleted: BTreeMap<String, u64>,
}

impl Sqs {
    pub fn inventory(&self, out: &mut Vec<Item>) {
        for q in self.queues.values() {
            out.push(Item {
                kind: "aws:sqs/queue",
                id: q.name.clone(),
                tags: q.tags.clone(),
                snapshot: format!("{q:?}"),
            });
        }
    }
}

/// The printed input, with maps in key order.
fn sorted<K: AsRef<str>>(map: Option<&HashMap<K, String>>) -> BTreeMap<&str, &str> {
    map.into_iter()
        .flatten()
        .map(|(k, v)| (k.as_ref(), v.as_str()))
        .collect()
}

pub fn decode(input: &Input) -> Option<Call> {
    macro_rules! serve {
        ($($op:ident: $input:ident, $error:ident => $handler:ident, |$i:ident| $text:expr;)*) => {$(
            if let Some($i) = input.downcast_ref::<$input>() {
                let text = $text;
                let i = $i.clone();
                return Some(Call::new(
                    "sqs",
                    stringify!($op),
                    super::text_hash(&text),
                    move |w| $handler(w, &i).map(Output::erase),
                    |f| OpError::erase($error::generic(f.metadata())),
                ));
            }
        )*};
    }
    serve! {
        CreateQueue: CreateQueueInput, CreateQueueError => create_queue,
            |i| format!("{:?} {:?} {:?}", i.queue_name(), sorted(i.attributes()), sorted(i.tags()));
        DeleteQueue: DeleteQueueInput, DeleteQueueError => delete_queue, |i| format!("{i:?}");
        GetQueueAttributes: GetQueueAttributesInput, GetQueueAttributesError => get_queue_attributes,
            |i| format!("{i:?}");
        GetQueueUrl: GetQueueUrlInput, GetQueueUrlError => get_queue_url, |i| format!("{i:?}");
        ListQueueTags: ListQueueTagsInput, ListQueueTagsError => list_queue_tags, |i| format!("{i:?}");
        SetQueueAttributes: SetQueueAttributesInput, SetQueueAttributesError => set_queue_attributes,
            |i| format!("{:?} {:?}", i.queue_url(), sorted(i.attributes()));
        TagQueue: TagQueueInput, TagQueueError => tag_queue,
            |i| format!("{:?} {:?}", i.queue_url(), sorted(i.tags()));
        UntagQueue: UntagQueueInput, UntagQueueError => untag_queue, |i| format!("{i:?}");
    }
    None
}

fn no_queue() -> Fail {
    Fail::new(
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist.",
    )
}

fn invalid_value(name: &str) -> Fail {
    Fail::new(
        "InvalidAttributeValue",
        format!("Invalid value for the parameter {name}."),
    )
}

/// A date that does not depend on the real clock, in epoch seconds.
fn epoch(tick: u64) -> String {
    (1_700_000_000 + tick).to_string()
}

/// The queue a URL names: `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`.
fn resolve<'a>(w: &'a mut World, url: Option<&str>) -> Answer<&'a mut Queue> {
    let mut parts = url.unwrap_or_default().trim_end_matches('/').rsplit('/');
    let (name, account) = (parts.next().unwrap_or_default(), parts.next());
    if account != Some(w.account.as_str()) {
        return Err(no_queue());
    }
    w.sqs.queues.get_mut(name).ok_or_else(no_queue)
}

/// Checks settable attributes against SQS's ranges, by name.
fn checked(attrs: Option<&HashMap<Attr, String>>) -> Answer<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (attr, value) in attrs.into_iter().flatten() {
        let name = attr.as_str();
        let range = |lo: i64, hi: i64| {
            value
                .parse::<i64>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .map(|_| ())
                .ok_or_else(|| invalid_value(name))
        };
        match attr {
            Attr::DelaySeconds => range(0, 900)?,
            Attr::MaximumMessageSize => range(1024, 1_048_576)?,
            Attr::MessageRetentionPeriod => range(60, 1_209_600)?,
            Attr::ReceiveMessageWaitTimeSeconds => range(0, 20)?,
            Attr::VisibilityTimeout => range(0, 43_200)?,
            Attr::KmsDataKeyReusePeriodSeconds => range(60, 86_400)?,
            Attr::SqsManagedSseEnabled | Attr::FifoQueue | Attr::ContentBasedDeduplication => {
                if value != "true" && value != "false" {
                    return Err(invalid_value(name));
                }
            }
            Attr::Policy | Attr::RedrivePolicy | Attr::RedriveAllowPolicy => {
                if !value.is_empty() && serde_json::from_str::<serde_json::Value>(value).is_err() {
                    return Err(invalid_value(name));
                }
            }
            Attr::KmsMasterKeyId | Attr::DeduplicationScope | Attr::FifoThroughputLimit => {}
            _ => {
                return Err(Fail::new(
                    "InvalidAttributeName",
                    format!("Unknown Attribute {name}."),
                ))
            }
        }
        out.insert(name.to_owned(), value.clone());
    }
    Ok(out)
}

/// Applies settable attributes; the encryption ones turn each other off.
fn apply(to: &mut BTreeMap<String, String>, changes: BTreeMap<String, String>) {
    for (name, value) in changes {
        match name.as_str() {
            "KmsMasterKeyId" if value.is_empty() => {
                to.remove("KmsMasterKeyId");
                to.remove("KmsDataKeyReusePeriodSeconds");
            }
            "KmsMasterKeyId" => {
                to.insert("SqsManagedSseEnabled".into(), "false".into());
                to.entry("KmsDataKeyReusePeriodSeconds".into())
                    .or_insert_with(|| "300".into());
                to.insert(name, value);
            }
            "SqsManagedSseEnabled" if value == "true" => {
                to.remove("KmsMasterKeyId");
                to.remove("KmsDataKeyReusePeriodSeconds");
                to.insert(name, value);
            }
            _ => {
                to.insert(name, value);
            }
        }
    }
}

fn defaults(fifo: bool) -> BTreeMap<String, String> {
    let mut d: BTreeMap<String, String> = [
        ("DelaySeconds", "0"),
        ("MaximumMessageSize", "262144"),
        ("MessageRetentionPeriod", "345600"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
        ("VisibilityTimeout", "30"),
        ("SqsManagedSseEnabled", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if fifo {
        for (k, v) in [
            ("FifoQueue", "true"),
            ("ContentBasedDeduplication", "false"),
            ("DeduplicationScope", "queue"),
            ("FifoThroughputLimit", "perQueue"),
        ] {
            d.insert(k.into(), v.into());
        }
    }
    d
}

fn check_tags(tags: &BTreeMap<String, String>) -> Answer<()> {
    if tags.len() > 50 {
        return Err(Fail::new(
            "InvalidParameterValue",
            "Too many tags added for queue.",
        ));
    }
    Ok(())
}

fn create_queue(w: &mut World, i: &CreateQueueInput) -> Answer<CreateQueueOutput> {
    let name = i.queue_name().unwrap_or_default();
    let fifo = name.ends_with(".fifo");
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let valid = !base.is_empty()
        && name.len() <= 80
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(Fail::new(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    let given = checked(i.attributes())?;
    if fifo != (given.get("FifoQueue").map(String::as_str) == Some("true")) {
        return Err(Fail::new(
            "InvalidParameterValue",
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
        ));
    }
    if let Some(q) = w.sqs.queues.get(name) {
        // The same name and attributes: the queue there is the answer.
        let differs = given.iter().find(|(k, v)| {
            let have = q.attributes.get(*k).map_or("", String::as_str);
            have != v.as_str()
        });
        if let Some((k, _)) = differs {
            return Err(Fail::new(
                "QueueAlreadyExists",
                format!("A queue already exists with the same name and a different value for attribute {k}"),
            ));
        }
        return Ok(CreateQueueOutput::builder().queue_url(&q.url).build());
    }
    if w.sqs
        .deleted
        .get(name)
        .is_some_and(|t| w.tick < t + DELETED_RECENTLY_TICKS)
    {
        return Err(Fail::new(
            "AWS.SimpleQueueService.QueueDeletedRecently",
            "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
        ));
    }
    let tags: BTreeMap<String, String> = i
        .tags()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    check_tags(&tags)?;
    let mut attributes = defaults(fifo);
    apply(&mut attributes, given);
    let queue = Queue {
        name: name.to_owned(),
        url: format!(
            "https://sqs.{}.amazonaws.com/{}/{name}",
            w.region, w.account
        ),
        arn: w.arn("sqs", name),
        attributes,
        tags,
        created_tick: w.tick,
        modified_tick: w.tick,
    };
    let url = queue.url.clone();
    w.sqs.deleted.remove(name);
    w.sqs.queues.insert(name.to_owned(), queue);
    Ok(CreateQueueOutput::builder().queue_url(url).build())
}

fn delete_queue(w: &mut World, i: &DeleteQueueInput) -> Answer<DeleteQueueOutput> {
    let name = resolve(w, i.queue_url())?.name.clone();
    w.sqs.queues.remove(&name);
    w.sqs.deleted.insert(name, w.tick);
    Ok(DeleteQueueOutput::builder().build())
}

fn get_queue_url(w: &mut World, i: &GetQueueUrlInput) -> Answer<GetQueueUrlOutput> {
    if i.queue_owner_aws_account_id()
        .is_some_and(|a| a != w.account)
    {
        return Err(no_queue());
    }
    let q = w
        .sqs
        .queues
        .get(i.queue_name().unwrap_or_default())
        .ok_or_else(no_queue)?;
    Ok(GetQueueUrlOutput::builder().queue_url(&q.url).build())
}

fn get_queue_attributes(
    w: &mut World,
    i: &GetQueueAttributesInput,
) -> Answer<GetQueueAttributesOutput> {
    let q = resolve(w, i.queue_url())?;
    let mut all = q.attributes.clone();
    for (k, v) in [
        ("QueueArn", q.arn.clone()),
        ("ApproximateNumberOfMessages", "0".into()),
        ("ApproximateNumberOfMessagesNotVisible", "0".into()),
        ("ApproximateNumberOfMessagesDelayed", "0".into()),
        ("CreatedTimestamp", epoch(q.created_tick)),
        ("LastModifiedTimestamp", epoch(q.modified_tick)),
    ] {
        all.insert(k.into(), v);
    }
    let wanted = i.attribute_names();
    for a in wanted {
        if !Attr::values().contains(&a.as_str()) {
            return Err(Fail::new(
                "InvalidAttributeName",
                format!("Unknown Attribute {}.", a.as_str()),
            ));
        }
    }
    let every = wanted.contains(&Attr::All);
    let out: HashMap<Attr, String> = all
        .into_iter()
        .map(|(k, v)| (Attr::from(k.as_str()), v))
        .filter(|(k, _)| every || wanted.contains(k))
        .collect();
    Ok(GetQueueAttributesOutput::builder()
        .set_attributes((!out.is_empty()).then_some(out))
        .build())
}

fn set_queue_attributes(
    w: &mut World,
    i: &SetQueueAttributesInput,
) -> Answer<SetQueueAttributesOutput> {
    let changes = checked(i.attributes())?;
    if changes.contains_key("FifoQueue") {
        return Err(Fail::new(
            "InvalidAttributeName",
            "Unknown Attribute FifoQueue.",
        ));
    }
    let tick = w.tick;
    let q = resolve(w, i.queue_url())?;
    apply(&mut q.attributes, changes);
    q.modified_tick = tick;
    Ok(SetQueueAttributesOutput::builder().build())
}

fn list_queue_tags(w: &mut World, i: &ListQueueTagsInput) -> Answer<ListQueueTagsOutput> {
    let q = resolve(w, i.queue_url())?;
    let tags: HashMap<String, String> = q.tags.clone().into_iter().collect();
    Ok(ListQueueTagsOutput::builder()
        .set_tags((!tags.is_empty()).then_some(tags))
        .build())
}

fn tag_queue(w: &mut World, i: &TagQueueInput) -> Answer<TagQueueOutput> {
    let q = resolve(w, i.queue_url())?;
    let mut tags = q.tags.clone();
    tags.extend(
        i.tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    check_tags(&tags)?;
    q.tags = tags;
    Ok(TagQueueOutput::builder().build())
}

fn untag_queue(w: &mut World, i: &UntagQueueInput) -> Answer<UntagQueueOutput> {
    let q = resolve(w, i.queue_url())?;
    for k in i.tag_keys() {
        q.tags.remove(k);
    }
    Ok(UntagQueueOutput::builder().build())
}
