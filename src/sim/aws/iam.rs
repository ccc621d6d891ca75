//! IAM: roles, with their trust policy, inline policies, attached managed
//! policies and tags. Not modelled: managed policies themselves (any
//! well-formed policy ARN can be attached), role paths (all `/`), quotas.

use super::{Answer, Fail, Item, World};
use aws_sdk_iam::operation::{
    attach_role_policy::*, create_role::*, delete_role::*, delete_role_policy::*,
    detach_role_policy::*, get_account_authorization_details::*, get_role::*, get_role_policy::*,
    list_attached_role_policies::*, list_role_policies::*, put_role_policy::*, tag_role::*,
    untag_role::*, update_assume_role_policy::*,
};
use aws_sdk_iam::types::{AttachedPolicy, EntityType, PolicyDetail, RoleDetail, Tag};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use std::collections::BTreeMap;

operations!(aws_sdk_iam, "iam":
    AttachRolePolicy: attach_role_policy::{AttachRolePolicyInput, AttachRolePolicyError} => attach_role_policy,
    CreateRole: create_role::{CreateRoleInput, CreateRoleError} => create_role,
    DeleteRole: delete_role::{DeleteRoleInput, DeleteRoleError} => delete_role,
    DeleteRolePolicy: delete_role_policy::{DeleteRolePolicyInput, DeleteRolePolicyError} => delete_role_policy,
    DetachRolePolicy: detach_role_policy::{DetachRolePolicyInput, DetachRolePolicyError} => detach_role_policy,
    GetAccountAuthorizationDetails: get_account_authorization_details::{GetAccountAuthorizationDetailsInput, GetAccountAuthorizationDetailsError} => get_account_authorization_details,
    GetRole: get_role::{GetRoleInput, GetRoleError} => get_role,
    GetRolePolicy: get_role_policy::{GetRolePolicyInput, GetRolePolicyError} => get_role_policy,
    ListAttachedRolePolicies: list_attached_role_policies::{ListAttachedRolePoliciesInput, ListAttachedRolePoliciesError} => list_attached_role_policies,
    ListRolePolicies: list_role_policies::{ListRolePoliciesInput, ListRolePoliciesError} => list_role_policies,
    PutRolePolicy: put_role_policy::{PutRolePolicyInput, PutRolePolicyError} => put_role_policy,
    TagRole: tag_role::{TagRoleInput, TagRoleError} => tag_role,
    UntagRole: untag_role::{UntagRoleInput, UntagRoleError} => untag_role,
    UpdateAssumeRolePolicy: update_assume_role_policy::{UpdateAssumeRolePolicyInput, UpdateAssumeRolePolicyError} => update_assume_role_policy,
);

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub name: String,
    /// `AROA...`: what IAM puts in a policy in place of a deleted role.
    pub id: String,
    pub arn: String,
    pub description: Option<String>,
    /// The trust policy as it was sent (IAM answers it URL-encoded).
    pub trust: String,
    /// Inline policy documents by policy name, as sent.
    pub inline: BTreeMap<String, String>,
    /// Attached managed policy ARNs, in the order attached.
    pub attached: Vec<String>,
    pub tags: BTreeMap<String, String>,
    /// The tick it was made: other services (and some IAM calls) do not see
    /// it for `lag` ticks.
    pub created_tick: u64,
    /// The last tick its trust policy or permissions changed.
    pub changed_tick: u64,
    /// The last tick a policy was deleted or detached: DeleteRole may still
    /// see it for `lag` ticks.
    pub removed_tick: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Iam {
    /// By role name, as created.
    pub roles: BTreeMap<String, Role>,
}

impl Iam {
    pub fn inventory(&self, out: &mut Vec<Item>) {
        for r in self.roles.values() {
            out.push(Item {
                kind: "aws:iam/role",
                id: r.name.clone(),
                tags: r.tags.clone(),
                snapshot: format!("{r:?}"),
            });
        }
    }

    /// Whether the role of `arn` exists and is seen by other services: `lag`
    /// ticks after its creation.
    pub fn role_usable(&self, arn: &str, tick: u64, lag: u64) -> bool {
        self.roles
            .values()
            .any(|r| r.arn == arn && tick >= r.created_tick + lag)
    }

