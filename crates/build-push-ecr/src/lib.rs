//! build-push-ecr: log in, build and push to ECR in one idempotent step. An image whose first
//! tag already exists is not rebuilt (missing tags are put on its manifest); the digest comes
//! from what docker wrote, never guessed; an optional scan gate fails on findings.

pub mod builder;
pub mod docker;
pub mod ecr;
mod input;
mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use deploy_kit_gha::{Cancelled, Classify, Exit, InputError, Runner};

use crate::builder::Tooling;
use crate::docker::{Builder, Docker};
use crate::report::{Built, gate, report};
pub use input::{Input, SEVERITIES};

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Repository name or full URI. Required.
    #[arg(long, env = "INPUT_REPOSITORY")]
    pub repository: Option<String>,
    /// Build context (default `.`).
    #[arg(long, env = "INPUT_CONTEXT")]
    pub context: Option<String>,
    /// Dockerfile path (default the context's Dockerfile).
    #[arg(long, env = "INPUT_DOCKERFILE")]
    pub dockerfile: Option<String>,
    /// Tags, one per line (default the full commit SHA).
    #[arg(long, env = "INPUT_TAGS")]
    pub tags: Option<String>,
    /// Build arguments, one `NAME=value` per line.
    #[arg(long, env = "INPUT_BUILD_ARGS")]
    pub build_args: Option<String>,
    /// Build secrets, one `id=value` per line (masked; files, never build args).
    #[arg(long, env = "INPUT_SECRETS")]
    pub secrets: Option<String>,
    /// Build stage to stop at.
    #[arg(long, env = "INPUT_TARGET")]
    pub target: Option<String>,
    /// Network of the `RUN` steps: `default`, `none` or `host`.
    #[arg(long, env = "INPUT_NETWORK")]
    pub network: Option<String>,
    /// Target platforms, e.g. `linux/amd64,linux/arm64` (needs buildx).
    #[arg(long, env = "INPUT_PLATFORMS")]
    pub platforms: Option<String>,
    /// Registry cache at `<repo>:buildcache` (default true; buildx only).
    #[arg(long, env = "INPUT_CACHE")]
    pub cache: Option<String>,
    /// Skip the build when the first tag exists (default true).
    #[arg(long, env = "INPUT_SKIP_IF_EXISTS")]
    pub skip_if_exists: Option<String>,
    /// Create the repository when missing (default false).
    #[arg(long, env = "INPUT_CREATE_REPOSITORY")]
    pub create_repository: Option<String>,
    /// A created repository has immutable tags (default true).
    #[arg(long, env = "INPUT_IMMUTABLE_TAGS")]
    pub immutable_tags: Option<String>,
    /// `none` (default) or `wait`: wait for the image scan and report it.
    #[arg(long, env = "INPUT_SCAN")]
    pub scan: Option<String>,
    /// Fail on findings at or above this severity, e.g. `HIGH`.
    #[arg(long, env = "INPUT_FAIL_ON_SEVERITY")]
    pub fail_on_severity: Option<String>,
    /// Finding ids (CVEs) that never fail the gate, one per line.
    #[arg(long, env = "INPUT_IGNORE_FINDINGS")]
    pub ignore_findings: Option<String>,
    /// How long to wait for the scan (default 10m).
    #[arg(long, env = "INPUT_SCAN_TIMEOUT")]
    pub scan_timeout: Option<String>,
    /// Provenance attestations (default false: ECS and ECR scanning trip on them).
    #[arg(long, env = "INPUT_PROVENANCE")]
    pub provenance: Option<String>,
    /// Push the image (default true).
    #[arg(long, env = "INPUT_PUSH")]
    pub push: Option<String>,
    /// Registry host instead of the repository's (a mirror, the test bed).
    #[arg(long, env = "INPUT_REGISTRY")]
    pub registry: Option<String>,
}

