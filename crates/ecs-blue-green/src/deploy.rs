//! The deployment, in call order: register (or take) the task definition, UpdateService, find
//! the service deployment it started, follow it answering our PAUSE hook with the smoke checks,
//! roll back on timeout and cancel, take our hook out. What happened is returned as a
//! [`Record`], which the caller puts in the report once the flow has ended.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{CreatedAt, ServiceDeployment, ServiceDeploymentRollbackMonitorsStatus};
use aws_smithy_types::DateTime;
use deploy_kit_gha::{Cancelled, Runner, Signal};

use crate::input::Input;
use crate::plan::Plan;
use crate::preflight::Service;
use crate::rollback::roll_back;
use crate::status::IN_PROGRESS;
use crate::watch::{Follower, Outcome, Step, Watch};
use crate::{Error, hook, update};

/// What the deployment acts on: decided before, read only here.
pub struct Deployment<'a> {
    pub client: &'a Client,
    pub input: &'a Input,
    pub service: &'a Service,
    pub plan: &'a Plan,
    pub console_url: &'a str,
    pub runner: &'a Runner,
}

/// What happened, for the outputs and the summary.
#[derive(Debug, Default)]
pub struct Record {
    pub task_definition: String,
    pub service_deployment_arn: Option<String>,
    /// The last status known (ECS's, [`IN_PROGRESS`] when left running).
    pub status: String,
    /// The follow, up to where it stopped.
    pub followed: Option<Outcome>,
    pub followed_for: Duration,
    /// The rollback asked for on timeout or cancel, as far as it was followed.
    pub rollback: Option<Outcome>,
    pub smoke_summary: Option<String>,
    pub smoke_failure: Option<String>,
}

/// Registers (or takes) the task definition, starts the deployment and, unless `wait: false`,
/// follows it to its end.
pub async fn deploy(d: &Deployment<'_>, record: &mut Record) -> Result<(), Error> {
    let cancellation = d.runner.cancellation();
    cancellation.check("nothing was deployed")?;
    // ECS stamps createdAt with its own clock: allow for skew, and tell ours from the ones
    // listed before the update. That list does not depend on the task definition, so it is
    // asked while the task definition is registered: one round trip, not two. A deployment
    // someone else starts during the registration is then not in it, as one started between
    // the list and the update never was: a concurrent deploy of the service races either way.
    let since = DateTime::from(SystemTime::now() - Duration::from_secs(60));
    let (registered, before) = tokio::join!(
        d.plan.target.arn(d.client, d.runner),
        recent(d.client, d.input, since)
    );
    record.task_definition = registered?;
    let before = before?;
    cancellation.check("nothing was deployed")?;
    let arn = start(d, &record.task_definition, since, &before).await?;
    d.runner.info(format!("service deployment {arn} started"));
    record.service_deployment_arn = Some(arn.clone());
    record.status = IN_PROGRESS.to_owned();
    if !d.input.wait {
        d.runner.notice(format!(
            "service deployment {arn} started; not waiting for it (wait: false)"
        ));
        return Ok(());
    }
    let followed = Instant::now();
    let mut service_at_end = None;
    let result = follow_answering_pause(d, &arn, record, &mut service_at_end).await;
    record.followed_for = followed.elapsed();
    if d.input.test_checks.is_some() {
        hook::take_out(d.client, d.input, &record.status, service_at_end, d.runner).await;
    }
    result
}