    /// Whether the role's trust policy lets `service` (e.g.
    /// `lambda.amazonaws.com`) assume it.
    pub fn role_trusts(&self, arn: &str, service: &str) -> bool {
        let Some(r) = self.roles.values().find(|r| r.arn == arn) else {
            return false;
        };
        let doc: Value = serde_json::from_str(&r.trust).unwrap_or(Value::Null);
        statements(&doc).iter().any(|s| {
            s["Effect"] == "Allow"
                && strings(&s["Action"])
                    .iter()
                    .any(|a| *a == "sts:AssumeRole" || *a == "sts:*")
                && strings(&s["Principal"]["Service"]).contains(&service)
        })
    }

    /// IAM names are unique whatever their case, and found whatever case.
    fn key(&self, name: &str) -> Option<String> {
        self.roles
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
    }

    pub fn role_mut(&mut self, name: &str) -> Answer<&mut Role> {
        match self.key(name) {
            Some(k) => Ok(self.roles.get_mut(&k).expect("found")),
            None => Err(no_role(name)),
        }
    }
}

fn no_such(message: String) -> Fail {
    Fail::new("NoSuchEntity", message).status(404)
}

fn no_role(name: &str) -> Fail {
    no_such(format!("The role with name {name} cannot be found."))
}

fn no_policy(name: &str) -> Fail {
    no_such(format!("The role policy with name {name} cannot be found."))
}

/// IAM's name pattern `[\w+=,.@-]+`, of 1 to `max` characters.
fn check_name(name: &str, member: &str, max: usize) -> Answer<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if name.is_empty() || name.len() > max || !name.chars().all(ok) {
        return Err(Fail::new(
            "ValidationError",
            format!("1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and {max}"),
        ));
    }
    Ok(())
}

/// RFC 3986: everything but the unreserved characters is escaped.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A document as IAM answers it: URL-encoded.
fn encoded(doc: &str) -> String {
    utf8_percent_encode(doc, ENCODE).to_string()
}

fn statements(doc: &Value) -> Vec<&Value> {
    match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        Value::Null => vec![],
        one => vec![one],
    }
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn parse(doc: Option<&str>) -> Answer<Value> {
    match serde_json::from_str::<Value>(doc.unwrap_or_default()) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Fail::new(
            "MalformedPolicyDocument",
            "Syntax errors in policy.",
        )),
    }
}

/// A trust policy: JSON whose roles of this account named as principals
/// exist and have propagated (IAM checks principals when it stores one).
fn check_trust(w: &World, doc: Option<&str>) -> Answer<String> {
    let parsed = parse(doc)?;
    let ours = format!("arn:aws:iam::{}:role/", w.account);
    for s in statements(&parsed) {
        for p in strings(&s["Principal"]["AWS"]) {
            let Some(rest) = p.strip_prefix(&ours) else {
                continue;
            };
            let name = rest.rsplit('/').next().unwrap_or_default();
            let seen = w
                .iam
                .key(name)
                .is_some_and(|k| w.tick >= w.iam.roles[&k].created_tick + w.lag);
            if !seen {
                return Err(Fail::new(
                    "MalformedPolicyDocument",
                    format!("Invalid principal in policy: \"AWS\":\"{p}\""),
                ));
            }
        }
    }
    Ok(doc.unwrap_or_default().to_owned())
}

fn tags_of(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

fn tag_list(tags: &BTreeMap<String, String>) -> Option<Vec<Tag>> {
    let tag = |(k, v)| Tag::builder().key(k).value(v).build().expect("set");
    Some(tags.clone().into_iter().map(tag).collect())
}

/// A date that does not depend on the real clock.
fn date(tick: u64) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(1_700_000_000 + tick as i64)
}

fn role_out(r: &Role) -> aws_sdk_iam::types::Role {
    aws_sdk_iam::types::Role::builder()
        .path("/")
        .role_name(&r.name)
        .role_id(&r.id)
        .arn(&r.arn)
        .create_date(date(r.created_tick))
        .assume_role_policy_document(encoded(&r.trust))
        .set_description(r.description.clone())
        .max_session_duration(3600)
        .set_tags(tag_list(&r.tags))
        .build()
        .expect("required fields set")
}

/// One page of a listing: the items from `marker` on, and the next marker.
fn page<T: Clone>(
    all: &[T],
    marker: Option<&str>,
    max: Option<i32>,
) -> Answer<(Vec<T>, Option<String>)> {
    let max = max.unwrap_or(100).clamp(1, 1000);
    let start = match marker {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= all.len())
            .ok_or_else(|| Fail::new("InvalidInput", "Invalid Marker."))?,
    };
    let end = (start + max as usize).min(all.len());
    Ok((
        all[start..end].to_vec(),
        (end < all.len()).then(|| end.to_string()),
    ))
}