pub const OUTPUTS: &[&str] = &[
    "image",
    "image-digest-uri",
    "digest",
    "tags",
    "registry",
    "skipped",
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("no AWS region: set `aws-region` on oidc-login, or AWS_REGION in the environment")]
    NoRegion,
    #[error(
        "repository `{0}` does not exist: create it (Terraform, the console), or set `create-repository: true`"
    )]
    NoRepository(String),
    #[error("{call} for repository `{repository}` failed: {message}")]
    Aws {
        call: &'static str,
        repository: String,
        message: String,
    },
    #[error("`docker {command}` failed:\n{output}")]
    Docker { command: String, output: String },
    #[error(
        "several platforms need a builder other than `{current}`, whose docker driver builds one, and no docker-container builder could be created ({why}): add docker/setup-buildx-action before this step, or build one platform"
    )]
    NoBuilder { current: String, why: String },
    #[error("cannot run docker (`{program}`): {source}")]
    NoDocker {
        program: String,
        source: std::io::Error,
    },
    #[error("docker wrote no digest for the pushed image (looked in {0})")]
    NoDigest(String),
    #[error("the image scan did not finish: {0}")]
    ScanFailed(String),
    #[error("the image scan did not finish within scan-timeout {0}")]
    ScanTimedOut(String),
    #[error("the image scan found {count} finding(s) at or above {threshold}: {list}")]
    Findings {
        count: usize,
        threshold: &'static str,
        list: String,
    },
    #[error("cannot prepare the build: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::NoRegion | Error::NoRepository(_) => Exit::BadInput,
            Error::ScanTimedOut(_) => Exit::TimedOut,
            Error::Cancelled(cancelled) => cancelled.exit(),
            _ => Exit::Failed,
        }
    }
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    // Masked before they are parsed: a malformed line is a secret all the same. The value
    // after `id=` is the secret (one mask line, no more copies of it); a line without `=` is
    // masked whole.
    if let Some(text) = args.secrets.as_deref() {
        for line in deploy_kit_gha::input::lines(text) {
            runner.mask(line.split_once('=').map_or(line, |(_, value)| value));
        }
    }
    let env = runner.env();
    let mut input = Input::from_args(&args, env.commit_sha.as_deref())?;
    input.check_paths()?;
    input.poll_scale = env.time_scale()?;
    // The runner's docker config: where its login store, contexts, plug-ins and builders are.
    let runner_config = env.var("DOCKER_CONFIG").map(PathBuf::from).or_else(|| {
        env.var("HOME")
            .map(|home| PathBuf::from(home).join(".docker"))
    });
    let docker = Docker {
        program: env.var("DOCKER").unwrap_or("docker").to_owned(),
        config_dir: runner
            .env()
            .temp_dir
            .join(format!("deploy-kit-docker-{}", std::process::id())),
        buildx_config: env
            .var("BUILDX_CONFIG")
            .map(PathBuf::from)
            .or_else(|| runner_config.as_ref().map(|dir| dir.join("buildx"))),
    };
    let _private = PrivateConfig(docker.config_dir.clone());
    docker::carry_config(runner_config.as_deref(), &docker.config_dir)?;
    let tooling = Tooling::detect(&docker);
    if tooling == Tooling::DockerBuild && input.platforms.len() > 1 {
        return Err(InputError::new(
            "platforms",
            "several platforms need docker buildx, which is not installed here: add docker/setup-buildx-action before this step, or build one platform",
        )
        .into());
    }
    let retry =
        deploy_kit_aws::Retry::new(runner.line_writer()).budget_override(env.retry_budget()?);
    let config = deploy_kit_aws::load_config("build-push-ecr", retry)
        .await
        .map_err(|_| Error::NoRegion)?;
    let client = config.ecr();
    let (repository_uri, created) = cancellable(runner, ecr::repository(&client, &input)).await?;
    if created {
        runner.info(format!("created repository {repository_uri}"));
    }
    let registry = input.registry.clone().unwrap_or_else(|| {
        repository_uri
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let uri = format!("{registry}/{}", input.repository);
    let mut built = Built {
        uri: uri.clone(),
        registry: registry.clone(),
        ..Built::default()
    };
    let existing = if input.skip_if_exists && input.push {
        cancellable(runner, ecr::find(&client, &input, &input.tags[0])).await?
    } else {
        None
    };
    match existing {
        Some(image) => {
            built.tags_added = cancellable(runner, ecr::add_tags(&client, &input, &image)).await?;
            runner.info(format!(
                "{uri}:{} already exists ({}): build skipped{}",
                input.tags[0],
                image.digest,
                if built.tags_added.is_empty() {
                    String::new()
                } else {
                    format!("; tags added: {}", built.tags_added.join(", "))
                }
            ));
            built.digest = Some(image.digest);
            built.skipped = true;
        }
        None => {
            let chosen = builder::choose(&docker, &input, &tooling, runner)?;
            built.builder = Some(chosen.builder.clone());
            let started = Instant::now();
            let result = build(&client, &input, &docker, &chosen.builder, &uri, runner).await;
            builder::remove(&docker, &chosen, runner);
            built.digest = result?;
            built.build_time = Some(started.elapsed());
        }
    }
    if input.scan
        && let Some(digest) = &built.digest
    {
        let findings = cancellable(runner, ecr::scan(&client, &input, digest)).await?;
        built.findings = Some(findings);
    }
    report(&input, &built, runner);
    gate(&input, &built)
}

/// An ECR call or wait, given up at once on a signal: it leaves nothing to clean up. (The build
/// watches the signal itself: it stops docker and removes what it made.)
async fn cancellable<T>(
    runner: &Runner,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    runner.cancellation().run(work).await
}

/// The private docker config directory, removed with everything in it (the login, the secret
/// files) however the step ends; the links to the runner's directories go, not their targets.
struct PrivateConfig(PathBuf);

impl Drop for PrivateConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Logs in, builds (and pushes), logs out; the digest docker reported.
async fn build(
    client: &aws_sdk_ecr::Client,
    input: &Input,
    docker: &Docker,
    builder: &Builder,
    uri: &str,
    runner: &Runner,
) -> Result<Option<String>, Error> {
    let registry = uri.split('/').next().unwrap_or_default().to_owned();
    docker::forget_registry(&docker.config_dir, &registry)?;
    let (user, password) = cancellable(runner, ecr::credentials(client, input)).await?;
    runner.mask(&password);
    let mut login = docker::login_args(&registry);
    login[2] = user;
    checked(docker, &login, Some(&password))?;
    let result = build_and_push(input, docker, builder, uri, runner).await;
    // Logged out whatever happened; the private config directory goes when the step ends.
    let _ = docker.run(&docker::logout_args(&registry), None);
    result
}

async fn build_and_push(
    input: &Input,
    docker: &Docker,
    builder: &Builder,
    uri: &str,
    runner: &Runner,
) -> Result<Option<String>, Error> {
    let secret_files = write_secrets(&docker.config_dir, &input.secrets)?;
    let metadata = docker.config_dir.join("metadata.json");
    let args = docker::build_args(input, builder, uri, &metadata, &secret_files);
    runner.info(match builder {
        Builder::Buildx { cache: true, .. } => {
            "building with docker buildx (registry cache, pushed by the build)"
        }
        Builder::Buildx { cache: false, .. } => {
            "building with docker buildx (no registry cache, pushed by the build)"
        }
        Builder::DockerBuild => {
            "building with DOCKER_BUILDKIT=1 docker build, then docker push (buildx is not installed: no registry cache)"
        }
    });
    let output = {
        let _group = runner.group(format!("docker {}", args.join(" ")));
        let output = build_until_cancelled(docker, &args, runner).await?;
        // Build output quotes the Dockerfile and whatever its RUN steps print: not ours.
        runner.untrusted("", &output);
        output
    };
    drop(output);
    if !input.push {
        return Ok(None);
    }
    match builder {
        Builder::Buildx { .. } => {
            let text = std::fs::read_to_string(&metadata).unwrap_or_default();
            docker::digest_from_metadata(&text)
                .map(Some)
                .ok_or_else(|| Error::NoDigest(metadata.display().to_string()))
        }
        Builder::DockerBuild => {
            let mut digest = None;
            for tag in &input.tags {
                let pushed = checked(docker, &["push".to_owned(), format!("{uri}:{tag}")], None)?;
                runner.info(format!("pushed {uri}:{tag}"));
                digest = digest.or_else(|| docker::digest_from_push(&pushed));
            }
            digest
                .map(Some)
                .ok_or_else(|| Error::NoDigest("the output of docker push".to_owned()))
        }
    }
}

/// The build, stopped (killed) when the workflow is cancelled; the builder made for it and the
/// login are removed on the way out as after any failure.
async fn build_until_cancelled(
    docker: &Docker,
    args: &[String],
    runner: &Runner,
) -> Result<String, Error> {
    let cancellation = runner.cancellation();
    let ran = docker
        .run_until(args, || cancellation.signal().is_some())
        .await
        .map_err(|source| Error::NoDocker {
            program: docker.program.clone(),
            source,
        })?;
    match ran {
        Some(ran) if ran.success => Ok(ran.output),
        Some(ran) => Err(Error::Docker {
            command: args.first().cloned().unwrap_or_default(),
            output: ran.output,
        }),
        None => Err(Error::Cancelled(Cancelled {
            signal: cancellation
                .signal()
                .unwrap_or(deploy_kit_gha::Signal::Terminate),
            cleanup: Some("the build was stopped".to_owned()),
        })),
    }
}

fn checked(docker: &Docker, args: &[String], stdin: Option<&str>) -> Result<String, Error> {
    let ran = docker.run(args, stdin).map_err(|source| Error::NoDocker {
        program: docker.program.clone(),
        source,
    })?;
    if ran.success {
        Ok(ran.output)
    } else {
        Err(Error::Docker {
            command: args.first().cloned().unwrap_or_default(),
            output: ran.output,
        })
    }
}

/// Each secret in its own 0600 file, for `--secret id=..,src=..` (never on argv).
fn write_secrets(
    dir: &Path,
    secrets: &[(String, String)],
) -> Result<Vec<(String, PathBuf)>, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut files = Vec::new();
    for (id, value) in secrets {
        let path = dir.join(format!("secret-{id}"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        std::io::Write::write_all(&mut file, value.as_bytes())?;
        files.push((id.clone(), path));
    }
    Ok(files)
}