/// Sends UpdateService with the task definition and the deployment configuration; the ARN of
/// the service deployment it started: the first created after `since` that is not in `before`.
async fn start(
    d: &Deployment<'_>,
    task_definition: &str,
    since: DateTime,
    before: &[String],
) -> Result<String, Error> {
    let (client, input) = (d.client, d.input);
    let configuration = update::deployment_configuration(
        input,
        &d.plan.alarms,
        d.service.config.as_ref(),
        &d.service.strategy,
    );
    client
        .update_service()
        .cluster(&input.service.cluster)
        .service(&input.service.name)
        .task_definition(task_definition)
        .deployment_configuration(configuration)
        .set_desired_count(input.desired_count)
        .force_new_deployment(input.force_new_deployment)
        .set_enable_ecs_managed_tags(input.enable_ecs_managed_tags)
        .set_propagate_tags(input.propagate_tags.clone())
        .send()
        .await
        .map_err(|e| input.service.aws_error("UpdateService", &e))?;
    // ListServiceDeployments can lag UpdateService by a moment. A failed list is asked again
    // too: giving up now would leave the deployment just started unfollowed.
    for attempt in 0..10u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs_f64(0.5 * d.plan.poll_scale)).await;
        }
        let listed = match recent(client, input, since).await {
            Err(_) if attempt < 9 => continue,
            listed => listed?,
        };
        if let Some(arn) = listed.into_iter().find(|arn| !before.contains(arn)) {
            return Ok(arn);
        }
    }
    Err(Error::failed(format!(
        "UpdateService of {} started no service deployment: the service already runs `{task_definition}` with this configuration. Set `force-new-deployment: true` to deploy it again",
        input.service
    )))
}

