use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::register_task_definition::{
    RegisterTaskDefinitionInput, RegisterTaskDefinitionOutput,
};
use aws_sdk_ecs::types::TaskDefinition;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_ecs::{images, register};
use deploy_kit_render_taskdef::task_file::parse;

/// One line: the file's layout is render-taskdef's concern (its task_file tests).
const TASK: &str = r#"{"family": "api", "cpu": "256", "memory": "512", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "executionRoleArn": "arn:aws:iam::1:role/exec", "containerDefinitions": [{"name": "web", "image": "web:2", "essential": true, "environment": [{"name": "RELEASE", "value": "2"}]}]}"#;

#[tokio::test]
async fn a_rendered_file_is_registered_with_every_field() {
    let file = parse("`td.json`", TASK).unwrap();
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
    // deploy-kit-ecs src/register.rs copies RegisterTaskDefinitionInput field by field into the request (the SDK
    // has no way to send a whole input). A new SDK field must be added there: this count says
    // when. 17 are sent; `inferenceAccelerators` (deprecated, ECS refuses it) is refused by read.
    assert_eq!(RegisterTaskDefinitionInput::SCHEMA.members().len(), 18);
}
