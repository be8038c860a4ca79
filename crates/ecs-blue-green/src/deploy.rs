//! The deployment, from the registered task definition to the final status: UpdateService, find
//! the service deployment it started, follow it, answer our PAUSE hook with the smoke checks,
//! and roll back on timeout and cancel.

use std::time::{Duration, SystemTime};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{CreatedAt, ServiceDeployment, ServiceDeploymentRollbackMonitorsStatus};
use aws_smithy_types::DateTime;
use deploy_kit_gha::{Cancelled, Runner, Signal};

use crate::input::{Input, TaskDefinitionSource};
use crate::preflight::Service;
use crate::rollback::roll_back;
use crate::summary::Report;
use crate::watch::{Follower, Outcome, Step, Watch};
use crate::{Error, aws_error, hook, update};

/// Sends UpdateService with the task definition and the deployment configuration; the ARN of
/// the service deployment it started.
pub async fn start(
    client: &Client,
    input: &Input,
    service: &Service,
    task_definition: &str,
) -> Result<String, Error> {
    let configuration =
        update::deployment_configuration(input, service.config.as_ref(), &service.strategy);
    // ECS stamps createdAt with its own clock: allow for skew, and tell ours from the ones
    // listed before the update.
    let since = DateTime::from(SystemTime::now() - Duration::from_secs(60));
    let before = recent(client, input, since).await?;
    client
        .update_service()
        .cluster(&input.cluster)
        .service(&input.service)
        .task_definition(task_definition)
        .deployment_configuration(configuration)
        .set_desired_count(input.desired_count)
        .force_new_deployment(input.force_new_deployment)
        .set_enable_ecs_managed_tags(input.enable_ecs_managed_tags)
        .set_propagate_tags(input.propagate_tags.clone())
        .send()
        .await
        .map_err(|e| aws_error(input, "UpdateService", &e))?;
    // ListServiceDeployments can lag UpdateService by a moment. A failed list is asked again
    // too: giving up now would leave the deployment just started unfollowed.
    for attempt in 0..10u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs_f64(0.5 * input.poll_scale)).await;
        }
        let listed = match recent(client, input, since).await {
            Err(_) if attempt < 9 => continue,
            listed => listed?,
        };
        if let Some(arn) = listed.into_iter().find(|arn| !before.contains(arn)) {
            return Ok(arn);
        }
    }
    Err(Error::Failed(format!(
        "UpdateService of service `{}` in cluster `{}` started no service deployment: the service already runs `{task_definition}` with this configuration. Set `force-new-deployment: true` to deploy it again",
        input.service, input.cluster
    )))
}

/// The service deployments created after `since`, newest first.
async fn recent(client: &Client, input: &Input, since: DateTime) -> Result<Vec<String>, Error> {
    let listed = client
        .list_service_deployments()
        .cluster(&input.cluster)
        .service(&input.service)
        .created_at(CreatedAt::builder().after(since).build())
        .send()
        .await
        .map_err(|e| aws_error(input, "ListServiceDeployments", &e))?;
    let mut found: Vec<_> = listed
        .service_deployments()
        .iter()
        .filter_map(|brief| {
            let at = brief.created_at().map(|at| (at.secs(), at.subsec_nanos()));
            Some((at, brief.service_deployment_arn()?.to_owned()))
        })
        .collect();
    found.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    Ok(found.into_iter().map(|(_, arn)| arn).collect())
}

/// How following ended, before any rollback.
enum Ended {
    Done(Box<Outcome>),
    TimedOut(String),
    Cancelled(Signal),
}

