//! Applying the edits to the task definition JSON, in place, keeping key order.

use serde_json::{Map, Value, json};

use crate::input::{ContainerEdits, Input};

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

pub fn containers(task: &Map<String, Value>) -> &[Value] {
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
            error(
                input,
                format!(
                    "container `{name}` not found in {source}: containers are {}",
                    listed(&names)
                ),
            )
        })
}

fn entry_names<'a>(container: &'a Value, key: &str) -> Vec<&'a str> {
    container
        .get(key)
        .and_then(Value::as_array)
        .map(|list| list.iter().map(name_of).collect())
        .unwrap_or_default()
}

/// Environment and secrets of one container: each name once, and never in both lists.
fn check_variables(container: &Value, name: &str, source: &str) -> Result<(), String> {
    let environment = entry_names(container, "environment");
    let secrets = entry_names(container, "secrets");
    let unnamed = |key: &str, names: &[&str]| {
        names.iter().position(|n| n.is_empty()).map(|at| {
            format!("container `{name}` in {source} has an entry without a `name` at `{key}[{at}]`")
        })
    };
    if let Some(problem) =
        unnamed("environment", &environment).or_else(|| unnamed("secrets", &secrets))
    {
        return Err(problem);
    }
    if let Some((secret, _)) = named_values(container, "secrets", "valueFrom")
        .into_iter()
        .find(|(_, from)| from.is_empty())
    {
        return Err(format!(
            "container `{name}` in {source}: secret `{secret}` has no `valueFrom` (a Secrets Manager or SSM ARN/name)"
        ));
    }
    for (key, names) in [("environment", &environment), ("secrets", &secrets)] {
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = names.iter().find(|n| !seen.insert(**n)) {
            return Err(format!(
                "container `{name}` in {source} has `{twice}` twice in `{key}`"
            ));
        }
    }
    if let Some(both) = environment.iter().find(|n| secrets.contains(n)) {
        return Err(format!(
            "container `{name}` in {source} has `{both}` both in `environment` and in `secrets`: keep one"
        ));
    }
    Ok(())
}

/// Checks the template's own invariants: containers exist, have unique names, and their
/// variables are not given twice.
pub fn check_containers(
    task: &Map<String, Value>,
    input: &'static str,
    source: &str,
) -> Result<(), EditError> {
    let list = containers(task);
    if list.is_empty() {
        return Err(error(
            input,
            format!("{source} has no containerDefinitions"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (index, container) in list.iter().enumerate() {
        let Some(name) = container.get("name").and_then(Value::as_str) else {
            return Err(error(
                input,
                format!("containerDefinitions[{index}] in {source} has no `name`"),
            ));
        };
        if !seen.insert(name) {
            return Err(error(
                input,
                format!("container `{name}` appears twice in {source}"),
            ));
        }
        check_variables(container, name, source).map_err(|message| error(input, message))?;
    }
    Ok(())
}

/// Applies every edit of `input` to `task`; returns notes worth a warning.
pub fn apply(
    task: &mut Map<String, Value>,
    input: &Input,
    source: &str,
) -> Result<Vec<String>, EditError> {
    for (name, image, which) in &input.images {
        container_mut(task, name, which, source)?
            .insert("image".into(), Value::String(image.clone()));
    }
    let mut notes = Vec::new();
    if !input.edits.is_empty() {
        let name = edited_container(task, input)?;
        let container = container_mut(task, &name, "container-name", source)?;
        notes = edit_container(container, &input.edits)
            .map_err(|(input, message)| error(input, format!("container `{name}`: {message}")))?
            .into_iter()
            .map(|note| format!("container `{name}`: {note}"))
            .collect();
    }
    let settings = &input.task;
    for (key, value) in [
        ("cpu", &settings.cpu),
        ("memory", &settings.memory),
        ("taskRoleArn", &settings.task_role_arn),
        ("executionRoleArn", &settings.execution_role_arn),
        ("family", &settings.family),
    ] {
        if let Some(value) = value {
            task.insert(key.into(), Value::String(value.clone()));
        }
    }
    if task
        .get("family")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(error(
            "family",
            format!("{source} has no `family`: add one to the file or set the `family` input"),
        ));
    }
    Ok(notes)
}

/// The container that gets the environment, secrets, command, ...: `container-name`, or the
/// only container there is.
fn edited_container(task: &Map<String, Value>, input: &Input) -> Result<String, EditError> {
    if let Some(name) = &input.container {
        return Ok(name.clone());
    }
    match container_names(task).as_slice() {
        [only] => Ok(only.clone()),
        names => Err(error(
            "container-name",
            format!(
                "is required to say which container gets the environment, secrets, command, log options or labels: containers are {}",
                listed(names)
            ),
        )),
    }
}

fn listed(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

fn edit_container(
    container: &mut Map<String, Value>,
    edits: &ContainerEdits,
) -> Result<Vec<String>, Fail> {
    let mut notes = Vec::new();
    edit_list(container, "environment", |environment| {
        for name in &edits.remove_environment {
            if !environment.iter().any(|e| name_of(e) == name) {
                notes.push(format!(
                    "`{name}` is not set, so there is nothing to remove"
                ));
            }
        }
        environment.retain(|e| !edits.remove_environment.iter().any(|r| r == name_of(e)));
        upsert(environment, &edits.environment, "value");
        // A secret replaces a plaintext variable of the same name.
        environment.retain(|e| !edits.secrets.iter().any(|(s, _)| s == name_of(e)));
    })?;
    edit_list(container, "secrets", |secrets| {
        upsert(secrets, &edits.secrets, "valueFrom")
    })?;
    if let Some(command) = &edits.command {
        container.insert("command".into(), json!(command));
    }
    if let Some(driver) = &edits.log_driver {
        let log = container
            .entry("logConfiguration")
            .or_insert_with(|| json!({}));
        let Some(log) = log.as_object_mut() else {
            return Err((
                "task-definition",
                "`logConfiguration` must be an object".into(),
            ));
        };
        log.insert("logDriver".into(), Value::String(driver.clone()));
    }
    if !edits.env_files.is_empty() {
        // Replaced, not merged, as aws-actions does: the input is the whole list.
        let files: Vec<Value> = edits
            .env_files
            .iter()
            .map(|arn| json!({"value": arn, "type": "s3"}))
            .collect();
        container.insert("environmentFiles".into(), Value::Array(files));
    }
    if !edits.log_options.is_empty() {
        let Some(options) = container
            .get_mut("logConfiguration")
            .and_then(Value::as_object_mut)
            .map(|log| log.entry("options").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
        else {
            return Err(("log-configuration-options", "has no `logConfiguration` to add options to: give it a `logDriver` in the template or set `log-configuration-log-driver`".into()));
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
    Ok(notes)
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

/// (name, field) of each entry of the list at `key` (`environment` / `value`, ...).
pub fn named_values<'a>(container: &'a Value, key: &str, field: &str) -> Vec<(&'a str, &'a str)> {
    container
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|entry| {
            let name = entry.get("name")?.as_str()?;
            Some((
                name,
                entry.get(field).and_then(Value::as_str).unwrap_or_default(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
