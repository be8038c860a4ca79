//! Following one service deployment with `DescribeServiceDeployments` to a terminal state, on
//! the [`crate::poll`] policy. Throttling and 5xx are survived (backoff); a status or stage this
//! build does not know is printed by name and followed; a deployment that disappears is an error.

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    ServiceDeployment, ServiceDeploymentLifecycleStage, ServiceDeploymentStatus,
};
use aws_smithy_runtime_api::client::result::SdkError;
use deploy_kit_gha::{Runner, format_duration};
use tokio::time::Instant;

use crate::Error;
use crate::poll::{Poll, next_delay};

/// How a followed deployment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The final ECS status, e.g. `SUCCESSFUL`, `ROLLBACK_SUCCESSFUL`.
    pub status: String,
    pub reason: Option<String>,
    /// Stages in the order seen, with when they were first seen (since the start of following).
    pub stages: Vec<(String, Duration)>,
    pub describe_calls: u32,
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
}

/// Follows the deployment until it ends; [`Error::TimedOut`] past the timeout (the caller rolls
/// back). Unknown statuses are not terminal: ECS may add intermediate ones.
pub async fn follow(client: &Client, watch: &Watch<'_>, runner: &Runner) -> Result<Outcome, Error> {
    let start = Instant::now();
    let mut outcome = Outcome {
        status: String::new(),
        reason: None,
        stages: Vec::new(),
        describe_calls: 0,
    };
    let mut stage_since = start;
    let mut throttled = 0u32;
    loop {
        if start.elapsed() >= watch.timeout {
            return Err(Error::TimedOut(format!(
                "service deployment {} of service `{}` in cluster `{}` did not finish within {}",
                watch.arn,
                watch.service,
                watch.cluster,
                format_duration(watch.timeout)
            )));
        }
        outcome.describe_calls += 1;
        let sent = client
            .describe_service_deployments()
            .service_deployment_arns(watch.arn)
            .send()
            .await;
        let deployment = match sent {
            Ok(out) => {
                throttled = 0;
                match out.service_deployments().first() {
                    Some(deployment) => deployment.clone(),
                    None => {
                        return Err(disappeared(
                            watch,
                            out.failures().first().and_then(|f| f.reason()),
                        ));
                    }
                }
            }
            Err(error) if retryable(&error) => {
                throttled += 1;
                runner.debug(format!(
                    "DescribeServiceDeployments: {} (retrying)",
                    deploy_kit_aws::describe_error(&error)
                ));
                let poll = Poll {
                    known_length: None,
                    in_stage: Duration::ZERO,
                    terminal_next: false,
                    throttled,
                };
                tokio::time::sleep(next_delay(&poll, watch.poll_scale)).await;
                continue;
            }
            Err(error) => {
                return Err(Error::Aws {
                    call: "DescribeServiceDeployments",
                    cluster: watch.cluster.to_owned(),
                    service: watch.service.to_owned(),
                    message: deploy_kit_aws::describe_error(&error),
                });
            }
        };
        let stage = deployment.lifecycle_stage().map(|s| s.as_str().to_owned());
        if let Some(stage) = &stage
            && outcome.stages.last().map(|(name, _)| name) != Some(stage)
        {
            runner.info(format!(
                "[{}] stage {stage}",
                format_duration(start.elapsed())
            ));
            outcome.stages.push((stage.clone(), start.elapsed()));
            stage_since = Instant::now();
        }
        let status = deployment
            .status()
            .map_or("UNKNOWN", ServiceDeploymentStatus::as_str);
        if outcome.status != status {
            runner.info(format!(
                "[{}] status {status}",
                format_duration(start.elapsed())
            ));
            outcome.status = status.to_owned();
        }
        if is_terminal(&deployment) {
            outcome.reason = deployment.status_reason().map(str::to_owned);
            return Ok(outcome);
        }
        let poll = Poll {
            known_length: match deployment.lifecycle_stage() {
                Some(ServiceDeploymentLifecycleStage::BakeTime) => watch.bake,
                _ => None,
            },
            in_stage: stage_since.elapsed(),
            terminal_next: terminal_next(&deployment),
            throttled: 0,
        };
        tokio::time::sleep(next_delay(&poll, watch.poll_scale)).await;
    }
}

fn is_terminal(deployment: &ServiceDeployment) -> bool {
    matches!(
        deployment.status(),
        Some(
            ServiceDeploymentStatus::Successful
                | ServiceDeploymentStatus::RollbackSuccessful
                | ServiceDeploymentStatus::RollbackFailed
                | ServiceDeploymentStatus::Stopped
        )
    )
}

/// Clean-up or a rollback under way: the terminal state is next.
fn terminal_next(deployment: &ServiceDeployment) -> bool {
    matches!(
        deployment.status(),
        Some(ServiceDeploymentStatus::RollbackInProgress | ServiceDeploymentStatus::StopRequested)
    ) || deployment.lifecycle_stage() == Some(&ServiceDeploymentLifecycleStage::CleanUp)
}

fn retryable<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            code.contains("Throttl")
                || code == "ServerException"
                || code.contains("ServiceUnavailable")
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    }
}

fn disappeared(watch: &Watch<'_>, reason: Option<&str>) -> Error {
    Error::Failed(format!(
        "service deployment {} of service `{}` in cluster `{}` disappeared ({}): check the service's deployments in the console",
        watch.arn,
        watch.service,
        watch.cluster,
        reason.unwrap_or("not returned by DescribeServiceDeployments")
    ))
}
