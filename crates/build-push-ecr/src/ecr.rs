//! The ECR side: the repository (found or created), the login token, an image that already
//! exists (and its missing tags put without a rebuild), and the scan gate.

use std::time::Duration;

use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{
    ImageIdentifier, ImageScanningConfiguration, ImageTagMutability,
    ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType, ScanStatus,
};
use tokio::time::Instant;

use crate::Error;
use crate::docker::CACHE_TAG;
use crate::input::{Input, SEVERITIES};

const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

fn aws<E: ProvideErrorMetadata + std::error::Error + 'static>(
    call: &'static str,
    repository: &str,
    error: &aws_sdk_ecr::error::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Error {
    Error::Aws {
        call,
        repository: repository.to_owned(),
        message: deploy_kit_aws::describe_error(error),
    }
}

/// The repository's URI (`host/name`), or `None` when it does not exist.
pub async fn describe(client: &Client, input: &Input) -> Result<Option<String>, Error> {
    let name = &input.repository;
    match client
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(out) => Ok(Some(
            out.repositories()
                .first()
                .and_then(|r| r.repository_uri())
                .unwrap_or_default()
                .to_owned(),
        )),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_repository_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(aws("DescribeRepositories", name, &error)),
    }
}

/// Creates the missing repository (`create-repository: true`); its URI.
pub async fn create(client: &Client, input: &Input) -> Result<String, Error> {
    let name = &input.repository;
    let mut create = client.create_repository().repository_name(name);
    create = if input.immutable_tags {
        // The registry cache rewrites `buildcache` on every build: an immutable repository
        // must exempt that one tag, or the second build fails its export.
        let cache_tag = ImageTagMutabilityExclusionFilter::builder()
            .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
            .filter(CACHE_TAG)
            .build()
            .map_err(|e| Error::Aws {
                call: "CreateRepository",
                repository: name.clone(),
                message: e.to_string(),
            })?;
        create
            .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
            .image_tag_mutability_exclusion_filters(cache_tag)
    } else {
        create.image_tag_mutability(ImageTagMutability::Mutable)
    };
    let out = create
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws("CreateRepository", name, &e))?;
    Ok(out
        .repository()
        .and_then(|r| r.repository_uri())
        .unwrap_or_default()
        .to_owned())
}

/// The login `docker login` takes, from GetAuthorizationToken (deploy_kit_aws::ecr).
pub async fn credentials(
    client: &Client,
    input: &Input,
) -> Result<deploy_kit_aws::ecr::Login, Error> {
    // logins() refuses an answer without authorization data, so the first login is there.
    let login = deploy_kit_aws::ecr::logins(client, &[])
        .await
        .and_then(|logins| {
            logins
                .into_iter()
                .next()
                .ok_or(deploy_kit_aws::ecr::TokenError::Empty)
        })
        .map_err(|e| Error::Aws {
            call: "GetAuthorizationToken",
            repository: input.repository.clone(),
            message: e.to_string(),
        })?;
    Ok(login)
}

/// An image already in the repository: its digest, manifest and media type.
#[derive(Debug, Clone)]
pub struct Existing {
    pub digest: String,
    pub manifest: String,
    pub media_type: Option<String>,
}

pub async fn find(client: &Client, input: &Input, tag: &str) -> Result<Option<Existing>, Error> {
    let out = client
        .batch_get_image()
        .repository_name(&input.repository)
        .image_ids(ImageIdentifier::builder().image_tag(tag).build())
        .set_accepted_media_types(Some(MANIFEST_TYPES.map(str::to_owned).to_vec()))
        .send()
        .await
        .map_err(|e| aws("BatchGetImage", &input.repository, &e))?;
    Ok(out.images().first().and_then(|image| {
        Some(Existing {
            digest: image.image_id()?.image_digest()?.to_owned(),
            manifest: image.image_manifest()?.to_owned(),
            media_type: image.image_manifest_media_type().map(str::to_owned),
        })
    }))
}

