//! build-push-ecr: log in, build and push to ECR in one idempotent step. An image whose first
//! tag already exists is not rebuilt (missing tags are put on its manifest); the digest comes
//! from what docker wrote, never guessed; an optional scan gate fails on findings.

mod build;
pub mod builder;
pub mod docker;
pub mod ecr;
mod input;
mod report;

use std::path::PathBuf;
use std::time::Instant;

use deploy_kit_gha::{Cancelled, Classify, Exit, InputError, Runner, RunnerEnv};

use crate::build::{Job, PrivateConfig};
use crate::builder::Tooling;
use crate::docker::Docker;
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
    #[error(transparent)]
    NoRegion(#[from] deploy_kit_aws::NoRegion),
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
            Error::Input(_) | Error::NoRegion(_) | Error::NoRepository(_) => Exit::BadInput,
            Error::ScanTimedOut(_) => Exit::TimedOut,
            Error::Cancelled(cancelled) => cancelled.exit(),
            _ => Exit::Failed,
        }
    }
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let input = parse(&args, runner)?;
    let env = runner.env();
    // Read with the inputs, so a bad test-bed setting or retry budget fails before docker or
    // any AWS call.
    let poll_scale = env.time_scale()?;
    let retry =
        deploy_kit_aws::Retry::new(runner.line_writer()).budget_override(env.retry_budget()?);
    let (docker, runner_config) = private_docker(env);
    let _private = PrivateConfig(docker.config_dir.clone());
    docker::carry_config(runner_config.as_deref(), &docker.config_dir)?;
    let (
        tooling,
        Found {
            client,
            repository,
            next,
        },
    ) = probe_and_look_up(&input, &docker, retry, runner).await?;
    let mut built = target(&client, &input, repository, runner).await?;
    match next {
        Next::Skip(image) => skip(&client, &input, image, &mut built, runner).await?,
        Next::Build(login) => {
            // A builder created for the build boots BuildKit (seconds on a runner that pulls
            // its image); the login does not wait for it. The private config is readied first,
            // so `buildx create` never reads it half-written; from then on each docker command
            // writes its own file (the runner's buildx directory, the private config).
            let log_in = build::log_in(&docker, &built.registry, &login, runner)?;
            let (chosen, logged_in) =
                tokio::join!(builder::choose(&docker, &input, &tooling, runner), log_in);
            let chosen = chosen?;
            built.builder = Some(chosen.builder.clone());
            let started = Instant::now();
            let job = Job {
                input: &input,
                docker: &docker,
                builder: &chosen.builder,
                uri: &built.uri,
                registry: &built.registry,
                runner,
            };
            let result = match logged_in {
                Ok(()) => job.run().await,
                Err(error) => Err(error),
            };
            builder::remove(&docker, &chosen, runner).await;
            built.digest = result?;
            built.build_time = Some(started.elapsed());
        }
    }
    if input.scan
        && let Some(digest) = &built.digest
    {
        built.findings =
            Some(cancellable(runner, ecr::scan(&client, &input, digest, poll_scale)).await?);
    }
    report(&input, &built, runner);
    gate(&input, &built)
}

/// The typed input. Secrets are masked before they are parsed: a malformed line is a secret
/// all the same. The value after `id=` is the secret (one mask line, no more copies of it); a
/// line without `=` is masked whole.
fn parse(args: &Args, runner: &Runner) -> Result<Input, Error> {
    if let Some(text) = args.secrets.as_deref() {
        for line in deploy_kit_gha::input::lines(text) {
            runner.mask(line.split_once('=').map_or(line, |(_, value)| value));
        }
    }
    let env = runner.env();
    let input = Input::from_args(args, env.commit_sha.as_deref())?;
    input.check_paths()?;
    Ok(input)
}

/// The docker CLI with a private config directory for this step, and the runner's own docker
/// config: where its login store, contexts, plug-ins and builders are.
fn private_docker(env: &RunnerEnv) -> (Docker, Option<PathBuf>) {
    let runner_config = env.var("DOCKER_CONFIG").map(PathBuf::from).or_else(|| {
        env.var("HOME")
            .map(|home| PathBuf::from(home).join(".docker"))
    });
    let docker = Docker {
        program: env.var("DOCKER").unwrap_or("docker").to_owned(),
        config_dir: env
            .temp_dir
            .join(format!("deploy-kit-docker-{}", std::process::id())),
        buildx_config: env
            .var("BUILDX_CONFIG")
            .map(PathBuf::from)
            .or_else(|| runner_config.as_ref().map(|dir| dir.join("buildx"))),
    };
    (docker, runner_config)
}