/// Follows the deployment to its end, answering our PAUSE hook; rolls back on timeout and
/// cancel as the inputs say. Fills `report` on the way.
pub async fn follow(
    client: &Client,
    input: &Input,
    service: &Service,
    arn: &str,
    report: &mut Report,
    runner: &Runner,
) -> Result<(), Error> {
    // The bake's length is known (the input's, or the service's own): the watcher sleeps
    // through it.
    let bake = input.bake_time.or_else(|| {
        service
            .config
            .as_ref()
            .and_then(|c| c.bake_time_in_minutes())
            .and_then(|minutes| u64::try_from(minutes).ok())
            .map(|minutes| Duration::from_secs(minutes * 60))
    });
    let console_url = report.console_url.clone();
    let watch = Watch {
        cluster: &input.cluster,
        service: &input.service,
        arn,
        timeout: input.timeout,
        bake,
        poll_scale: input.poll_scale,
        events: true,
        console_url: console_url.as_deref(),
    };
    // The whole follow (stages, events, the smoke checks) in one collapsible group.
    let group = runner.group(format!("service deployment {arn}"));
    let mut follower = Follower::new(client, watch.clone(), runner);
    let ended = follow_answering(client, input, arn, &mut follower, report, runner).await;
    drop(group);
    report.record(follower.outcome());
    let ended = match ended {
        Ok(ended) => ended,
        Err(error) => {
            follower.finish("stopped following");
            return Err(error);
        }
    };
    match ended {
        Ended::Done(outcome) => {
            follower.finish(format!("status {}", outcome.status));
            report.status.clone_from(&outcome.status);
            if outcome.succeeded() {
                return Ok(());
            }
            Err(Error::Failed(explain(input, arn, &outcome, report)))
        }
        Ended::TimedOut(message) => {
            follower.finish("timed out");
            if !input.rollback_on_timeout {
                report.status = "IN_PROGRESS".to_owned();
                return Err(Error::TimedOut(format!(
                    "{message}; left running (rollback-on-timeout is false)"
                )));
            }
            let settled = roll_back(client, &watch, "timeout", runner).await?;
            report.record_rollback(&settled);
            Err(Error::TimedOut(format!(
                "{message}; {}",
                rolled_back(arn, &settled)
            )))
        }
        Ended::Cancelled(signal) => {
            follower.finish(format!("cancelled by {signal}"));
            let cleanup = if input.rollback_on_cancel {
                let settled = roll_back(client, &watch, "cancelled", runner).await?;
                report.record_rollback(&settled);
                rolled_back(arn, &settled)
            } else {
                report.status = "IN_PROGRESS".to_owned();
                format!("service deployment {arn} left running (rollback-on-cancel is false)")
            };
            Err(Error::Cancelled(Cancelled {
                signal,
                cleanup: Some(cleanup),
            }))
        }
    }
}

/// The follow loop with the cancellation and the PAUSE hook answered by the smoke checks.
async fn follow_answering(
    client: &Client,
    input: &Input,
    arn: &str,
    follower: &mut Follower<'_>,
    report: &mut Report,
    runner: &Runner,
) -> Result<Ended, Error> {
    let cancellation = runner.cancellation();
    loop {
        let step = tokio::select! {
            step = follower.next(input.test_checks.is_some()) => step,
            signal = cancellation.cancelled() => return Ok(Ended::Cancelled(signal)),
        };
        let hook_id = match step {
            Ok(Step::Done(outcome)) => return Ok(Ended::Done(outcome)),
            Ok(Step::Paused { hook_id }) => hook_id,
            Err(Error::TimedOut(message)) => return Ok(Ended::TimedOut(message)),
            Err(error) => return Err(error),
        };
        let Some(checks) = &input.test_checks else {
            continue;
        };
        let urls: Vec<String> = checks
            .urls
            .iter()
            .map(|url| deploy_kit_gha::shown_url(url.as_str()))
            .collect();
        runner.info(format!(
            "green is on the test listener: running the smoke checks ({})",
            urls.join(", ")
        ));
        let verdict = match deploy_kit_smoke_test::run_checks(checks, runner, cancellation).await {
            Ok(verdict) => verdict,
            Err(deploy_kit_smoke_test::Error::Cancelled(cancelled)) => {
                return Ok(Ended::Cancelled(cancelled.signal));
            }
            Err(error) => {
                // Not a verdict: the checks could not run. Roll back rather than guess.
                report.smoke_failure = Some(error.to_string());
                hook::answer(client, input, arn, &hook_id, false).await?;
                continue;
            }
        };
        report.smoke_summary = Some(verdict.summary("Smoke test of the test listener"));
        let passed = verdict.error().is_none();
        if let Some(error) = verdict.error() {
            report.smoke_failure = Some(error.to_string());
        }
        hook::answer(client, input, arn, &hook_id, passed).await?;
        runner.info(if passed {
            "smoke checks passed: production traffic may move (ContinueServiceDeployment CONTINUE)"
        } else {
            "smoke checks failed: rolling back (ContinueServiceDeployment ROLLBACK)"
        });
    }
}

