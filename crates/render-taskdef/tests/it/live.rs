use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use deploy_kit_render_taskdef::{Error, from_live};
use serde_json::{Value, json};

/// A DescribeTaskDefinition body as ECS sends it, with the describe-only fields and one that a
/// future ECS might add.
fn described() -> Value {
    json!({
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/api:7",
            "containerDefinitions": [{
                "name": "web",
                "image": "web:1",
                "cpu": 0,
                "essential": true,
                "environment": [{"name": "LOG_LEVEL", "value": "info"}],
                "restartPolicy": {"enabled": true, "restartAttemptPeriod": 60},
                "systemControls": []
            }],
            "family": "api",
            "taskRoleArn": "arn:aws:iam::123456789012:role/api-task",
            "networkMode": "awsvpc",
            "revision": 7,
            "status": "ACTIVE",
            "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"}],
            "compatibilities": ["EC2", "FARGATE"],
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "registeredAt": 1.7e9,
            "registeredBy": "arn:aws:sts::123456789012:assumed-role/deploy/gha",
            "enableFaultInjection": false,
            "someFieldFromTheFuture": {"x": 1}
        },
        "tags": []
    })
}

fn respond(status: u16, body: String) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

#[tokio::test]
async fn describe_only_fields_are_dropped_and_everything_registrable_survives() {
    let rule = mock!(Client::describe_task_definition)
        .match_requests(|request| request.task_definition() == Some("api"))
        .then_http_response(|| respond(200, described().to_string()));
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    let task = from_live(&client, "api").await.unwrap();
    assert_eq!(rule.num_calls(), 1);
    let keys: Vec<&str> = task.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "containerDefinitions",
            "family",
            "taskRoleArn",
            "networkMode",
            "requiresCompatibilities",
            "cpu",
            "memory",
            "enableFaultInjection"
        ]
    );
    // Container fields, including ones newer than most hand-written converters, are kept as sent.
    assert_eq!(
        task["containerDefinitions"],
        described()["taskDefinition"]["containerDefinitions"]
    );
}

#[tokio::test]
async fn aws_errors_read_code_and_message() {
    let rule = mock!(Client::describe_task_definition).then_http_response(|| {
        respond(
            400,
            r#"{"__type":"ClientException","message":"Unable to describe task definition."}"#
                .into(),
        )
    });
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    let error = from_live(&client, "nope:3").await.unwrap_err();
    assert!(matches!(error, Error::Describe { .. }));
    assert_eq!(
        error.to_string(),
        "cannot read task definition `nope:3`: ClientException: Unable to describe task definition."
    );
}

/// Registers the fixture's task definition in the local test bed (moto), as a deploy would.
pub async fn register_fixture(client: &Client) {
    use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair, LogConfiguration, LogDriver};
    let log = LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", "/ecs/api")
        .build()
        .unwrap();
    let web = ContainerDefinition::builder()
        .name("web")
        .image("web:1.4.1")
        .essential(true)
        .environment(
            KeyValuePair::builder()
                .name("LOG_LEVEL")
                .value("info")
                .build(),
        )
        .log_configuration(log)
        .build();
    client
        .register_task_definition()
        .family("api")
        .cpu("256")
        .memory("512")
        .container_definitions(web)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_live_family_comes_from_the_test_bed_over_http() {
    let bed = deploy_kit_testbed::Bed::start().unwrap();
    let client = Client::new(&bed.sdk_config().await);
    register_fixture(&client).await;
    register_fixture(&client).await; // revision 2: the family resolves to the latest

    let task = from_live(&client, "api").await.unwrap();
    assert_eq!(task["family"], "api");
    assert_eq!(task["containerDefinitions"][0]["image"], "web:1.4.1");
    assert_eq!(
        task["containerDefinitions"][0]["environment"][0]["name"],
        "LOG_LEVEL"
    );
    for describe_only in ["taskDefinitionArn", "revision", "status", "registeredAt"] {
        assert!(!task.contains_key(describe_only), "{describe_only} dropped");
    }
    let error = from_live(&client, "no-such-family").await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot read task definition `no-such-family`: "),
        "{error}"
    );
}
