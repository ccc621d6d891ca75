//! Drift history: each recorded drift report, kept beside the stack's state
//! in its backend (`DIR/history/S/` or `s3://BUCKET/PREFIX/history/S/`),
//! one JSON object per run, named by when it was recorded; the last
//! `KEEP` per stack.

use super::s3::{describe, object_key};
use super::{Backend, StateError};
use crate::names::Suffix;
use crate::providers::Aws;
use aws_sdk_s3::primitives::ByteStream;

/// Reports kept per stack.
pub const KEEP: usize = 100;

fn folder(suffix: &Suffix) -> String {
    format!("history/{suffix}")
}

/// A name that sorts by time: `20261207T171610.123Z.json`.
fn entry_name() -> String {
    crate::ambient::now()
        .format("%Y%m%dT%H%M%S%.3fZ.json")
        .to_string()
}

fn io(location: String) -> impl Fn(std::io::Error) -> StateError {
    move |e| StateError::Write {
        location: location.clone(),
        detail: e.to_string(),
    }
}

/// Stores `report` as the stack's newest, then drops all but the last
/// `KEEP`.
pub async fn record(
    backend: &Backend,
    aws: &Aws,
    suffix: &Suffix,
    report: &[u8],
) -> Result<(), StateError> {
    let name = entry_name();
    match backend {
        Backend::File(dir) => {
            let dir = dir.join(folder(suffix));
            std::fs::create_dir_all(&dir).map_err(io(dir.display().to_string()))?;
            let path = dir.join(&name);
            std::fs::write(&path, report).map_err(io(path.display().to_string()))?;
            let names = list_file(&dir)?;
            for old in names.iter().take(names.len().saturating_sub(KEEP)) {
                let _ = std::fs::remove_file(dir.join(old));
            }
        }
        Backend::S3 { bucket, prefix } => {
            let key = object_key(prefix, &format!("{}/{name}", folder(suffix)));
            aws.s3
                .put_object()
                .bucket(bucket)
                .key(&key)
                .content_type("application/json")
                .body(ByteStream::from(report.to_vec()))
                .send()
                .await
                .map_err(|e| StateError::Write {
                    location: format!("s3://{bucket}/{key}"),
                    detail: describe("PutObject", e),
                })?;
            let keys = list_s3(aws, bucket, prefix, suffix).await?;
            for old in keys.iter().take(keys.len().saturating_sub(KEEP)) {
                // Best effort: the next record retries what is left.
                let _ = aws.s3.delete_object().bucket(bucket).key(old).send().await;
            }
        }
    }
    Ok(())
}

fn list_file(dir: &std::path::Path) -> Result<Vec<String>, StateError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => {
            return Err(StateError::Read {
                location: dir.display().to_string(),
                detail: e.to_string(),
            })
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    Ok(names)
}

/// The keys of the stack's records, oldest first.
async fn list_s3(
    aws: &Aws,
    bucket: &str,
    prefix: &str,
    suffix: &Suffix,
) -> Result<Vec<String>, StateError> {
    let dir = object_key(prefix, &format!("{}/", folder(suffix)));
    let mut pages = aws
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&dir)
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| StateError::Read {
            location: format!("s3://{bucket}/{dir}"),
            detail: describe("ListObjectsV2", e),
        })?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .filter(|k| k.ends_with(".json")),
        );
    }
    keys.sort();
    Ok(keys)
}

/// The stack's records, oldest first, each as its JSON.
pub async fn load(
    backend: &Backend,
    aws: &Aws,
    suffix: &Suffix,
) -> Result<Vec<serde_json::Value>, StateError> {
    let mut texts = Vec::new();
    match backend {
        Backend::File(dir) => {
            let dir = dir.join(folder(suffix));
            for name in list_file(&dir)? {
                let path = dir.join(&name);
                let text = std::fs::read(&path).map_err(|e| StateError::Read {
                    location: path.display().to_string(),
                    detail: e.to_string(),
                })?;
                texts.push((path.display().to_string(), text));
            }
        }
        Backend::S3 { bucket, prefix } => {
            for key in list_s3(aws, bucket, prefix, suffix).await? {
                let location = format!("s3://{bucket}/{key}");
                let out = aws
                    .s3
                    .get_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| StateError::Read {
                        location: location.clone(),
                        detail: describe("GetObject", e),
                    })?;
                let body = out.body.collect().await.map_err(|e| StateError::Read {
                    location: location.clone(),
                    detail: e.to_string(),
                })?;
                texts.push((location, body.into_bytes().to_vec()));
            }
        }
    }
    texts
        .into_iter()
        .map(|(location, text)| {
            serde_json::from_slice(&text).map_err(|e| StateError::Read {
                location,
                detail: format!("not a drift record: {e}"),
            })
        })
        .collect()
}

/// Stacks with a drift history in the backend, sorted.
pub async fn stacks(backend: &Backend, aws: &Aws) -> Result<Vec<Suffix>, StateError> {
    let mut out: Vec<Suffix> = match backend {
        Backend::File(dir) => match std::fs::read_dir(dir.join("history")) {
            Ok(entries) => entries
                .filter_map(|e| Suffix::parse(&e.ok()?.file_name().into_string().ok()?).ok())
                .collect(),
            Err(_) => vec![],
        },
        Backend::S3 { bucket, prefix } => {
            let dir = object_key(prefix, "history/");
            let mut pages = aws
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&dir)
                .delimiter("/")
                .into_paginator()
                .send();
            let mut found = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| StateError::Read {
                    location: format!("s3://{bucket}/{dir}"),
                    detail: describe("ListObjectsV2", e),
                })?;
                found.extend(
                    page.common_prefixes()
                        .iter()
                        .filter_map(|p| p.prefix()?.strip_prefix(&dir)?.strip_suffix('/'))
                        .filter_map(|s| Suffix::parse(s).ok()),
                );
            }
            found
        }
    };
    out.sort();
    Ok(out)
}