/// A role that IAM's own calls see: some answer NoSuchEntity for `lag` ticks
/// after CreateRole (the IAM eventual-consistency page).
fn visible<'a>(w: &'a mut World, name: Option<&str>) -> Answer<&'a mut Role> {
    let (tick, lag) = (w.tick, w.lag);
    let name = name.unwrap_or_default();
    let r = w.iam.role_mut(name)?;
    if tick < r.created_tick + lag {
        return Err(no_role(name));
    }
    Ok(r)
}

fn create_role(w: &mut World, i: &CreateRoleInput) -> Answer<CreateRoleOutput> {
    let name = i.role_name().unwrap_or_default();
    check_name(name, "roleName", 64)?;
    let trust = check_trust(w, i.assume_role_policy_document())?;
    let tags = tags_of(i.tags());
    if w.iam.key(name).is_some() {
        return Err(Fail::new(
            "EntityAlreadyExists",
            format!("Role with name {name} already exists."),
        )
        .status(409));
    }
    w.serial += 1;
    let role = Role {
        name: name.to_owned(),
        id: format!("AROA{:017X}", w.serial),
        arn: format!("arn:aws:iam::{}:role/{name}", w.account),
        description: i.description().map(str::to_owned),
        trust,
        inline: BTreeMap::new(),
        attached: Vec::new(),
        tags,
        created_tick: w.tick,
        changed_tick: w.tick,
        removed_tick: None,
    };
    let out = role_out(&role);
    w.iam.roles.insert(name.to_owned(), role);
    Ok(CreateRoleOutput::builder().role(out).build())
}

fn get_role(w: &mut World, i: &GetRoleInput) -> Answer<GetRoleOutput> {
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    Ok(GetRoleOutput::builder().role(role_out(r)).build())
}

fn delete_role(w: &mut World, i: &DeleteRoleInput) -> Answer<DeleteRoleOutput> {
    let (tick, lag) = (w.tick, w.lag);
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    let conflict = |m: &str| Err(Fail::new("DeleteConflict", m).status(409));
    if !r.inline.is_empty() {
        return conflict("Cannot delete entity, must delete policies first.");
    }
    // A policy just removed may still be seen attached.
    if !r.attached.is_empty() || r.removed_tick.is_some_and(|t| tick < t + lag) {
        return conflict("Cannot delete entity, must detach all policies first.");
    }
    let name = r.name.clone();
    w.iam.roles.remove(&name);
    Ok(DeleteRoleOutput::builder().build())
}

fn update_assume_role_policy(
    w: &mut World,
    i: &UpdateAssumeRolePolicyInput,
) -> Answer<UpdateAssumeRolePolicyOutput> {
    let trust = check_trust(w, i.policy_document())?;
    let tick = w.tick;
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    r.trust = trust;
    r.changed_tick = tick;
    Ok(UpdateAssumeRolePolicyOutput::builder().build())
}

fn put_role_policy(w: &mut World, i: &PutRolePolicyInput) -> Answer<PutRolePolicyOutput> {
    let policy = i.policy_name().unwrap_or_default();
    check_name(policy, "policyName", 128)?;
    parse(i.policy_document())?;
    let doc = i.policy_document().unwrap_or_default().to_owned();
    let tick = w.tick;
    let r = visible(w, i.role_name())?;
    r.inline.insert(policy.to_owned(), doc);
    r.changed_tick = tick;
    Ok(PutRolePolicyOutput::builder().build())
}

fn get_role_policy(w: &mut World, i: &GetRolePolicyInput) -> Answer<GetRolePolicyOutput> {
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    let policy = i.policy_name().unwrap_or_default();
    let doc = r.inline.get(policy).ok_or_else(|| no_policy(policy))?;
    Ok(GetRolePolicyOutput::builder()
        .role_name(&r.name)
        .policy_name(policy)
        .policy_document(encoded(doc))
        .build()
        .expect("required fields set"))
}

fn delete_role_policy(w: &mut World, i: &DeleteRolePolicyInput) -> Answer<DeleteRolePolicyOutput> {
    let tick = w.tick;
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    let policy = i.policy_name().unwrap_or_default();
    r.inline.remove(policy).ok_or_else(|| no_policy(policy))?;
    r.changed_tick = tick;
    r.removed_tick = Some(tick);
    Ok(DeleteRolePolicyOutput::builder().build())
}

