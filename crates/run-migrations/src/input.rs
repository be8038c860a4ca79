//! The typed input: every `Args` field parsed and checked before any AWS call.

use std::time::Duration;

use aws_sdk_ecs::types::LaunchType;
use deploy_kit_ecs::{ServiceRef, TaskDefinition};
use deploy_kit_gha::RunIdentity;
use deploy_kit_gha::input::{self, InputError};

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// ECS cluster name or ARN (default `default`).
    #[arg(long, env = "INPUT_CLUSTER")]
    pub cluster: Option<String>,
    /// The service whose network configuration, launch type and task definition the task uses.
    /// Required.
    #[arg(long, env = "INPUT_SERVICE")]
    pub service: Option<String>,
    /// A rendered task definition file (registered first), or an ARN / `family:revision`.
    /// Default: the service's current task definition.
    #[arg(long, env = "INPUT_TASK_DEFINITION")]
    pub task_definition: Option<String>,
    /// The container to override and judge (default: the single essential container).
    #[arg(long, env = "INPUT_CONTAINER_NAME")]
    pub container_name: Option<String>,
    /// Command override: a JSON array or shell words.
    #[arg(long, env = "INPUT_COMMAND")]
    pub command: Option<String>,
    /// Environment overrides for that container, one `NAME=value` per line.
    #[arg(long, env = "INPUT_ENVIRONMENT")]
    pub environment: Option<String>,
    /// Subnet ids (commas or lines), instead of the service's.
    #[arg(long, env = "INPUT_SUBNETS")]
    pub subnets: Option<String>,
    /// Security group ids (commas or lines), instead of the service's.
    #[arg(long, env = "INPUT_SECURITY_GROUPS")]
    pub security_groups: Option<String>,
    /// `true` or `false`, instead of the service's.
    #[arg(long, env = "INPUT_ASSIGN_PUBLIC_IP")]
    pub assign_public_ip: Option<String>,
    /// `FARGATE`, `EC2` or `EXTERNAL`, instead of the service's launch type or capacity providers.
    #[arg(long, env = "INPUT_LAUNCH_TYPE")]
    pub launch_type: Option<String>,
    /// From RunTask to RUNNING (covers the image pull), e.g. `10m` (default).
    #[arg(long, env = "INPUT_START_TIMEOUT")]
    pub start_timeout: Option<String>,
    /// The whole run, e.g. `30m` (default).
    #[arg(long, env = "INPUT_TIMEOUT")]
    pub timeout: Option<String>,
    /// Stream the container's CloudWatch Logs (default true).
    #[arg(long, env = "INPUT_STREAM_LOGS")]
    pub stream_logs: Option<String>,
    /// The task's `startedBy` (default derived from the workflow run).
    #[arg(long, env = "INPUT_STARTED_BY")]
    pub started_by: Option<String>,
}

/// Explicit network settings; each one given replaces the service's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkOverrides {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Input {
    pub service: ServiceRef,
    /// Read and checked when it is a file: after every other input, as the last check.
    pub task_definition: TaskDefinition,
    /// The container to override and judge; `None` = the single essential one.
    pub container: Option<String>,
    pub command: Option<Vec<String>>,
    pub environment: Vec<(String, String)>,
    pub network: NetworkOverrides,
    pub launch_type: Option<LaunchType>,
    pub start_timeout: Duration,
    pub timeout: Duration,
    pub stream_logs: bool,
    pub started_by: String,
    /// The run's part of RunTask's idempotency token: the workflow run, attempt, job, step and
    /// target. [`Input::request_token`] adds the request's own part.
    pub client_token: String,
}

impl Input {
    /// `run` is the workflow run's identity (GITHUB_RUN_ID, ...), for the defaults derived from it.
    pub fn from_args(args: &Args, run: &RunIdentity) -> Result<Self, InputError> {
        let service = ServiceRef::from_inputs(args.cluster.as_deref(), args.service.as_deref())?;
        let command = input::set(args.command.as_deref())
            .map(deploy_kit_render_taskdef::parse_command)
            .transpose()?;
        let environment = input::set(args.environment.as_deref())
            .map(|text| input::key_values("environment", text, '='))
            .transpose()?
            .unwrap_or_default();
        let network = NetworkOverrides {
            subnets: words(args.subnets.as_deref()),
            security_groups: words(args.security_groups.as_deref()),
            assign_public_ip: input::set(args.assign_public_ip.as_deref())
                .map(|text| input::boolean("assign-public-ip", text))
                .transpose()?,
        };
        check_ids("subnets", &network.subnets, "subnet-")?;
        check_ids("security-groups", &network.security_groups, "sg-")?;
        let container = input::set(args.container_name.as_deref()).map(str::to_owned);
        let launch_type = launch_type(args.launch_type.as_deref())?;
        let start_timeout = duration("start-timeout", args.start_timeout.as_deref(), 10 * 60)?;
        let timeout = duration("timeout", args.timeout.as_deref(), 30 * 60)?;
        let stream_logs = input::flag("stream-logs", args.stream_logs.as_deref(), true)?;
        let started_by = started_by(args.started_by.as_deref(), run)?;
        let client_token = run_token(run, &format!("{}/{}", service.cluster, service.name));
        Ok(Self {
            task_definition: TaskDefinition::for_run(args.task_definition.as_deref())?,
            service,
            container,
            command,
            environment,
            network,
            launch_type,
            start_timeout,
            timeout,
            stream_logs,
            started_by,
            client_token,
        })
    }
}

