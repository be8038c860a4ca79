//! deploy-static: a built web frontend to S3 behind CloudFront. Only what changed is uploaded
//! (MD5 against the ETag, or the hash the last release recorded), assets first and HTML last,
//! so no page is live before what it references; stale files go only after the new HTML is
//! live, keeping the last releases' files for clients still on an old page; one invalidation of
//! the changed HTML paths, waited for.
//!
//! Parse, then validate, then act: the folder, the bucket (and its region) and the distribution
//! are checked, and the whole plan made, before the first write (bad input exits 2).

mod cdn;
mod input;
pub mod local;
pub mod plan;
pub mod remote;
pub mod rules;
mod summary;
mod transfer;

use std::collections::BTreeMap;

use deploy_kit_gha::{Cancelled, Classify, Exit, InputError, Runner, TimedOut};

pub use input::{Input, Invalidate};
use local::LocalError;
use plan::{Compare, Plan};
use remote::{Manifest, Recorded, Release};
pub use summary::Outcome;

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// The built site's folder (e.g. `dist`). Required.
    #[arg(long, env = "INPUT_SOURCE")]
    pub source: Option<String>,
    /// The S3 bucket. Required.
    #[arg(long, env = "INPUT_BUCKET")]
    pub bucket: Option<String>,
    /// Key prefix inside the bucket (default: the bucket's root).
    #[arg(long, env = "INPUT_PREFIX")]
    pub prefix: Option<String>,
    /// The CloudFront distribution in front of the bucket (its domain is the `url` output).
    #[arg(long, env = "INPUT_DISTRIBUTION_ID")]
    pub distribution_id: Option<String>,
    /// `glob=Cache-Control` lines, first match wins, before the defaults.
    #[arg(long, env = "INPUT_CACHE_CONTROL")]
    pub cache_control: Option<String>,
    /// Delete objects the build no longer has (default true).
    #[arg(long, env = "INPUT_DELETE")]
    pub delete: Option<String>,
    /// How many earlier releases' files to keep (default 1).
    #[arg(long, env = "INPUT_KEEP_PREVIOUS")]
    pub keep_previous: Option<String>,
    /// `changed` (default), `all`, `none`, or paths one per line.
    #[arg(long, env = "INPUT_INVALIDATE")]
    pub invalidate: Option<String>,
    /// Wait for the invalidation to complete (default true).
    #[arg(long, env = "INPUT_WAIT")]
    pub wait: Option<String>,
    /// Requests in flight at once (default 16).
    #[arg(long, env = "INPUT_CONCURRENCY")]
    pub concurrency: Option<String>,
    /// Plan and report, write nothing.
    #[arg(long, env = "INPUT_DRY_RUN")]
    pub dry_run: Option<String>,
}

/// The outputs `action.yml` declares.
pub const OUTPUTS: &[&str] = &[
    "uploaded",
    "unchanged",
    "deleted",
    "bytes",
    "invalidation-id",
    "url",
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error(transparent)]
    NoRegion(#[from] deploy_kit_aws::NoRegion),
    #[error(
        "input `bucket`: bucket `{bucket}` does not exist (NoSuchBucket): check the name, or create it first"
    )]
    NoBucket { bucket: String },
    #[error(
        "input `bucket`: bucket `{bucket}` is in `{found}`, not in `{region}` where this step runs: set `aws-region: {found}` on oidc-login (or AWS_REGION)"
    )]
    OtherRegion {
        bucket: String,
        found: String,
        region: String,
    },
    #[error(
        "input `distribution-id`: distribution `{id}` does not exist (NoSuchDistribution): check the id in the CloudFront console"
    )]
    NoDistribution { id: String },
    #[error("{call} on `{resource}` failed: {message}")]
    Aws {
        call: &'static str,
        resource: String,
        message: String,
    },
    #[error(transparent)]
    TimedOut(TimedOut),
    #[error("internal: {0}")]
    Internal(String),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

