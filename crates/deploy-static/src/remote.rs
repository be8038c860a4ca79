//! What is in the bucket: its region, the objects under the prefix, and the release manifest
//! deploy-kit keeps next to them (which files each recent release had, with their hashes).

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The manifest's key under the prefix. It is not part of any release, and never deleted.
pub const MANIFEST: &str = ".deploy-kit/releases.json";

/// One object under the prefix: its ETag (quotes removed) and size.
#[derive(Debug, Clone)]
pub struct RemoteObject {
    pub etag: String,
    pub size: u64,
}

/// A file as a release recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub md5: String,
    /// The ETag S3 gave it: with the MD5 this recognises objects whose ETag is not an MD5
    /// (multipart uploads, SSE-KMS) without downloading them.
    pub etag: String,
    /// `Content-Type` and `Cache-Control` as sent; a rule change re-uploads the file.
    pub content_type: String,
    pub cache_control: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Release {
    pub id: String,
    /// Seconds since the epoch.
    pub at: u64,
    /// Path under the prefix -> the file as uploaded.
    pub files: BTreeMap<String, Recorded>,
}

/// Newest release first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub releases: Vec<Release>,
}

/// The bucket must exist and live in the region the clients use (a bucket elsewhere would get
/// every write redirected or refused, after some had been made).
pub async fn check_bucket(s3: &Client, bucket: &str, region: &str) -> Result<(), Error> {
    let location = s3
        .get_bucket_location()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| {
            let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e).unwrap_or_default();
            if code == "NoSuchBucket" {
                Error::NoBucket {
                    bucket: bucket.to_owned(),
                }
            } else {
                Error::aws("GetBucketLocation", bucket, &e)
            }
        })?;
    // No constraint is us-east-1; `EU` is the legacy name of eu-west-1.
    let found = match location.location_constraint().map(|c| c.as_str()) {
        None | Some("") => "us-east-1",
        Some("EU") => "eu-west-1",
        Some(other) => other,
    };
    if found == region {
        Ok(())
    } else {
        Err(Error::OtherRegion {
            bucket: bucket.to_owned(),
            found: found.to_owned(),
            region: region.to_owned(),
        })
    }
}

/// Every object under `prefix` but the manifest: path under the prefix -> object.
pub async fn list(
    s3: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<BTreeMap<String, RemoteObject>, Error> {
    let mut objects = BTreeMap::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::aws("ListObjectsV2", bucket, &e))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            let Some(path) = key.strip_prefix(prefix) else {
                continue;
            };
            if path == MANIFEST || path.is_empty() {
                continue;
            }
            objects.insert(
                path.to_owned(),
                RemoteObject {
                    etag: object
                        .e_tag()
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_owned(),
                    size: object
                        .size()
                        .and_then(|s| u64::try_from(s).ok())
                        .unwrap_or(0),
                },
            );
        }
    }
    Ok(objects)
}

/// The manifest, or an empty one when there is none yet (or it cannot be read as one: it is
/// only an optimisation and a record of what to keep, and the bucket itself is the truth).
pub async fn manifest(s3: &Client, bucket: &str, prefix: &str) -> Result<Manifest, Error> {
    let key = format!("{prefix}{MANIFEST}");
    let object = match s3.get_object().bucket(bucket).key(&key).send().await {
        Ok(object) => object,
        Err(e) => {
            let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e).unwrap_or_default();
            if code == "NoSuchKey" {
                return Ok(Manifest::default());
            }
            return Err(Error::aws("GetObject", &key, &e));
        }
    };
    let body = object
        .body
        .collect()
        .await
        .map_err(|e| Error::Aws {
            call: "GetObject",
            resource: key.clone(),
            message: e.to_string(),
        })?
        .into_bytes();
    Ok(serde_json::from_slice(&body).unwrap_or_default())
}

/// Writes the manifest; it is small and read whole.
pub async fn put_manifest(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    manifest: &Manifest,
) -> Result<(), Error> {
    let key = format!("{prefix}{MANIFEST}");
    let body = serde_json::to_vec(manifest).unwrap_or_default();
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(body.into())
        .content_type("application/json")
        .cache_control("no-store")
        .send()
        .await
        .map_err(|e| Error::aws("PutObject", &key, &e))?;
    Ok(())
}
