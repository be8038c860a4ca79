//! run-migrations: a one-off ECS task (database migrations) run from the service's own
//! configuration: its network, launch type or capacity providers, platform version and (unless
//! `task-definition` says otherwise) task definition. The task's logs stream live; the named
//! container's exit code is the verdict; timeouts and cancel stop the task.
//!
//! Parse, then validate, then act: every input, the task definition file and the container
//! choice are checked before anything is written (exit 2 names the input).

#[cfg(test)]
mod hostile_logs;
mod input;
pub mod logs;
pub mod plan;
mod summary;
pub mod task;

use std::time::Duration;

use aws_sdk_ecs::types::Task;
use deploy_kit_gha::{Cancelled, Classify, Exit, InputError, Runner};
use deploy_kit_render_taskdef::register::{self, RegisterError};

pub use input::{Input, NetworkOverrides, TaskDefinitionSource};
pub use logs::console_url as log_console_url;

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

/// The outputs `action.yml` declares.
pub const OUTPUTS: &[&str] = &[
    "task-arn",
    "task-definition-arn",
    "exit-code",
    "stop-code",
    "stopped-reason",
    "log-url",
    "duration-seconds",
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("no AWS region: set `aws-region` on oidc-login, or AWS_REGION in the environment")]
    NoRegion,
    #[error(
        "service `{service}` not found in cluster `{cluster}` ({reason}): check `cluster` and `service`"
    )]
    NotFound {
        cluster: String,
        service: String,
        reason: String,
    },
    #[error("{call} for service `{service}` in cluster `{cluster}` failed: {message}")]
    Aws {
        call: &'static str,
        cluster: String,
        service: String,
        message: String,
    },
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error("RunTask for service `{service}` in cluster `{cluster}` started no task: {reasons}")]
    RunTask {
        cluster: String,
        service: String,
        reasons: String,
    },
    /// ECS's ConflictException: the token is bound to another request. Tokens carry a hash of
    /// the request, so someone else sent this one.
    #[error(
        "RunTask for service `{service}` in cluster `{cluster}` refused client token `{token}`: it already started {tasks} with other parameters, and deploy-kit's tokens differ per request, so another client used it; re-run the workflow (a new attempt has new tokens)"
    )]
    TokenConflict {
        cluster: String,
        service: String,
        token: String,
        tasks: String,
    },
    /// The container exited non-zero, or never ran.
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    TimedOut(String),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::NoRegion | Error::NotFound { .. } => Exit::BadInput,
            Error::TimedOut(_) => Exit::TimedOut,
            Error::Cancelled(cancelled) => cancelled.exit(),
            Error::Aws { .. }
            | Error::Register(_)
            | Error::RunTask { .. }
            | Error::TokenConflict { .. }
            | Error::Failed(_) => Exit::Failed,
        }
    }
}

/// An AWS call about the service failed (after the SDK's retries).
pub(crate) fn aws_error<E>(
    input: &Input,
    call: &'static str,
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Error
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    Error::Aws {
        call,
        cluster: input.cluster.clone(),
        service: input.service.clone(),
        message: deploy_kit_aws::describe_error(error),
    }
}

/// The action. Outputs and the summary are written whatever the end, once a task exists.
pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let mut input = Input::from_args(&args, &runner.env().run)?;
    input.poll_scale = runner.env().time_scale()?;
    let file = match &input.task_definition {
        TaskDefinitionSource::File(path) => Some(register::read(path)?),
        _ => None,
    };
    let retry = deploy_kit_aws::Retry::new(runner.line_writer())
        .within(input.timeout)
        .budget_override(runner.env().retry_budget()?);
    let config = deploy_kit_aws::load_config("run-migrations", retry)
        .await
        .map_err(|_| Error::NoRegion)?;
    let region = config.region();
    let ecs = config.ecs();
    // Reads only: a cancel here stops at once, with nothing written to undo.
    let mut plan = runner
        .cancellation()
        .run(plan::plan(&ecs, &input, file.as_ref()))
        .await?;
    runner.cancellation().check("no task was started")?;
    let task_definition = match (&file, &plan.task_definition) {
        (Some(file), _) => {
            let arn = register::register(&ecs, file).await?;
            runner.info(format!("registered {arn}"));
            arn
        }
        (None, Some(reference)) => reference.clone(),
        (None, None) => return Err(Error::Failed("internal: no task definition".to_owned())),
    };
    plan.task_definition = Some(task_definition.clone());
    runner.cancellation().check("no task was started")?;
    let since = tokio::time::Instant::now();
    let arn = task::start(&ecs, &input, &plan, &task_definition, since, runner).await?;
    runner.info(format!(
        "started task {arn} ({task_definition}, container `{}`)",
        plan.container
    ));
    let mut report = summary::Report::new(&input, &plan, &task_definition, &arn);
    let mut logs = log_stream(&config, &input, &plan, &arn, &region, &mut report, runner);
    let started = Started { arn: &arn, since };
    let result = finish(
        &ecs,
        &input,
        &plan,
        &started,
        &mut logs,
        &mut report,
        runner,
    )
    .await;
    report.duration = since.elapsed();
    report.error = result.as_ref().err().map(ToString::to_string);
    if let Some(logs) = &logs {
        report.tail = logs.tail.iter().cloned().collect();
    }
    report.write(runner);
    result
}

