//! Rolling a deployment back (timeout, cancel): `StopServiceDeployment` ROLLBACK, then follow
//! the rollback until it settles, so the step ends with the service on the old revision.

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::StopServiceDeploymentStopType;
use deploy_kit_gha::Runner;

use crate::Error;
use crate::watch::{Outcome, Watch, until_ended};

/// How long a rollback may take to settle before the step gives up waiting on it.
pub const SETTLE: Duration = Duration::from_secs(10 * 60);

/// Asks ECS to roll the deployment back and waits for the rollback to end.
pub async fn roll_back(
    client: &Client,
    watch: &Watch<'_>,
    why: &str,
    runner: &Runner,
) -> Result<Outcome, Error> {
    runner.warning(format!(
        "{why}: rolling back service deployment {} of service `{}` in cluster `{}`",
        watch.arn, watch.service, watch.cluster
    ));
    let stopped = client
        .stop_service_deployment()
        .service_deployment_arn(watch.arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await;
    if let Err(error) = stopped {
        // It may have ended on its own meanwhile (ECS answers ConflictException then): follow
        // it to learn where it is, and fail only if it cannot even be described.
        runner.warning(format!(
            "StopServiceDeployment of {}: {}",
            watch.arn,
            deploy_kit_aws::describe_error(&error)
        ));
    }
    let settle = Watch {
        timeout: SETTLE,
        bake: None,
        ..watch.clone()
    };
    // The rollback is ECS's from here: when the runner hurries the step (its SIGTERM, 2.5 s
    // before the kill), stop following so the outputs and the summary are written in time.
    tokio::select! {
        settled = until_ended(client, &settle, runner) => settled,
        () = runner.cancellation().hurried() => Ok(Outcome {
            status: REQUESTED.to_owned(),
            reason: Some("the rollback was requested and ECS carries it on; the step stopped following it".to_owned()),
            ..Outcome::default()
        }),
    }
}

/// The status reported for a rollback asked for but not followed to its end (ECS's own name
/// for a rollback it has accepted).
pub const REQUESTED: &str = "ROLLBACK_REQUESTED";
