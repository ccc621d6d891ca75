//! KMS: keys (their state, rotation, policy, tags, scheduled deletion) and
//! aliases.

use super::{Answer, Fail, Item, World};
use aws_sdk_kms::operation::{
    cancel_key_deletion::*, create_alias::*, create_key::*, delete_alias::*, describe_key::*,
    disable_key_rotation::*, enable_key::*, enable_key_rotation::*, get_key_policy::*,
    get_key_rotation_status::*, list_aliases::*, list_keys::*, list_resource_tags::*,
    put_key_policy::*, schedule_key_deletion::*, tag_resource::*, untag_resource::*,
    update_alias::*, update_key_description::*,
};
use aws_sdk_kms::types::{
    AliasListEntry, KeyListEntry, KeyManagerType, KeyMetadata, KeyState, Tag,
};
use std::collections::BTreeMap;

operations!(aws_sdk_kms, "kms":
    CancelKeyDeletion: cancel_key_deletion::{CancelKeyDeletionInput, CancelKeyDeletionError} => cancel_key_deletion,
    CreateAlias: create_alias::{CreateAliasInput, CreateAliasError} => create_alias,
    CreateKey: create_key::{CreateKeyInput, CreateKeyError} => create_key,
    DeleteAlias: delete_alias::{DeleteAliasInput, DeleteAliasError} => delete_alias,
    DescribeKey: describe_key::{DescribeKeyInput, DescribeKeyError} => describe_key,
    DisableKeyRotation: disable_key_rotation::{DisableKeyRotationInput, DisableKeyRotationError} => disable_key_rotation,
    EnableKey: enable_key::{EnableKeyInput, EnableKeyError} => enable_key,
    EnableKeyRotation: enable_key_rotation::{EnableKeyRotationInput, EnableKeyRotationError} => enable_key_rotation,
    GetKeyPolicy: get_key_policy::{GetKeyPolicyInput, GetKeyPolicyError} => get_key_policy,
    GetKeyRotationStatus: get_key_rotation_status::{GetKeyRotationStatusInput, GetKeyRotationStatusError} => get_key_rotation_status | rotation_status_error,
    ListAliases: list_aliases::{ListAliasesInput, ListAliasesError} => list_aliases,
    ListKeys: list_keys::{ListKeysInput, ListKeysError} => list_keys,
    ListResourceTags: list_resource_tags::{ListResourceTagsInput, ListResourceTagsError} => list_resource_tags,
    PutKeyPolicy: put_key_policy::{PutKeyPolicyInput, PutKeyPolicyError} => put_key_policy,
    ScheduleKeyDeletion: schedule_key_deletion::{ScheduleKeyDeletionInput, ScheduleKeyDeletionError} => schedule_key_deletion,
    TagResource: tag_resource::{TagResourceInput, TagResourceError} => tag_resource,
    UntagResource: untag_resource::{UntagResourceInput, UntagResourceError} => untag_resource,
    UpdateAlias: update_alias::{UpdateAliasInput, UpdateAliasError} => update_alias,
    UpdateKeyDescription: update_key_description::{UpdateKeyDescriptionInput, UpdateKeyDescriptionError} => update_key_description,
);

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub id: String,
    pub arn: String,
    pub description: String,
    pub key_usage: String,
    pub key_spec: String,
    pub policy: String,
    pub tags: BTreeMap<String, String>,
    pub state: KeyState,
    pub rotation: bool,
    /// The tick it was made: it stays invisible to some calls for `lag`.
    pub created_tick: u64,
    /// Seconds since the epoch, on the program's clock (the engine compares it
    /// with its own pending creations' start).
    pub created: i64,
    pub deletion_window: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub name: String,
    pub target: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kms {
    pub keys: BTreeMap<String, Key>,
    pub aliases: BTreeMap<String, Alias>,
}

impl Kms {
    pub fn inventory(&self, out: &mut Vec<Item>) {
        for k in self.keys.values() {
            out.push(Item {
                kind: "aws:kms/key",
                id: k.id.clone(),
                tags: k.tags.clone(),
                snapshot: format!("{k:?}"),
            });
        }
        for a in self.aliases.values() {
            out.push(Item {
                kind: "aws:kms/alias",
                id: a.name.clone(),
                tags: BTreeMap::new(),
                snapshot: format!("{a:?}"),
            });
        }
    }