impl Error {
    pub(crate) fn aws<E>(
        call: &'static str,
        resource: &str,
        error: &aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    {
        Error::Aws {
            call,
            resource: resource.to_owned(),
            message: deploy_kit_aws::describe_error(error),
        }
    }
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_)
            | Error::Local(_)
            | Error::NoRegion(_)
            | Error::NoBucket { .. }
            | Error::OtherRegion { .. }
            | Error::NoDistribution { .. } => Exit::BadInput,
            Error::TimedOut(_) => Exit::TimedOut,
            Error::Cancelled(cancelled) => cancelled.exit(),
            Error::Aws { .. } | Error::Internal(_) => Exit::Failed,
        }
    }
}

/// What the reads found, before any write.
struct Found {
    region: String,
    domain: Option<String>,
    manifest: Manifest,
    objects: BTreeMap<String, remote::RemoteObject>,
    plan: Plan,
}

/// The action.
pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let input = Input::from_args(&args)?;
    let scale = runner.env().time_scale()?;
    let files = local::scan(&input.source, &input.rules)?;
    let retry = deploy_kit_aws::Retry::new(runner.line_writer())
        .budget_override(runner.env().retry_budget()?);
    let config = deploy_kit_aws::load_config("deploy-static", retry).await?;
    let s3 = config.s3();
    let cf = config.cloudfront();
    let region = config.region();
    // Reads only: a cancel here stops at once, with nothing written.
    let found = runner
        .cancellation()
        .run(survey(&s3, &cf, &input, files, region))
        .await?;
    let url = summary::url(&input, &found.region, found.domain.as_deref());
    let mut outcome = Outcome::planned(&found.plan, url);
    summary::print_plan(runner, &input, &found.plan);
    if input.dry_run {
        runner.info("dry run: nothing written");
        outcome.write(runner, &input, &found.plan, true);
        return Ok(());
    }
    outcome.invalidation_id = act(&s3, &cf, &input, &found, scale, runner).await?;
    outcome.write(runner, &input, &found.plan, false);
    Ok(())
}

async fn survey(
    s3: &aws_sdk_s3::Client,
    cf: &aws_sdk_cloudfront::Client,
    input: &Input,
    files: Vec<local::LocalFile>,
    region: String,
) -> Result<Found, Error> {
    remote::check_bucket(s3, &input.bucket, &region).await?;
    let domain = match &input.distribution_id {
        Some(id) => Some(cdn::domain(cf, id).await?),
        None => None,
    };
    let objects = remote::list(s3, &input.bucket, &input.prefix).await?;
    let manifest = remote::manifest(s3, &input.bucket, &input.prefix).await?;
    let last = manifest.releases.first().map(|r| &r.files);
    let mut compared = Vec::with_capacity(files.len());
    let mut unknown = Vec::new();
    for file in files {
        let recorded = last.and_then(|f| f.get(&file.path));
        match plan::compare(&file, objects.get(&file.path), recorded) {
            Compare::Same => compared.push((file, false)),
            Compare::Changed => compared.push((file, true)),
            Compare::Unknown => unknown.push(file),
        }
    }
    // Objects put there by another tool: their headers may be wrong (the common fault), and
    // only a HEAD tells. Once this run records them, later runs need none.
    let checked =
        transfer::headers_match(s3, &input.bucket, &input.prefix, unknown, input.concurrency)
            .await?;
    compared.extend(checked.into_iter().map(|(file, same)| (file, !same)));
    compared.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let plan = plan::plan(
        compared,
        &objects,
        &manifest,
        input.delete,
        input.keep_previous,
        &input.prefix,
        if input.distribution_id.is_some() {
            &input.invalidate
        } else {
            &Invalidate::Nothing
        },
    );
    Ok(Found {
        region,
        domain,
        manifest,
        objects,
        plan,
    })
}

