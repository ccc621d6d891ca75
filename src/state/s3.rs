//! The S3 store (`s3://BUCKET/PREFIX`), Terraform's S3 backend
//! model on S3's own conditional requests:
//! - state `PREFIX/S.json`, every write a `PutObject` with `If-Match` on the
//!   ETag last read (or `If-None-Match: *` for the first), so a write that
//!   lost a race fails instead of overwriting;
//! - lock `PREFIX/S.json.lock`, created with `If-None-Match: *`, holding a
//!   lock id and its holder; removed with a `DeleteObject` conditional on the
//!   ETag of the lock object that carried our id, so a stale holder never
//!   deletes a newer holder's lock;
//! - a request retried after its answer was lost (the SDK retries) finds its
//!   own write: a lock object with our id, or state bytes equal to ours.

use super::{decode, encode, Lease, LockHolder, Patience, State, StateError, StateStore, Unlocked};
use crate::names::Suffix;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use aws_smithy_runtime_api::client::result::SdkError;
use futures_util::future::BoxFuture;
use std::sync::Mutex;
use std::time::Duration;

pub struct S3Store {
    client: Client,
    bucket: String,
    key: String,
    lock_key: String,
    /// ETag of the version last read or written: the next write's condition.
    etag: Mutex<Option<String>>,
}

pub(super) fn object_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}/{name}")
    }
}

/// HTTP status and S3 error code of a failed call.
fn status_and_code<E: ProvideErrorMetadata>(
    e: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> (u16, String) {
    match e {
        SdkError::ServiceError(se) => (
            se.raw().status().as_u16(),
            se.err().code().unwrap_or_default().to_owned(),
        ),
        _ => (0, String::new()),
    }
}

/// A readable message: code and message, or the transport error's causes.
pub(super) fn describe<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
    e: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> String {
    crate::providers::aws::errors::aws_error(operation)(e).to_string()
}

/// What a conditional request's refusal means.
fn precondition_failed(status: u16, code: &str) -> bool {
    status == 412 || status == 409 || code == "PreconditionFailed"
}

/// An object's bytes and ETag; `None` when it does not exist.
async fn get(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, String)>, String> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let etag = out.e_tag().unwrap_or_default().to_owned();
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| format!("GetObject body: {e}"))?
                .into_bytes()
                .to_vec();
            Ok(Some((bytes, etag)))
        }
        Err(e) if status_and_code(&e).0 == 404 => Ok(None),
        Err(e) => Err(describe("GetObject", e)),
    }
}

