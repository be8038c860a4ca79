//! `dry-run`: after the pre-flight, show what a deployment would change (the task definition,
//! key by key, and the service's deployment settings) and write nothing.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::DeploymentConfiguration;
use serde_json::{Map, Value};

use crate::Error;
use deploy_kit_ecs::Target;

use crate::input::Input;
use crate::preflight::Service;
use crate::update;
use deploy_kit_gha::Runner;

/// One changed leaf: its path, the value before and after (`None` = absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.before, &self.after) {
            (None, Some(after)) => write!(f, "+ {}: {after}", self.path),
            (Some(before), None) => write!(f, "- {}: {before}", self.path),
            (Some(before), Some(after)) => write!(f, "~ {}: {before} -> {after}", self.path),
            (None, None) => write!(f, "  {}", self.path),
        }
    }
}

/// The leaves of two JSON documents that differ, in path order.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let (mut old, mut new) = (Vec::new(), Vec::new());
    flatten(before, String::new(), &mut old);
    flatten(after, String::new(), &mut new);
    let mut paths: Vec<&String> = old.iter().chain(new.iter()).map(|(p, _)| p).collect();
    paths.sort();
    paths.dedup();
    let find = |list: &[(String, String)], path: &str| {
        list.iter().find(|(p, _)| p == path).map(|(_, v)| v.clone())
    };
    paths
        .into_iter()
        .filter_map(|path| {
            let (b, a) = (find(&old, path), find(&new, path));
            let filled_in = a.is_none() && b.as_deref().is_some_and(|b| ecs_default(path, b));
            (b != a && !filled_in).then(|| Change {
                path: path.clone(),
                before: b,
                after: a,
            })
        })
        .collect()
}

/// A value ECS fills in when the registered definition left it out: the live revision shows it,
/// the file does not, and nothing would change.
fn ecs_default(path: &str, value: &str) -> bool {
    let in_container = path.starts_with("containerDefinitions[");
    in_container
        && ((path.ends_with(".cpu") && value == "0")
            || (path.ends_with(".essential") && value == "true"))
}

fn flatten(value: &Value, path: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let next = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(child, next, out);
            }
        }
        // Containers are matched by name, environment entries by name: order is not a change.
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let label = item
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| index.to_string(), str::to_owned);
                flatten(item, format!("{path}[{label}]"), out);
            }
        }
        other => out.push((path, other.to_string())),
    }
}

/// The deployment settings that would change, as readable lines.
pub fn service_changes(input: &Input, service: &Service, task_definition: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let current = service.task_definition.as_deref().unwrap_or("(none)");
    if current != task_definition {
        lines.push(format!("taskDefinition: {current} -> {task_definition}"));
    }
    let before = service
        .config
        .clone()
        .unwrap_or_else(|| DeploymentConfiguration::builder().build());
    let after = update::deployment_configuration(
        input,
        &input.alarms,
        service.config.as_ref(),
        &service.strategy,
    );
    let fields: [(&str, String, String); 7] = [
        (
            "strategy",
            shown(before.strategy()),
            shown(after.strategy()),
        ),
        (
            "bakeTimeInMinutes",
            shown(before.bake_time_in_minutes()),
            shown(after.bake_time_in_minutes()),
        ),
        (
            "canaryConfiguration",
            shown(before.canary_configuration()),
            shown(after.canary_configuration()),
        ),
        (
            "linearConfiguration",
            shown(before.linear_configuration()),
            shown(after.linear_configuration()),
        ),
        ("alarms", shown(before.alarms()), shown(after.alarms())),
        (
            "deploymentCircuitBreaker",
            shown(before.deployment_circuit_breaker()),
            shown(after.deployment_circuit_breaker()),
        ),
        (
            "lifecycleHooks",
            format!("{} hook(s)", before.lifecycle_hooks().len()),
            format!("{} hook(s)", after.lifecycle_hooks().len()),
        ),
    ];
    for (name, old, new) in fields {
        if old != new {
            lines.push(format!("deploymentConfiguration.{name}: {old} -> {new}"));
        }
    }
    if let Some(count) = input.desired_count
        && count != service.desired_count
    {
        lines.push(format!(
            "desiredCount: {} -> {count}",
            service.desired_count
        ));
    }
    if input.force_new_deployment {
        lines.push("forceNewDeployment: true".to_owned());
    }
    lines
}

fn shown<T: std::fmt::Debug>(value: Option<T>) -> String {
    value.map_or_else(|| "(unset)".to_owned(), |v| format!("{v:?}"))
}

/// The live task definition `reference` as registrable JSON (for the diff).
pub async fn live_json(client: &Client, reference: &str) -> Result<Map<String, Value>, String> {
    deploy_kit_render_taskdef::from_live(client, reference)
        .await
        .map(|registrable| registrable.task)
        .map_err(|error| error.to_string())
}

/// Prints and summarises what would change; writes nothing.
pub async fn show(
    client: &Client,
    input: &Input,
    service: &Service,
    target: &Target,
    runner: &Runner,
) -> Result<(), Error> {
    let (new_json, target) = match target {
        Target::Register(file) => (
            Ok(file.json.clone()),
            format!("(new revision from {})", file.path.display()),
        ),
        Target::Existing(arn) => (live_json(client, arn).await, arn.clone()),
    };
    let live_json = match &service.task_definition {
        Some(current) => live_json(client, current).await,
        None => Ok(Map::new()),
    };
    let mut lines = service_changes(input, service, &target);
    match (live_json, new_json) {
        (Ok(live), Ok(new)) => lines.extend(
            diff(&Value::Object(live), &Value::Object(new))
                .iter()
                .map(|change| format!("task definition {change}")),
        ),
        (Err(error), _) | (_, Err(error)) => {
            runner.warning(format!("cannot diff the task definitions: {error}"));
        }
    }
    {
        let _group = runner.group("dry run: what would change");
        if lines.is_empty() {
            runner.info("nothing would change");
        }
        for line in &lines {
            runner.info(line);
        }
    }
    let mut markdown = format!(
        "### ecs-blue-green dry run: service `{}` in cluster `{}`\n\n",
        input.service.name, input.service.cluster
    );
    markdown.push_str("```diff\n");
    for line in &lines {
        markdown.push_str(line);
        markdown.push('\n');
    }
    markdown.push_str("```\n");
    crate::summary::write_summary(runner, &markdown);
    runner.notice("dry run: nothing was written");
    Ok(())
}
