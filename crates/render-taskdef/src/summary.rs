//! What changed, for the step summary: per container, then for the task. Secrets by name only,
//! never their values (not even the ARN: a secret's name can say too much).

use deploy_kit_gha::summary::{Table, code};
use serde_json::{Map, Value};

/// (name, value) of each entry of the list at `key` (`environment`, `secrets`).
fn named(container: &Value, key: &str, field: &str) -> Vec<(String, String)> {
    container
        .get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| {
                    let name = e.get("name")?.as_str()?.to_owned();
                    let value = e
                        .get(field)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    Some((name, value))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn by_name<'a>(task: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    task.get("containerDefinitions")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
}

fn names(list: &[&str]) -> String {
    list.iter().map(|n| code(n)).collect::<Vec<_>>().join(", ")
}

/// `added: A; changed: B; removed: C` between two name/value lists, or `-`.
fn diff(old: &[(String, String)], new: &[(String, String)]) -> String {
    let added: Vec<&str> = new
        .iter()
        .filter(|(n, _)| !old.iter().any(|(o, _)| o == n))
        .map(|(n, _)| n.as_str())
        .collect();
    let changed: Vec<&str> = new
        .iter()
        .filter(|(n, v)| old.iter().any(|(o, ov)| o == n && ov != v))
        .map(|(n, _)| n.as_str())
        .collect();
    let removed: Vec<&str> = old
        .iter()
        .filter(|(o, _)| !new.iter().any(|(n, _)| n == o))
        .map(|(o, _)| o.as_str())
        .collect();
    let parts: Vec<String> = [("added", added), ("changed", changed), ("removed", removed)]
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(label, list)| format!("{label}: {}", names(&list)))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
}

fn image_cell(old: &Value, new: &Value) -> String {
    let image = |c: &Value| {
        c.get("image")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (before, after) = (image(old), image(new));
    if before == after {
        if after.is_empty() {
            "-".into()
        } else {
            code(&after)
        }
    } else {
        format!("{} → {}", code(&before), code(&after))
    }
}

/// The other settings render-taskdef edits, named when they changed.
fn other_cell(old: &Value, new: &Value) -> String {
    let changed: Vec<&str> = ["command", "logConfiguration", "dockerLabels"]
        .into_iter()
        .filter(|key| old.get(key) != new.get(key))
        .collect();
    if changed.is_empty() {
        "-".into()
    } else {
        names(&changed)
    }
}

/// Task-level settings that changed, with before and after (none of them is secret).
fn task_changes(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    let shown = |v: Option<&Value>| match v {
        None => "(none)".to_owned(),
        Some(Value::String(s)) => code(s),
        Some(other) => code(&other.to_string()),
    };
    ["family", "cpu", "memory", "taskRoleArn", "executionRoleArn"]
        .into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            format!(
                "- {}: {} → {}",
                code(key),
                shown(before.get(key)),
                shown(after.get(key))
            )
        })
        .collect()
}

/// The Markdown report: one row per container, then the task-level changes.
pub fn changes(before: &Map<String, Value>, after: &Map<String, Value>, output: &str) -> String {
    let mut table = Table::new(["container", "image", "environment", "secrets", "other"]);
    let containers = after
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for container in containers {
        let name = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let old = by_name(before, name).unwrap_or(&Value::Null);
        // Compare secrets by valueFrom so a moved secret shows as changed, but print names only.
        let secrets = diff(
            &named(old, "secrets", "valueFrom"),
            &named(container, "secrets", "valueFrom"),
        );
        table.row([
            code(name),
            image_cell(old, container),
            diff(
                &named(old, "environment", "value"),
                &named(container, "environment", "value"),
            ),
            secrets,
            other_cell(old, container),
        ]);
    }
    let mut report = format!("### Rendered task definition\n\n{}", table.render());
    let task = task_changes(before, after);
    if !task.is_empty() {
        report.push_str(&format!("\nTask:\n{}\n", task.join("\n")));
    }
    report.push_str(&format!("\nWritten to {}.\n", code(output)));
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn secret_values_never_appear() {
        let before = task(
            json!({"containerDefinitions": [{"name": "web", "secrets": [{"name": "DB", "valueFrom": "arn:old-secret-name"}]}]}),
        );
        let after = task(
            json!({"containerDefinitions": [{"name": "web", "secrets": [{"name": "DB", "valueFrom": "arn:new-secret-name"}, {"name": "API", "valueFrom": "arn:api-secret-name"}]}]}),
        );
        let report = changes(&before, &after, "/tmp/x.json");
        assert!(report.contains("added: `API`; changed: `DB`"), "{report}");
        assert!(!report.contains("secret-name"), "{report}");
    }

    #[test]
    fn task_level_and_other_changes_are_listed() {
        let before = task(
            json!({"family": "api", "cpu": "256", "containerDefinitions": [{"name": "web", "command": ["a"]}]}),
        );
        let after = task(
            json!({"family": "api", "cpu": "512", "memory": "1024", "containerDefinitions": [{"name": "web", "command": ["b"]}]}),
        );
        let report = changes(&before, &after, "/tmp/x.json");
        assert!(
            report.contains("| `web` | - | - | - | `command` |"),
            "{report}"
        );
        assert!(
            report.contains("- `cpu`: `256` → `512`\n- `memory`: (none) → `1024`"),
            "{report}"
        );
        assert!(!report.contains("`family`"), "{report}");
    }
}
