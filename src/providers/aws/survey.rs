//! Listings shared by the stacks of one `plan --all` or `drift --all`: what
//! a service can list many of in one call is listed once per run, instead of
//! asked once per stack. A KMS alias comes from ListAliases (up to 100 a
//! page) instead of a DescribeKey per stack; a log group from one
//! DescribeLogGroups by the run's common name prefix (50 a page) instead of
//! one per stack; a role, with its trust policy, inline policies, managed
//! policy ARNs and tags, from GetAccountAuthorizationDetails (up to 1,000
//! roles a page) instead of four IAM calls per stack. Six calls of each
//! stack's 17; two KMS calls fewer per stack against KMS's shared request
//! quota, and IAM, the most tightly throttled of these services, asked once
//! per thousand roles of the account rather than four times per stack.
//!
//! A listing is taken when the first stack asks for it and is the run's
//! snapshot, as each per-stack read was. A listing that fails (a role without
//! `kms:ListAliases`, say) is not an error: each stack then asks for its own
//! resource as a single-stack run does.

use super::Aws;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_sdk_iam::types::{EntityType, RoleDetail};
use std::collections::{HashMap, HashSet};
use tokio::sync::OnceCell;

/// What a listing says of one name.
pub enum Listed<T> {
    Found(T),
    Absent,
    /// Not listed (no listing in this run, the name is outside it, or it
    /// failed): ask for it alone.
    Unknown,
}

/// A KMS alias as ListAliases gives it.
#[derive(Debug, Clone)]
pub struct Alias {
    pub target_key_id: String,
    pub arn: String,
}

#[derive(Debug)]
pub struct Survey {
    log_group_prefix: String,
    /// The run's roles: the only ones kept from the account's listing.
    role_names: HashSet<String>,
    aliases: OnceCell<Option<HashMap<String, Alias>>>,
    log_groups: OnceCell<Option<HashMap<String, LogGroup>>>,
    roles: OnceCell<Option<HashMap<String, RoleDetail>>>,
}

impl Survey {
    /// For a run reading the log groups and roles named (and their stacks'
    /// aliases).
    pub fn new<'a>(
        log_group_names: impl IntoIterator<Item = &'a str>,
        role_names: impl IntoIterator<Item = &'a str>,
    ) -> Survey {
        Survey {
            log_group_prefix: common_prefix(log_group_names),
            role_names: role_names.into_iter().map(str::to_owned).collect(),
            aliases: OnceCell::new(),
            log_groups: OnceCell::new(),
            roles: OnceCell::new(),
        }
    }

    pub async fn alias(&self, aws: &Aws, name: &str) -> Listed<Alias> {
        let listing = self
            .aliases
            .get_or_init(|| async {
                let aliases = aws
                    .kms
                    .list_aliases()
                    .limit(100)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .ok()?;
                let all = aliases.into_iter().filter_map(|a| {
                    let alias = Alias {
                        target_key_id: a.target_key_id?,
                        arn: a.alias_arn?,
                    };
                    Some((a.alias_name?, alias))
                });
                Some(all.collect())
            })
            .await;
        look_up(listing, name)
    }

    pub async fn log_group(&self, aws: &Aws, name: &str) -> Listed<LogGroup> {
        if self.log_group_prefix.is_empty() || !name.starts_with(&self.log_group_prefix) {
            return Listed::Unknown;
        }
        let listing = self
            .log_groups
            .get_or_init(|| async {
                let groups = aws
                    .logs
                    .describe_log_groups()
                    .log_group_name_prefix(&self.log_group_prefix)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .ok()?;
                let all = groups
                    .into_iter()
                    .filter_map(|g| Some((g.log_group_name.clone()?, g)));
                Some(all.collect())
            })
            .await;
        look_up(listing, name)
    }

    /// The account's roles are listed whole (IAM cannot list by name
    /// prefix); only the run's are kept.
    pub async fn role(&self, aws: &Aws, name: &str) -> Listed<RoleDetail> {
        if !self.role_names.contains(name) {
            return Listed::Unknown;
        }
        let listing = self
            .roles
            .get_or_init(|| async {
                // Page by page, keeping only the run's roles: the account's
                // may be thousands.
                let mut all = HashMap::new();
                let mut pages = aws
                    .iam
                    .get_account_authorization_details()
                    .filter(EntityType::Role)
                    .max_items(1000)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    for r in page.ok()?.role_detail_list.unwrap_or_default() {
                        if let Some(n) = r.role_name().filter(|n| self.role_names.contains(*n)) {
                            all.insert(n.to_owned(), r);
                        }
                    }
                }
                Some(all)
            })
            .await;
        look_up(listing, name)
    }
}

/// What a listing (`None`: none was had) says of `name`.
fn look_up<T: Clone>(listing: &Option<HashMap<String, T>>, name: &str) -> Listed<T> {
    match listing {
        None => Listed::Unknown,
        Some(all) => all.get(name).cloned().map_or(Listed::Absent, Listed::Found),
    }
}

