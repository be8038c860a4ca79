//! Applying the edits to the task definition JSON, in place, keeping key order.

use serde_json::{Map, Value, json};

use crate::input::{ContainerEdits, Input, looks_secret};

/// A problem with the edits or the template; `input` names the input at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    pub input: &'static str,
    pub message: String,
}

fn error(input: &'static str, message: String) -> EditError {
    EditError { input, message }
}

fn container_names(task: &Map<String, Value>) -> Vec<String> {
    containers(task)
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

fn containers(task: &Map<String, Value>) -> &[Value] {
    task.get("containerDefinitions")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The container called `name`, or an error listing the containers there are.
fn container_mut<'a>(
    task: &'a mut Map<String, Value>,
    name: &str,
    input: &'static str,
    source: &str,
) -> Result<&'a mut Map<String, Value>, EditError> {
    let names = container_names(task);
    task.get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .and_then(|list| {
            list.iter_mut()
                .filter_map(Value::as_object_mut)
                .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
        })
        .ok_or_else(|| {
            let listed = names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            error(
                input,
                format!("container `{name}` not found in {source}: containers are {listed}"),
            )
        })
}

/// Checks the template's own invariants: containers exist, have unique names.
pub fn check_containers(task: &Map<String, Value>, source: &str) -> Result<(), EditError> {
    let list = containers(task);
    if list.is_empty() {
        return Err(error(
            "task-definition",
            format!("{source} has no containerDefinitions"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, container) in list.iter().enumerate() {
        let Some(name) = container.get("name").and_then(Value::as_str) else {
            return Err(error(
                "task-definition",
                format!("containerDefinitions[{index}] in {source} has no `name`"),
            ));
        };
        if !seen.insert(name) {
            return Err(error(
                "task-definition",
                format!("container `{name}` appears twice in {source}"),
            ));
        }
    }
    Ok(())
}

/// Applies every edit of `input` to `task`.
pub fn apply(task: &mut Map<String, Value>, input: &Input, source: &str) -> Result<(), EditError> {
    for (name, image) in &input.images {
        let which = if input.container.as_deref() == Some(name) {
            "container-name"
        } else {
            "images"
        };
        container_mut(task, name, which, source)?
            .insert("image".into(), Value::String(image.clone()));
    }
    if !input.edits.is_empty() {
        let name = match &input.container {
            Some(name) => name.clone(),
            None => match container_names(task).as_slice() {
                [only] => only.clone(),
                names => {
                    return Err(error(
                        "container-name",
                        format!(
                            "is required to say which container gets the environment, secrets, command, log options or labels: containers are {}",
                            names.join(", ")
                        ),
                    ));
                }
            },
        };
        edit_container(
            container_mut(task, &name, "container-name", source)?,
            &input.edits,
        )
        .map_err(|(input, message)| error(input, format!("container `{name}`: {message}")))?;
    }
    for (key, value) in [
        ("cpu", &input.cpu),
        ("memory", &input.memory),
        ("taskRoleArn", &input.task_role_arn),
        ("executionRoleArn", &input.execution_role_arn),
        ("family", &input.family),
    ] {
        if let Some(value) = value {
            task.insert(key.into(), Value::String(value.clone()));
        }
    }
    Ok(())
}

type Fail = (&'static str, String);

/// The list at `key`, edited in place so the key keeps its position (serde_json's `remove`
/// would swap the last key into its place). New lists go at the end.
fn edit_list(
    container: &mut Map<String, Value>,
    key: &str,
    edit: impl FnOnce(&mut Vec<Value>),
) -> Result<(), Fail> {
    let existed = container.get(key).is_some_and(|v| !v.is_null());
    let slot = container
        .entry(key)
        .or_insert_with(|| Value::Array(Vec::new()));
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    let Some(list) = slot.as_array_mut() else {
        return Err(("task-definition", format!("`{key}` must be an array")));
    };
    edit(list);
    if list.is_empty() && !existed {
        container.shift_remove(key);
    }
    Ok(())
}

fn name_of(entry: &Value) -> &str {
    entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn edit_container(container: &mut Map<String, Value>, edits: &ContainerEdits) -> Result<(), Fail> {
    edit_list(container, "environment", |environment| {
        environment.retain(|e| !edits.remove_environment.iter().any(|r| r == name_of(e)));
        upsert(environment, &edits.environment, "value");
        // A secret replaces a plaintext variable of the same name.
        environment.retain(|e| !edits.secrets.iter().any(|(s, _)| s == name_of(e)));
    })?;
    edit_list(container, "secrets", |secrets| {
        upsert(secrets, &edits.secrets, "valueFrom")
    })?;
    if let Some(command) = &edits.command {
        container.insert("command".into(), json!(command.0));
    }
    if !edits.log_options.is_empty() {
        let Some(options) = container
            .get_mut("logConfiguration")
            .and_then(Value::as_object_mut)
            .map(|log| log.entry("options").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
        else {
            return Err(("log-configuration-options", "has no `logConfiguration` to add options to: give it a `logDriver` in the template".into()));
        };
        for (key, value) in &edits.log_options {
            options.insert(key.clone(), Value::String(value.clone()));
        }
    }
    if !edits.docker_labels.is_empty() {
        let labels = container.entry("dockerLabels").or_insert_with(|| json!({}));
        let Some(labels) = labels.as_object_mut() else {
            return Err(("task-definition", "`dockerLabels` must be an object".into()));
        };
        for (key, value) in &edits.docker_labels {
            labels.insert(key.clone(), Value::String(value.clone()));
        }
    }
    Ok(())
}

/// Sets `field` of the entry named `name`, adding the entry at the end when new.
fn upsert(list: &mut Vec<Value>, pairs: &[(String, String)], field: &str) {
    for (name, value) in pairs {
        let existing = list
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name));
        match existing {
            Some(entry) => {
                entry.insert(field.into(), Value::String(value.clone()));
            }
            None => list.push(json!({ "name": name, field: value })),
        }
    }
}

/// Environment variables whose names say they hold secrets, per container.
pub fn plaintext_secrets(task: &Map<String, Value>) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for container in containers(task) {
        let cname = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for entry in container
            .get("environment")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
        {
            if let Some(name) = entry
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| looks_secret(n))
            {
                found.push((cname.to_owned(), name.to_owned()));
            }
        }
    }
    found
}

/// Images tagged `latest`, or untagged (which means latest): deployments of them are not
/// reproducible. Digest-pinned images are fine.
pub fn floating_images(task: &Map<String, Value>) -> Vec<(String, String)> {
    containers(task)
        .iter()
        .filter_map(|c| {
            let name = c.get("name").and_then(Value::as_str)?;
            let image = c.get("image").and_then(Value::as_str)?;
            floating(image).then(|| (name.to_owned(), image.to_owned()))
        })
        .collect()
}

fn floating(image: &str) -> bool {
    if image.contains("@sha256:") {
        return false;
    }
    // The tag follows the last `:` after the last `/` (a registry port has a `/` after it).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floating_image_references() {
        assert!(floating("nginx"));
        assert!(floating("nginx:latest"));
        assert!(floating("registry:5000/app"));
        assert!(!floating("registry:5000/app:1.2"));
        assert!(!floating("app@sha256:abc"));
        assert!(!floating("123.dkr.ecr.us-east-1.amazonaws.com/web:4f5e"));
    }

    #[test]
    fn upsert_keeps_order_and_appends_new() {
        let mut list = vec![
            json!({"name": "A", "value": "1"}),
            json!({"name": "B", "value": "2"}),
        ];
        upsert(
            &mut list,
            &[("B".into(), "20".into()), ("C".into(), "3".into())],
            "value",
        );
        assert_eq!(
            list,
            vec![
                json!({"name": "A", "value": "1"}),
                json!({"name": "B", "value": "20"}),
                json!({"name": "C", "value": "3"})
            ]
        );
    }
}
