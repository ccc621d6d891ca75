//! Keys a creation made that the stack never recorded: a run killed
//! between CreateKey and saving state, or a CreateKey whose answer was lost
//! and was sent again. A key has no name to find it by, so each creation
//! tags what it makes with its token (kept in state's pending entry): the
//! next run finds the key its killed run made by that token, and schedules
//! for deletion every other key the creation made, never a key of anyone
//! else (another state of the same suffix included), whenever it was made.
//! The tag stays on the key (removing it before the id is saved would lose
//! the key to a kill in between); the provider's normaliser hides it.

use super::read::{keys_with_tags, Candidate};
use super::{schedule_deletion, ORPHAN_WINDOW_DAYS};
use crate::engine::state::Creation;
use crate::providers::aws::errors::{aws_error, AwsError};
use crate::providers::Aws;
use std::collections::BTreeMap;

/// The tag a key carries from CreateKey on; its value is the creation's
/// token.
pub const CREATION_TAG: &str = "webhook-stack:creation";

/// How far AWS's clock may be from ours when telling a lost creation's key
/// from an older one (creations of states written before tokens existed).
const CLOCK_SKEW_SECS: i64 = 300;

/// Which keys a creation (or several) made.
pub enum Made<'a> {
    /// Those tagged with one of these tokens.
    Tokens(Vec<&'a str>),
    /// A creation pending in a state written before tokens existed: every
    /// key with the stack's tags created since then.
    Since(chrono::DateTime<chrono::Utc>),
}

impl Made<'_> {
    /// What `pending` and the creation `now` (this run's token, begun at
    /// `started`) may have made.
    pub fn by<'a>(
        pending: Option<&'a Creation>,
        now: Option<&'a str>,
        started: chrono::DateTime<chrono::Utc>,
    ) -> Made<'a> {
        match (pending, now) {
            (Some(Creation { token: None, since }), _) => Made::Since((*since).min(started)),
            (_, None) if pending.is_none() => Made::Since(started),
            _ => Made::Tokens(
                pending
                    .and_then(|p| p.token.as_deref())
                    .into_iter()
                    .chain(now)
                    .collect(),
            ),
        }
    }

    fn includes(&self, key: &Candidate) -> bool {
        match self {
            Made::Tokens(tokens) => key
                .tags
                .get(CREATION_TAG)
                .is_some_and(|t| tokens.contains(&t.as_str())),
            Made::Since(since) => key.created.secs() >= since.timestamp() - CLOCK_SKEW_SECS,
        }
    }
}

/// The key a pending creation made, if any: the newest carrying the stack's
/// `tags` and (when the creation has a token) that token.
pub async fn find(
    aws: &Aws,
    tags: &BTreeMap<String, String>,
    pending: &Creation,
) -> Result<Option<String>, AwsError> {
    let made = match &pending.token {
        Some(token) => Made::Tokens(vec![token]),
        // A state written before tokens: the newest key with the tags.
        None => Made::Since(chrono::DateTime::UNIX_EPOCH),
    };
    Ok(keys_with_tags(aws, tags)
        .await?
        .into_iter()
        .filter(|k| made.includes(k))
        .max_by_key(|k| k.created.secs())
        .map(|k| k.id))
}

/// Schedules for deletion every enabled key carrying the stack's `tags`
/// that `made` made, other than `keep` (the stack's key) and any key an
/// alias targets (someone's key, never an orphan).
pub async fn sweep(
    aws: &Aws,
    tags: &BTreeMap<String, String>,
    made: &Made<'_>,
    keep: &str,
) -> Result<(), AwsError> {
    let orphans = keys_with_tags(aws, tags)
        .await?
        .into_iter()
        .filter(|k| k.id != keep && made.includes(k));
    for key in orphans {
        let id = key.id;
        if targeted_by_alias(aws, &id).await? {
            continue;
        }
        schedule_deletion(aws, &id, ORPHAN_WINDOW_DAYS).await?;
        eprintln!(
            "kms_key: key {id} carries this stack's tags but was never recorded (made by an earlier CreateKey whose run died or whose answer was lost); \
             kept {keep} and scheduled {id} for deletion in {ORPHAN_WINDOW_DAYS} days \
             (`aws kms cancel-key-deletion --key-id {id}` undoes that)"
        );
    }
    Ok(())
}

/// Whether any alias targets key `id`.
async fn targeted_by_alias(aws: &Aws, id: &str) -> Result<bool, AwsError> {
    let out = aws
        .kms
        .list_aliases()
        .key_id(id)
        .send()
        .await
        .map_err(aws_error("ListAliases"))?;
    // Checked here too: an endpoint that ignores the filter lists them all.
    Ok(out.aliases().iter().any(|a| a.target_key_id() == Some(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(created: i64, token: Option<&str>) -> Candidate {
        Candidate {
            id: "k".into(),
            created: aws_smithy_types::DateTime::from_secs(created),
            tags: token
                .map(|t| (CREATION_TAG.to_string(), t.to_string()))
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_creation_with_a_token_made_only_the_keys_with_it() {
        let at = |s| chrono::DateTime::from_timestamp(s, 0).unwrap();
        let pending = Creation {
            since: at(1000),
            token: Some("a".into()),
        };
        let made = Made::by(Some(&pending), Some("b"), at(2000));
        assert!(made.includes(&key(5, Some("a"))));
        assert!(made.includes(&key(5000, Some("b"))));
        // Made a moment later by someone else (another state): not ours.
        assert!(!made.includes(&key(2000, None)));
        assert!(!made.includes(&key(2000, Some("c"))));
        // A creation of an older state, without a token: by time.
        let old = Creation {
            since: at(1000),
            token: None,
        };
        let made = Made::by(Some(&old), Some("b"), at(2000));
        assert!(made.includes(&key(1000 - CLOCK_SKEW_SECS, None)));
        assert!(!made.includes(&key(1000 - CLOCK_SKEW_SECS - 1, None)));
    }
}
