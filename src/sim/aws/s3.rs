//! S3: buckets (made by the harness) and their objects, with conditional
//! writes and deletes, versioning and listings.
//!
//! An ETag is a function of the bytes, as S3's is (the MD5 of a single-part
//! upload): a write of other bytes changes it, a write of the same bytes
//! gives the same ETag back. Here it is 16 bytes of their SHA-256, quoted.

use super::{Answer, Call, Fail, Item, World};
use aws_sdk_s3::operation::{
    delete_object::*, get_bucket_versioning::*, get_object::*, list_objects_v2::*, put_object::*,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, CommonPrefix, ObjectStorageClass};
use aws_smithy_runtime_api::client::interceptors::context::{Error as OpError, Input, Output};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The operations whose inputs can be cloned; PutObject (its body is a
/// stream) is decoded in [`decode`].
mod cloned {
    use super::*;
    operations!(aws_sdk_s3, "s3":
        DeleteObject: delete_object::{DeleteObjectInput, DeleteObjectError} => delete_object,
        GetBucketVersioning: get_bucket_versioning::{GetBucketVersioningInput, GetBucketVersioningError} => get_bucket_versioning,
        GetObject: get_object::{GetObjectInput, GetObjectError} => get_object,
        ListObjectsV2: list_objects_v2::{ListObjectsV2Input, ListObjectsV2Error} => list_objects_v2,
    );
}

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub body: Vec<u8>,
    /// Quoted hex, as S3 gives it: see [`etag_of`].
    pub etag: String,
    pub content_type: Option<String>,
    /// Set in a versioned bucket.
    pub version_id: Option<String>,
    pub written_tick: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub name: String,
    pub versioning: bool,
    /// The current version of each key.
    pub objects: BTreeMap<String, Object>,
    /// With versioning: the noncurrent versions by key, oldest first, and
    /// the delete markers (`None`).
    pub history: Vec<(String, Option<Object>)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct S3 {
    pub buckets: BTreeMap<String, Bucket>,
}

/// The ETag S3 gives these bytes.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

impl S3 {
    /// Objects are not resources of the engine.
    pub fn inventory(&self, _out: &mut Vec<Item>) {}

    /// For histories on the S3 backend, which the generator does not make yet.
    #[allow(dead_code)]
    pub fn create_bucket(&mut self, name: &str, versioning: bool) {
        self.buckets.insert(
            name.to_owned(),
            Bucket {
                name: name.to_owned(),
                versioning,
                objects: BTreeMap::new(),
                history: Vec::new(),
            },
        );
    }

    /// Writes an object as a PutObject does (also for out-of-band changes):
    /// its new ETag and version. `version` is a fresh id for a versioned
    /// bucket. `None` when the bucket does not exist.
    pub fn write(
        &mut self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: Option<String>,
        tick: u64,
        version: String,
    ) -> Option<&Object> {
        let b = self.buckets.get_mut(bucket)?;
        let object = Object {
            etag: etag_of(&body),
            body,
            content_type,
            version_id: b.versioning.then_some(version),
            written_tick: tick,
        };
        if let Some(old) = b.objects.insert(key.to_owned(), object) {
            if b.versioning {
                b.history.push((key.to_owned(), Some(old)));
            }
        }
        b.objects.get(key)
    }
}

fn no_bucket() -> Fail {
    Fail::new("NoSuchBucket", "The specified bucket does not exist").status(404)
}

fn no_key() -> Fail {
    Fail::new("NoSuchKey", "The specified key does not exist.").status(404)
}

fn precondition() -> Fail {
    Fail::new(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
    )
    .status(412)
}

fn bucket<'a>(w: &'a mut World, name: Option<&str>) -> Answer<&'a mut Bucket> {
    w.s3.buckets
        .get_mut(name.unwrap_or_default())
        .ok_or_else(no_bucket)
}

/// Whether `If-Match: condition` holds for `etag` (`*`: any object).
fn matches(condition: &str, etag: &str) -> bool {
    condition == "*" || condition.trim_matches('"') == etag.trim_matches('"')
}

/// A date that does not depend on the real clock.
fn date(tick: u64) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(1_700_000_000 + tick as i64)
}

/// What PutObject needs of its input (which cannot be cloned).
struct Put {
    bucket: Option<String>,
    key: String,
    body: Vec<u8>,
    content_type: Option<String>,
    if_match: Option<String>,
    if_none_match: Option<String>,
}

pub fn decode(input: &Input) -> Option<Call> {
    if let Some(i) = input.downcast_ref::<PutObjectInput>() {
        let put = Put {
            bucket: i.bucket().map(str::to_owned),
            key: i.key().unwrap_or_default().to_owned(),
            body: i
                .body()
                .bytes()
                .expect("the simulated S3 takes in-memory bodies only")
                .to_vec(),
            content_type: i.content_type().map(str::to_owned),
            if_match: i.if_match().map(str::to_owned),
            if_none_match: i.if_none_match().map(str::to_owned),
        };
        return Some(Call::new(
            "s3",
            "PutObject",
            super::printed_hash(&i),
            move |w| put_object(w, &put).map(Output::erase),
            |f| OpError::erase(PutObjectError::generic(f.metadata())),
        ));
    }
    cloned::decode(input)
}

