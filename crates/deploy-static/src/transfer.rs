//! The S3 writes and per-object reads, `concurrency` at a time: uploads, HEADs, deletions.

use std::future::Future;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use tokio::task::JoinSet;

use crate::Error;
use crate::local::LocalFile;

/// Runs `work` on every item, at most `limit` at once; the first error stops the rest (the
/// tasks still in flight are aborted when the set drops).
async fn parallel<T, R, F, Fut>(items: Vec<T>, limit: usize, work: F) -> Result<Vec<R>, Error>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, Error>> + Send + 'static,
    R: Send + 'static,
{
    let mut set = JoinSet::new();
    let mut done = Vec::with_capacity(items.len());
    for item in items {
        if set.len() >= limit {
            done.push(joined(set.join_next().await)?);
        }
        set.spawn(work(item));
    }
    while let Some(result) = set.join_next().await {
        done.push(joined(Some(result))?);
    }
    Ok(done)
}

fn joined<R>(result: Option<Result<Result<R, Error>, tokio::task::JoinError>>) -> Result<R, Error> {
    match result {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(Error::Internal(format!("an upload task ended: {e}"))),
        None => Err(Error::Internal("no upload task to wait for".to_owned())),
    }
}

/// Uploads `files`; returns each path with the ETag S3 gave it.
pub async fn upload(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    files: &[LocalFile],
    limit: usize,
) -> Result<Vec<(String, String)>, Error> {
    parallel(files.to_vec(), limit, |file| {
        let s3 = s3.clone();
        let bucket = bucket.to_owned();
        let key = format!("{prefix}{}", file.path);
        async move {
            let body = ByteStream::from_path(&file.full)
                .await
                .map_err(|e| Error::Aws {
                    call: "PutObject",
                    resource: key.clone(),
                    message: format!("cannot read `{}`: {e}", file.full.display()),
                })?;
            let put = s3
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body)
                .content_type(&file.content_type)
                .cache_control(&file.cache_control)
                .send()
                .await
                .map_err(|e| Error::aws("PutObject", &key, &e))?;
            let etag = put.e_tag().unwrap_or_default().trim_matches('"').to_owned();
            Ok((file.path, etag))
        }
    })
    .await
}

/// For files whose content matches but whose headers are unknown: true when the object's
/// `Content-Type` and `Cache-Control` are already the planned ones.
pub async fn headers_match(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    files: Vec<LocalFile>,
    limit: usize,
) -> Result<Vec<(LocalFile, bool)>, Error> {
    parallel(files, limit, |file| {
        let s3 = s3.clone();
        let bucket = bucket.to_owned();
        let key = format!("{prefix}{}", file.path);
        async move {
            let head = s3
                .head_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| Error::aws("HeadObject", &key, &e))?;
            let same = head.content_type() == Some(file.content_type.as_str())
                && head.cache_control() == Some(file.cache_control.as_str());
            Ok((file, same))
        }
    })
    .await
}

/// Deletes `paths` with DeleteObjects, 1,000 keys per request (its limit).
pub async fn delete(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    paths: &[String],
) -> Result<(), Error> {
    for chunk in paths.chunks(1000) {
        let objects = chunk
            .iter()
            .map(|p| {
                ObjectIdentifier::builder()
                    .key(format!("{prefix}{p}"))
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let out = s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| Error::aws("DeleteObjects", bucket, &e))?;
        if let Some(failed) = out.errors().first() {
            return Err(Error::Aws {
                call: "DeleteObjects",
                resource: failed.key().unwrap_or(bucket).to_owned(),
                message: format!(
                    "{}: {} ({} keys not deleted)",
                    failed.code().unwrap_or("Error"),
                    failed.message().unwrap_or_default(),
                    out.errors().len()
                ),
            });
        }
    }
    Ok(())
}
