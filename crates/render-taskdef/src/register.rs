//! A rendered task definition file for the actions that deploy or run it (ecs-blue-green,
//! run-migrations): read and checked against the ECS model before any AWS call, then
//! registered with every field the model has.

use std::path::Path;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use deploy_kit_gha::InputError;
use serde_json::{Map, Value};

/// RegisterTaskDefinition failed; `message` is `code: message`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("RegisterTaskDefinition of family `{family}` failed: {message}")]
pub struct RegisterError {
    pub family: String,
    pub message: String,
}

/// A rendered task definition file, parsed and checked.
#[derive(Debug, Clone)]
pub struct TaskFile {
    /// The JSON as registered (describe-only keys such as `revision` removed): for the dry-run
    /// diff.
    pub json: Map<String, Value>,
    pub request: RegisterTaskDefinitionInput,
}

/// Reads `path`: JSON, the RegisterTaskDefinition shape (a file saved from
/// `describe-task-definition` is accepted; its bookkeeping keys are dropped).
pub fn read(path: &Path) -> Result<TaskFile, InputError> {
    let bad = |message: String| InputError::new("task-definition", message);
    let text = std::fs::read_to_string(path).map_err(|error| {
        bad(format!(
            "cannot read `{}`: {error}; give the path of a rendered task definition JSON file (render-taskdef's `task-definition` output) or a task definition ARN",
            path.display()
        ))
    })?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|error| bad(format!("`{}` is not JSON: {error}", path.display())))?;
    let mut value = match value {
        Value::Object(map) => map,
        _ => return Err(bad(format!("`{}` must hold a JSON object", path.display()))),
    };
    // `aws ecs describe-task-definition` wraps it in {"taskDefinition": {...}}.
    if let Some(Value::Object(inner)) = value.remove("taskDefinition") {
        value = inner;
    }
    crate::shape::drop_describe_only(&mut value);
    // Elastic Inference is gone from ECS (the SDK marks it deprecated): refuse, not drop.
    if value
        .get("inferenceAccelerators")
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty())
    {
        return Err(bad(format!(
            "`{}` sets `inferenceAccelerators`, which ECS no longer supports: remove it",
            path.display()
        )));
    }
    let request = crate::model::to_input(&Value::Object(value.clone()))
        .map_err(|problem| bad(format!("`{}`: {problem}", path.display())))?;
    if request.family().is_none_or(str::is_empty) {
        return Err(bad(format!(
            "`{}` has no `family`: a task definition needs one",
            path.display()
        )));
    }
    Ok(TaskFile {
        json: value,
        request,
    })
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

/// The images of a task definition's containers, `name=image`, for the summary.
pub fn images(task: &Map<String, Value>) -> Vec<String> {
    task.get("containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|container| {
            let name = container.get("name")?.as_str()?;
            let image = container.get("image")?.as_str()?;
            Some(format!("{name}={image}"))
        })
        .collect()
}
