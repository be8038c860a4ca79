//! Our PAUSE hook: answering it (the paused deployment waits on ContinueServiceDeployment, so the
//! answer must arrive, once, even when AWS throttles or loses the response), and taking it out
//! of the service's configuration once its deployment ended.

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    DeploymentLifecycleHookAction, DeploymentLifecycleHookStatus, Service, ServiceDeployment,
};
use deploy_kit_ecs::Described;

use deploy_kit_gha::Runner;

use crate::input::Input;
use crate::plan::Plan;
use crate::{Error, update};

/// ContinueServiceDeployment: CONTINUE when the checks passed, ROLLBACK otherwise. The paused
/// deployment waits on this answer, so throttling and 5xx are retried beyond the SDK's own
/// attempts; and when an answer was taken but its response lost, the SDK's retry is refused
/// (the hook no longer awaits action): that is success, not an error.
pub async fn answer(
    client: &Client,
    input: &Input,
    plan: &Plan,
    arn: &str,
    hook_id: &str,
    passed: bool,
) -> Result<(), Error> {
    let action = if passed {
        DeploymentLifecycleHookAction::Continue
    } else {
        DeploymentLifecycleHookAction::Rollback
    };
    let mut attempt = 0u32;
    loop {
        let sent = client
            .continue_service_deployment()
            .service_deployment_arn(arn)
            .hook_id(hook_id)
            .action(action.clone())
            .send()
            .await;
        let Err(error) = sent else { return Ok(()) };
        if deploy_kit_aws::is_transient(&error) && attempt < 5 {
            attempt += 1;
            let delay = Duration::from_secs(2u64.pow(attempt)).mul_f64(plan.poll_scale);
            tokio::time::sleep(delay).await;
            continue;
        }
        if !hook_awaits_action(client, arn, hook_id).await {
            return Ok(());
        }
        return Err(input
            .service
            .aws_error("ContinueServiceDeployment", &error)
            .into());
    }
}

/// Whether our hook still awaits an answer (true when that cannot be read: the error stands).
async fn hook_awaits_action(client: &Client, arn: &str, hook_id: &str) -> bool {
    let Ok(out) = client
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
    else {
        return true;
    };
    out.service_deployments()
        .iter()
        .flat_map(ServiceDeployment::lifecycle_hook_details)
        .any(|hook| {
            hook.hook_id() == Some(hook_id)
                && hook.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction)
        })
}

/// After a deployment with `test-url` ended, our PAUSE hook leaves the service's configuration,
/// so a later deployment by other means (console, CLI, Terraform) never waits on it. A
/// deployment left running (rollback-on-timeout or rollback-on-cancel false) keeps it until it
/// ends; the next ecs-blue-green run takes it out then. `described` is the service as ECS
/// described it after the deployment ended, when the watcher did (else it is described here).
/// A failure here is a warning: the deployment's own result stands.
pub async fn take_out(
    client: &Client,
    input: &Input,
    status: &str,
    described: Option<Service>,
    runner: &Runner,
) {
    if !crate::status::is_terminal_status(status) {
        runner.warning(format!(
            "service `{}` in cluster `{}` keeps ecs-blue-green's PAUSE hook while its deployment runs; the next ecs-blue-green run takes it out",
            input.service.name, input.service.cluster
        ));
        return;
    }
    let cleaned = async {
        let service = match described {
            Some(service) => service,
            None => match input.service.describe(client).await? {
                Described::Found(service) => *service,
                Described::Missing(_) => return Ok(false),
            },
        };
        let Some(config) = service
            .deployment_configuration()
            .and_then(update::without_our_hook)
        else {
            return Ok(false);
        };
        client
            .update_service()
            .cluster(&input.service.cluster)
            .service(&input.service.name)
            .deployment_configuration(config)
            .send()
            .await
            .map_err(|e| input.service.aws_error("UpdateService", &e))?;
        Ok::<_, Error>(true)
    };
    match cleaned.await {
        Ok(true) => runner.info(
            "took ecs-blue-green's PAUSE hook out of the service's deployment configuration",
        ),
        Ok(false) => {}
        Err(error) => runner.warning(format!(
            "ecs-blue-green's PAUSE hook (hookDetails {{\"{}\": \"{}\"}}) is still in the service's deployment configuration: {error}. A later deployment without ecs-blue-green would wait on it: remove it, or run ecs-blue-green again",
            update::MARKER.0,
            update::MARKER.1
        )),
    }
}
