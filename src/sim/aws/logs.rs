//! CloudWatch Logs: log groups (retention, KMS key, tags, deletion
//! protection) and the events a test puts in them.

use super::{Answer, Fail, Item, World};
use aws_sdk_cloudwatchlogs::operation::{
    associate_kms_key::*, create_log_group::*, delete_log_group::*, delete_retention_policy::*,
    describe_log_groups::*, disassociate_kms_key::*, filter_log_events::*,
    list_tags_for_resource::*, put_retention_policy::*, tag_resource::*, untag_resource::*,
};
use aws_sdk_cloudwatchlogs::types::{FilteredLogEvent, LogGroup as LogGroupOut, LogGroupClass};
use aws_sdk_kms::types::KeyState;
use std::collections::{BTreeMap, HashMap};

operations!(aws_sdk_cloudwatchlogs, "logs":
    AssociateKmsKey: associate_kms_key::{AssociateKmsKeyInput, AssociateKmsKeyError} => associate_kms_key,
    CreateLogGroup: create_log_group::{CreateLogGroupInput, CreateLogGroupError} => create_log_group,
    DeleteLogGroup: delete_log_group::{DeleteLogGroupInput, DeleteLogGroupError} => delete_log_group,
    DeleteRetentionPolicy: delete_retention_policy::{DeleteRetentionPolicyInput, DeleteRetentionPolicyError} => delete_retention_policy,
    DescribeLogGroups: describe_log_groups::{DescribeLogGroupsInput, DescribeLogGroupsError} => describe_log_groups,
    DisassociateKmsKey: disassociate_kms_key::{DisassociateKmsKeyInput, DisassociateKmsKeyError} => disassociate_kms_key,
    FilterLogEvents: filter_log_events::{FilterLogEventsInput, FilterLogEventsError} => filter_log_events,
    ListTagsForResource: list_tags_for_resource::{ListTagsForResourceInput, ListTagsForResourceError} => list_tags_for_resource,
    PutRetentionPolicy: put_retention_policy::{PutRetentionPolicyInput, PutRetentionPolicyError} => put_retention_policy,
    TagResource: tag_resource::{TagResourceInput, TagResourceError} => tag_resource,
    UntagResource: untag_resource::{UntagResourceInput, UntagResourceError} => untag_resource,
);

/// The retention periods AWS accepts, in days.
pub const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    pub stream: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
    /// Empty: FilterLogEvents makes one from the event's place.
    pub event_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogGroup {
    pub name: String,
    pub retention: Option<i32>,
    /// As CreateLogGroup / AssociateKmsKey were given it: a key ARN.
    pub kms_key: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub class: LogGroupClass,
    pub deletion_protection: bool,
    /// Milliseconds since the epoch, on the real clock.
    pub created: i64,
    pub created_tick: u64,
    /// What FilterLogEvents finds (a test adds them).
    pub events: Vec<LogEvent>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logs {
    pub groups: BTreeMap<String, LogGroup>,
}

impl Logs {
    pub fn inventory(&self, out: &mut Vec<Item>) {
        for g in self.groups.values() {
            out.push(Item {
                kind: "aws:logs/logGroup",
                id: g.name.clone(),
                tags: g.tags.clone(),
                snapshot: format!("{g:?}"),
            });
        }
    }
}

fn not_found() -> Fail {
    Fail::new(
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
}

fn invalid(message: impl Into<String>) -> Fail {
    Fail::new("InvalidParameterException", message)
}

fn group<'a>(w: &'a mut World, name: Option<&str>) -> Answer<&'a mut LogGroup> {
    w.logs
        .groups
        .get_mut(name.unwrap_or_default())
        .ok_or_else(not_found)
}

/// The log group an ARN names, as the tagging API wants it:
/// `...:log-group:NAME`, without the `:*` of DescribeLogGroups' `arn`.
fn by_arn<'a>(w: &'a mut World, arn: Option<&str>) -> Answer<&'a mut LogGroup> {
    let arn = arn.unwrap_or_default();
    let prefix = w.arn("logs", "log-group:");
    let Some(name) = arn.strip_prefix(&prefix) else {
        return Err(invalid(format!("Invalid resource ARN: {arn}")));
    };
    w.logs.groups.get_mut(name).ok_or_else(not_found)
}