/// Ids separated by commas, spaces or lines.
fn words(value: Option<&str>) -> Vec<String> {
    input::set(value)
        .map(|text| {
            text.split([',', '\n', ' '])
                .map(str::trim)
                .filter(|word| !word.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn check_ids(name: &str, ids: &[String], prefix: &str) -> Result<(), InputError> {
    match ids.iter().find(|id| !id.starts_with(prefix)) {
        Some(bad) => Err(InputError::new(
            name,
            format!(
                "`{}` is not an id starting with `{prefix}`: give ids separated by commas or lines",
                input::truncate(bad, 60)
            ),
        )),
        None => Ok(()),
    }
}

fn duration(name: &str, value: Option<&str>, default_secs: u64) -> Result<Duration, InputError> {
    let duration = match input::set(value) {
        Some(text) => input::duration(name, text)?,
        None => Duration::from_secs(default_secs),
    };
    if duration.is_zero() {
        return Err(InputError::new(name, "must be longer than 0s"));
    }
    Ok(duration)
}

fn launch_type(value: Option<&str>) -> Result<Option<LaunchType>, InputError> {
    let Some(text) = input::set(value) else {
        return Ok(None);
    };
    match text.to_ascii_uppercase().as_str() {
        "FARGATE" => Ok(Some(LaunchType::Fargate)),
        "EC2" => Ok(Some(LaunchType::Ec2)),
        "EXTERNAL" => Ok(Some(LaunchType::External)),
        _ => Err(InputError::new(
            "launch-type",
            format!(
                "`{}` is not a launch type: use `FARGATE`, `EC2` or `EXTERNAL` (empty: the service's)",
                input::truncate(text, 40)
            ),
        )),
    }
}

/// ECS allows 128 characters of letters, digits, `-`, `_`, `/` and `.` in `startedBy`.
fn started_by(value: Option<&str>, run: &RunIdentity) -> Result<String, InputError> {
    let text = match input::set(value) {
        Some(text) => text.to_owned(),
        None => return Ok(default_started_by(run)),
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || "-_/.".contains(c);
    if text.len() > 128 || !text.chars().all(valid) {
        return Err(InputError::new(
            "started-by",
            format!(
                "`{}` is not valid: at most 128 letters, digits, `-`, `_`, `/` and `.`",
                input::truncate(&text, 60)
            ),
        ));
    }
    Ok(text)
}

impl Input {
    /// RunTask's client token for one request (described by `request`): the same run,
    /// attempt, job, step, target and request give the same token; anything changed, another.
    /// At most 57 characters, leaving room for a retry suffix within ECS's 64.
    pub fn request_token(&self, request: &str) -> String {
        let run: String = self.client_token.chars().take(40).collect();
        format!("{run}-{:016x}", fnv1a(request))
    }
}

/// `startedBy` when none is given: the run and attempt, or `deploy-kit` outside Actions.
fn default_started_by(run: &RunIdentity) -> String {
    if run.run_id.is_empty() {
        return "deploy-kit".to_owned();
    }
    format!("deploy-kit/{}/{}", run.run_id, sanitize(&run.attempt))
}

/// At most 64 ASCII characters, the same for the same run, attempt, job, step and target.
/// Outside Actions every run is new: the token is the current time.
fn run_token(run: &RunIdentity, target: &str) -> String {
    if run.run_id.is_empty() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return format!("deploy-kit-local-{}", now.as_nanos());
    }
    let identity = format!("{}|{}|{}|{target}", run.attempt, run.job, run.step);
    format!("dk-{}-{:016x}", sanitize(&run.run_id), fnv1a(&identity))
        .chars()
        .take(64)
        .collect()
}
fn sanitize(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// A stable 64-bit hash (std's hasher is randomly seeded per process).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
