//! Following one service deployment with `DescribeServiceDeployments` on the [`crate::poll`]
//! policy: one line per change (stage, status, the green revision's task counts, hook states),
//! the service's new events under it, and a stop at our PAUSE hook (a PAUSE hook awaiting action
//! while the stage is POST_TEST_TRAFFIC_SHIFT: pre-flight refused any other there). A hook the
//! action does not own that awaits action is named once, with the stage and the console, and
//! followed within the timeout. Throttling and 5xx are survived (backoff); a status or stage
//! this build does not know is printed by name and followed; a deployment that disappears is an
//! error.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType, Service, ServiceDeployment,
    ServiceDeploymentLifecycleStage, ServiceDeploymentStatus,
};
use deploy_kit_gha::{Progress, Runner, format_duration};
use tokio::time::Instant;

use crate::Error;
use crate::events::Events;
use crate::poll::{Poll, next_delay, unscale};
use crate::status::{is_terminal, terminal_next};

/// How a followed deployment ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// The final ECS status, e.g. `SUCCESSFUL`, `ROLLBACK_SUCCESSFUL`.
    pub status: String,
    pub reason: Option<String>,
    /// Stages in the order seen, with when they were first seen (since the start of following).
    pub stages: Vec<(String, Duration)>,
    /// DescribeServiceDeployments calls, and DescribeServices calls for events.
    pub describe_calls: u32,
    pub event_calls: u32,
    /// The last answer, for the reason behind a failure (alarms, circuit breaker).
    pub last: Option<ServiceDeployment>,
    /// Hooks seen FAILED or TIMED_OUT, in the order seen: ECS lists only the current stage's
    /// hooks, so the one that failed may be gone from the last answer.
    pub failed_hooks: Vec<String>,
    /// Hooks the action does not own that were seen awaiting action (ContinueServiceDeployment
    /// from someone else), in the order seen.
    pub waited_on: Vec<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status == ServiceDeploymentStatus::Successful.as_str()
    }
}

/// What the watcher needs to know besides the client.
#[derive(Debug, Clone)]
pub struct Watch<'a> {
    pub cluster: &'a str,
    pub service: &'a str,
    pub arn: &'a str,
    pub timeout: Duration,
    /// Known stage lengths: the bake time (BAKE_TIME).
    pub bake: Option<Duration>,
    pub poll_scale: f64,
    /// Print the service's new events (one DescribeServices call per change).
    pub events: bool,
    /// The console page of the service's deployments, named when a hook awaits someone else.
    pub console_url: Option<&'a str>,
}

/// Where following stopped.
#[derive(Debug)]
pub enum Step {
    Done(Box<Outcome>),
    /// A PAUSE hook is AWAITING_ACTION: the caller answers it, then follows on.
    Paused {
        hook_id: String,
    },
    /// The timeout passed: the message says which deployment and how long (the caller rolls
    /// back or leaves it running).
    TimedOut(String),
}

/// Follows one deployment across pauses; keeps the record and the deadline between calls.
pub struct Follower<'a> {
    client: &'a Client,
    watch: Watch<'a>,
    runner: &'a Runner,
    progress: Progress<'a>,
    start: Instant,
    stage_since: Instant,
    outcome: Outcome,
    answered: HashSet<String>,
    /// Hook IDs already reported (failed, or awaiting someone else).
    noted: HashSet<String>,
    events: Events,
    last_line: String,
    /// The service as described in the poll that saw the deployment end, for what comes after
    /// (taking our hook out) without describing it again.
    service_at_end: Option<Service>,
}

impl<'a> Follower<'a> {
    pub fn new(client: &'a Client, watch: Watch<'a>, runner: &'a Runner) -> Self {
        let progress = runner.progress(format!("service deployment {}", short(watch.arn)));
        Self {
            client,
            watch,
            runner,
            progress,
            start: Instant::now(),
            stage_since: Instant::now(),
            outcome: Outcome::default(),
            answered: HashSet::new(),
            noted: HashSet::new(),
            events: Events::since_now(),
            last_line: String::new(),
            service_at_end: None,
        }
    }

