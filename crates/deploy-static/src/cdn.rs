//! CloudFront: the distribution checked before any write, one invalidation, and its wait.

use std::time::Duration;

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use deploy_kit_gha::{Runner, TimedOut};

use crate::Error;

/// How long `wait` waits for an invalidation: CloudFront finishes most within minutes.
pub const WAIT_LIMIT: Duration = Duration::from_secs(20 * 60);
/// Between GetInvalidation calls (scaled on the bed).
pub const POLL: Duration = Duration::from_secs(5);

/// The distribution's domain name; NoSuchDistribution is bad input.
pub async fn domain(cf: &Client, id: &str) -> Result<String, Error> {
    let out = cf.get_distribution().id(id).send().await.map_err(|e| {
        let code = aws_sdk_cloudfront::error::ProvideErrorMetadata::code(&e).unwrap_or_default();
        if code == "NoSuchDistribution" {
            Error::NoDistribution { id: id.to_owned() }
        } else {
            Error::aws("GetDistribution", id, &e)
        }
    })?;
    Ok(out
        .distribution()
        .map(|d| d.domain_name().to_owned())
        .unwrap_or_default())
}

/// One invalidation of `paths`; the caller reference makes a retried request the same one.
pub async fn invalidate(
    cf: &Client,
    id: &str,
    paths: &[String],
    reference: &str,
) -> Result<String, Error> {
    let quantity = i32::try_from(paths.len()).unwrap_or(i32::MAX);
    let batch = InvalidationBatch::builder()
        .paths(
            Paths::builder()
                .quantity(quantity)
                .set_items(Some(paths.to_vec()))
                .build()
                .map_err(|e| Error::Internal(e.to_string()))?,
        )
        .caller_reference(reference)
        .build()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let out = cf
        .create_invalidation()
        .distribution_id(id)
        .invalidation_batch(batch)
        .send()
        .await
        .map_err(|e| Error::aws("CreateInvalidation", id, &e))?;
    out.invalidation()
        .map(|i| i.id().to_owned())
        .ok_or_else(|| Error::Internal("CreateInvalidation returned no invalidation".to_owned()))
}

/// Polls until the invalidation is `Completed`.
pub async fn wait(
    cf: &Client,
    id: &str,
    invalidation: &str,
    scale: f64,
    runner: &Runner,
) -> Result<(), Error> {
    let progress = runner.progress(format!("invalidation {invalidation}"));
    let limit = WAIT_LIMIT.mul_f64(scale);
    let started = tokio::time::Instant::now();
    loop {
        let out = cf
            .get_invalidation()
            .distribution_id(id)
            .id(invalidation)
            .send()
            .await
            .map_err(|e| Error::aws("GetInvalidation", id, &e))?;
        let status = out
            .invalidation()
            .map(|i| i.status().to_owned())
            .unwrap_or_default();
        if status == "Completed" {
            progress.finish("completed");
            return Ok(());
        }
        progress.state(status);
        if started.elapsed() >= limit {
            return Err(Error::TimedOut(TimedOut {
                what: format!("CloudFront invalidation `{invalidation}` of distribution `{id}`"),
                after: limit,
            }));
        }
        tokio::time::sleep(POLL.mul_f64(scale)).await;
    }
}
