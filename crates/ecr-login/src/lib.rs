//! ecr-login: logs the runner's docker in to ECR for the job's later steps (`docker compose
//! pull`, tests against the image, a second push), the way amazon-ecr-login does, and out again
//! with `logout: true` in a final step. A composite action has no post step to log out by itself.
//! `registry-type: public` logs in to ECR Public (`public.ecr.aws`) instead.

mod docker;
mod input;

use deploy_kit_aws::ecr::{self, Login};
use deploy_kit_gha::summary::{Table, code};
use deploy_kit_gha::{Cancelled, Classify, Exit, InputError, Runner};

use deploy_kit_build_push_ecr::docker::Unchecked;
pub use docker::{Docker, Ran, runners_docker};
pub use input::{Input, MAX_REGISTRIES, Registry};

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Account IDs whose private registries to log in to, comma-separated (default: the
    /// caller's own account). Ignored with `registry-type: public`.
    #[arg(long, env = "INPUT_REGISTRIES")]
    pub registries: Option<String>,
    /// `private` (default): the accounts' ECR registries; `public`: ECR Public
    /// (`public.ecr.aws`, its token from us-east-1).
    #[arg(long, env = "INPUT_REGISTRY_TYPE")]
    pub registry_type: Option<String>,
    /// Mask the docker password (default true); `false` lets another job read the output.
    #[arg(long, env = "INPUT_MASK_PASSWORD")]
    pub mask_password: Option<String>,
    /// Log out of what this job's ecr-login steps logged in to (default false); `--logout`
    /// alone means true.
    #[arg(long, env = "INPUT_LOGOUT", num_args = 0..=1, default_missing_value = "true")]
    pub logout: Option<String>,
}

pub const OUTPUTS: &[&str] = &["registry", "docker-username", "docker-password"];

/// Where a login step leaves the registries it logged in to, for the logout step (`$GITHUB_ENV`).
pub const LOGGED_IN_VAR: &str = "DEPLOY_KIT_ECR_LOGIN_REGISTRIES";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    NoRegion(#[from] deploy_kit_aws::NoRegion),
    #[error("GetAuthorizationToken for {registries} failed: {message}")]
    Aws { registries: String, message: String },
    #[error("`docker {command} {registry}` failed:\n{output}")]
    Docker {
        command: &'static str,
        registry: String,
        output: String,
    },
    #[error(
        "neither DOCKER_CONFIG nor HOME is set, so the runner's docker config cannot be found: set DOCKER_CONFIG to the directory later steps' docker reads"
    )]
    NoDockerConfig,
    #[error("cannot run docker (`{program}`): {source}")]
    NoDocker {
        program: String,
        source: std::io::Error,
    },
    #[error("cannot record the login for the logout step: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::NoRegion(_) | Error::NoDockerConfig => Exit::BadInput,
            Error::Cancelled(cancelled) => cancelled.exit(),
            _ => Exit::Failed,
        }
    }
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let input = Input::from_args(&args)?;
    let docker = runners_docker(runner.env()).ok_or(Error::NoDockerConfig)?;
    match input {
        Input::Logout => log_out(&docker, runner).await,
        Input::Login {
            registry,
            mask_password,
        } => {
            let logins = tokens(&registry, mask_password, runner).await?;
            log_in(&docker, &logins, runner).await
        }
    }
}

/// The logins, masked before anything else can print them (unless `mask-password: false`).
async fn tokens(
    registry: &Registry,
    mask_password: bool,
    runner: &Runner,
) -> Result<Vec<Login>, Error> {
    if !mask_password {
        runner.warning(
            "mask-password is false: the docker password output is not masked, so a job output can carry it to another job; anyone who can read that job's outputs can use it for 12 hours",
        );
    }
    if let Registry::Public { ignored } = registry
        && !ignored.is_empty()
    {
        runner.warning(format!(
            "registries ({}) is ignored with registry-type public: it names private registries, and ECR Public has one, {}",
            ignored.join(", "),
            ecr::PUBLIC_REGISTRY
        ));
    }
    let env = runner.env();
    let retry =
        deploy_kit_aws::Retry::new(runner.line_writer()).budget_override(env.retry_budget()?);
    let config = deploy_kit_aws::load_config("ecr-login", retry).await?;
    let logins = runner.cancellation().run(fetch(&config, registry)).await?;
    if mask_password {
        for one in &logins {
            runner.mask(&one.password);
        }
    }
    Ok(logins)
}

