//! Answering our PAUSE hook: the paused deployment waits on ContinueServiceDeployment, so the
//! answer must arrive, once, even when AWS throttles or loses the response.

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    DeploymentLifecycleHookAction, DeploymentLifecycleHookStatus, ServiceDeployment,
};

use crate::input::Input;
use crate::{Error, aws_error};

/// ContinueServiceDeployment: CONTINUE when the checks passed, ROLLBACK otherwise. The paused
/// deployment waits on this answer, so throttling and 5xx are retried beyond the SDK's own
/// attempts; and when an answer was taken but its response lost, the SDK's retry is refused
/// (the hook no longer awaits action): that is success, not an error.
pub async fn answer(
    client: &Client,
    input: &Input,
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
            let delay = Duration::from_secs(2u64.pow(attempt)).mul_f64(input.poll_scale);
            tokio::time::sleep(delay).await;
            continue;
        }
        if !hook_awaits_action(client, arn, hook_id).await {
            return Ok(());
        }
        return Err(aws_error(input, "ContinueServiceDeployment", &error));
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