fn list_role_policies(w: &mut World, i: &ListRolePoliciesInput) -> Answer<ListRolePoliciesOutput> {
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    let names: Vec<String> = r.inline.keys().cloned().collect();
    let (names, next) = page(&names, i.marker(), i.max_items())?;
    Ok(ListRolePoliciesOutput::builder()
        .set_policy_names(Some(names))
        .is_truncated(next.is_some())
        .set_marker(next)
        .build()
        .expect("policy names set"))
}

fn attached(arn: &str) -> AttachedPolicy {
    let name = arn.rsplit('/').next().unwrap_or_default();
    AttachedPolicy::builder()
        .policy_name(name)
        .policy_arn(arn)
        .build()
}

fn list_attached_role_policies(
    w: &mut World,
    i: &ListAttachedRolePoliciesInput,
) -> Answer<ListAttachedRolePoliciesOutput> {
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    let all: Vec<AttachedPolicy> = r.attached.iter().map(|a| attached(a.as_str())).collect();
    let (list, next) = page(&all, i.marker(), i.max_items())?;
    Ok(ListAttachedRolePoliciesOutput::builder()
        .set_attached_policies(Some(list))
        .is_truncated(next.is_some())
        .set_marker(next)
        .build())
}

fn attach_role_policy(w: &mut World, i: &AttachRolePolicyInput) -> Answer<AttachRolePolicyOutput> {
    let arn = i.policy_arn().unwrap_or_default();
    let well_formed =
        arn.starts_with("arn:aws:iam::") && arn.contains(":policy/") && !arn.ends_with('/');
    if !well_formed {
        return Err(Fail::new(
            "InvalidInput",
            format!("ARN {arn} is not valid."),
        ));
    }
    let tick = w.tick;
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    if r.attached.iter().any(|a| a == arn) {
        return Ok(AttachRolePolicyOutput::builder().build());
    }
    r.attached.push(arn.to_owned());
    r.changed_tick = tick;
    Ok(AttachRolePolicyOutput::builder().build())
}

fn detach_role_policy(w: &mut World, i: &DetachRolePolicyInput) -> Answer<DetachRolePolicyOutput> {
    let tick = w.tick;
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    let arn = i.policy_arn().unwrap_or_default();
    let Some(at) = r.attached.iter().position(|a| a == arn) else {
        return Err(no_such(format!("Policy {arn} was not found.")));
    };
    r.attached.remove(at);
    r.changed_tick = tick;
    r.removed_tick = Some(tick);
    Ok(DetachRolePolicyOutput::builder().build())
}

fn tag_role(w: &mut World, i: &TagRoleInput) -> Answer<TagRoleOutput> {
    let r = visible(w, i.role_name())?;
    r.tags.extend(tags_of(i.tags()));
    Ok(TagRoleOutput::builder().build())
}

fn untag_role(w: &mut World, i: &UntagRoleInput) -> Answer<UntagRoleOutput> {
    let r = w.iam.role_mut(i.role_name().unwrap_or_default())?;
    for k in i.tag_keys() {
        r.tags.remove(k);
    }
    Ok(UntagRoleOutput::builder().build())
}

fn get_account_authorization_details(
    w: &mut World,
    i: &GetAccountAuthorizationDetailsInput,
) -> Answer<GetAccountAuthorizationDetailsOutput> {
    let roles: Vec<RoleDetail> = if i.filter().is_empty() || i.filter().contains(&EntityType::Role)
    {
        w.iam.roles.values().map(role_detail).collect()
    } else {
        vec![]
    };
    let (list, next) = page(&roles, i.marker(), i.max_items())?;
    Ok(GetAccountAuthorizationDetailsOutput::builder()
        .set_role_detail_list(Some(list))
        .is_truncated(next.is_some())
        .set_marker(next)
        .build())
}

fn role_detail(r: &Role) -> RoleDetail {
    let inline = r
        .inline
        .iter()
        .map(|(n, d)| {
            PolicyDetail::builder()
                .policy_name(n)
                .policy_document(encoded(d))
                .build()
        })
        .collect();
    RoleDetail::builder()
        .path("/")
        .role_name(&r.name)
        .role_id(&r.id)
        .arn(&r.arn)
        .create_date(date(r.created_tick))
        .assume_role_policy_document(encoded(&r.trust))
        .set_instance_profile_list(Some(vec![]))
        .set_role_policy_list(Some(inline))
        .set_attached_managed_policies(Some(
            r.attached.iter().map(|a| attached(a.as_str())).collect(),
        ))
        .set_tags(tag_list(&r.tags))
        .build()
}