/// What asking for the rollback came to. SUCCESSFUL: the deployment completed before
/// StopServiceDeployment reached ECS, and nothing was undone.
fn rolled_back(arn: &str, settled: &Outcome) -> String {
    if settled.succeeded() {
        format!("service deployment {arn} had already completed: SUCCESSFUL")
    } else if settled.status == crate::rollback::REQUESTED {
        format!("service deployment {arn}: rollback requested, ECS carries it on")
    } else {
        format!("service deployment {arn} rolled back: {}", settled.status)
    }
}

/// Why a deployment did not succeed, spelled out: the status, which monitor fired, which hook,
/// the smoke failure, and ECS's own reason.
fn explain(input: &Input, arn: &str, outcome: &Outcome, report: &Report) -> String {
    let mut causes = Vec::new();
    if let Some(smoke) = &report.smoke_failure {
        causes.push(format!(
            "the smoke checks of the test listener failed: {smoke}"
        ));
    }
    if let Some(last) = &outcome.last {
        causes.extend(monitor_causes(last));
    }
    causes.extend(outcome.failed_hooks.iter().cloned());
    if let Some(reason) = &outcome.reason {
        causes.push(format!("ECS: {reason}"));
    }
    let why = if causes.is_empty() {
        "ECS gave no reason".to_owned()
    } else {
        causes.join("; ")
    };
    format!(
        "service deployment {arn} of service `{}` in cluster `{}` ended {}: {why}",
        input.service, input.cluster, outcome.status
    )
}

/// The circuit breaker and alarms that explain a failure (hooks: [`Outcome::failed_hooks`]).
fn monitor_causes(deployment: &ServiceDeployment) -> Vec<String> {
    let mut causes = Vec::new();
    if let Some(breaker) = deployment.deployment_circuit_breaker()
        && breaker.status() == Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered)
    {
        causes.push(format!(
            "the deployment circuit breaker tripped ({} of {} tasks failed to start)",
            breaker.failure_count(),
            breaker.threshold()
        ));
    }
    if let Some(alarms) = deployment.alarms()
        && !alarms.triggered_alarm_names().is_empty()
    {
        causes.push(format!(
            "CloudWatch alarm {} went into ALARM",
            alarms.triggered_alarm_names().join(", ")
        ));
    }
    causes
}

/// Registers (or takes) the task definition, starts the deployment and, unless `wait: false`,
/// follows it to its end.
pub async fn deploy_and_follow(
    client: &Client,
    input: &Input,
    service: &Service,
    file: Option<&deploy_kit_render_taskdef::register::TaskFile>,
    report: &mut Report,
    runner: &Runner,
) -> Result<(), Error> {
    runner.cancellation().check("nothing was deployed")?;
    let task_definition = match (file, &input.task_definition) {
        (Some(file), _) => {
            let arn = deploy_kit_render_taskdef::register::register(client, file).await?;
            runner.info(format!("registered {arn}"));
            arn
        }
        (None, TaskDefinitionSource::Arn(arn)) => arn.clone(),
        (None, TaskDefinitionSource::File(path)) => {
            return Err(Error::Failed(format!(
                "internal: {} was not read",
                path.display()
            )));
        }
        (None, TaskDefinitionSource::Revision(asked)) => {
            return Err(Error::Failed(format!(
                "internal: revision `{asked}` was not resolved"
            )));
        }
    };
    report.task_definition.clone_from(&task_definition);
    runner.cancellation().check("nothing was deployed")?;
    let arn = start(client, input, service, &task_definition).await?;
    runner.info(format!("service deployment {arn} started"));
    report.service_deployment_arn = Some(arn.clone());
    report.status = "IN_PROGRESS".to_owned();
    if !input.wait {
        runner.notice(format!(
            "service deployment {arn} started; not waiting for it (wait: false)"
        ));
        return Ok(());
    }
    let followed = std::time::Instant::now();
    let result = follow(client, input, service, &arn, report, runner).await;
    report.followed_for = followed.elapsed();
    if input.test_checks.is_some() {
        hook::take_out(client, input, &report.status, runner).await;
    }
    result
}
