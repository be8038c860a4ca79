//! The run, in call order: decide the plan (reads only), register the task definition file if
//! one was given, RunTask, stream the logs, follow the task to its end and judge it, then write
//! the outputs and the summary, filled here where the flow ends.

use std::time::Duration;

use aws_sdk_ecs::types::Task;
use deploy_kit_gha::{Cancelled, Runner, format_duration};
use tokio::time::Instant;

use crate::error::Error;
use crate::input::Input;
use crate::logs::{self, LogStream};
use crate::plan::{self, Plan, Timing};
use crate::summary::Report;
use crate::task;

/// The action after parsing. Outputs and the summary are written whatever the end, once a task
/// exists.
pub async fn run(input: &Input, runner: &Runner) -> Result<(), Error> {
    let timing = Timing::new(input, runner.env().time_scale()?);
    let retry = deploy_kit_aws::Retry::new(runner.line_writer())
        .within(timing.timeout)
        .budget_override(runner.env().retry_budget()?);
    let config = deploy_kit_aws::load_config("run-migrations", retry)
        .await
        .map_err(deploy_kit_ecs::Error::from)?;
    let ecs = config.ecs();
    // Reads only: a cancel here stops at once, with nothing written to undo.
    let plan = runner
        .cancellation()
        .run(plan::plan(&ecs, input, timing))
        .await?;
    runner.cancellation().check("no task was started")?;
    let task_definition = plan.target.arn(&ecs, runner).await?;
    runner.cancellation().check("no task was started")?;
    let since = Instant::now();
    let arn = task::start(&ecs, input, &plan, &task_definition, since, runner).await?;
    runner.info(format!(
        "started task {arn} ({task_definition}, container `{}`)",
        plan.container
    ));
    let (log_url, mut logs) = log_stream(&config, input, &plan, &arn, runner);
    let started = Started { arn: &arn, since };
    let (stopped, result) = match finish(&ecs, input, &plan, &started, &mut logs, runner).await {
        Ok((stopped, verdict)) => (Some(stopped), verdict),
        Err(error) => (None, Err(error)),
    };
    let report = Report {
        task_arn: arn.clone(),
        task_definition,
        container: plan.container.clone(),
        command: input.command.clone(),
        log_url,
        duration: since.elapsed(),
        error: result.as_ref().err().map(ToString::to_string),
        tail: logs
            .map(|l| l.tail.into_iter().collect())
            .unwrap_or_default(),
        ..stopped.map_or_else(Report::default, |task| {
            Report::stopped(&task, &plan.container)
        })
    };
    report.write(runner);
    result
}

/// The container's log stream: its console URL (for the outputs, even when not streamed), and
/// the stream to read when `stream-logs` is on.
fn log_stream(
    config: &deploy_kit_aws::Aws,
    input: &Input,
    plan: &Plan,
    arn: &str,
    runner: &Runner,
) -> (Option<String>, Option<LogStream>) {
    let Some(target) = &plan.log else {
        runner.notice(format!(
            "container `{}` does not log to CloudWatch (awslogs with a stream prefix): no logs to stream",
            plan.container
        ));
        return (None, None);
    };
    let region = config.region();
    let stream = target.stream(&plan.container, task::task_id(arn));
    let log_region = target.region.clone().unwrap_or_else(|| region.clone());
    let url = Some(logs::console_url(&log_region, &target.group, &stream));
    if !input.stream_logs {
        return (url, None);
    }
    let client = config.logs((log_region != region).then_some(log_region));
    (
        url,
        Some(LogStream::new(client, target.group.clone(), stream)),
    )
}

/// The task RunTask started, and when the first RunTask was sent (timeouts count from then).
struct Started<'a> {
    arn: &'a str,
    since: Instant,
}

/// Follows the task to its end and judges it; stops it on timeout and cancel. `Ok` carries the
/// task as last seen and the verdict; `Err` is a failure before the task's end was known.
async fn finish(
    ecs: &aws_sdk_ecs::Client,
    input: &Input,
    plan: &Plan,
    started: &Started<'_>,
    logs: &mut Option<LogStream>,
    runner: &Runner,
) -> Result<(Task, Result<(), Error>), Error> {
    let (arn, since, timing) = (started.arn, started.since, plan.timing);
    let ended = task::follow(ecs, input, timing, arn, since, logs, runner).await?;
    let why = match ended {
        task::Ended::Stopped(stopped) => {
            flush(logs, timing, runner, true).await;
            let verdict = judge(&stopped, &plan.container);
            return Ok((*stopped, verdict));
        }
        task::Ended::StartTimedOut => format!(
            "did not reach RUNNING within start-timeout {}",
            format_duration(timing.start_timeout)
        ),
        task::Ended::TimedOut => format!(
            "did not finish within timeout {}",
            format_duration(timing.timeout)
        ),
        task::Ended::Cancelled(signal) => {
            let reason = format!("deploy-kit: workflow cancelled ({signal})");
            let wait = Duration::from_secs(5);
            let stopped = task::stop(ecs, input, timing, arn, &reason, wait, runner).await?;
            // A cancelled job has seconds before the runner kills it: read once, no waiting,
            // and not even that once the runner's second signal hurries us.
            tokio::select! {
                () = flush(logs, timing, runner, false) => {}
                () = runner.cancellation().hurried() => {}
            }
            let cancelled = Cancelled {
                signal,
                cleanup: Some(format!(
                    "task {arn} stopped ({})",
                    stopped.last_status().unwrap_or("status unknown")
                )),
            };
            return Ok((stopped, Err(cancelled.into())));
        }
    };
    let reason = format!("deploy-kit: {why}");
    let wait = timing.delay(Duration::from_secs(30));
    let stopped = task::stop(ecs, input, timing, arn, &reason, wait, runner).await?;
    flush(logs, timing, runner, true).await;
    let timed_out = Error::timed_out(format!(
        "task {arn} {why}; it was stopped ({})",
        stopped.last_status().unwrap_or("status unknown")
    ));
    Ok((stopped, Err(timed_out)))
}

/// Reads the logs after the task stopped: until the stream is quiet (`patient`, see
/// [`logs::QUIET`] and [`logs::GRACE`]), or once to its current end.
async fn flush(logs: &mut Option<LogStream>, timing: Timing, runner: &Runner, patient: bool) {
    let Some(logs) = logs.as_mut() else {
        return;
    };
    let (quiet, grace) = if patient {
        (logs::QUIET, logs::GRACE)
    } else {
        (Duration::ZERO, Duration::ZERO)
    };
    let every = timing.delay(Duration::from_secs(1));
    let drained = logs
        .flush(runner, every, timing.delay(quiet), timing.delay(grace))
        .await;
    if drained == logs::Drained::StillArriving {
        runner.warning(format!(
            "log lines were still arriving {} after the task stopped; the rest is in {}/{} (output `log-url`)",
            format_duration(grace),
            logs.group,
            logs.stream
        ));
    }
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
        Some(code) => Err(Error::failed(format!(
            "container `{container}` of task {arn} exited with code {code}"
        ))),
        None => Err(Error::failed(format!(
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
