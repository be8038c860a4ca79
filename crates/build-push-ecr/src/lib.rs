//! build-push-ecr: log in, build and push to ECR in one idempotent step. An image whose first
//! tag already exists is not rebuilt (missing tags are put on its manifest); the digest comes
//! from what docker wrote, never guessed; an optional scan gate fails on findings.

pub mod docker;
pub mod ecr;
mod input;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use deploy_kit_gha::{Classify, Exit, InputError, Runner};

use crate::docker::{Builder, Docker};
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
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::NoRegion | Error::NoRepository(_) => Exit::BadInput,
            Error::ScanTimedOut(_) => Exit::TimedOut,
            _ => Exit::Failed,
        }
    }
}

/// What the step produced.
#[derive(Debug, Default)]
struct Built {
    uri: String,
    registry: String,
    digest: Option<String>,
    skipped: bool,
    builder: Option<Builder>,
    build_time: Option<Duration>,
    tags_added: Vec<String>,
    findings: Option<Vec<ecr::Finding>>,
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    // Masked before they are parsed: a malformed line is a secret all the same.
    if let Some(text) = args.secrets.as_deref() {
        for line in deploy_kit_gha::input::lines(text) {
            runner.mask(line);
            if let Some((_, value)) = line.split_once('=') {
                runner.mask(value);
            }
        }
    }
    let commit = std::env::var("GITHUB_SHA").ok();
    let mut input = Input::from_args(&args, commit.as_deref())?;
    input.check_paths()?;
    input.poll_scale = deploy_kit_gha::input::time_scale_from_env()?;
    let docker = Docker {
        program: std::env::var("DOCKER").unwrap_or_else(|_| "docker".to_owned()),
        config_dir: runner
            .env()
            .temp_dir
            .join(format!("deploy-kit-docker-{}", std::process::id())),
    };
    let builder = docker.builder();
    if builder == Builder::DockerBuild && input.platforms.len() > 1 {
        return Err(InputError::new(
            "platforms",
            "several platforms need docker buildx, which is not installed here: add docker/setup-buildx-action before this step, or build one platform",
        )
        .into());
    }
    let config = deploy_kit_aws::load_config("build-push-ecr")
        .await
        .map_err(|_| Error::NoRegion)?;
    let client = aws_sdk_ecr::Client::new(&config);
    let (repository_uri, created) = ecr::repository(&client, &input).await?;
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
        ecr::find(&client, &input, &input.tags[0]).await?
    } else {
        None
    };
    match existing {
        Some(image) => {
            built.tags_added = ecr::add_tags(&client, &input, &image).await?;
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
            built.builder = Some(builder);
            let started = Instant::now();
            built.digest = build(&client, &input, &docker, builder, &uri, runner).await?;
            built.build_time = Some(started.elapsed());
        }
    }
    if input.scan
        && let Some(digest) = &built.digest
    {
        let findings = ecr::scan(&client, &input, digest).await?;
        built.findings = Some(findings);
    }
    report(&input, &built, runner);
    gate(&input, &built)
}

/// Logs in, builds (and pushes), logs out; the digest docker reported.
async fn build(
    client: &aws_sdk_ecr::Client,
    input: &Input,
    docker: &Docker,
    builder: Builder,
    uri: &str,
    runner: &Runner,
) -> Result<Option<String>, Error> {
    std::fs::create_dir_all(&docker.config_dir)?;
    let registry = uri.split('/').next().unwrap_or_default().to_owned();
    let (user, password) = ecr::credentials(client, input).await?;
    runner.mask(&password);
    let mut login = docker::login_args(&registry);
    login[2] = user;
    checked(docker, &login, Some(&password))?;
    let result = build_and_push(input, docker, builder, uri, runner);
    // Logged out whatever happened; the private config directory goes too.
    let _ = docker.run(&docker::logout_args(&registry), None);
    let _ = std::fs::remove_dir_all(&docker.config_dir);
    result
}