    /// A key by id, ARN, alias name or alias ARN.
    fn resolve(&self, id: &str) -> Answer<String> {
        let id = id.rsplit_once(":key/").map_or(id, |(_, k)| k);
        let id = match id.split_once(":alias/") {
            Some((_, a)) => format!("alias/{a}"),
            None => id.to_owned(),
        };
        let found = if id.starts_with("alias/") {
            self.aliases.get(&id).map(|a| a.target.clone())
        } else {
            self.keys.contains_key(&id).then(|| id.clone())
        };
        found.ok_or_else(|| Fail::new("NotFoundException", format!("Key '{id}' does not exist")))
    }

    pub fn key_mut(&mut self, id: &str) -> Answer<&mut Key> {
        let id = self.resolve(id)?;
        Ok(self.keys.get_mut(&id).expect("resolved"))
    }
}

fn invalid_state(k: &Key) -> Fail {
    Fail::new(
        "KMSInvalidStateException",
        format!("{} is {}", k.arn, k.state.as_str()),
    )
}

/// The key, which must not be pending deletion (or disabled, when
/// `enabled`).
fn usable<'a>(w: &'a mut World, id: Option<&str>, enabled: bool) -> Answer<&'a mut Key> {
    let k = w.kms.key_mut(id.unwrap_or_default())?;
    match k.state {
        KeyState::PendingDeletion => Err(invalid_state(k)),
        KeyState::Disabled if enabled => Err(invalid_state(k)),
        _ => Ok(k),
    }
}

fn tags_of(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter()
        .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
        .collect()
}

fn metadata(w: &World, k: &Key) -> KeyMetadata {
    KeyMetadata::builder()
        .key_id(&k.id)
        .arn(&k.arn)
        .description(&k.description)
        .key_usage(k.key_usage.as_str().into())
        .key_spec(k.key_spec.as_str().into())
        .key_state(k.state.clone())
        .enabled(k.state == KeyState::Enabled)
        // AWS's own keys (alias/aws/...) are AWS-managed.
        .key_manager(
            if w.kms
                .aliases
                .values()
                .any(|a| a.target == k.id && a.name.starts_with("alias/aws/"))
            {
                KeyManagerType::Aws
            } else {
                KeyManagerType::Customer
            },
        )
        .creation_date(aws_smithy_types::DateTime::from_secs(k.created))
        .aws_account_id(&w.account)
        .build()
        .expect("key id set")
}

fn create_key(w: &mut World, i: &CreateKeyInput) -> Answer<CreateKeyOutput> {
    let id = w.next_id("");
    let key = Key {
        arn: w.arn("kms", &format!("key/{id}")),
        id: id.clone(),
        description: i.description().unwrap_or_default().into(),
        key_usage: i
            .key_usage()
            .map_or("ENCRYPT_DECRYPT", |u| u.as_str())
            .into(),
        key_spec: i
            .key_spec()
            .map_or("SYMMETRIC_DEFAULT", |s| s.as_str())
            .into(),
        policy: i.policy().unwrap_or("{}").into(),
        tags: tags_of(i.tags()),
        state: KeyState::Enabled,
        rotation: false,
        created_tick: w.tick,
        created: crate::ambient::now().timestamp(),
        deletion_window: None,
    };
    let out = metadata(w, &key);
    w.kms.keys.insert(id, key);
    Ok(CreateKeyOutput::builder().key_metadata(out).build())
}

fn describe_key(w: &mut World, i: &DescribeKeyInput) -> Answer<DescribeKeyOutput> {
    let id = w.kms.resolve(i.key_id().unwrap_or_default())?;
    let out = metadata(w, &w.kms.keys[&id]);
    Ok(DescribeKeyOutput::builder().key_metadata(out).build())
}