/// The group a name or an identifier (name or ARN) names.
fn named(w: &World, name: Option<&str>, identifier: Option<&str>) -> String {
    match (name, identifier) {
        (Some(n), _) => n.to_owned(),
        (None, Some(id)) => {
            let prefix = w.arn("logs", "log-group:");
            let id = id.strip_prefix(&prefix).unwrap_or(id);
            id.strip_suffix(":*").unwrap_or(id).to_owned()
        }
        (None, None) => String::new(),
    }
}

/// Whether Logs may use the key: it must be named by its ARN, exist, be
/// enabled, be visible to Logs (`lag` ticks after CreateKey) and let the
/// Logs service principal use it.
fn usable_key(w: &mut World, group: &str, id: &str) -> Answer<String> {
    if !id.starts_with("arn:") {
        return Err(invalid("The specified KMS Key Id could not be found."));
    }
    let denied = Fail::new(
        "AccessDeniedException",
        format!(
            "The specified KMS key does not exist or is not allowed to be used with Arn '{}'",
            w.arn("logs", &format!("log-group:{group}"))
        ),
    );
    if !id.starts_with(&w.arn("kms", "key/")) {
        return Err(denied);
    }
    let (tick, lag) = (w.tick, w.lag);
    let logs = format!("logs.{}.amazonaws.com", w.region);
    let Ok(k) = w.kms.key_mut(id) else {
        return Err(denied);
    };
    let allowed = k.policy.contains(&logs) || k.policy.contains("logs.amazonaws.com");
    if k.state != KeyState::Enabled || k.created_tick + lag > tick || !allowed {
        return Err(denied);
    }
    Ok(id.to_owned())
}

fn check_tags<'a>(tags: impl IntoIterator<Item = &'a String>) -> Answer<()> {
    match tags.into_iter().find(|k| k.starts_with("aws:")) {
        Some(k) => Err(invalid(format!("Tag keys cannot start with 'aws:': {k}"))),
        None => Ok(()),
    }
}

fn create_log_group(w: &mut World, i: &CreateLogGroupInput) -> Answer<CreateLogGroupOutput> {
    let name = i.log_group_name().unwrap_or_default().to_owned();
    let valid = (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
    if !valid {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )));
    }
    if w.logs.groups.contains_key(&name) {
        return Err(Fail::new(
            "ResourceAlreadyExistsException",
            "The specified log group already exists",
        ));
    }
    let tags: BTreeMap<String, String> =
        i.tags().cloned().unwrap_or_default().into_iter().collect();
    check_tags(tags.keys())?;
    if tags.len() > 50 {
        return Err(invalid("A log group can have no more than 50 tags."));
    }
    let kms_key = match i.kms_key_id() {
        Some(id) => Some(usable_key(w, &name, id)?),
        None => None,
    };
    let g = LogGroup {
        name: name.clone(),
        retention: None,
        kms_key,
        tags,
        class: i
            .log_group_class()
            .cloned()
            .unwrap_or(LogGroupClass::Standard),
        deletion_protection: i.deletion_protection_enabled().unwrap_or(false),
        created: crate::ambient::now().timestamp_millis(),
        created_tick: w.tick,
        events: Vec::new(),
    };
    w.logs.groups.insert(name, g);
    Ok(CreateLogGroupOutput::builder().build())
}

fn delete_log_group(w: &mut World, i: &DeleteLogGroupInput) -> Answer<DeleteLogGroupOutput> {
    let g = group(w, i.log_group_name())?;
    if g.deletion_protection {
        return Err(Fail::new(
            "ValidationException",
            format!(
                "Log group {} has deletion protection enabled and cannot be deleted",
                g.name
            ),
        ));
    }
    let name = g.name.clone();
    w.logs.groups.remove(&name);
    Ok(DeleteLogGroupOutput::builder().build())
}