    /// The record so far (for a summary after a timeout or cancel).
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The service as ECS described it once the deployment had ended (its events, fetched in
    /// the poll that saw the end); `None` when that poll did not describe it.
    pub fn take_service_at_end(&mut self) -> Option<Service> {
        self.service_at_end.take()
    }

    /// Follows until the deployment ends or, with `stop_at_pause`, a PAUSE hook awaits action.
    /// [`Step::TimedOut`] past the timeout. Unknown statuses are not terminal: ECS may add
    /// intermediate ones.
    pub async fn next(&mut self, stop_at_pause: bool) -> Result<Step, Error> {
        let mut throttled = 0u32;
        loop {
            if self.start.elapsed() >= self.watch.timeout {
                return Ok(Step::TimedOut(format!(
                    "service deployment {} of service `{}` in cluster `{}` did not finish within {}",
                    self.watch.arn,
                    self.watch.service,
                    self.watch.cluster,
                    format_duration(self.watch.timeout)
                )));
            }
            let Some(deployment) = self.describe(&mut throttled).await? else {
                let poll = Poll {
                    known_length: None,
                    in_stage: Duration::ZERO,
                    terminal_next: false,
                    throttled,
                };
                tokio::time::sleep(next_delay(&poll, self.watch.poll_scale)).await;
                continue;
            };
            throttled = 0;
            let described = self.record(&deployment).await;
            let ours = if stop_at_pause {
                self.awaiting_pause(&deployment)
            } else {
                None
            };
            self.note_hooks(&deployment, ours.as_deref());
            if is_terminal(&deployment) {
                self.service_at_end = described;
                self.outcome.reason = deployment.status_reason().map(str::to_owned);
                self.outcome.last = Some(deployment);
                return Ok(Step::Done(Box::new(self.outcome.clone())));
            }
            if let Some(hook_id) = ours {
                self.answered.insert(hook_id.clone());
                self.outcome.last = Some(deployment);
                return Ok(Step::Paused { hook_id });
            }
            let poll = Poll {
                known_length: match deployment.lifecycle_stage() {
                    Some(ServiceDeploymentLifecycleStage::BakeTime) => self.watch.bake,
                    _ => None,
                },
                in_stage: unscale(self.stage_since.elapsed(), self.watch.poll_scale),
                terminal_next: terminal_next(&deployment),
                throttled: 0,
            };
            self.outcome.last = Some(deployment);
            tokio::time::sleep(next_delay(&poll, self.watch.poll_scale)).await;
        }
    }

    /// Ends the display with `line`.
    pub fn finish(self, line: impl Into<String>) {
        self.progress.finish(line);
    }

    /// One describe; `None` after a throttled or 5xx answer (the caller backs off).
    async fn describe(&mut self, throttled: &mut u32) -> Result<Option<ServiceDeployment>, Error> {
        self.outcome.describe_calls += 1;
        let sent = self
            .client
            .describe_service_deployments()
            .service_deployment_arns(self.watch.arn)
            .send()
            .await;
        match sent {
            Ok(out) => match out.service_deployments().first() {
                Some(deployment) => Ok(Some(deployment.clone())),
                None => Err(disappeared(
                    &self.watch,
                    out.failures().first().and_then(|f| f.reason()),
                )),
            },
            Err(error) if deploy_kit_aws::is_transient(&error) => {
                *throttled += 1;
                self.runner.debug(format!(
                    "DescribeServiceDeployments: {} (retrying)",
                    deploy_kit_aws::describe_error(&error)
                ));
                Ok(None)
            }
            Err(error) => Err(deploy_kit_ecs::Error::Aws {
                call: "DescribeServiceDeployments",
                cluster: self.watch.cluster.to_owned(),
                service: self.watch.service.to_owned(),
                message: deploy_kit_aws::describe_error(&error),
            }
            .into()),
        }
    }

    /// Notes a new stage or status, prints the state line and the service's new events; the
    /// service when it was described for them.
    async fn record(&mut self, deployment: &ServiceDeployment) -> Option<Service> {
        let elapsed = self.start.elapsed();
        if let Some(stage) = deployment.lifecycle_stage().map(|s| s.as_str())
            && self.outcome.stages.last().map(|(name, _)| name.as_str()) != Some(stage)
        {
            self.outcome.stages.push((stage.to_owned(), elapsed));
            self.stage_since = Instant::now();
        }
        let status = deployment
            .status()
            .map_or("UNKNOWN", ServiceDeploymentStatus::as_str);
        if self.outcome.status != status {
            self.outcome.status = status.to_owned();
        }
        let line = state_line(deployment);
        if line == self.last_line {
            return None;
        }
        self.last_line.clone_from(&line);
        self.progress.state(line);
        if !self.watch.events {
            return None;
        }
        self.outcome.event_calls += 1;
        match self
            .events
            .fetch(self.client, self.watch.cluster, self.watch.service)
            .await
        {
            Ok((lines, service)) => {
                for line in lines {
                    self.progress.println(format!("  event: {line}"));
                }
                service
            }
            Err(message) => {
                self.runner.debug(format!("DescribeServices: {message}"));
                None
            }
        }
    }

    /// Our PAUSE hook, when it awaits action: only at POST_TEST_TRAFFIC_SHIFT, where pre-flight
    /// made sure no PAUSE hook but ours is configured.
    fn awaiting_pause(&self, deployment: &ServiceDeployment) -> Option<String> {
        if deployment.lifecycle_stage()
            != Some(&ServiceDeploymentLifecycleStage::PostTestTrafficShift)
        {
            return None;
        }
        deployment.lifecycle_hook_details().iter().find_map(|hook| {
            let ours = hook.target_type() == Some(&DeploymentLifecycleHookTargetType::Pause)
                && hook.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction);
            let id = hook.hook_id()?;
            (ours && !self.answered.contains(id)).then(|| id.to_owned())
        })
    }

