//! ecs-blue-green: deploy a task definition to an ECS service with the service's native
//! deployment strategy (BLUE_GREEN, CANARY, LINEAR or ROLLING), follow it, and roll back on
//! failure, timeout and cancel.
//!
//! Parse, then validate, then act: [`Input::from_args`] checks every input before any AWS call
//! (a bad input exits 2 with nothing written); [`preflight::check`] reads the service and refuses
//! what cannot work before any write.
//!
//! [`run`] chains them: read the task definition file, pre-flight, register, UpdateService,
//! follow the service deployment it started ([`watch`]), answer our PAUSE hook with the smoke
//! checks ([`deploy`]), roll back on timeout and cancel ([`rollback`]), then the outputs and the
//! step summary ([`summary`]).

pub mod alarm;
mod alarm_history;
pub mod deploy;
pub mod dry_run;
mod events;
mod gate;
mod hook;
mod input;
pub mod poll;
pub mod preflight;
pub mod rate_gate;
pub mod revision;
pub mod rollback;
pub mod status;
pub mod summary;
pub mod update;
pub mod watch;

use deploy_kit_gha::{Cancelled, Classify, Exit, InputError, Runner};

pub use input::{Input, RevisionRef, Strategy, TaskDefinitionSource};
pub use preflight::{Refusal, Service};

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag. Every field is the
/// raw text; [`Input::from_args`] parses them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// ECS cluster name or ARN (default `default`).
    #[arg(long, env = "INPUT_CLUSTER")]
    pub cluster: Option<String>,
    /// ECS service name or ARN. Required.
    #[arg(long, env = "INPUT_SERVICE")]
    pub service: Option<String>,
    /// Path to a rendered task definition JSON file, or a task definition ARN to deploy as is.
    /// Required.
    #[arg(long, env = "INPUT_TASK_DEFINITION")]
    pub task_definition: Option<String>,
    /// `keep` (the service's own strategy, default), `blue-green`, `canary`, `linear` or `rolling`.
    #[arg(long, env = "INPUT_STRATEGY")]
    pub strategy: Option<String>,
    /// How long both revisions run after production traffic moves, e.g. `5m` (whole minutes).
    #[arg(long, env = "INPUT_BAKE_TIME")]
    pub bake_time: Option<String>,
    /// Canary: percentage of production traffic shifted first, e.g. `10%`.
    #[arg(long, env = "INPUT_CANARY_PERCENT")]
    pub canary_percent: Option<String>,
    /// Canary: how long the canary runs before the rest of the traffic moves, e.g. `5m`.
    #[arg(long, env = "INPUT_CANARY_BAKE_TIME")]
    pub canary_bake_time: Option<String>,
    /// Linear: percentage of production traffic shifted per step, e.g. `20%`.
    #[arg(long, env = "INPUT_LINEAR_STEP_PERCENT")]
    pub linear_step_percent: Option<String>,
    /// Linear: time between steps, e.g. `2m`.
    #[arg(long, env = "INPUT_LINEAR_STEP_INTERVAL")]
    pub linear_step_interval: Option<String>,
    /// CloudWatch alarm names, one per line; the deployment rolls back when one fires.
    #[arg(long, env = "INPUT_ALARMS")]
    pub alarms: Option<String>,
    /// Roll back when the 5xx rate across the service's target groups passes this, e.g. `1%`
    /// (a CloudWatch alarm made and attached to the deployment); empty = off.
    #[arg(long, env = "INPUT_MAX_5XX_RATE")]
    pub max_5xx_rate: Option<String>,
    /// The 5xx-rate alarm's period, whole minutes (default `1m`).
    #[arg(long, env = "INPUT_MAX_5XX_RATE_PERIOD")]
    pub max_5xx_rate_period: Option<String>,
    /// How many bad periods among the last ones fire the 5xx-rate alarm, `M of N` (default `2 of 3`).
    #[arg(long, env = "INPUT_MAX_5XX_RATE_DATAPOINTS")]
    pub max_5xx_rate_datapoints: Option<String>,
    /// Deployment circuit breaker with rollback (default true for `rolling`).
    #[arg(long, env = "INPUT_CIRCUIT_BREAKER")]
    pub circuit_breaker: Option<String>,
    /// The smoke checks of the test listener: `test-url`, `test-requests`, ... (the smoke-test
    /// inputs under a `test-` prefix). With `test-url`, a PAUSE hook holds the deployment
    /// before production traffic moves while they run.
    #[command(flatten)]
    pub test: deploy_kit_smoke_test::TestArgs,
    /// Desired task count to set on the service (default: unchanged).
    #[arg(long, env = "INPUT_DESIRED_COUNT")]
    pub desired_count: Option<String>,
    /// Start a new deployment even when nothing changed (default false).
    #[arg(long, env = "INPUT_FORCE_NEW_DEPLOYMENT")]
    pub force_new_deployment: Option<String>,
    /// ECS managed tags on the service's tasks, `true` or `false` (default: the service's).
    #[arg(long, env = "INPUT_ENABLE_ECS_MANAGED_TAGS")]
    pub enable_ecs_managed_tags: Option<String>,
    /// Copy tags to tasks from `SERVICE`, `TASK_DEFINITION` or `NONE` (default: the service's).
    #[arg(long, env = "INPUT_PROPAGATE_TAGS")]
    pub propagate_tags: Option<String>,
    /// How long to follow the deployment, e.g. `30m` (default 30m).
    #[arg(long, env = "INPUT_TIMEOUT")]
    pub timeout: Option<String>,
    /// Roll back with StopServiceDeployment when the timeout passes (default true).
    #[arg(long, env = "INPUT_ROLLBACK_ON_TIMEOUT")]
    pub rollback_on_timeout: Option<String>,
    /// Roll back when the workflow is cancelled (default true).
    #[arg(long, env = "INPUT_ROLLBACK_ON_CANCEL")]
    pub rollback_on_cancel: Option<String>,
    /// Follow the deployment to its end (default true); false returns once it has started.
    #[arg(long, env = "INPUT_WAIT")]
    pub wait: Option<String>,
    /// Pre-flight and print what would change; write nothing (default false).
    #[arg(long, env = "INPUT_DRY_RUN")]
    pub dry_run: Option<String>,
}