fn put_retention_policy(
    w: &mut World,
    i: &PutRetentionPolicyInput,
) -> Answer<PutRetentionPolicyOutput> {
    let days = i.retention_in_days().unwrap_or_default();
    if !RETENTION_DAYS.contains(&days) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
        )));
    }
    group(w, i.log_group_name())?.retention = Some(days);
    Ok(PutRetentionPolicyOutput::builder().build())
}

fn delete_retention_policy(
    w: &mut World,
    i: &DeleteRetentionPolicyInput,
) -> Answer<DeleteRetentionPolicyOutput> {
    group(w, i.log_group_name())?.retention = None;
    Ok(DeleteRetentionPolicyOutput::builder().build())
}

fn associate_kms_key(w: &mut World, i: &AssociateKmsKeyInput) -> Answer<AssociateKmsKeyOutput> {
    let name = named(w, i.log_group_name(), i.resource_identifier());
    group(w, Some(&name))?;
    let key = usable_key(w, &name, i.kms_key_id().unwrap_or_default())?;
    group(w, Some(&name))?.kms_key = Some(key);
    Ok(AssociateKmsKeyOutput::builder().build())
}

fn disassociate_kms_key(
    w: &mut World,
    i: &DisassociateKmsKeyInput,
) -> Answer<DisassociateKmsKeyOutput> {
    let name = named(w, i.log_group_name(), i.resource_identifier());
    group(w, Some(&name))?.kms_key = None;
    Ok(DisassociateKmsKeyOutput::builder().build())
}

fn describe(w: &World, g: &LogGroup) -> LogGroupOut {
    let arn = w.arn("logs", &format!("log-group:{}", g.name));
    LogGroupOut::builder()
        .log_group_name(&g.name)
        .creation_time(g.created)
        .set_retention_in_days(g.retention)
        .metric_filter_count(0)
        .arn(format!("{arn}:*"))
        .log_group_arn(arn)
        .stored_bytes(0)
        .set_kms_key_id(g.kms_key.clone())
        .log_group_class(g.class.clone())
        .deletion_protection_enabled(g.deletion_protection)
        .build()
}

fn describe_log_groups(
    w: &mut World,
    i: &DescribeLogGroupsInput,
) -> Answer<DescribeLogGroupsOutput> {
    let limit = i.limit().unwrap_or(50);
    if !(1..=50).contains(&limit) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 50"
        )));
    }
    if i.log_group_name_prefix().is_some() && i.log_group_name_pattern().is_some() {
        return Err(invalid(
            "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.",
        ));
    }
    let prefix = i.log_group_name_prefix().unwrap_or_default();
    let pattern = i
        .log_group_name_pattern()
        .unwrap_or_default()
        .to_lowercase();
    // The token is the last name of the previous page.
    let after = i.next_token().unwrap_or_default();
    let matching: Vec<&LogGroup> = w
        .logs
        .groups
        .values()
        .filter(|g| g.name.starts_with(prefix) && g.name.to_lowercase().contains(&pattern))
        .filter(|g| i.log_group_class().is_none_or(|c| *c == g.class))
        .filter(|g| after.is_empty() || g.name.as_str() > after)
        .collect();
    let page: Vec<LogGroupOut> = matching
        .iter()
        .take(limit as usize)
        .map(|g| describe(w, g))
        .collect();
    let next = (matching.len() > limit as usize).then(|| matching[limit as usize - 1].name.clone());
    Ok(DescribeLogGroupsOutput::builder()
        .set_log_groups(Some(page))
        .set_next_token(next)
        .build())
}