fn build_and_push(
    input: &Input,
    docker: &Docker,
    builder: Builder,
    uri: &str,
    runner: &Runner,
) -> Result<Option<String>, Error> {
    let secret_files = write_secrets(&docker.config_dir, &input.secrets)?;
    let metadata = docker.config_dir.join("metadata.json");
    let args = docker::build_args(input, builder, uri, &metadata, &secret_files);
    runner.info(match builder {
        Builder::Buildx => "building with docker buildx (registry cache, pushed by the build)",
        Builder::DockerBuild => {
            "building with DOCKER_BUILDKIT=1 docker build, then docker push (buildx is not installed: no registry cache)"
        }
    });
    let output = {
        let _group = runner.group(format!("docker {}", args.join(" ")));
        let output = checked(docker, &args, None)?;
        // Build output quotes the Dockerfile and whatever its RUN steps print: not ours.
        runner.untrusted("", &output);
        output
    };
    drop(output);
    if !input.push {
        return Ok(None);
    }
    match builder {
        Builder::Buildx => {
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

fn report(input: &Input, built: &Built, runner: &Runner) {
    let first = format!("{}:{}", built.uri, input.tags[0]);
    let digest = built.digest.clone().unwrap_or_default();
    let digest_uri = built
        .digest
        .as_ref()
        .map(|d| format!("{}@{d}", built.uri))
        .unwrap_or_default();
    let outputs = [
        ("image", first.clone()),
        ("image-digest-uri", digest_uri.clone()),
        ("digest", digest.clone()),
        ("tags", input.tags.join("\n")),
        ("registry", built.registry.clone()),
        ("skipped", built.skipped.to_string()),
    ];
    for (name, value) in outputs {
        if let Err(error) = runner.set_output(name, &value) {
            runner.warning(format!("cannot set output `{name}`: {error}"));
        }
    }
    let how = match (built.skipped, built.builder, built.build_time) {
        (true, _, _) => "skipped: the image already existed".to_owned(),
        (false, Some(Builder::Buildx), Some(took)) => format!(
            "built with buildx in {} (registry cache {})",
            deploy_kit_gha::format_duration(took),
            if input.cache { "on" } else { "off" }
        ),
        (false, _, Some(took)) => format!(
            "built with docker build in {} (no registry cache without buildx)",
            deploy_kit_gha::format_duration(took)
        ),
        _ => "not built".to_owned(),
    };
    let mut md = format!(
        "### build-push-ecr\n\n| | |\n| --- | --- |\n| image | `{first}` |\n| digest | `{digest}` |\n| tags | {} |\n| build | {how} |\n",
        input
            .tags
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if !built.tags_added.is_empty() {
        md.push_str(&format!(
            "| tags added | {} |\n",
            built.tags_added.join(", ")
        ));
    }
    if let Some(findings) = &built.findings {
        md.push_str("\n#### Scan findings\n\n| severity | findings |\n| --- | --- |\n");
        for severity in SEVERITIES {
            let count = findings.iter().filter(|f| f.severity == severity).count();
            if count > 0 {
                md.push_str(&format!("| {severity} | {count} |\n"));
            }
        }
        if findings.is_empty() {
            md.push_str("| (none) | 0 |\n");
        }
    }
    if let Err(error) = runner.summary(&md) {
        runner.warning(format!("cannot write the step summary: {error}"));
    }
    runner.info(format!("{first} is {digest_uri}"));
}

fn gate(input: &Input, built: &Built) -> Result<(), Error> {
    let Some(findings) = &built.findings else {
        return Ok(());
    };
    let blocking = ecr::blocking(input, findings);
    if blocking.is_empty() {
        return Ok(());
    }
    Err(Error::Findings {
        count: blocking.len(),
        threshold: input
            .fail_on_severity
            .and_then(|i| SEVERITIES.get(i).copied())
            .unwrap_or("?"),
        list: blocking
            .iter()
            .map(|f| format!("{} ({})", f.id, f.severity))
            .collect::<Vec<_>>()
            .join(", "),
    })
}
