//! ecs-blue-green: deploy a task definition to an ECS service with the service's native
//! deployment strategy (BLUE_GREEN, CANARY, LINEAR or ROLLING), follow it, and roll back on
//! failure, timeout and cancel.
//!
//! Parse, then validate, then act: [`Input::from_args`] checks every input (and reads the task
//! definition file) before any AWS call; [`preflight::check`] reads the service and refuses what
//! cannot work before any write; [`Plan`] is decided then, once. [`run`] only wires them:
//! pre-flight and plan ([`plan`]), the dry run ([`dry_run`]) or the deployment ([`deploy`]),
//! then the outputs and the step summary ([`summary`]).

pub mod alarm;
mod alarm_history;
pub mod deploy;
pub mod dry_run;
mod error;
mod events;
mod gate;
mod hook;
mod input;
pub mod plan;
pub mod poll;
pub mod preflight;
pub mod rate_gate;
pub mod rollback;
pub mod status;
pub mod summary;
pub mod update;
pub mod watch;

use deploy_kit_ecs::{Target, TaskDefinition};
use deploy_kit_gha::Runner;

pub use error::Error;
pub use input::{DEFAULT_TIMEOUT, Input, Strategy};
pub use plan::Plan;
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
    /// How long to follow the deployment, e.g. `45m`; empty: the default (`DEFAULT_TIMEOUT`).
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

/// The action: parse and check every input (and the task definition file) before any AWS call,
/// pre-flight and plan before any write, then deploy and follow. Outputs and the summary are
/// written whatever the end.
pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let input = Input::from_args(&args)?;
    let poll_scale = runner.env().time_scale()?;
    if let Some(checks) = &input.test_checks {
        checks.mask(runner);
    }
    let retry = deploy_kit_aws::Retry::new(runner.line_writer())
        .within(input.timeout)
        .budget_override(runner.env().retry_budget()?);
    let config = deploy_kit_aws::load_config("ecs-blue-green", retry)
        .await
        .map_err(deploy_kit_ecs::Error::from)?;
    let client = config.ecs();
    // Reads only: a cancel here stops at once, with nothing written to undo.
    let (service, plan, gate) = runner
        .cancellation()
        .run(prepare(&config, &client, &input, poll_scale, runner))
        .await?;
    if input.dry_run {
        if let Some(gate) = &gate {
            runner.info(gate.describe());
        }
        return dry_run::show(&client, &input, &service, &plan.target, runner).await;
    }
    let console_url = summary::console_url(
        &config.region(),
        &input.service.cluster,
        &input.service.name,
    );
    let deployment = deploy::Deployment {
        client: &client,
        input: &input,
        service: &service,
        plan: &plan,
        console_url: &console_url,
        runner,
    };
    let started = std::time::SystemTime::now();
    let mut record = deploy::Record::default();
    let result = match &gate {
        Some(gate) => gate.write(&input, runner).await,
        None => Ok(()),
    };
    let result = match result {
        Ok(()) => deploy::deploy(&deployment, &mut record).await,
        Err(error) => Err(error),
    };
    let mut report = summary::Report::new(&input, &service, &plan, console_url);
    report.take(record);
    if let Some(gate) = &gate {
        report.rate_alarm = Some(gate.history(started).await);
    }
    report.duration = runner.started().elapsed();
    report.failure = result.as_ref().err().map(ToString::to_string);
    report.write(runner);
    result
}

/// Pre-flight, the task definition to send, the 5xx-rate gate's reads: the plan. Reads only.
async fn prepare(
    config: &deploy_kit_aws::Aws,
    client: &aws_sdk_ecs::Client,
    input: &Input,
    poll_scale: f64,
    runner: &Runner,
) -> Result<(Service, Plan, Option<rate_gate::Armed>), Error> {
    let service = preflight::check(client, input).await?;
    let running = service.task_definition.as_deref();
    let target = input
        .task_definition
        .target(client, &input.service, running)
        .await?;
    if let (TaskDefinition::Revision(asked), Target::Existing(arn)) =
        (&input.task_definition, &target)
    {
        runner.info(format!("task-definition `{asked}` is {arn}"));
    }
    runner.info(format!(
        "pre-flight passed: {} runs `{}`, strategy {}",
        input.service,
        running.unwrap_or("(none)"),
        service.strategy_label(),
    ));
    // `max-5xx-rate`: reads only, so a refusal leaves nothing behind.
    let gate = rate_gate::read(config, input, &service).await?;
    let plan = Plan::new(input, &service, target, gate.as_ref(), poll_scale);
    Ok((service, plan, gate))
}