fn enable_key_rotation(
    w: &mut World,
    i: &EnableKeyRotationInput,
) -> Answer<EnableKeyRotationOutput> {
    let (tick, lag) = (w.tick, w.lag);
    let k = usable(w, i.key_id(), true)?;
    // A new key is not yet visible everywhere in KMS.
    if k.created_tick + lag > tick {
        return Err(Fail::new(
            "NotFoundException",
            format!("Key '{}' does not exist", k.arn),
        ));
    }
    k.rotation = true;
    Ok(EnableKeyRotationOutput::builder().build())
}

fn disable_key_rotation(
    w: &mut World,
    i: &DisableKeyRotationInput,
) -> Answer<DisableKeyRotationOutput> {
    usable(w, i.key_id(), true)?.rotation = false;
    Ok(DisableKeyRotationOutput::builder().build())
}

fn get_key_rotation_status(
    w: &mut World,
    i: &GetKeyRotationStatusInput,
) -> Answer<GetKeyRotationStatusOutput> {
    let k = usable(w, i.key_id(), true)?;
    Ok(GetKeyRotationStatusOutput::builder()
        .key_rotation_enabled(k.rotation)
        .key_id(&k.id)
        .build())
}

fn rotation_status_error(f: &Fail) -> GetKeyRotationStatusError {
    if f.code == "KMSInvalidStateException" {
        GetKeyRotationStatusError::KmsInvalidStateException(
            aws_sdk_kms::types::error::KmsInvalidStateException::builder()
                .message(&f.message)
                .meta(f.metadata())
                .build(),
        )
    } else {
        GetKeyRotationStatusError::generic(f.metadata())
    }
}

fn get_key_policy(w: &mut World, i: &GetKeyPolicyInput) -> Answer<GetKeyPolicyOutput> {
    let k = w.kms.key_mut(i.key_id().unwrap_or_default())?;
    Ok(GetKeyPolicyOutput::builder()
        .policy(&k.policy)
        .policy_name("default")
        .build())
}

fn put_key_policy(w: &mut World, i: &PutKeyPolicyInput) -> Answer<PutKeyPolicyOutput> {
    let (tick, lag) = (w.tick, w.lag);
    let k = usable(w, i.key_id(), false)?;
    if k.created_tick + lag > tick {
        return Err(Fail::new(
            "NotFoundException",
            format!("Key '{}' does not exist", k.arn),
        ));
    }
    k.policy = i.policy().unwrap_or_default().into();
    Ok(PutKeyPolicyOutput::builder().build())
}

fn list_resource_tags(w: &mut World, i: &ListResourceTagsInput) -> Answer<ListResourceTagsOutput> {
    let k = w.kms.key_mut(i.key_id().unwrap_or_default())?;
    let tags = k
        .tags
        .iter()
        .map(|(key, v)| {
            Tag::builder()
                .tag_key(key)
                .tag_value(v)
                .build()
                .expect("set")
        })
        .collect();
    Ok(ListResourceTagsOutput::builder()
        .set_tags(Some(tags))
        .truncated(false)
        .build())
}

fn tag_resource(w: &mut World, i: &TagResourceInput) -> Answer<TagResourceOutput> {
    let k = usable(w, i.key_id(), false)?;
    k.tags.extend(tags_of(i.tags()));
    Ok(TagResourceOutput::builder().build())
}

fn untag_resource(w: &mut World, i: &UntagResourceInput) -> Answer<UntagResourceOutput> {
    let k = usable(w, i.key_id(), false)?;
    for t in i.tag_keys() {
        k.tags.remove(t);
    }
    Ok(UntagResourceOutput::builder().build())
}

fn update_key_description(
    w: &mut World,
    i: &UpdateKeyDescriptionInput,
) -> Answer<UpdateKeyDescriptionOutput> {
    usable(w, i.key_id(), false)?.description = i.description().unwrap_or_default().into();
    Ok(UpdateKeyDescriptionOutput::builder().build())
}

fn enable_key(w: &mut World, i: &EnableKeyInput) -> Answer<EnableKeyOutput> {
    usable(w, i.key_id(), false)?.state = KeyState::Enabled;
    Ok(EnableKeyOutput::builder().build())
}

