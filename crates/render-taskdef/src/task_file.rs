//! The task definition file format, read in one place: render-taskdef's `task-definition` (after
//! templating, [`parse`]) and the file ecs-blue-green and run-migrations register ([`read`], for
//! deploy-kit-ecs) go through the same parse and model check, so a file one step writes the
//! next one reads by the same rules; [`read`] adds only what registering as-is needs.

use std::path::{Path, PathBuf};

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use deploy_kit_gha::InputError;
use serde_json::{Map, Value};

/// A task definition file, parsed and checked against the ECS model.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFile {
    /// Where it was read from (empty for text not read from a file).
    pub path: PathBuf,
    /// The JSON as registered (describe-only keys such as `revision` removed): for the dry-run
    /// diff and render-taskdef's edits.
    pub json: Map<String, Value>,
    pub request: RegisterTaskDefinitionInput,
    /// The describe-only keys that were dropped (render-taskdef says so).
    pub dropped: Vec<String>,
}

/// Parses the text of a task definition file, named `label` in messages (e.g. "`td.json`"):
/// JSON (a byte-order mark is allowed), one object in the RegisterTaskDefinition shape; the
/// keys only DescribeTaskDefinition returns are dropped (and listed). The error is the message,
/// without the input name.
pub fn parse(label: &str, text: &str) -> Result<TaskFile, String> {
    check(label, object(label, text)?)
}

/// The JSON object of the file's text.
fn object(label: &str, text: &str) -> Result<Map<String, Value>, String> {
    // Editors on Windows may start the file with a byte-order mark, which JSON does not allow.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("{label} is not valid JSON: {e}"))?;
    match value {
        Value::Object(task) => Ok(task),
        _ => Err(format!(
            "{label} must hold a JSON object (the task definition), not {}",
            if value.is_array() {
                "an array"
            } else {
                "a single value"
            }
        )),
    }
}

/// The object checked against the ECS model, describe-only keys dropped.
fn check(label: &str, mut task: Map<String, Value>) -> Result<TaskFile, String> {
    let dropped = crate::shape::drop_describe_only(&mut task);
    let request = crate::model::to_input(&Value::Object(task.clone()))
        .map_err(|problem| format!("{label}: {problem}"))?;
    Ok(TaskFile {
        path: PathBuf::new(),
        json: task,
        request,
        dropped,
    })
}

/// Reads the rendered file at `path` to register it: as [`parse`], with a describe output's
/// wrapper taken off, `inferenceAccelerators` refused, and a `family` required.
/// Errors name the `task-definition` input.
pub fn read(path: &Path) -> Result<TaskFile, InputError> {
    let bad = |message: String| InputError::new("task-definition", message);
    let text = std::fs::read_to_string(path).map_err(|error| {
        bad(format!(
            "cannot read `{}`: {error}; give the path of a rendered task definition JSON file (render-taskdef's `task-definition` output) or a task definition ARN",
            path.display()
        ))
    })?;
    let label = format!("`{}`", path.display());
    let mut task = object(&label, &text).map_err(bad)?;
    // A file saved from `aws ecs describe-task-definition` is registered as it is: unwrap its
    // {"taskDefinition": {...}} (render-taskdef, which edits, asks for the inner object).
    if let Some(Value::Object(inner)) = task.remove("taskDefinition") {
        task = inner;
    }
    // Elastic Inference is gone from ECS (the SDK marks it deprecated): refuse, not drop
    // (render-taskdef passes it on, and this refuses it before any AWS call).
    if task
        .get("inferenceAccelerators")
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty())
    {
        return Err(bad(format!(
            "{label} sets `inferenceAccelerators`, which ECS no longer supports: remove it"
        )));
    }
    let mut file = check(&label, task).map_err(bad)?;
    if file.request.family().is_none_or(str::is_empty) {
        return Err(bad(format!(
            "{label} has no `family`: a task definition needs one"
        )));
    }
    file.path = path.to_owned();
    Ok(file)
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