/// The longest prefix the names share (at a character boundary).
fn common_prefix<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut names = names.into_iter();
    let Some(first) = names.next() else {
        return String::new();
    };
    let mut len = first.len();
    for n in names {
        len = first
            .char_indices()
            .zip(n.chars())
            .find(|((_, a), b)| a != b)
            .map_or(len.min(n.len()), |((i, _), _)| i.min(len));
    }
    first[..len].to_owned()
}

#[cfg(test)]
mod tests {
    use super::common_prefix;
    use crate::providers::{role, Hint};
    use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
    use aws_sdk_iam::types::{AttachedPolicy, PolicyDetail, RoleDetail, Tag};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use serde_json::json;

    fn role_detail(name: &str) -> RoleDetail {
        RoleDetail::builder()
            .role_name(name)
            .arn(format!("arn:aws:iam::123456789012:role/{name}"))
            .build()
    }

    /// Against a replay client: moto answers GetAccountAuthorizationDetails
    /// in one page whatever MaxItems says, and with documents as plain
    /// JSON; AWS pages by Marker and URL-encodes the documents.
    #[tokio::test]
    async fn the_account_role_listing_is_followed_page_by_page_and_read_as_getrole_would() {
        let ours = "webhook-processor-role-dev";
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let inline = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}]}"#;
        let encode = |doc: &str| {
            percent_encoding::utf8_percent_encode(doc, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
        };
        let (trust_enc, inline_enc) = (encode(trust), encode(inline));
        let first = mock!(aws_sdk_iam::Client::get_account_authorization_details)
            .match_requests(|r| r.marker().is_none() && r.max_items() == Some(1000))
            .then_output(|| {
                GetAccountAuthorizationDetailsOutput::builder()
                    .role_detail_list(role_detail("someone-elses-role"))
                    .is_truncated(true)
                    .marker("page-2")
                    .build()
            });
        let second = mock!(aws_sdk_iam::Client::get_account_authorization_details)
            .match_requests(|r| r.marker() == Some("page-2"))
            .then_output(move || {
                let ours = RoleDetail::builder()
                    .role_name(ours)
                    .arn(format!("arn:aws:iam::123456789012:role/{ours}"))
                    .assume_role_policy_document(&trust_enc)
                    .role_policy_list(
                        PolicyDetail::builder()
                            .policy_name("webhook-processor-policy-dev")
                            .policy_document(&inline_enc)
                            .build(),
                    )
                    .attached_managed_policies(
                        AttachedPolicy::builder()
                            .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
                            .build(),
                    )
                    .tags(
                        Tag::builder()
                            .key("Project")
                            .value("webhook-processor")
                            .build()
                            .unwrap(),
                    )
                    .build();
                GetAccountAuthorizationDetailsOutput::builder()
                    .role_detail_list(ours)
                    .is_truncated(false)
                    .build()
            });
        // Any other IAM call (a GetRole, say) finds no rule and fails.
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&first, &second]);
        let mut aws = crate::providers::aws::mocked::offline();
        aws.iam = iam;
        let gone = "webhook-processor-role-gone";
        let aws = aws.surveying([], [ours, gone]);

        let read = role::read(&aws, ours, &Hint::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            read.outputs["arn"],
            format!("arn:aws:iam::123456789012:role/{ours}")
        );
        let props = serde_json::to_value(&read.props).unwrap();
        assert_eq!(
            props,
            json!({
                "name": ours,
                "assume_role_policy": serde_json::from_str::<serde_json::Value>(trust).unwrap(),
                "inline_policies": {
                    "webhook-processor-policy-dev": serde_json::from_str::<serde_json::Value>(inline).unwrap()
                },
                "managed_policy_arns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "tags": {"Project": "webhook-processor"},
            })
        );
        // Not in the account: absent, without a call of its own.
        assert!(role::read(&aws, gone, &Hint::default())
            .await
            .unwrap()
            .is_none());
        // Two pages, each asked once.
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[test]
    fn the_listing_prefix_is_what_every_name_starts_with() {
        let p = |names: &[&str]| common_prefix(names.iter().copied());
        assert_eq!(p(&[]), "");
        assert_eq!(p(&["/aws/lambda/a-1"]), "/aws/lambda/a-1");
        assert_eq!(
            p(&[
                "/aws/lambda/w-bench-1",
                "/aws/lambda/w-bench-10",
                "/aws/lambda/w-bench-2"
            ]),
            "/aws/lambda/w-bench-"
        );
        assert_eq!(p(&["/aws/lambda/w-dev", "/aws/lambda/w"]), "/aws/lambda/w");
        assert_eq!(p(&["/aws/lambda/w", "/aws/lambda/w-dev"]), "/aws/lambda/w");
        assert_eq!(p(&["/aws/é1", "/aws/é2"]), "/aws/é");
        assert_eq!(p(&["abc", "xyz"]), "");
    }
}