/// The service deployments created after `since`, newest first.
async fn recent(client: &Client, input: &Input, since: DateTime) -> Result<Vec<String>, Error> {
    let listed = client
        .list_service_deployments()
        .cluster(&input.service.cluster)
        .service(&input.service.name)
        .created_at(CreatedAt::builder().after(since).build())
        .send()
        .await
        .map_err(|e| input.service.aws_error("ListServiceDeployments", &e))?;
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
/// cancel as the inputs say. `service_at_end` gets the service as described in the poll that saw
/// the deployment end, when one did: our hook is taken out of that configuration without a
/// DescribeServices more.
async fn follow_answering_pause(
    d: &Deployment<'_>,
    arn: &str,
    record: &mut Record,
    service_at_end: &mut Option<aws_sdk_ecs::types::Service>,
) -> Result<(), Error> {
    let watch = Watch {
        cluster: &d.input.service.cluster,
        service: &d.input.service.name,
        arn,
        timeout: d.plan.timeout,
        bake: d.plan.bake,
        poll_scale: d.plan.poll_scale,
        events: true,
        console_url: Some(d.console_url),
    };
    // The whole follow (stages, events, the smoke checks) in one collapsible group.
    let group = d.runner.group(format!("service deployment {arn}"));
    let mut follower = Follower::new(d.client, watch.clone(), d.runner);
    let ended = answer_pauses(d, arn, &mut follower, record).await;
    drop(group);
    record.followed = Some(follower.outcome().clone());
    if !follower.outcome().status.is_empty() {
        record.status.clone_from(&follower.outcome().status);
    }
    let ended = match ended {
        Ok(ended) => ended,
        Err(error) => {
            follower.finish("stopped following");
            return Err(error);
        }
    };
    match ended {
        Ended::Done(outcome) => {
            *service_at_end = follower.take_service_at_end();
            follower.finish(format!("status {}", outcome.status));
            if outcome.succeeded() {
                return Ok(());
            }
            Err(Error::failed(explain(d.input, arn, &outcome, record)))
        }
        Ended::TimedOut(message) => {
            follower.finish("timed out");
            if !d.input.rollback_on_timeout {
                record.status = IN_PROGRESS.to_owned();
                return Err(Error::timed_out(format!(
                    "{message}; left running (rollback-on-timeout is false)"
                )));
            }
            let rolled_back = roll_back_and_record(d, &watch, "timeout", record).await?;
            Err(Error::timed_out(format!("{message}; {rolled_back}")))
        }
        Ended::Cancelled(signal) => {
            follower.finish(format!("cancelled by {signal}"));
            let cleanup = if d.input.rollback_on_cancel {
                roll_back_and_record(d, &watch, "cancelled", record).await?
            } else {
                record.status = IN_PROGRESS.to_owned();
                format!("service deployment {arn} left running (rollback-on-cancel is false)")
            };
            Err(Cancelled {
                signal,
                cleanup: Some(cleanup),
            }
            .into())
        }
    }
}

/// The follow loop with the cancellation and the PAUSE hook answered by the smoke checks.
async fn answer_pauses(
    d: &Deployment<'_>,
    arn: &str,
    follower: &mut Follower<'_>,
    record: &mut Record,
) -> Result<Ended, Error> {
    let cancellation = d.runner.cancellation();
    loop {
        let step = tokio::select! {
            step = follower.next(d.input.test_checks.is_some()) => step?,
            signal = cancellation.cancelled() => return Ok(Ended::Cancelled(signal)),
        };
        let hook_id = match step {
            Step::Done(outcome) => return Ok(Ended::Done(outcome)),
            Step::TimedOut(message) => return Ok(Ended::TimedOut(message)),
            Step::Paused { hook_id } => hook_id,
        };
        let Some(checks) = &d.input.test_checks else {
            continue;
        };
        let urls: Vec<String> = checks
            .urls
            .iter()
            .map(|url| deploy_kit_gha::shown_url(url.as_str()))
            .collect();
        d.runner.info(format!(
            "green is on the test listener: running the smoke checks ({})",
            urls.join(", ")
        ));
        let passed = match deploy_kit_smoke_test::run_checks(checks, d.runner, cancellation).await {
            Ok(verdict) => {
                record.smoke_summary = Some(verdict.summary("Smoke test of the test listener"));
                // A later pass does not erase an earlier failure: the record keeps the first.
                if let Some(error) = verdict.error() {
                    record
                        .smoke_failure
                        .get_or_insert_with(|| error.to_string());
                }
                verdict.error().is_none()
            }
            Err(deploy_kit_smoke_test::Error::Cancelled(cancelled)) => {
                return Ok(Ended::Cancelled(cancelled.signal));
            }
            // Not a verdict: the checks could not run. Roll back rather than guess.
            Err(error) => {
                record.smoke_failure = Some(error.to_string());
                hook::answer(d.client, d.input, d.plan, arn, &hook_id, false).await?;
                continue;
            }
        };
        hook::answer(d.client, d.input, d.plan, arn, &hook_id, passed).await?;
        d.runner.info(if passed {
            "smoke checks passed: production traffic may move (ContinueServiceDeployment CONTINUE)"
        } else {
            "smoke checks failed: rolling back (ContinueServiceDeployment ROLLBACK)"
        });
    }
}

/// Rolls back (timeout, cancel) and says what that came to. SUCCESSFUL: the deployment
/// completed before StopServiceDeployment reached ECS, and nothing was undone.
async fn roll_back_and_record(
    d: &Deployment<'_>,
    watch: &Watch<'_>,
    why: &str,
    record: &mut Record,
) -> Result<String, Error> {
    let arn = watch.arn;
    let settled = roll_back(d.client, watch, why, d.runner).await?;
    record.status.clone_from(&settled.status);
    let said = if settled.succeeded() {
        format!("service deployment {arn} had already completed: SUCCESSFUL")
    } else if settled.status == crate::rollback::REQUESTED {
        format!("service deployment {arn}: rollback requested, ECS carries it on")
    } else {
        format!("service deployment {arn} rolled back: {}", settled.status)
    };
    record.rollback = Some(settled);
    Ok(said)
}

/// Why a deployment did not succeed, spelled out: the status, which monitor fired, which hook,
/// the smoke failure, and ECS's own reason.
fn explain(input: &Input, arn: &str, outcome: &Outcome, record: &Record) -> String {
    let mut causes = Vec::new();
    if let Some(smoke) = &record.smoke_failure {
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
        "service deployment {arn} of {} ended {}: {why}",
        input.service, outcome.status
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