/// The outputs `action.yml` declares.
pub const OUTPUTS: &[&str] = &[
    "task-definition-arn",
    "previous-task-definition-arn",
    "service-deployment-arn",
    "status",
    "console-url",
    "duration-seconds",
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("no AWS region: set `aws-region` on oidc-login, or AWS_REGION in the environment")]
    NoRegion,
    /// Pre-flight refused: nothing was written.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// An AWS call failed (after the SDK's retries).
    #[error("{call} for service `{service}` in cluster `{cluster}` failed: {message}")]
    Aws {
        call: &'static str,
        cluster: String,
        service: String,
        message: String,
    },
    /// `task-definition` names a revision that cannot be deployed: nothing was written.
    #[error(transparent)]
    Revision(#[from] revision::RevisionRefusal),
    /// Registering the task definition failed.
    #[error(transparent)]
    Register(#[from] deploy_kit_render_taskdef::register::RegisterError),
    /// The deployment ended in ROLLBACK_*, STOPPED, or the smoke checks failed.
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    TimedOut(String),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
    /// `max-5xx-rate`: the alarm cannot be set up (refusals write nothing).
    #[error(transparent)]
    Gate(#[from] alarm::GateError),
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::NoRegion | Error::Refused(_) | Error::Revision(_) => {
                Exit::BadInput
            }
            Error::TimedOut(_) => Exit::TimedOut,
            Error::Cancelled(cancelled) => cancelled.exit(),
            Error::Gate(gate) if gate.is_refusal() => Exit::BadInput,
            Error::Gate(_) => Exit::Failed,
            Error::Aws { .. } | Error::Register(_) | Error::Failed(_) => Exit::Failed,
        }
    }
}

