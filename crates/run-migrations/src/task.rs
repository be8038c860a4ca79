//! The task's life: RunTask (capacity failures retried within start-timeout), DescribeTasks
//! every second while it runs, logs streamed, and StopTask on timeout and cancel.

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::run_task::RunTaskError;
use aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder;
use aws_sdk_ecs::types::{ContainerOverride, Failure, KeyValuePair, Task, TaskOverride};
use deploy_kit_gha::{Runner, Signal, format_duration};
use tokio::time::Instant;

use crate::error::Error;
use crate::input::Input;
use crate::logs::LogStream;
use crate::plan::{Launch, Plan, Timing};

/// Starts the task; its ARN. `failures[]` name the reason and the resource; capacity ones are
/// retried with backoff while `start-timeout` (counted from `since`) allows.
///
/// The client token is the run's identity ([`Input::client_token`]) and a hash of this
/// request: the same attempt sending the same request gets its task back, while a changed
/// command, environment or revision gets a task of its own instead of ECS's ConflictException.
/// Each capacity retry has its own token, since the failed call started nothing.
pub async fn start(
    client: &Client,
    input: &Input,
    plan: &Plan,
    task_definition: &str,
    since: Instant,
    runner: &Runner,
) -> Result<String, Error> {
    let request = run_task_request(client, input, plan, task_definition);
    let base = input.request_token(&format!("{:?}", request.as_input()));
    let mut attempt = 0u32;
    let mut lost = 0u32;
    loop {
        let token = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}-r{attempt}")
        };
        let out = match request.clone().client_token(&token).send().await {
            Ok(out) => out,
            // The same clientToken makes another try safe: ECS answers with the task a try whose
            // answer was lost started, instead of starting a second one (or leaving it unknown).
            Err(error) if deploy_kit_aws::is_transient(&error) && lost < 5 => {
                lost += 1;
                let message = deploy_kit_aws::describe_error(&error);
                runner.debug(format!("RunTask: {message} (again, same clientToken)"));
                let delay = plan.timing.delay(Duration::from_secs(2u64.pow(lost)));
                tokio::time::sleep(delay).await;
                continue;
            }
            Err(error) => return Err(run_task_error(input, &token, &error)),
        };
        if let Some(arn) = out.tasks().first().and_then(Task::task_arn) {
            return Ok(arn.to_owned());
        }
        let (reasons, capacity) = failures(out.failures());
        if !capacity {
            return Err(Error::RunTask {
                service: input.service.clone(),
                reasons,
            });
        }
        // 2, 4, 8, 16, then 30 s.
        let delay = Duration::from_secs(2u64.pow((attempt + 1).min(5)).min(30));
        let wait = plan.timing.delay(delay);
        if since.elapsed() + wait >= plan.timing.start_timeout {
            return Err(Error::timed_out(format!(
                "RunTask for {} started no task within start-timeout {}: {reasons}",
                input.service,
                format_duration(plan.timing.start_timeout)
            )));
        }
        runner.warning(format!(
            "RunTask: {reasons}; no capacity yet, trying again in {}",
            format_duration(delay)
        ));
        // No task exists yet: a cancel during the wait just stops.
        let sleep = async {
            tokio::time::sleep(wait).await;
            Ok::<(), Error>(())
        };
        runner.cancellation().run(sleep).await?;
        attempt += 1;
    }
}

fn run_task_request(
    client: &Client,
    input: &Input,
    plan: &Plan,
    task_definition: &str,
) -> RunTaskFluentBuilder {
    let request = client
        .run_task()
        .cluster(&input.service.cluster)
        .task_definition(task_definition)
        .count(1)
        .started_by(&input.started_by)
        .set_network_configuration(plan.network.clone())
        .set_platform_version(plan.platform_version.clone())
        .set_overrides(overrides(input, &plan.container));
    match &plan.launch {
        Launch::Type(launch_type) => request.launch_type(launch_type.clone()),
        Launch::Providers(providers) => {
            request.set_capacity_provider_strategy(Some(providers.clone()))
        }
        Launch::ClusterDefault => request,
    }
}

