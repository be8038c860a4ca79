//! Transitional: run-migrations' register path until it adopts deploy-kit-ecs (which owns
//! RegisterTaskDefinition; the file format is [`crate::task_file`]). Delete this module, and its
//! `pub mod` line in lib.rs, once nothing imports `deploy_kit_render_taskdef::register`.

use aws_sdk_ecs::Client;

pub use crate::task_file::{TaskFile, images, read};

/// RegisterTaskDefinition failed; `message` is `code: message`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("RegisterTaskDefinition of family `{family}` failed: {message}")]
pub struct RegisterError {
    pub family: String,
    pub message: String,
}

/// Registers the file's task definition; its ARN.
pub async fn register(client: &Client, file: &TaskFile) -> Result<String, RegisterError> {
    let r = file.request.clone();
    let out = client
        .register_task_definition()
        .set_family(r.family)
        .set_task_role_arn(r.task_role_arn)
        .set_execution_role_arn(r.execution_role_arn)
        .set_network_mode(r.network_mode)
        .set_container_definitions(r.container_definitions)
        .set_volumes(r.volumes)
        .set_placement_constraints(r.placement_constraints)
        .set_requires_compatibilities(r.requires_compatibilities)
        .set_cpu(r.cpu)
        .set_memory(r.memory)
        .set_tags(r.tags)
        .set_pid_mode(r.pid_mode)
        .set_ipc_mode(r.ipc_mode)
        .set_proxy_configuration(r.proxy_configuration)
        .set_ephemeral_storage(r.ephemeral_storage)
        .set_runtime_platform(r.runtime_platform)
        .set_enable_fault_injection(r.enable_fault_injection)
        .send()
        .await
        .map_err(|e| RegisterError {
            family: file.request.family().unwrap_or_default().to_owned(),
            message: deploy_kit_aws::describe_error(&e),
        })?;
    out.task_definition()
        .and_then(|task| task.task_definition_arn())
        .map(str::to_owned)
        .ok_or_else(|| RegisterError {
            family: file.request.family().unwrap_or_default().to_owned(),
            message: "the answer has no taskDefinitionArn".to_owned(),
        })
}