/// The action: parse and check every input (and the task definition file) before any AWS call,
/// pre-flight before any write, then deploy and follow. Outputs and the summary are written
/// whatever the end.
pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let mut input = Input::from_args(&args)?;
    input.poll_scale = runner.env().time_scale()?;
    if let Some(checks) = &input.test_checks {
        checks.mask(runner);
    }
    let file = match &input.task_definition {
        TaskDefinitionSource::File(path) => Some(deploy_kit_render_taskdef::register::read(path)?),
        TaskDefinitionSource::Arn(_) | TaskDefinitionSource::Revision(_) => None,
    };
    let retry = deploy_kit_aws::Retry::new(runner.line_writer())
        .within(input.timeout)
        .budget_override(runner.env().retry_budget()?);
    let config = deploy_kit_aws::load_config("ecs-blue-green", retry)
        .await
        .map_err(|_| Error::NoRegion)?;
    let region = config.region();
    let client = config.ecs();
    // Reads only: a cancel here stops at once, with nothing written to undo.
    let service = runner
        .cancellation()
        .run(preflight::check(&client, &input))
        .await?;
    if let TaskDefinitionSource::Revision(asked) = input.task_definition {
        let arn = runner
            .cancellation()
            .run(revision::resolve(&client, &input, &service, asked))
            .await?;
        runner.info(format!("task-definition `{asked}` is {arn}"));
        input.task_definition = TaskDefinitionSource::Arn(arn);
    }
    runner.info(format!(
        "pre-flight passed: service `{}` in cluster `{}` runs `{}`, strategy {}",
        input.service,
        input.cluster,
        service.task_definition.as_deref().unwrap_or("(none)"),
        service.strategy_label(),
    ));
    // `max-5xx-rate`: reads only, so a refusal leaves nothing behind.
    let gate = runner
        .cancellation()
        .run(rate_gate::read(&config, &input, &service))
        .await?;
    if input.dry_run {
        if let Some(gate) = &gate {
            runner.info(gate.describe());
        }
        return dry_run::show(&client, &input, &service, file.as_ref(), runner).await;
    }
    let mut report = summary::Report {
        cluster: input.cluster.clone(),
        service: input.service.clone(),
        strategy: service.strategy_label().to_owned(),
        previous_task_definition: service.task_definition.clone(),
        images: file
            .as_ref()
            .map(|f| deploy_kit_render_taskdef::register::images(&f.json))
            .unwrap_or_default(),
        console_url: Some(summary::console_url(
            &region,
            &input.cluster,
            &input.service,
        )),
        ..summary::Report::default()
    };
    let started = std::time::SystemTime::now();
    let result = match &gate {
        Some(gate) => gate.write(&mut input, &service, runner).await,
        None => Ok(()),
    };
    let result = match result {
        Ok(()) => {
            deploy::deploy_and_follow(
                &client,
                &input,
                &service,
                file.as_ref(),
                &mut report,
                runner,
            )
            .await
        }
        Err(error) => Err(error),
    };
    if let Some(gate) = &gate {
        report.rate_alarm = Some(gate.history(started).await);
    }
    report.duration = runner.started().elapsed();
    report.failure = result.as_ref().err().map(ToString::to_string);
    write_outputs(&report, runner);
    write_summary(runner, &report.markdown());
    result
}

/// The step summary is a report, not the result: a write failure is a warning.
pub(crate) fn write_summary(runner: &Runner, markdown: &str) {
    if let Err(error) = runner.summary(markdown) {
        runner.warning(format!("cannot write the step summary: {error}"));
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

fn write_outputs(report: &summary::Report, runner: &Runner) {
    let outputs = [
        ("task-definition-arn", report.task_definition.clone()),
        (
            "previous-task-definition-arn",
            report.previous_task_definition.clone().unwrap_or_default(),
        ),
        (
            "service-deployment-arn",
            report.service_deployment_arn.clone().unwrap_or_default(),
        ),
        ("status", report.status.clone()),
        (
            "console-url",
            report.console_url.clone().unwrap_or_default(),
        ),
        ("duration-seconds", report.duration.as_secs().to_string()),
    ];
    for (name, value) in outputs {
        if let Err(error) = runner.set_output(name, &value) {
            runner.warning(format!("cannot set output `{name}`: {error}"));
        }
    }
}