impl S3Store {
    pub fn new(client: Client, bucket: &str, prefix: &str, suffix: &str) -> Self {
        let key = object_key(prefix, &format!("{suffix}.json"));
        S3Store {
            client,
            bucket: bucket.into(),
            lock_key: format!("{key}.lock"),
            key,
            etag: Mutex::new(None),
        }
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, key)
    }

    fn remember(&self, etag: Option<String>) {
        *self.etag.lock().expect("etag") = etag;
    }

    async fn load_now(&self) -> Result<Option<State>, StateError> {
        let location = self.url(&self.key);
        match get(&self.client, &self.bucket, &self.key).await {
            Ok(Some((bytes, etag))) => {
                self.remember(Some(etag));
                decode(
                    &bytes,
                    &location,
                    "an earlier version (bucket versioning keeps them)",
                )
                .map(Some)
            }
            Ok(None) => {
                self.remember(None);
                Ok(None)
            }
            Err(detail) => Err(StateError::Read { location, detail }),
        }
    }

    async fn save_now(&self, state: &mut State) -> Result<(), StateError> {
        state.serial += 1;
        let result = self.write(state).await;
        if result.is_err() {
            state.serial -= 1;
        }
        result
    }

    async fn write(&self, state: &State) -> Result<(), StateError> {
        let location = self.url(&self.key);
        let body = encode(state);
        let expected = self.etag.lock().expect("etag").clone();
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .body(ByteStream::from(body.clone()));
        let put = match &expected {
            Some(etag) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        match put.send().await {
            Ok(out) => {
                self.remember(out.e_tag().map(str::to_owned));
                Ok(())
            }
            Err(e) => {
                let (status, code) = status_and_code(&e);
                if !(precondition_failed(status, &code) || status == 404) {
                    return Err(StateError::Write {
                        location,
                        detail: describe("PutObject", e),
                    });
                }
                // Refused: either our own earlier attempt went through and
                // its answer was lost (the SDK retried), or someone else
                // wrote. Only the bytes can tell.
                let now = get(&self.client, &self.bucket, &self.key)
                    .await
                    .map_err(|detail| StateError::Write {
                        location: location.clone(),
                        detail,
                    })?;
                match now {
                    Some((bytes, etag)) if bytes == body => {
                        self.remember(Some(etag));
                        Ok(())
                    }
                    Some((bytes, etag)) => {
                        let theirs = serde_json::from_slice::<State>(&bytes)
                            .map(|s| {
                                format!("it now has serial {} of lineage {}", s.serial, s.lineage)
                            })
                            .unwrap_or_else(|_| "it is now not valid state".into());
                        Err(StateError::LostUpdate {
                            location,
                            detail: format!(
                                "read as ETag {}, now ETag {etag}; {theirs}",
                                expected.as_deref().unwrap_or("(none: it did not exist)")
                            ),
                        })
                    }
                    None => Err(StateError::LostUpdate {
                        location,
                        detail: "it was deleted".into(),
                    }),
                }
            }
        }
    }

    /// The lock object's holder and ETag, if there is one.
    async fn read_lock(&self) -> Result<Option<(LockHolder, String)>, StateError> {
        let location = self.url(&self.lock_key);
        match get(&self.client, &self.bucket, &self.lock_key).await {
            Ok(Some((bytes, etag))) => {
                let holder = serde_json::from_slice(&bytes).unwrap_or_else(|_| LockHolder {
                    id: "(unreadable lock object)".into(),
                    pid: 0,
                    host: "unknown".into(),
                    user: String::new(),
                    started: "unknown".into(),
                    command: "unknown".into(),
                });
                Ok(Some((holder, etag)))
            }
            Ok(None) => Ok(None),
            Err(detail) => Err(StateError::LockIo { location, detail }),
        }
    }

    /// One attempt: the lock, or the holder that has it (`None` when the
    /// holder released it between our two requests: try again).
    async fn try_lock(
        &self,
        me: &LockHolder,
    ) -> Result<Result<(), Option<LockHolder>>, StateError> {
        let location = self.url(&self.lock_key);
        let body = serde_json::to_vec_pretty(me).expect("holder serialises");
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.lock_key)
            .content_type("application/json")
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Ok(())),
            Err(e) => {
                let (status, code) = status_and_code(&e);
                if !precondition_failed(status, &code) {
                    return Err(StateError::LockIo {
                        location,
                        detail: describe("PutObject", e),
                    });
                }
                match self.read_lock().await? {
                    // Our own request, retried after its answer was lost.
                    Some((holder, _)) if holder.id == me.id => Ok(Ok(())),
                    Some((holder, _)) => Ok(Err(Some(holder))),
                    None => Ok(Err(None)),
                }
            }
        }
    }

    async fn lock_now(&self, command: &str, timeout: Duration) -> Result<Lease, StateError> {
        const VANISHED_ATTEMPTS: u32 = 5;
        let mut me = LockHolder::me(command);
        me.id = crate::ambient::uuid().to_string();
        let mut patience =
            Patience::new(timeout, Duration::from_millis(100), Duration::from_secs(2));
        // Refused, yet no lock object to be found: a holder that released
        // it between our two requests, once or twice; every time means the
        // bucket answers something else (a policy, a proxy).
        let mut vanished = 0;
        loop {
            match self.try_lock(&me).await? {
                Ok(()) => {
                    let release = Release {
                        client: self.client.clone(),
                        bucket: self.bucket.clone(),
                        key: self.lock_key.clone(),
                        id: me.id.clone(),
                    };
                    return Ok(Lease {
                        _held: Box::new(release),
                    });
                }
                Err(None) if vanished < VANISHED_ATTEMPTS => {
                    vanished += 1;
                    patience.pause(Duration::from_secs(2)).await;
                }
                Err(None) => {
                    return Err(StateError::LockIo {
                        location: self.url(&self.lock_key),
                        detail: format!(
                            "PutObject with If-None-Match refused the lock {} times in a row, yet no lock \
                             object exists; check the bucket's policy and what answers for it",
                            vanished + 1
                        ),
                    })
                }
                Err(Some(holder)) => patience.refused(holder).await?,
            }
        }
    }

    async fn force_unlock_now(&self, id: Option<&str>) -> Result<Unlocked, StateError> {
        let location = self.url(&self.lock_key);
        let Some((holder, etag)) = self.read_lock().await? else {
            return Ok(Unlocked::NotLocked);
        };
        let Some(id) = id else {
            return Err(StateError::LockIdNeeded {
                location,
                holder: Box::new(holder),
            });
        };
        if holder.id != id {
            return Err(StateError::WrongLockId {
                location,
                given: id.into(),
                holder: Box::new(holder),
            });
        }
        let removed = delete_if(&self.client, &self.bucket, &self.lock_key, &etag)
            .await
            .map_err(|detail| StateError::LockIo { location, detail })?;
        Ok(if removed {
            Unlocked::Cleared(holder)
        } else {
            Unlocked::Changed(holder)
        })
    }
}