/// The `failures[]` of an answer without a task, as text naming each reason and resource, and
/// whether all of them are capacity that may come with time.
fn failures(failures: &[Failure]) -> (String, bool) {
    if failures.is_empty() {
        return ("no task and no failure returned".to_owned(), false);
    }
    let text = failures
        .iter()
        .map(|f| {
            format!(
                "{} ({}){}",
                f.reason().unwrap_or("no reason"),
                f.arn().unwrap_or("no resource"),
                f.detail().map(|d| format!(": {d}")).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let capacity = failures
        .iter()
        .all(|f| f.reason().is_some_and(is_capacity_failure));
    (text, capacity)
}

/// ECS "API failure reasons": `RESOURCE:*` (CPU, MEMORY, PORTS, ENI, GPU) and `AGENT` concern
/// the container instances at hand and pass as the cluster scales out or the agent reconnects;
/// Fargate's "Capacity is unavailable at this time" asks to try again later. Any other reason
/// (ATTRIBUTE, MISSING, INACTIVE, ...) needs a change before a retry can work.
pub fn is_capacity_failure(reason: &str) -> bool {
    reason.starts_with("RESOURCE:")
        || reason == "AGENT"
        || reason.starts_with("Capacity is unavailable")
}

/// RunTask refused: a token used with other parameters gets its own message.
fn run_task_error(
    input: &Input,
    token: &str,
    error: &aws_smithy_runtime_api::client::result::SdkError<
        RunTaskError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Error {
    match error.as_service_error() {
        Some(RunTaskError::ConflictException(conflict)) => Error::TokenConflict {
            service: input.service.clone(),
            token: token.to_owned(),
            tasks: conflict.resource_ids().join(", "),
        },
        _ => input.service.aws_error("RunTask", error).into(),
    }
}

fn overrides(input: &Input, container: &str) -> Option<TaskOverride> {
    if input.command.is_none() && input.environment.is_empty() {
        return None;
    }
    let environment: Vec<KeyValuePair> = input
        .environment
        .iter()
        .map(|(name, value)| KeyValuePair::builder().name(name).value(value).build())
        .collect();
    let container = ContainerOverride::builder()
        .name(container)
        .set_command(input.command.clone())
        .set_environment((!environment.is_empty()).then_some(environment))
        .build();
    Some(
        TaskOverride::builder()
            .container_overrides(container)
            .build(),
    )
}

/// How following ended.
pub enum Ended {
    Stopped(Box<Task>),
    StartTimedOut,
    TimedOut,
    Cancelled(Signal),
}

/// Follows the task until STOPPED, a timeout or a signal, streaming its logs. Both timeouts
/// count from `since`, the first RunTask.
pub async fn follow(
    client: &Client,
    input: &Input,
    timing: Timing,
    arn: &str,
    since: Instant,
    logs: &mut Option<LogStream>,
    runner: &Runner,
) -> Result<Ended, Error> {
    let started = since;
    let progress = runner.progress(format!("task {}", task_id(arn)));
    let mut running = false;
    let delay = timing.delay(Duration::from_secs(1));
    loop {
        // None: this poll was throttled or lost; the timeouts below still bound the wait.
        if let Some(task) = describe_again(client, input, arn, runner).await? {
            let status = task.last_status().unwrap_or("UNKNOWN").to_owned();
            if status != "STOPPED" {
                progress.state(status.clone());
            }
            running |= !matches!(status.as_str(), "PROVISIONING" | "PENDING" | "ACTIVATING");
            if let Some(logs) = logs.as_mut() {
                logs.poll(runner).await;
            }
            if status == "STOPPED" {
                progress.finish(format!(
                    "STOPPED ({})",
                    task.stop_code().map_or("", |c| c.as_str())
                ));
                return Ok(Ended::Stopped(Box::new(task)));
            }
        }
        if !running && started.elapsed() >= timing.start_timeout {
            progress.finish("start timeout");
            return Ok(Ended::StartTimedOut);
        }
        if started.elapsed() >= timing.timeout {
            progress.finish("timeout");
            return Ok(Ended::TimedOut);
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            signal = runner.cancellation().cancelled() => {
                progress.finish(format!("cancelled by {signal}"));
                return Ok(Ended::Cancelled(signal));
            }
        }
    }
}

fn describe_request(
    client: &Client,
    input: &Input,
    arn: &str,
) -> aws_sdk_ecs::operation::describe_tasks::builders::DescribeTasksFluentBuilder {
    client
        .describe_tasks()
        .cluster(&input.service.cluster)
        .tasks(arn)
}

pub async fn describe(client: &Client, input: &Input, arn: &str) -> Result<Task, Error> {
    let out = describe_request(client, input, arn)
        .send()
        .await
        .map_err(|e| input.service.aws_error("DescribeTasks", &e))?;
    found(&out, input, arn)
}

/// DescribeTasks while following: `None` after throttling, a 5xx or a lost connection (the
/// SDK's retries spent), so the caller asks again instead of ending with the task running.
async fn describe_again(
    client: &Client,
    input: &Input,
    arn: &str,
    runner: &Runner,
) -> Result<Option<Task>, Error> {
    match describe_request(client, input, arn).send().await {
        Ok(out) => found(&out, input, arn).map(Some),
        Err(error) if deploy_kit_aws::is_transient(&error) => {
            let message = deploy_kit_aws::describe_error(&error);
            runner.debug(format!("DescribeTasks: {message} (asking again)"));
            Ok(None)
        }
        Err(error) => Err(input.service.aws_error("DescribeTasks", &error).into()),
    }
}

fn found(
    out: &aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput,
    input: &Input,
    arn: &str,
) -> Result<Task, Error> {
    out.tasks().first().cloned().ok_or_else(|| {
        Error::failed(format!(
            "task {arn} in cluster `{}` is gone ({}): DescribeTasks no longer returns it",
            input.service.cluster,
            out.failures()
                .first()
                .and_then(|f| f.reason())
                .unwrap_or("MISSING")
        ))
    })
}

/// StopTask with `reason`, then waits up to `wait` for STOPPED; the task as last seen.
pub async fn stop(
    client: &Client,
    input: &Input,
    timing: Timing,
    arn: &str,
    reason: &str,
    wait: Duration,
    runner: &Runner,
) -> Result<Task, Error> {
    runner.warning(format!("stopping task {arn}: {reason}"));
    client
        .stop_task()
        .cluster(&input.service.cluster)
        .task(arn)
        .reason(reason)
        .send()
        .await
        .map_err(|e| input.service.aws_error("StopTask", &e))?;
    let deadline = Instant::now() + wait;
    let mut last = Task::builder().task_arn(arn).build();
    let waiting = async {
        loop {
            last = describe(client, input, arn).await?;
            if last.last_status() == Some("STOPPED") || Instant::now() >= deadline {
                return Ok::<(), Error>(());
            }
            tokio::time::sleep(timing.delay(Duration::from_millis(500))).await;
        }
    };
    // The stop is ECS's from here: when the runner hurries the step (its SIGTERM, 2.5 s before
    // the kill), stop waiting so the outputs and the summary are written in time.
    tokio::select! {
        waited = waiting => waited?,
        () = runner.cancellation().hurried() => {}
    }
    Ok(last)
}

pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}
