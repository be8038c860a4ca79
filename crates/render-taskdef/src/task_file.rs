//! The task definition file format, read in one place: render-taskdef's `task-definition` (after
//! templating) and the file ecs-blue-green and run-migrations register (deploy-kit-ecs) go
//! through [`parse`], so a file one step writes the next one reads by the same rules.

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
/// JSON (a byte-order mark is allowed), one object in the RegisterTaskDefinition shape. A file
/// saved from `describe-task-definition` is accepted: its `{"taskDefinition": ...}` wrapper is
/// unwrapped and its bookkeeping keys dropped. The error is the message, without the input name.
pub fn parse(label: &str, text: &str) -> Result<TaskFile, String> {
    // Editors on Windows may start the file with a byte-order mark, which JSON does not allow.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("{label} is not valid JSON: {e}"))?;
    let Value::Object(mut task) = value else {
        return Err(format!(
            "{label} must hold a JSON object (the task definition), not {}",
            if value.is_array() {
                "an array"
            } else {
                "a single value"
            }
        ));
    };
    // `aws ecs describe-task-definition` wraps it in {"taskDefinition": {...}}.
    if let Some(Value::Object(inner)) = task.remove("taskDefinition") {
        task = inner;
    }
    let dropped = crate::shape::drop_describe_only(&mut task);
    // Elastic Inference is gone from ECS (the SDK marks it deprecated): refuse, not drop.
    if task
        .get("inferenceAccelerators")
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty())
    {
        return Err(format!(
            "{label} sets `inferenceAccelerators`, which ECS no longer supports: remove it"
        ));
    }
    let request = crate::model::to_input(&Value::Object(task.clone()))
        .map_err(|problem| format!("{label}: {problem}"))?;
    Ok(TaskFile {
        path: PathBuf::new(),
        json: task,
        request,
        dropped,
    })
}

/// Reads the rendered file at `path` to register it: [`parse`], and a `family` is required.
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
    let mut file = parse(&label, &text).map_err(bad)?;
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