fn schedule_key_deletion(
    w: &mut World,
    i: &ScheduleKeyDeletionInput,
) -> Answer<ScheduleKeyDeletionOutput> {
    let days = i.pending_window_in_days().unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(Fail::new(
            "ValidationException",
            "PendingWindowInDays must be between 7 and 30",
        ));
    }
    let k = usable(w, i.key_id(), false)?;
    k.state = KeyState::PendingDeletion;
    k.deletion_window = Some(days);
    Ok(ScheduleKeyDeletionOutput::builder()
        .key_id(&k.arn)
        .key_state(KeyState::PendingDeletion)
        .pending_window_in_days(days)
        .build())
}

fn cancel_key_deletion(
    w: &mut World,
    i: &CancelKeyDeletionInput,
) -> Answer<CancelKeyDeletionOutput> {
    let k = w.kms.key_mut(i.key_id().unwrap_or_default())?;
    if k.state != KeyState::PendingDeletion {
        return Err(invalid_state(k));
    }
    k.state = KeyState::Disabled;
    k.deletion_window = None;
    Ok(CancelKeyDeletionOutput::builder().key_id(&k.arn).build())
}

fn list_keys(w: &mut World, _: &ListKeysInput) -> Answer<ListKeysOutput> {
    let keys = w
        .kms
        .keys
        .values()
        .map(|k| {
            KeyListEntry::builder()
                .key_id(&k.id)
                .key_arn(&k.arn)
                .build()
        })
        .collect();
    Ok(ListKeysOutput::builder()
        .set_keys(Some(keys))
        .truncated(false)
        .build())
}

fn alias_name(name: Option<&str>) -> Answer<String> {
    match name {
        Some(n) if n.starts_with("alias/") && !n.starts_with("alias/aws/") => Ok(n.into()),
        _ => Err(Fail::new(
            "ValidationException",
            format!("Alias must start with the prefix \"alias/\": {name:?}"),
        )),
    }
}

fn create_alias(w: &mut World, i: &CreateAliasInput) -> Answer<CreateAliasOutput> {
    let name = alias_name(i.alias_name())?;
    if w.kms.aliases.contains_key(&name) {
        return Err(Fail::new(
            "AlreadyExistsException",
            format!(
                "An alias with the name {} already exists",
                w.arn("kms", &name)
            ),
        ));
    }
    let target = usable(w, i.target_key_id(), false)?.id.clone();
    w.kms.aliases.insert(name.clone(), Alias { name, target });
    Ok(CreateAliasOutput::builder().build())
}

fn update_alias(w: &mut World, i: &UpdateAliasInput) -> Answer<UpdateAliasOutput> {
    let name = alias_name(i.alias_name())?;
    let target = usable(w, i.target_key_id(), false)?.id.clone();
    match w.kms.aliases.get_mut(&name) {
        Some(a) => a.target = target,
        None => {
            return Err(Fail::new(
                "NotFoundException",
                format!("Alias {name} is not found."),
            ))
        }
    }
    Ok(UpdateAliasOutput::builder().build())
}

fn delete_alias(w: &mut World, i: &DeleteAliasInput) -> Answer<DeleteAliasOutput> {
    let name = alias_name(i.alias_name())?;
    match w.kms.aliases.remove(&name) {
        Some(_) => Ok(DeleteAliasOutput::builder().build()),
        None => Err(Fail::new(
            "NotFoundException",
            format!("Alias {name} is not found."),
        )),
    }
}

fn list_aliases(w: &mut World, i: &ListAliasesInput) -> Answer<ListAliasesOutput> {
    let filter = match i.key_id() {
        Some(k) => Some(w.kms.resolve(k)?),
        None => None,
    };
    let aliases = w
        .kms
        .aliases
        .values()
        .filter(|a| filter.as_ref().is_none_or(|k| *k == a.target))
        .map(|a| {
            AliasListEntry::builder()
                .alias_name(&a.name)
                .alias_arn(w.arn("kms", &a.name))
                .target_key_id(&a.target)
                .build()
        })
        .collect();
    Ok(ListAliasesOutput::builder()
        .set_aliases(Some(aliases))
        .truncated(false)
        .build())
}