    /// Remembers failed hooks (for the explanation) and says once which hook, not ours, awaits
    /// action: the deployment waits on someone else's ContinueServiceDeployment.
    fn note_hooks(&mut self, deployment: &ServiceDeployment, ours: Option<&str>) {
        let stage = deployment
            .lifecycle_stage()
            .map_or("(none)", |s| s.as_str());
        for hook in deployment.lifecycle_hook_details() {
            let Some(id) = hook.hook_id() else { continue };
            let kind = hook.target_type().map_or("?", |t| t.as_str());
            let name = hook.target_arn().unwrap_or(id);
            let status = hook.status();
            let failed = matches!(
                status,
                Some(
                    DeploymentLifecycleHookStatus::Failed | DeploymentLifecycleHookStatus::TimedOut
                )
            );
            let waiting = status == Some(&DeploymentLifecycleHookStatus::AwaitingAction)
                && Some(id) != ours
                && !self.answered.contains(id);
            if failed && self.noted.insert(format!("failed {id}")) {
                self.outcome.failed_hooks.push(format!(
                    "lifecycle hook {name} ({kind}) {} at stage {stage}",
                    status.map_or("?", |s| s.as_str())
                ));
            } else if waiting && self.noted.insert(format!("waiting {id}")) {
                let line = waiting_line(id, kind, stage, self.watch.console_url);
                self.progress.println(line.clone());
                self.outcome.waited_on.push(line);
            }
        }
    }
}

/// Follows the deployment until it ends, answering no hook (a rollback settling):
/// [`Error`] `TimedOut` past the timeout.
pub async fn until_ended(
    client: &Client,
    watch: &Watch<'_>,
    runner: &Runner,
) -> Result<Outcome, Error> {
    let mut follower = Follower::new(client, watch.clone(), runner);
    loop {
        match follower.next(false).await? {
            Step::Done(outcome) => {
                follower.finish(format!("status {}", outcome.status));
                return Ok(*outcome);
            }
            Step::TimedOut(message) => return Err(Error::timed_out(message)),
            // Not stopped at when not asked to: follow on.
            Step::Paused { .. } => {}
        }
    }
}

/// A hook the action does not own awaits action: say which, where, and what it waits for.
fn waiting_line(id: &str, kind: &str, stage: &str, console: Option<&str>) -> String {
    let mut line = format!(
        "lifecycle hook {id} ({kind}) at stage {stage} is not ecs-blue-green's: waiting for ContinueServiceDeployment from whoever owns it"
    );
    if let Some(url) = console {
        line.push_str(&format!(" ({url})"));
    }
    line
}

/// `stage SCALE_UP, status IN_PROGRESS, green 1/2 running (1 pending), hook PAUSE AWAITING_ACTION`
pub fn state_line(deployment: &ServiceDeployment) -> String {
    let stage = deployment
        .lifecycle_stage()
        .map_or("(none)", |s| s.as_str());
    let status = deployment
        .status()
        .map_or("UNKNOWN", ServiceDeploymentStatus::as_str);
    let mut line = format!("stage {stage}, status {status}");
    if let Some(target) = deployment.target_service_revision() {
        line.push_str(&format!(
            ", green {}/{} running",
            target.running_task_count(),
            target.requested_task_count()
        ));
        if target.pending_task_count() > 0 {
            line.push_str(&format!(" ({} pending)", target.pending_task_count()));
        }
    }
    for hook in deployment.lifecycle_hook_details() {
        line.push_str(&format!(
            ", hook {} {}",
            hook.target_type().map_or("?", |t| t.as_str()),
            hook.status().map_or("?", |s| s.as_str())
        ));
    }
    line
}

fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn disappeared(watch: &Watch<'_>, reason: Option<&str>) -> Error {
    Error::failed(format!(
        "service deployment {} of service `{}` in cluster `{}` disappeared ({}): check the service's deployments in the console",
        watch.arn,
        watch.service,
        watch.cluster,
        reason.unwrap_or("not returned by DescribeServiceDeployments")
    ))
}
