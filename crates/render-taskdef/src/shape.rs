//! The RegisterTaskDefinition shape, derived from the SDK's own model (its runtime schemas), so
//! the keys we accept, and the describe-only keys we drop, follow the SDK version: no hand list.

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{
    ContainerDefinition, KeyValuePair, LogConfiguration, PortMapping, Secret,
};
use serde_json::{Map, Value};

/// The structures we validate key by key. Deeper structures (healthCheck, linuxParameters, ...)
/// pass through as they are; ECS validates them on registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Task,
    Container,
    LogConfiguration,
    PortMapping,
    KeyValue,
    Secret,
}

impl Shape {
    /// The member names ECS accepts here, in the model's order.
    pub fn keys(self) -> Vec<&'static str> {
        let schema = match self {
            Shape::Task => RegisterTaskDefinitionInput::SCHEMA,
            Shape::Container => ContainerDefinition::SCHEMA,
            Shape::LogConfiguration => LogConfiguration::SCHEMA,
            Shape::PortMapping => PortMapping::SCHEMA,
            Shape::KeyValue => KeyValuePair::SCHEMA,
            Shape::Secret => Secret::SCHEMA,
        };
        schema
            .members()
            .iter()
            .filter_map(|member| member.member_name())
            .collect()
    }

    fn name(self) -> &'static str {
        match self {
            Shape::Task => "task definition",
            Shape::Container => "container definition",
            Shape::LogConfiguration => "logConfiguration",
            Shape::PortMapping => "port mapping",
            Shape::KeyValue => "environment entry",
            Shape::Secret => "secrets entry",
        }
    }

    /// Nested structures validated in turn: (shape, is a list of them).
    fn child(self, key: &str) -> Option<(Shape, bool)> {
        match (self, key) {
            (Shape::Task, "containerDefinitions") => Some((Shape::Container, true)),
            (Shape::Container, "logConfiguration") => Some((Shape::LogConfiguration, false)),
            (Shape::Container, "portMappings") => Some((Shape::PortMapping, true)),
            (Shape::Container, "environment") => Some((Shape::KeyValue, true)),
            (Shape::Container, "secrets") => Some((Shape::Secret, true)),
            _ => None,
        }
    }
}

/// The closest valid key, when one is close enough to be a typo.
fn suggest(key: &str, valid: &[&'static str]) -> Option<&'static str> {
    valid
        .iter()
        .map(|candidate| {
            (
                strsim::jaro_winkler(&key.to_ascii_lowercase(), &candidate.to_ascii_lowercase()),
                *candidate,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// Checks every key of `value` (a `shape` at `path`), recursing into the structures we know.
pub fn validate(value: &Value, shape: Shape, path: &str) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err(format!("{path} must be a JSON object ({})", shape.name()));
    };
    let valid = shape.keys();
    for (key, child) in object {
        if !valid.contains(&key.as_str()) {
            let hint = suggest(key, &valid).map_or_else(
                || format!("valid keys are {}", valid.join(", ")),
                |close| format!("did you mean `{close}`?"),
            );
            return Err(format!(
                "unknown key `{key}` in {path} ({}): {hint}",
                shape.name()
            ));
        }
        match shape.child(key) {
            Some((inner, true)) => {
                let Some(items) = child.as_array() else {
                    return Err(format!("{path}.{key} must be a JSON array"));
                };
                for (index, item) in items.iter().enumerate() {
                    validate(item, inner, &format!("{path}.{key}[{index}]"))?;
                }
            }
            Some((inner, false)) => validate(child, inner, &format!("{path}.{key}"))?,
            None => {}
        }
    }
    Ok(())
}

/// Keeps only the keys RegisterTaskDefinition accepts: what DescribeTaskDefinition adds
/// (taskDefinitionArn, revision, status, registeredAt, ... and whatever comes next) goes.
pub fn registrable(mut task: Map<String, Value>) -> Map<String, Value> {
    let valid = Shape::Task.keys();
    task.retain(|key, _| valid.contains(&key.as_str()));
    task
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_sets_come_from_the_sdk_model() {
        let task = Shape::Task.keys();
        for key in [
            "family",
            "containerDefinitions",
            "taskRoleArn",
            "executionRoleArn",
            "cpu",
            "memory",
            "tags",
        ] {
            assert!(task.contains(&key), "{key} in {task:?}");
        }
        for describe_only in [
            "taskDefinitionArn",
            "revision",
            "status",
            "requiresAttributes",
            "compatibilities",
            "registeredAt",
            "registeredBy",
            "deregisteredAt",
        ] {
            assert!(
                !task.contains(&describe_only),
                "{describe_only} is not registrable"
            );
        }
        assert!(Shape::Container.keys().contains(&"image"));
        assert_eq!(Shape::KeyValue.keys(), ["name", "value"]);
        assert_eq!(Shape::Secret.keys(), ["name", "valueFrom"]);
    }

    #[test]
    fn unknown_keys_are_named_with_the_closest_valid_key() {
        let task = json!({"family": "api", "containerDefinitions": [{"name": "web", "imag": "x"}]});
        let error = validate(&task, Shape::Task, "task definition").unwrap_err();
        assert_eq!(
            error,
            "unknown key `imag` in task definition.containerDefinitions[0] (container definition): did you mean `image`?"
        );
        let task = json!({"family": "api", "containerDefinitions": [], "taskRole": "x"});
        let error = validate(&task, Shape::Task, "task definition").unwrap_err();
        assert!(error.ends_with("did you mean `taskRoleArn`?"), "{error}");
        let task = json!({"zzzzzz": 1});
        assert!(
            validate(&task, Shape::Task, "t")
                .unwrap_err()
                .contains("valid keys are ")
        );
    }

    #[test]
    fn nested_structures_are_checked() {
        let task = json!({"containerDefinitions": [{"name": "web", "logConfiguration": {"logDriver": "awslogs", "option": {}}}]});
        let error = validate(&task, Shape::Task, "t").unwrap_err();
        assert!(
            error.contains("`option`") && error.contains("did you mean `options`?"),
            "{error}"
        );
        let task = json!({"containerDefinitions": [{"name": "web", "environment": [{"name": "A", "valu": "1"}]}]});
        assert!(
            validate(&task, Shape::Task, "t")
                .unwrap_err()
                .contains("did you mean `value`?")
        );
        assert!(
            validate(&json!({"containerDefinitions": {}}), Shape::Task, "t")
                .unwrap_err()
                .contains("must be a JSON array")
        );
    }

    #[test]
    fn describe_only_fields_are_dropped() {
        let described = json!({"taskDefinitionArn": "arn", "family": "api", "revision": 3, "status": "ACTIVE", "someFutureField": 1, "cpu": "256"});
        let kept = registrable(described.as_object().cloned().unwrap());
        assert_eq!(Value::Object(kept), json!({"family": "api", "cpu": "256"}));
    }
}
