use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::register_task_definition::{
    RegisterTaskDefinitionInput, RegisterTaskDefinitionOutput,
};
use aws_sdk_ecs::types::TaskDefinition;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_render_taskdef::register::{images, read, register};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const TASK: &str = r#"{
  "family": "api",
  "cpu": "256",
  "memory": "512",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "executionRoleArn": "arn:aws:iam::1:role/exec",
  "containerDefinitions": [
    {"name": "web", "image": "web:2", "essential": true,
     "environment": [{"name": "RELEASE", "value": "2"}]}
  ]
}"#;

#[tokio::test]
async fn a_rendered_file_is_registered_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = read(&write(&dir, "td.json", TASK)).unwrap();
    assert_eq!(images(&file.json), ["web=web:2"]);
    let rule = mock!(Client::register_task_definition)
        .match_requests(|r| {
            r.family() == Some("api")
                && r.cpu() == Some("256")
                && r.memory() == Some("512")
                && r.execution_role_arn() == Some("arn:aws:iam::1:role/exec")
                && r.container_definitions()[0].environment()[0].value() == Some("2")
                && r.requires_compatibilities().len() == 1
        })
        .then_output(|| {
            RegisterTaskDefinitionOutput::builder()
                .task_definition(
                    TaskDefinition::builder()
                        .task_definition_arn("arn:aws:ecs:us-east-1:1:task-definition/api:7")
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let arn = register(&client, &file).await.unwrap();
    assert_eq!(arn, "arn:aws:ecs:us-east-1:1:task-definition/api:7");
    assert_eq!(rule.num_calls(), 1);
}

#[test]
fn register_sends_every_field_the_model_has() {
    // src/register.rs copies RegisterTaskDefinitionInput field by field into the request (the SDK
    // has no way to send a whole input). A new SDK field must be added there: this count says
    // when. 17 are sent; `inferenceAccelerators` (deprecated, ECS refuses it) is refused by read.
    assert_eq!(RegisterTaskDefinitionInput::SCHEMA.members().len(), 18);
}

#[test]
fn a_describe_task_definition_file_is_accepted_and_bad_files_name_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let described = format!(
        r#"{{"taskDefinition": {}}}"#,
        TASK.replace(
            "\"family\": \"api\",",
            "\"family\": \"api\", \"revision\": 6, \"status\": \"ACTIVE\", \"taskDefinitionArn\": \"arn:aws:ecs:us-east-1:1:task-definition/api:6\","
        )
    );
    let file = read(&write(&dir, "described.json", &described)).unwrap();
    assert!(!file.json.contains_key("revision"));
    assert_eq!(file.request.family(), Some("api"));

    let cases = [
        ("missing.json", None, "input `task-definition`: cannot read"),
        ("text.json", Some("family: api"), "is not JSON"),
        ("array.json", Some("[]"), "must hold a JSON object"),
        (
            "typo.json",
            Some(r#"{"family": "api", "containerDefinitions": [{"name": "web", "imag": "x"}]}"#),
            "imag",
        ),
        (
            "nofamily.json",
            Some(r#"{"containerDefinitions": [{"name": "web", "image": "x"}]}"#),
            "family",
        ),
        (
            "elastic.json",
            Some(
                r#"{"family": "api", "containerDefinitions": [], "inferenceAccelerators": [{"deviceName": "d", "deviceType": "eia2.medium"}]}"#,
            ),
            "ECS no longer supports",
        ),
    ];
    for (name, text, expected) in cases {
        let path = match text {
            Some(text) => write(&dir, name, text),
            None => dir.path().join(name),
        };
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains(expected), "{name}: {error}");
        assert!(
            error.starts_with("input `task-definition`"),
            "{name}: {error}"
        );
    }
}
