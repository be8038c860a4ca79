//! Reads task-definition JSON through the AWS SDK's own generated deserializers.
//!
//! `RegisterTaskDefinitionInput::deserialize` walks the request shape member by member, calling
//! `read_struct` with the schema of every nested structure (ContainerDefinition, LogConfiguration,
//! HealthCheck, ...). [`Reader`] is the other side of that walk, over a `serde_json::Value`: it
//! sees each structure's schema as the SDK reaches it, so every key at every level is checked
//! against the model the SDK was generated from, and every value against its member's type. No
//! key list is written by hand, and a new SDK brings its new fields with it.

use std::cell::RefCell;
use std::fmt;

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use serde_json::Value;

use crate::reader::Reader;

/// A place in the document, e.g. `containerDefinitions[0].logConfiguration`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Step>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

impl Path {
    pub fn join(&self, step: Step) -> Path {
        let mut steps = self.0.clone();
        steps.push(step);
        Path(steps)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if index == 0 => write!(f, "{key}")?,
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Index(at) => write!(f, "[{at}]")?,
            }
        }
        Ok(())
    }
}

/// What a walk found: the first problem (strict), or every key the model does not have.
#[derive(Debug, Default)]
pub struct Findings {
    /// Unknown keys are an error (a file), or collected for removal (a live definition).
    pub strict: bool,
    pub problem: Option<String>,
    pub unknown: Vec<Path>,
}

/// Checks `task` against the RegisterTaskDefinition request shape: every key known, every value
/// of its member's type, every required member present. The error gives the path.
pub fn check(task: &Value) -> Result<(), String> {
    to_input(task).map(drop)
}

/// `task` as the SDK's typed RegisterTaskDefinition input, checked as by [`check`]: what a
/// deploy step registers, without a conversion of its own.
pub fn to_input(task: &Value) -> Result<RegisterTaskDefinitionInput, String> {
    let (findings, input) = walk(task, true);
    match (findings.problem, input) {
        (None, Some(input)) => Ok(input),
        (problem, _) => Err(problem.unwrap_or_else(|| "does not match the ECS model".into())),
    }
}

/// The paths of every key the model does not have, at any depth (nothing else is checked).
pub fn unknown_keys(task: &Value) -> Vec<Path> {
    walk(task, false).0.unknown
}

fn walk(task: &Value, strict: bool) -> (Findings, Option<RegisterTaskDefinitionInput>) {
    let findings = RefCell::new(Findings {
        strict,
        ..Findings::default()
    });
    let result = RegisterTaskDefinitionInput::deserialize(&mut Reader {
        value: task,
        path: Path::default(),
        findings: &findings,
    });
    let mut findings = findings.into_inner();
    match result {
        Ok(input) => (findings, Some(input)),
        Err(error) => {
            // An error the SDK raised itself (a required member missing at the top level).
            findings.problem.get_or_insert_with(|| error.to_string());
            (findings, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problem(task: Value) -> String {
        check(&task).unwrap_err()
    }

    #[test]
    fn a_valid_task_definition_passes() {
        let task = json!({
            "family": "api",
            "cpu": "256",
            "containerDefinitions": [{
                "name": "web", "image": "web:1", "cpu": 0, "essential": true,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "environment": [{"name": "A", "value": "1"}],
                "dockerLabels": {"x": "y"},
                "healthCheck": {"command": ["CMD", "true"], "interval": 10},
                "logConfiguration": {"logDriver": "awslogs", "options": {"a": "b"}}
            }],
            "volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]
        });
        assert_eq!(check(&task), Ok(()));
    }

    #[test]
    fn unknown_keys_at_any_depth_name_their_path_and_the_closest_key() {
        assert_eq!(
            problem(json!({"containerDefinitions": [{"name": "web", "imag": "x"}]})),
            "unknown key `imag` in `containerDefinitions[0]` (ContainerDefinition): did you mean `image`?"
        );
        assert_eq!(
            problem(json!({"taskRole": "x"})),
            "unknown key `taskRole` at the top level: did you mean `taskRoleArn`?"
        );
        let deep = json!({"containerDefinitions": [{"name": "w", "linuxParameters": {"capabilities": {"add": [], "dorp": []}}}]});
        assert_eq!(
            problem(deep),
            "unknown key `dorp` in `containerDefinitions[0].linuxParameters.capabilities` (KernelCapabilities): did you mean `drop`?"
        );
        let volume = json!({"volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs", "rootDirectory": "/", "transitEncryptionPort": 1, "authorizationConfig": {"iam": "ENABLED", "accesPointId": "a"}}}]});
        assert!(
            problem(volume).ends_with("did you mean `accessPointId`?"),
            "nested four levels down"
        );
        assert!(problem(json!({"zzzzzz": 1})).contains("valid keys are family, taskRoleArn"));
        assert!(
            problem(json!({"taskDefinition": {}}))
                .contains("use the object under `taskDefinition`")
        );
    }

    #[test]
    fn values_must_have_their_members_type() {
        assert_eq!(
            problem(json!({"cpu": 256})),
            "`cpu` must be a string, not `256` (write it in quotes: \"256\")"
        );
        assert_eq!(
            problem(json!({"containerDefinitions": [{"cpu": 0.5}]})),
            "`containerDefinitions[0].cpu` must be a whole number, not `0.5`"
        );
        assert_eq!(
            problem(json!({"containerDefinitions": [{"name": "w", "cpu": "256"}]})),
            "`containerDefinitions[0].cpu` must be a whole number, not a string"
        );
        assert_eq!(
            problem(json!({"containerDefinitions": [{"name": "w", "essential": "yes"}]})),
            "`containerDefinitions[0].essential` must be true or false, not a string"
        );
        assert_eq!(
            problem(json!({"containerDefinitions": {}})),
            "`containerDefinitions` must be an array, not an object"
        );
        assert_eq!(
            problem(json!({"containerDefinitions": [{"memory": 3_000_000_000_i64}]})),
            "`containerDefinitions[0].memory` is out of range: 3000000000 is not from -2147483648 to 2147483647"
        );
        assert_eq!(
            problem(json!([])),
            "the task definition must be an object, not an array"
        );
    }

    #[test]
    fn required_members_missing_deeper_down_are_located() {
        let error = problem(
            json!({"containerDefinitions": [{"name": "w", "logConfiguration": {"options": {}}}]}),
        );
        assert_eq!(
            error,
            "`containerDefinitions[0].logConfiguration` needs `logDriver`, which ECS requires"
        );
        // Required strings are not enforced by the SDK's deserializers (it fills in ""), so
        // edit::check_containers looks at `valueFrom` itself.
    }

    #[test]
    fn unknown_keys_are_collected_without_stopping() {
        let task = json!({"revision": 3, "containerDefinitions": [{"name": "w", "future": 1, "logConfiguration": {"logDriver": "awslogs", "later": {}}}]});
        let found: Vec<String> = unknown_keys(&task)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "revision",
                "containerDefinitions[0].future",
                "containerDefinitions[0].logConfiguration.later"
            ]
        );
    }
}