fn log_stream(
    config: &deploy_kit_aws::Aws,
    input: &Input,
    plan: &plan::Plan,
    arn: &str,
    region: &str,
    report: &mut summary::Report,
    runner: &Runner,
) -> Option<logs::LogStream> {
    let Some(target) = &plan.log else {
        runner.notice(format!(
            "container `{}` does not log to CloudWatch (awslogs with a stream prefix): no logs to stream",
            plan.container
        ));
        return None;
    };
    let stream = target.stream(&plan.container, task::task_id(arn));
    let log_region = target.region.clone().unwrap_or_else(|| region.to_owned());
    report.log_url = Some(logs::console_url(&log_region, &target.group, &stream));
    if !input.stream_logs {
        return None;
    }
    let client = config.logs((log_region != region).then_some(log_region));
    Some(logs::LogStream::new(client, target.group.clone(), stream))
}

/// The task RunTask started, and when the first RunTask was sent (timeouts count from then).
struct Started<'a> {
    arn: &'a str,
    since: tokio::time::Instant,
}

/// Follows the task to its end and judges it; stops it on timeout and cancel.
async fn finish(
    ecs: &aws_sdk_ecs::Client,
    input: &Input,
    plan: &plan::Plan,
    started: &Started<'_>,
    logs: &mut Option<logs::LogStream>,
    report: &mut summary::Report,
    runner: &Runner,
) -> Result<(), Error> {
    let (arn, since) = (started.arn, started.since);
    let ended = task::follow(ecs, input, arn, since, logs, runner).await?;
    let (why, wait) = match ended {
        task::Ended::Stopped(stopped) => {
            flush(logs, input, runner, true).await;
            report.record(&stopped, &plan.container);
            return judge(&stopped, &plan.container);
        }
        task::Ended::StartTimedOut => (
            format!(
                "did not reach RUNNING within start-timeout {}",
                fmt(input.start_timeout)
            ),
            Duration::from_secs(30),
        ),
        task::Ended::TimedOut => (
            format!("did not finish within timeout {}", fmt(input.timeout)),
            Duration::from_secs(30),
        ),
        task::Ended::Cancelled(signal) => {
            let stopped = task::stop(
                ecs,
                input,
                arn,
                &format!("deploy-kit: workflow cancelled ({signal})"),
                Duration::from_secs(5),
                runner,
            )
            .await?;
            // A cancelled job has seconds before the runner kills it: read once, no waiting,
            // and not even that once the runner's second signal hurries us.
            tokio::select! {
                () = flush(logs, input, runner, false) => {}
                () = runner.cancellation().hurried() => {}
            }
            report.record(&stopped, &plan.container);
            return Err(Error::Cancelled(Cancelled {
                signal,
                cleanup: Some(format!(
                    "task {arn} stopped ({})",
                    stopped.last_status().unwrap_or("status unknown")
                )),
            }));
        }
    };
    let stopped = task::stop(
        ecs,
        input,
        arn,
        &format!("deploy-kit: {why}"),
        wait.mul_f64(input.poll_scale),
        runner,
    )
    .await?;
    flush(logs, input, runner, true).await;
    report.record(&stopped, &plan.container);
    Err(Error::TimedOut(format!(
        "task {arn} {why}; it was stopped ({})",
        stopped.last_status().unwrap_or("status unknown")
    )))
}

/// Reads the logs after the task stopped: until the stream is quiet (`patient`, see
/// [`logs::QUIET`] and [`logs::GRACE`]), or once to its current end.
async fn flush(logs: &mut Option<logs::LogStream>, input: &Input, runner: &Runner, patient: bool) {
    let Some(logs) = logs.as_mut() else {
        return;
    };
    let (quiet, grace) = if patient {
        (logs::QUIET, logs::GRACE)
    } else {
        (Duration::ZERO, Duration::ZERO)
    };
    let scale = input.poll_scale;
    let every = Duration::from_secs(1).mul_f64(scale);
    let drained = logs
        .flush(runner, every, quiet.mul_f64(scale), grace.mul_f64(scale))
        .await;
    if drained == logs::Drained::StillArriving {
        runner.warning(format!(
            "log lines were still arriving {} after the task stopped; the rest is in {}/{} (output `log-url`)",
            fmt(grace),
            logs.group,
            logs.stream
        ));
    }
}

fn fmt(duration: Duration) -> String {
    deploy_kit_gha::format_duration(duration)
}

/// The verdict on the named container: 0 passes; any other code, or none, fails.
pub fn judge(task: &Task, container: &str) -> Result<(), Error> {
    let arn = task.task_arn().unwrap_or("(unknown task)");
    let found = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(container));
    match found.and_then(|c| c.exit_code()) {
        Some(0) => Ok(()),
        Some(code) => Err(Error::Failed(format!(
            "container `{container}` of task {arn} exited with code {code}"
        ))),
        None => Err(Error::Failed(format!(
            "container `{container}` of task {arn} never ran: stopCode {}, {}{}",
            task.stop_code().map_or("(none)", |c| c.as_str()),
            task.stopped_reason().unwrap_or("no stoppedReason"),
            found
                .and_then(|c| c.reason())
                .map(|r| format!("; container: {r}"))
                .unwrap_or_default()
        ))),
    }
}