/// GetAuthorizationToken from ECR, or from ECR Public in its one region.
async fn fetch(config: &deploy_kit_aws::Aws, registry: &Registry) -> Result<Vec<Login>, Error> {
    match registry {
        Registry::Private { registries } => {
            ecr::logins(&config.ecr(), registries)
                .await
                .map_err(|e| Error::Aws {
                    registries: if registries.is_empty() {
                        "the account's own registry".to_owned()
                    } else {
                        format!("accounts {}", registries.join(", "))
                    },
                    message: e.to_string(),
                })
        }
        Registry::Public { .. } => ecr::public_login(&config.ecr_public())
            .await
            .map(|login| vec![login])
            .map_err(|e| Error::Aws {
                registries: format!(
                    "ECR Public ({}, in {})",
                    ecr::PUBLIC_REGISTRY,
                    ecr::PUBLIC_REGION
                ),
                message: e.to_string(),
            }),
    }
}

/// `docker login` to each registry; each one that succeeded is recorded for the logout step as
/// soon as it did, so a later failure or a cancel leaves no login unrecorded.
pub async fn log_in(docker: &Docker, logins: &[Login], runner: &Runner) -> Result<(), Error> {
    let mut done: Vec<&Login> = Vec::new();
    let mut failed = None;
    for one in logins {
        let args = ecr::docker_login_args(&one.registry, &one.username);
        match checked(docker, "login", &one.registry, &args, Some(&one.password)).await {
            Ok(_) => {
                runner.info(format!(
                    "logged in to {} in {}; the token expires {} (ECR tokens last 12 hours)",
                    one.registry,
                    docker.config_dir.display(),
                    one.expires_at.as_deref().unwrap_or("in 12 hours")
                ));
                done.push(one);
                let hosts: Vec<String> = done.iter().map(|one| one.registry.clone()).collect();
                remember(runner, &hosts)?;
            }
            Err(error) => {
                failed = Some(error);
                break;
            }
        }
    }
    if let Some(error) = failed {
        return Err(error);
    }
    if let Some(first) = done.first() {
        let hosts: Vec<&str> = done.iter().map(|one| one.registry.as_str()).collect();
        runner.set_output("registry", &hosts.join(","))?;
        // One ECR token serves every registry the caller may reach: the first login's is theirs.
        runner.set_output("docker-username", &first.username)?;
        runner.set_output("docker-password", &first.password)?;
    }
    summary(runner, &done);
    Ok(())
}

/// Adds `hosts` to the job's list of logged-in registries (`$GITHUB_ENV`), for the logout step.
fn remember(runner: &Runner, hosts: &[String]) -> Result<(), Error> {
    let mut all = logged_in(runner);
    for host in hosts {
        if !all.contains(host) {
            all.push(host.clone());
        }
    }
    runner.export_variable(LOGGED_IN_VAR, &all.join(","))?;
    Ok(())
}

/// The registries this job's ecr-login steps logged in to.
fn logged_in(runner: &Runner) -> Vec<String> {
    runner
        .env()
        .var(LOGGED_IN_VAR)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `docker logout` of each registry the job's login steps recorded; every one is tried, and the
/// ones that failed stay recorded for another try.
pub async fn log_out(docker: &Docker, runner: &Runner) -> Result<(), Error> {
    let hosts = logged_in(runner);
    if hosts.is_empty() {
        runner.info(format!(
            "nothing to log out of: no ecr-login step of this job logged in ({LOGGED_IN_VAR} is empty)"
        ));
        return Ok(());
    }
    let mut first_error = None;
    let mut still_in = Vec::new();
    for host in &hosts {
        match checked(docker, "logout", host, &ecr::docker_logout_args(host), None).await {
            Ok(_) => runner.info(format!("logged out of {host}")),
            Err(error) => {
                runner.error(&error);
                first_error.get_or_insert(error);
                still_in.push(host.as_str());
            }
        }
    }
    runner.export_variable(LOGGED_IN_VAR, &still_in.join(","))?;
    first_error.map_or(Ok(()), Err)
}

async fn checked(
    docker: &Docker,
    command: &'static str,
    registry: &str,
    args: &[String],
    stdin: Option<&str>,
) -> Result<String, Error> {
    docker
        .checked(args, stdin)
        .await
        .map_err(|unchecked| match unchecked {
            Unchecked::NotStarted(source) => Error::NoDocker {
                program: docker.program.clone(),
                source,
            },
            Unchecked::Failed(output) => Error::Docker {
                command,
                registry: registry.to_owned(),
                output,
            },
        })
}

fn summary(runner: &Runner, done: &[&Login]) {
    let mut table = Table::new(["Registry", "Token expires"]);
    for one in done {
        table.row([
            code(&one.registry),
            one.expires_at
                .clone()
                .unwrap_or_else(|| "in 12 hours".to_owned()),
        ]);
    }
    let _ = runner.summary(&format!(
        "### ECR login\n\n{}\nLater steps' `docker` uses these logins until the token expires; log out with a final `ecr-login` step with `logout: true` and `if: always()`.\n",
        table.render()
    ));
}
