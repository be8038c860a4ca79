//! Which keys a task definition may have, and which ones only DescribeTaskDefinition adds: both
//! from the SDK's model (its runtime schemas and deserializers, see `model`), never a hand list,
//! so they move with the SDK.

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::TaskDefinition;
use aws_smithy_schema::Schema;
use serde_json::{Map, Value};

use crate::model::{self, Path, Step};

fn member_names(schema: &'static Schema<'static>) -> Vec<&'static str> {
    schema
        .members()
        .iter()
        .filter_map(|member| member.member_name())
        .collect()
}

/// The top-level keys RegisterTaskDefinition accepts, in the model's order.
pub fn task_keys() -> Vec<&'static str> {
    member_names(RegisterTaskDefinitionInput::SCHEMA)
}

/// The keys a described task definition has that cannot be registered: `taskDefinitionArn`,
/// `revision`, `status`, ... (whatever the model says today).
pub fn describe_only() -> Vec<&'static str> {
    let registrable = task_keys();
    member_names(TaskDefinition::SCHEMA)
        .into_iter()
        .filter(|key| !registrable.contains(key))
        .collect()
}

/// Removes the describe-only keys from a task definition and returns their names. A file saved
/// from `aws ecs describe-task-definition` has them; they are ECS's bookkeeping, not settings.
pub fn drop_describe_only(task: &mut Map<String, Value>) -> Vec<String> {
    let describe_only = describe_only();
    let found: Vec<String> = task
        .keys()
        .filter(|key| describe_only.contains(&key.as_str()))
        .cloned()
        .collect();
    task.retain(|key, _| !describe_only.contains(&key.as_str()));
    found
}

/// A live task definition made registrable, and what had to go.
#[derive(Debug, Clone, PartialEq)]
pub struct Registrable {
    pub task: Map<String, Value>,
    /// Paths of fields this SDK's model does not know (newer than this deploy-kit): dropped,
    /// because RegisterTaskDefinition through this SDK could not send them anyway.
    pub unknown: Vec<String>,
}

/// Keeps only what RegisterTaskDefinition accepts, at every depth: the describe-only keys go
/// silently, any other key the model does not have is dropped and reported.
pub fn registrable(mut task: Map<String, Value>) -> Registrable {
    drop_describe_only(&mut task);
    let mut value = Value::Object(task);
    let paths = model::unknown_keys(&value);
    for path in &paths {
        remove(&mut value, path);
    }
    let task = match value {
        Value::Object(task) => task,
        _ => Map::new(),
    };
    Registrable {
        task,
        unknown: paths.iter().map(ToString::to_string).collect(),
    }
}

/// Removes the key at `path`. Only keys are ever removed, never list items, so the other paths
/// found in the same walk stay valid.
fn remove(value: &mut Value, path: &Path) {
    let Some((Step::Key(last), parents)) = path.0.split_last() else {
        return;
    };
    let mut at = value;
    for step in parents {
        let next = match step {
            Step::Key(key) => at.get_mut(key.as_str()),
            Step::Index(index) => at.get_mut(*index),
        };
        match next {
            Some(next) => at = next,
            None => return,
        }
    }
    if let Some(object) = at.as_object_mut() {
        // shift_remove keeps the order of the keys that stay.
        object.shift_remove(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_sets_come_from_the_sdk_model() {
        let task = task_keys();
        for key in [
            "family",
            "containerDefinitions",
            "taskRoleArn",
            "executionRoleArn",
            "cpu",
            "memory",
            "tags",
            "enableFaultInjection",
        ] {
            assert!(task.contains(&key), "{key} in {task:?}");
        }
        let describe_only = describe_only();
        // The fields aws-actions/amazon-ecs-render-task-definition strips by hand; the model
        // gives at least these, and any ECS adds later.
        for key in [
            "taskDefinitionArn",
            "revision",
            "status",
            "requiresAttributes",
            "compatibilities",
            "registeredAt",
            "registeredBy",
            "deregisteredAt",
        ] {
            assert!(describe_only.contains(&key), "{key} in {describe_only:?}");
            assert!(!task.contains(&key), "{key} is not registrable");
        }
    }

    #[test]
    fn describe_only_fields_are_dropped_and_named() {
        let mut task =
            json!({"taskDefinitionArn": "arn", "family": "api", "revision": 3, "cpu": "256"})
                .as_object()
                .cloned()
                .unwrap_or_default();
        assert_eq!(
            drop_describe_only(&mut task),
            ["taskDefinitionArn", "revision"]
        );
        assert_eq!(Value::Object(task), json!({"family": "api", "cpu": "256"}));
    }

    #[test]
    fn registrable_drops_unknown_keys_at_any_depth_keeping_order() {
        let described = json!({
            "taskDefinitionArn": "arn", "family": "api", "status": "ACTIVE", "someFutureField": 1,
            "containerDefinitions": [{"name": "web", "futureFlag": true, "image": "web:1"}],
            "cpu": "256"
        });
        let kept = registrable(described.as_object().cloned().unwrap_or_default());
        assert_eq!(
            Value::Object(kept.task),
            json!({"family": "api", "containerDefinitions": [{"name": "web", "image": "web:1"}], "cpu": "256"})
        );
        assert_eq!(
            kept.unknown,
            ["someFutureField", "containerDefinitions[0].futureFlag"]
        );
        let keys: Vec<String> = registrable(described.as_object().cloned().unwrap_or_default())
            .task
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["family", "containerDefinitions", "cpu"]);
    }
}