/// docker's tooling and what the registry holds. Several platforms need buildx: docker is asked
/// first, so that without it the input is refused before any AWS call. Nothing docker offers can
/// refuse one platform, so then the probe (`docker buildx inspect`, see [`Tooling::detect`])
/// runs while the registry is looked up.
async fn probe_and_look_up(
    input: &Input,
    docker: &Docker,
    retry: deploy_kit_aws::Retry,
    runner: &Runner,
) -> Result<(Tooling, Found), Error> {
    if input.platforms.len() <= 1 {
        let (tooling, found) = tokio::join!(Tooling::detect(docker), look_up(input, retry, runner));
        return Ok((tooling, found?));
    }
    let tooling = Tooling::detect(docker).await;
    if tooling == Tooling::DockerBuild {
        return Err(InputError::new(
            "platforms",
            "several platforms need docker buildx, which is not installed here: add docker/setup-buildx-action before this step, or build one platform",
        )
        .into());
    }
    Ok((tooling, look_up(input, retry, runner).await?))
}

/// What the registry holds before anything is done, read only: the repository, and the image
/// under the first tag when that may skip the build; else the login for the build.
struct Found {
    client: aws_sdk_ecr::Client,
    repository: Repository,
    next: Next,
}

/// The repository as the lookups found it.
enum Repository {
    /// It exists, at this URI (`host/name`).
    Exists(String),
    /// It is missing, and `create-repository` allows creating it.
    ToCreate,
}

/// What follows the lookups.
enum Next {
    /// The first tag exists: no build.
    Skip(ecr::Existing),
    /// A build, with this login (its password masked).
    Build(deploy_kit_aws::ecr::Login),
}

/// A missing repository that may not be created is refused here, before the login is asked
/// for: a refused run reads no more than it must.
async fn look_up(
    input: &Input,
    retry: deploy_kit_aws::Retry,
    runner: &Runner,
) -> Result<Found, Error> {
    let config = deploy_kit_aws::load_config("build-push-ecr", retry).await?;
    let client = config.ecr();
    let repository = match cancellable(runner, ecr::describe(&client, input)).await? {
        Some(uri) => Repository::Exists(uri),
        None if input.create_repository => Repository::ToCreate,
        None => return Err(Error::NoRepository(input.repository.clone())),
    };
    let existing = match repository {
        Repository::Exists(_) if input.skip_if_exists && input.push => {
            cancellable(runner, ecr::find(&client, input, &input.tags[0])).await?
        }
        _ => None,
    };
    let next = match existing {
        Some(image) => Next::Skip(image),
        None => {
            let login = cancellable(runner, ecr::credentials(&client, input)).await?;
            runner.mask(&login.password);
            Next::Build(login)
        }
    };
    Ok(Found {
        client,
        repository,
        next,
    })
}

/// The repository (created when missing) and the registry the image goes to.
async fn target(
    client: &aws_sdk_ecr::Client,
    input: &Input,
    repository: Repository,
    runner: &Runner,
) -> Result<Built, Error> {
    let repository_uri = match repository {
        Repository::Exists(uri) => uri,
        Repository::ToCreate => {
            let uri = cancellable(runner, ecr::create(client, input)).await?;
            runner.info(format!("created repository {uri}"));
            uri
        }
    };
    let registry = input.registry.clone().unwrap_or_else(|| {
        repository_uri
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    Ok(Built {
        uri: format!("{registry}/{}", input.repository),
        registry,
        ..Built::default()
    })
}

/// The first tag exists: no build, the missing tags put on its manifest.
async fn skip(
    client: &aws_sdk_ecr::Client,
    input: &Input,
    image: ecr::Existing,
    built: &mut Built,
    runner: &Runner,
) -> Result<(), Error> {
    built.tags_added = cancellable(runner, ecr::add_tags(client, input, &image)).await?;
    runner.info(format!(
        "{}:{} already exists ({}): build skipped{}",
        built.uri,
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
    Ok(())
}

/// An ECR call or wait, given up at once on a signal: it leaves nothing to clean up. (The build
/// watches the signal itself: it stops docker and removes what it made.)
async fn cancellable<T>(
    runner: &Runner,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    runner.cancellation().run(work).await
}