/// Puts the manifest under each tag that does not point at it yet; the tags added.
pub async fn add_tags(
    client: &Client,
    input: &Input,
    image: &Existing,
) -> Result<Vec<String>, Error> {
    let mut added = Vec::new();
    for tag in input.tags.iter().skip(1) {
        if find(client, input, tag)
            .await?
            .is_some_and(|found| found.digest == image.digest)
        {
            continue;
        }
        client
            .put_image()
            .repository_name(&input.repository)
            .image_manifest(&image.manifest)
            .set_image_manifest_media_type(image.media_type.clone())
            .image_tag(tag)
            .send()
            .await
            .map_err(|e| aws("PutImage", &input.repository, &e))?;
        added.push(tag.clone());
    }
    Ok(added)
}

/// A finding: its id (CVE) and severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub severity: String,
}

/// Waits for the image's scan (basic or enhanced) and returns its findings; starts a scan when
/// none exists. A scan that does not finish within `scan-timeout` is an error, not a hang.
/// `poll_scale`: the test bed's time scale, which shrinks the wait between polls.
pub async fn scan(
    client: &Client,
    input: &Input,
    digest: &str,
    poll_scale: f64,
) -> Result<Vec<Finding>, Error> {
    let started = Instant::now();
    let image = ImageIdentifier::builder().image_digest(digest).build();
    let mut asked = false;
    loop {
        let sent = client
            .describe_image_scan_findings()
            .repository_name(&input.repository)
            .image_id(image.clone())
            .send()
            .await;
        match sent {
            Ok(out) => {
                let status = out.image_scan_status().and_then(|s| s.status());
                match status {
                    Some(ScanStatus::Complete | ScanStatus::Active) => {
                        return Ok(findings(out.image_scan_findings()));
                    }
                    Some(ScanStatus::Failed | ScanStatus::UnsupportedImage) => {
                        return Err(Error::ScanFailed(format!(
                            "{}: {}",
                            status.map_or("FAILED", |s| s.as_str()),
                            out.image_scan_status()
                                .and_then(|s| s.description())
                                .unwrap_or("no description")
                        )));
                    }
                    _ => {}
                }
            }
            Err(error)
                if !asked
                    && error
                        .as_service_error()
                        .is_some_and(|e| e.is_scan_not_found_exception()) =>
            {
                asked = true;
                client
                    .start_image_scan()
                    .repository_name(&input.repository)
                    .image_id(image.clone())
                    .send()
                    .await
                    .map_err(|e| aws("StartImageScan", &input.repository, &e))?;
            }
            Err(error) => return Err(aws("DescribeImageScanFindings", &input.repository, &error)),
        }
        if started.elapsed() >= input.scan_timeout {
            return Err(Error::ScanTimedOut(deploy_kit_gha::format_duration(
                input.scan_timeout,
            )));
        }
        tokio::time::sleep(Duration::from_secs(5).mul_f64(poll_scale)).await;
    }
}

fn findings(found: Option<&aws_sdk_ecr::types::ImageScanFindings>) -> Vec<Finding> {
    let Some(found) = found else {
        return Vec::new();
    };
    let basic = found.findings().iter().map(|f| Finding {
        id: f.name().unwrap_or("(unnamed)").to_owned(),
        severity: f.severity().map_or("UNDEFINED", |s| s.as_str()).to_owned(),
    });
    let enhanced = found.enhanced_findings().iter().map(|f| Finding {
        id: f
            .package_vulnerability_details()
            .and_then(|d| d.vulnerability_id())
            .or(f.title())
            .unwrap_or("(unnamed)")
            .to_owned(),
        severity: f.severity().unwrap_or("UNDEFINED").to_owned(),
    });
    basic.chain(enhanced).collect()
}

/// The findings that fail the gate: at or above the threshold, not ignored.
pub fn blocking<'a>(input: &Input, findings: &'a [Finding]) -> Vec<&'a Finding> {
    let Some(threshold) = input.fail_on_severity else {
        return Vec::new();
    };
    findings
        .iter()
        .filter(|f| {
            SEVERITIES
                .iter()
                .position(|s| *s == f.severity)
                .is_some_and(|rank| rank <= threshold)
        })
        .filter(|f| !input.ignore_findings.contains(&f.id))
        .collect()
}