fn put_object(w: &mut World, i: &Put) -> Answer<PutObjectOutput> {
    let version = w.next_id("");
    let tick = w.tick;
    let b = bucket(w, i.bucket.as_deref())?;
    let current = b.objects.get(&i.key);
    match i.if_none_match.as_deref() {
        None => {}
        Some("*") if current.is_some() => return Err(precondition()),
        Some("*") => {}
        Some(_) => {
            return Err(Fail::new(
                "NotImplemented",
                "A header you provided implies functionality that is not implemented",
            )
            .status(501))
        }
    }
    if let Some(condition) = &i.if_match {
        match current {
            None => return Err(no_key()),
            Some(o) if !matches(condition, &o.etag) => return Err(precondition()),
            Some(_) => {}
        }
    }
    let name = b.name.clone();
    let o =
        w.s3.write(
            &name,
            &i.key,
            i.body.clone(),
            i.content_type.clone(),
            tick,
            version,
        )
        .expect("bucket exists");
    let out = PutObjectOutput::builder()
        .e_tag(&o.etag)
        .size(o.body.len() as i64)
        .set_version_id(o.version_id.clone())
        .build();
    Ok(out)
}

fn get_object(w: &mut World, i: &GetObjectInput) -> Answer<GetObjectOutput> {
    let b = bucket(w, i.bucket())?;
    let o = b
        .objects
        .get(i.key().unwrap_or_default())
        .ok_or_else(no_key)?;
    Ok(GetObjectOutput::builder()
        .body(ByteStream::from(o.body.clone()))
        .content_length(o.body.len() as i64)
        .e_tag(&o.etag)
        .set_content_type(o.content_type.clone())
        .set_version_id(o.version_id.clone())
        .last_modified(date(o.written_tick))
        .accept_ranges("bytes")
        .build())
}

fn delete_object(w: &mut World, i: &DeleteObjectInput) -> Answer<DeleteObjectOutput> {
    let marker = w.next_id("");
    let b = bucket(w, i.bucket())?;
    let key = i.key().unwrap_or_default();
    if let Some(condition) = i.if_match() {
        match b.objects.get(key) {
            None => return Err(no_key()),
            Some(o) if !matches(condition, &o.etag) => return Err(precondition()),
            Some(_) => {}
        }
    }
    let old = b.objects.remove(key);
    if !b.versioning {
        // A key that is not there is deleted all the same (204).
        return Ok(DeleteObjectOutput::builder().build());
    }
    if let Some(old) = old {
        b.history.push((key.to_owned(), Some(old)));
    }
    b.history.push((key.to_owned(), None));
    Ok(DeleteObjectOutput::builder()
        .delete_marker(true)
        .version_id(marker)
        .build())
}

fn get_bucket_versioning(
    w: &mut World,
    i: &GetBucketVersioningInput,
) -> Answer<GetBucketVersioningOutput> {
    let b = bucket(w, i.bucket())?;
    Ok(GetBucketVersioningOutput::builder()
        .set_status(b.versioning.then_some(BucketVersioningStatus::Enabled))
        .build())
}

/// A continuation token: opaque to the caller; here the hex of the last
/// key or common prefix of the page.
fn token(last: &str) -> String {
    last.bytes().map(|b| format!("{b:02x}")).collect()
}

fn untoken(t: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

fn list_objects_v2(w: &mut World, i: &ListObjectsV2Input) -> Answer<ListObjectsV2Output> {
    let b = bucket(w, i.bucket())?;
    let prefix = i.prefix().unwrap_or_default();
    let delimiter = i.delimiter().filter(|d| !d.is_empty());
    let max = i.max_keys().unwrap_or(1000).clamp(0, 1000) as usize;
    let after = match i.continuation_token() {
        Some(t) => Some(untoken(t).ok_or_else(|| {
            Fail::new(
                "InvalidArgument",
                "The continuation token provided is incorrect",
            )
        })?),
        None => i.start_after().map(str::to_owned),
    };
    let mut contents = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut last: Option<String> = None;
    let mut truncated = false;
    for (key, o) in b.objects.range(prefix.to_owned()..) {
        if !key.starts_with(prefix) {
            break;
        }
        if let Some(a) = &after {
            let rolled = delimiter.is_some_and(|d| a.ends_with(d) && key.starts_with(a.as_str()));
            if key.as_str() <= a.as_str() || rolled {
                continue;
            }
        }
        let common = delimiter.and_then(|d| {
            let rest = &key[prefix.len()..];
            rest.find(d)
                .map(|at| key[..prefix.len() + at + d.len()].to_owned())
        });
        if common.is_some() && common == prefixes.last().cloned() {
            continue;
        }
        if contents.len() + prefixes.len() == max {
            truncated = true;
            break;
        }
        match common {
            Some(c) => {
                last = Some(c.clone());
                prefixes.push(c);
            }
            None => {
                last = Some(key.clone());
                contents.push(
                    aws_sdk_s3::types::Object::builder()
                        .key(key)
                        .e_tag(&o.etag)
                        .size(o.body.len() as i64)
                        .last_modified(date(o.written_tick))
                        .storage_class(ObjectStorageClass::Standard)
                        .build(),
                );
            }
        }
    }
    let count = (contents.len() + prefixes.len()) as i32;
    Ok(ListObjectsV2Output::builder()
        .name(&b.name)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_owned))
        .max_keys(max as i32)
        .key_count(count)
        .is_truncated(truncated)
        .set_contents((!contents.is_empty()).then_some(contents))
        .set_common_prefixes((!prefixes.is_empty()).then(|| {
            prefixes
                .into_iter()
                .map(|p| CommonPrefix::builder().prefix(p).build())
                .collect()
        }))
        .set_continuation_token(i.continuation_token().map(str::to_owned))
        .set_next_continuation_token(last.filter(|_| truncated).map(|l| token(&l)))
        .set_start_after(i.start_after().map(str::to_owned))
        .build())
}
