//! Listings shared by the stacks of one `plan --all` or `drift --all`: what
//! a service can list many of in one call is listed once per run, instead of
//! asked once per stack. A KMS alias comes from ListAliases (up to 100 a
//! page) instead of a DescribeKey per stack; a log group from one
//! DescribeLogGroups by the run's common name prefix (50 a page) instead of
//! one per stack. Two calls of each stack's 17, and two KMS calls fewer per
//! stack against KMS's shared request quota.
//!
//! A listing is taken when the first stack asks for it and is the run's
//! snapshot, as each per-stack read was. A listing that fails (a role without
//! `kms:ListAliases`, say) is not an error: each stack then asks for its own
//! resource as a single-stack run does.

use super::Aws;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use std::collections::HashMap;
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
    aliases: OnceCell<Option<HashMap<String, Alias>>>,
    log_groups: OnceCell<Option<HashMap<String, LogGroup>>>,
}

impl Survey {
    /// For a run reading the log groups `names` (and their stacks' aliases).
    pub fn new<'a>(log_group_names: impl IntoIterator<Item = &'a str>) -> Survey {
        Survey {
            log_group_prefix: common_prefix(log_group_names),
            aliases: OnceCell::new(),
            log_groups: OnceCell::new(),
        }
    }

    pub async fn alias(&self, aws: &Aws, name: &str) -> Listed<Alias> {
        let listing = self
            .aliases
            .get_or_init(|| async {
                let mut all = HashMap::new();
                let mut aliases = aws
                    .kms
                    .list_aliases()
                    .limit(100)
                    .into_paginator()
                    .items()
                    .send();
                while let Some(a) = aliases.next().await {
                    let a = a.ok()?;
                    if let (Some(n), Some(key), Some(arn)) =
                        (a.alias_name, a.target_key_id, a.alias_arn)
                    {
                        let alias = Alias {
                            target_key_id: key,
                            arn,
                        };
                        all.insert(n, alias);
                    }
                }
                Some(all)
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
                let mut all = HashMap::new();
                let mut groups = aws
                    .logs
                    .describe_log_groups()
                    .log_group_name_prefix(&self.log_group_prefix)
                    .into_paginator()
                    .items()
                    .send();
                while let Some(g) = groups.next().await {
                    let g = g.ok()?;
                    if let Some(n) = g.log_group_name.clone() {
                        all.insert(n, g);
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