/// A subset of the filter syntax: terms that must all appear (`"quoted
/// phrases"` kept whole), `-term` that must not, `?term` of which one
/// must. JSON (`{...}`) and space-delimited (`[...]`) patterns, which the
/// simulation does not model, match every event.
fn matches(pattern: &str, message: &str) -> bool {
    let pattern = pattern.trim();
    if pattern.starts_with('{') || pattern.starts_with('[') {
        return true;
    }
    let mut terms = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        let (sign, body) = match rest.chars().next() {
            Some(c @ ('-' | '?')) => (Some(c), &rest[1..]),
            _ => (None, rest),
        };
        let (term, next) = match body.strip_prefix('"') {
            Some(q) => q.split_once('"').unwrap_or((q, "")),
            None => body.split_once(char::is_whitespace).unwrap_or((body, "")),
        };
        terms.push((sign, term));
        rest = next;
    }
    let any: Vec<&str> = terms
        .iter()
        .filter(|t| t.0 == Some('?'))
        .map(|t| t.1)
        .collect();
    terms.iter().all(|(sign, term)| match sign {
        Some('-') => !message.contains(term),
        Some(_) => true,
        None => message.contains(term),
    }) && (any.is_empty() || any.iter().any(|t| message.contains(t)))
}

fn filter_log_events(w: &mut World, i: &FilterLogEventsInput) -> Answer<FilterLogEventsOutput> {
    let name = named(w, i.log_group_name(), i.log_group_identifier());
    let g = group(w, Some(&name))?;
    let limit = i.limit().unwrap_or(10_000).clamp(1, 10_000) as usize;
    let skip: usize = i.next_token().and_then(|t| t.parse().ok()).unwrap_or(0);
    let mut found: Vec<(usize, &LogEvent)> = g
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            i.log_stream_names().is_empty() || i.log_stream_names().contains(&e.stream)
        })
        .filter(|(_, e)| {
            e.stream
                .starts_with(i.log_stream_name_prefix().unwrap_or_default())
        })
        .filter(|(_, e)| i.start_time().is_none_or(|s| e.timestamp >= s))
        .filter(|(_, e)| i.end_time().is_none_or(|s| e.timestamp <= s))
        .filter(|(_, e)| matches(i.filter_pattern().unwrap_or_default(), &e.message))
        .collect();
    found.sort_by_key(|(n, e)| (e.timestamp, *n));
    let events = found
        .iter()
        .skip(skip)
        .take(limit)
        .map(|(n, e)| {
            let id = match e.event_id.as_str() {
                "" => format!("{:056}", n),
                id => id.to_owned(),
            };
            FilteredLogEvent::builder()
                .log_stream_name(&e.stream)
                .timestamp(e.timestamp)
                .ingestion_time(e.ingestion_time)
                .message(&e.message)
                .event_id(id)
                .build()
        })
        .collect();
    let next = (found.len() > skip + limit).then(|| (skip + limit).to_string());
    Ok(FilterLogEventsOutput::builder()
        .set_events(Some(events))
        .set_next_token(next)
        .build())
}

fn list_tags_for_resource(
    w: &mut World,
    i: &ListTagsForResourceInput,
) -> Answer<ListTagsForResourceOutput> {
    let g = by_arn(w, i.resource_arn())?;
    let tags: HashMap<String, String> = g.tags.clone().into_iter().collect();
    Ok(ListTagsForResourceOutput::builder()
        .set_tags(Some(tags))
        .build())
}

fn tag_resource(w: &mut World, i: &TagResourceInput) -> Answer<TagResourceOutput> {
    let tags = i.tags().cloned().unwrap_or_default();
    check_tags(tags.keys())?;
    let g = by_arn(w, i.resource_arn())?;
    let mut all = g.tags.clone();
    all.extend(tags);
    if all.len() > 50 {
        return Err(Fail::new(
            "TooManyTagsException",
            "A resource can have no more than 50 tags.",
        ));
    }
    g.tags = all;
    Ok(TagResourceOutput::builder().build())
}

fn untag_resource(w: &mut World, i: &UntagResourceInput) -> Answer<UntagResourceOutput> {
    let g = by_arn(w, i.resource_arn())?;
    for k in i.tag_keys() {
        g.tags.remove(k);
    }
    Ok(UntagResourceOutput::builder().build())
}