/// Deletes `key` only while its ETag is `etag`. A refusal means it changed:
/// not ours to delete any more.
async fn delete_if(client: &Client, bucket: &str, key: &str, etag: &str) -> Result<bool, String> {
    match client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .if_match(etag)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            let (status, code) = status_and_code(&e);
            if precondition_failed(status, &code) || status == 404 {
                Ok(false)
            } else {
                Err(describe("DeleteObject", e))
            }
        }
    }
}

/// Releases a remote lock when the lease is dropped, whatever way the
/// command ends (a process killed outright leaves it for `force-unlock`).
struct Release {
    client: Client,
    bucket: String,
    key: String,
    id: String,
}

impl Release {
    async fn release(&self) -> Result<(), String> {
        let Some((bytes, etag)) = get(&self.client, &self.bucket, &self.key).await? else {
            return Ok(());
        };
        let holder: Option<LockHolder> = serde_json::from_slice(&bytes).ok();
        match holder {
            Some(h) if h.id == self.id => {
                delete_if(&self.client, &self.bucket, &self.key, &etag).await?;
                Ok(())
            }
            other => {
                let by = other.map_or("someone else".to_owned(), |h| h.to_string());
                Err(format!(
                    "it is now held by {by} (this run's lock was removed with force-unlock); it was left in place"
                ))
            }
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // The CLI runs on the multi-threaded runtime, where a blocking
        // section may wait for the delete.
        if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return;
        }
        let result = tokio::task::block_in_place(|| handle.block_on(self.release()));
        if let Err(e) = result {
            eprintln!(
                "Warning: could not release the state lock s3://{}/{}: {e}",
                self.bucket, self.key
            );
        }
    }
}

impl StateStore for S3Store {
    fn location(&self) -> String {
        self.url(&self.key)
    }

    fn load(&self) -> BoxFuture<'_, Result<Option<State>, StateError>> {
        Box::pin(self.load_now())
    }

    fn save<'a>(
        &'a self,
        state: &'a mut State,
        _lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.save_now(state))
    }

    fn lock<'a>(
        &'a self,
        command: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Lease, StateError>> {
        Box::pin(self.lock_now(command, timeout))
    }

    fn force_unlock<'a>(
        &'a self,
        id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Unlocked, StateError>> {
        Box::pin(self.force_unlock_now(id))
    }

    /// Bucket versioning keeps the previous state versions (it replaces the
    /// local `.backup`).
    fn warnings(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            match self.client.get_bucket_versioning().bucket(&self.bucket).send().await {
                Ok(v) if v.status() == Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled) => vec![],
                Ok(_) => vec![format!(
                    "bucket {} does not have versioning enabled, so earlier versions of the state are not kept; enable it (`aws s3api put-bucket-versioning --bucket {} --versioning-configuration Status=Enabled`)",
                    self.bucket, self.bucket
                )],
                Err(e) => vec![format!(
                    "could not check the versioning of bucket {}: {}",
                    self.bucket,
                    describe("GetBucketVersioning", e)
                )],
            }
        })
    }
}

/// Stacks with a state object under `prefix`, sorted.
pub async fn list_suffixes(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Suffix>, StateError> {
    let dir = object_key(prefix, "");
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&dir)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| StateError::Read {
            location: format!("s3://{bucket}/{dir}"),
            detail: describe("ListObjectsV2", e),
        })?;
        for object in page.contents() {
            let name = object.key().unwrap_or_default().strip_prefix(&dir);
            if let Some(s) = name
                .and_then(|n| n.strip_suffix(".json"))
                .filter(|n| !n.contains('/'))
                .and_then(|n| Suffix::parse(n).ok())
            {
                out.push(s);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// moto answers GetBucketVersioning with a body whose root element the SDK
/// rejects (`GetBucketVersioningResponse`), so the versioning check is
/// tested against a mocked client (`aws-smithy-mocks`); everything else in
/// this file is tested against moto in tests/s3_backend.rs.
#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
    use aws_sdk_s3::types::BucketVersioningStatus;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[tokio::test]
    async fn plan_warns_unless_bucket_versioning_is_enabled() {
        for (status, warns) in [
            (Some(BucketVersioningStatus::Enabled), false),
            (Some(BucketVersioningStatus::Suspended), true),
            (None, true),
        ] {
            let rule = mock!(aws_sdk_s3::Client::get_bucket_versioning)
                .match_requests(|r| r.bucket() == Some("team-state"))
                .then_output(move || {
                    GetBucketVersioningOutput::builder()
                        .set_status(status.clone())
                        .build()
                });
            let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]);
            let store = S3Store::new(client, "team-state", "stacks", "dev");
            let warnings = store.warnings().await;
            assert_eq!(!warnings.is_empty(), warns, "{warnings:?}");
            if warns {
                assert!(
                    warnings[0].contains("bucket team-state does not have versioning enabled"),
                    "{warnings:?}"
                );
            }
        }
    }
}
