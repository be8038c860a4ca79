//! What changed, per container, for the step summary. Secrets by name only, never values.

use deploy_kit_gha::summary::{Table, code};
use serde_json::{Map, Value};

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

/// One row per container: image, environment and secrets changes.
pub fn changes(before: &Map<String, Value>, after: &Map<String, Value>, output: &str) -> String {
    let mut table = Table::new(["container", "image", "environment", "secrets"]);
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
        let image = |c: &Value| {
            c.get("image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let image = if image(old) == image(container) {
            code(&image(container))
        } else {
            format!("{} → {}", code(&image(old)), code(&image(container)))
        };
        let (old_env, new_env) = (
            named(old, "environment", "value"),
            named(container, "environment", "value"),
        );
        let added: Vec<&str> = new_env
            .iter()
            .filter(|(n, _)| !old_env.iter().any(|(o, _)| o == n))
            .map(|(n, _)| n.as_str())
            .collect();
        let changed: Vec<&str> = new_env
            .iter()
            .filter(|(n, v)| old_env.iter().any(|(o, ov)| o == n && ov != v))
            .map(|(n, _)| n.as_str())
            .collect();
        let removed: Vec<&str> = old_env
            .iter()
            .filter(|(o, _)| !new_env.iter().any(|(n, _)| n == o))
            .map(|(o, _)| o.as_str())
            .collect();
        let mut env = Vec::new();
        for (label, list) in [
            ("added", &added),
            ("changed", &changed),
            ("removed", &removed),
        ] {
            if !list.is_empty() {
                env.push(format!("{label}: {}", names(list)));
            }
        }
        let (old_secrets, new_secrets) = (
            named(old, "secrets", "valueFrom"),
            named(container, "secrets", "valueFrom"),
        );
        let secret_changes: Vec<&str> = new_secrets
            .iter()
            .filter(|s| !old_secrets.contains(s))
            .map(|(n, _)| n.as_str())
            .collect();
        let secrets = if secret_changes.is_empty() {
            "-".to_owned()
        } else {
            format!("set: {}", names(&secret_changes))
        };
        table.row([
            code(name),
            image,
            if env.is_empty() {
                "-".into()
            } else {
                env.join("; ")
            },
            secrets,
        ]);
    }
    format!(
        "### Rendered task definition\n\n{}\nWritten to {}.\n",
        table.render(),
        code(output)
    )
}