/// The writes, in the order that keeps the site whole: assets, HTML, the release record, the
/// invalidation (and its wait), then deletions. Returns the invalidation id, if one was made.
async fn act(
    s3: &aws_sdk_s3::Client,
    cf: &aws_sdk_cloudfront::Client,
    input: &Input,
    found: &Found,
    scale: f64,
    runner: &Runner,
) -> Result<Option<String>, Error> {
    let plan = &found.plan;
    let cancel = runner.cancellation();
    cancel.check("nothing was written")?;
    let (bucket, prefix, limit) = (&input.bucket, &input.prefix, input.concurrency);
    let mut etags: BTreeMap<String, String> = BTreeMap::new();
    // A cancel during the assets leaves the old pages live, with new files beside them.
    etags.extend(
        cancel
            .run(async {
                transfer::upload(s3, bucket, prefix, &plan.assets, limit)
                    .await
                    .map_err(|e| with_state(e, "the old pages are still live"))
            })
            .await
            .map_err(|e| {
                cancelled_note(
                    e,
                    "the old pages are still live, new assets were added beside them",
                )
            })?,
    );
    cancel.check("the old pages are still live, new assets were added beside them")?;
    // HTML is not interrupted: a few small files, and stopping half way would mix releases.
    etags.extend(
        transfer::upload(s3, bucket, prefix, &plan.html, limit)
            .await
            .map_err(|e| with_state(e, "some pages may be new and some old; both releases' assets are present, so every page works: re-run to finish"))?,
    );
    let manifest = record(found, &etags, input.keep_previous);
    // A re-run of the same build is not a new release: recording it would push the release
    // before it out of `keep-previous` with nothing gained.
    let last = |m: &Manifest| m.releases.first().map(|r| r.files.clone());
    if last(&found.manifest) != last(&manifest) {
        remote::put_manifest(s3, bucket, prefix, &manifest).await?;
    }
    let invalidation = match (&input.distribution_id, plan.invalidation.is_empty()) {
        (Some(id), false) => {
            let reference = format!("deploy-kit-{}", release_id());
            let created = cdn::invalidate(cf, id, &plan.invalidation, &reference).await?;
            runner.info(format!(
                "invalidation {created}: {}",
                plan.invalidation.join(" ")
            ));
            if input.wait {
                cancel
                    .run(cdn::wait(cf, id, &created, scale, runner))
                    .await
                    .map_err(|e| cancelled_note(e, "the new release is live; the invalidation is running; stale files were not deleted (the next run does it)"))?;
            }
            Some(created)
        }
        _ => None,
    };
    cancel.check("the new release is live; stale files were not deleted (the next run does it)")?;
    transfer::delete(s3, bucket, prefix, &plan.delete).await?;
    Ok(invalidation)
}

fn with_state(error: Error, state: &str) -> Error {
    match error {
        Error::Aws {
            call,
            resource,
            message,
        } => Error::Aws {
            call,
            resource,
            message: format!("{message}; {state}"),
        },
        other => other,
    }
}

fn cancelled_note(error: Error, note: &str) -> Error {
    match error {
        Error::Cancelled(Cancelled {
            signal,
            cleanup: None,
        }) => Error::Cancelled(Cancelled {
            signal,
            cleanup: Some(note.to_owned()),
        }),
        other => other,
    }
}

/// The manifest with this release first, and as many earlier ones as `keep` asks.
fn record(found: &Found, etags: &BTreeMap<String, String>, keep: usize) -> Manifest {
    let (old, plan) = (&found.manifest, &found.plan);
    let files = plan
        .assets
        .iter()
        .chain(&plan.html)
        .chain(&plan.unchanged)
        .map(|f| {
            let etag = etags
                .get(&f.path)
                .or_else(|| found.objects.get(&f.path).map(|o| &o.etag))
                .cloned()
                .unwrap_or_else(|| f.md5.clone());
            let recorded = Recorded {
                md5: f.md5.clone(),
                etag,
                content_type: f.content_type.clone(),
                cache_control: f.cache_control.clone(),
            };
            (f.path.clone(), recorded)
        })
        .collect();
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut releases = vec![Release {
        id: release_id(),
        at,
        files,
    }];
    releases.extend(old.releases.iter().take(keep).cloned());
    Manifest { releases }
}

/// Unique per run: the time in nanoseconds and the process.
fn release_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos}-{}", std::process::id())
}
