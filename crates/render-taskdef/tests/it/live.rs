use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::TaskDefinitionField;
use aws_smithy_mocks::{mock, mock_client};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use deploy_kit_gha::{Classify, Exit};
use deploy_kit_render_taskdef::from_live;
use serde_json::{Value, json};

use crate::render::FIXTURE;

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

pub fn respond(status: u16, body: String) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

#[tokio::test]
async fn describe_only_fields_are_dropped_and_everything_registrable_survives() {
    let rule = mock!(Client::describe_task_definition)
        .match_requests(|request| request.task_definition() == Some("api"))
        .then_http_response(|| respond(200, described().to_string()));
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    let live = from_live(&client, "api").await.unwrap();
    assert_eq!(rule.num_calls(), 1);
    let keys: Vec<&str> = live.task.keys().map(String::as_str).collect();
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
        live.task["containerDefinitions"],
        described()["taskDefinition"]["containerDefinitions"]
    );
    assert_eq!(live.unknown, ["someFieldFromTheFuture"]);
}

#[tokio::test]
async fn tags_are_asked_for_and_kept_for_the_new_revision() {
    let mut body = described();
    body["tags"] =
        json!([{"key": "team", "value": "payments"}, {"key": "cost-center", "value": "cc-42"}]);
    let rule = mock!(Client::describe_task_definition)
        .match_requests(|request| request.include() == [TaskDefinitionField::Tags])
        .then_http_response(move || respond(200, body.to_string()));
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    let live = from_live(&client, "api").await.unwrap();
    assert_eq!(
        rule.num_calls(),
        1,
        "DescribeTaskDefinition with include: [TAGS]"
    );
    assert_eq!(
        live.task["tags"],
        json!([{"key": "team", "value": "payments"}, {"key": "cost-center", "value": "cc-42"}])
    );
    // No tags: no `tags` key, so an untagged family renders as before.
    let rule = mock!(Client::describe_task_definition)
        .then_http_response(|| respond(200, described().to_string()));
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    let live = from_live(&client, "api").await.unwrap();
    assert!(!live.task.contains_key("tags"), "{:?}", live.task.keys());
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
    assert_eq!(
        error.to_string(),
        "input `task-definition-family`: cannot read task definition `nope:3`: ClientException: Unable to describe task definition."
    );
    assert_eq!(
        error.exit(),
        Exit::BadInput,
        "no such revision: the input is wrong"
    );
}

#[tokio::test]
async fn server_errors_are_failures_not_bad_input() {
    let rule = mock!(Client::describe_task_definition).then_http_response(|| {
        respond(
            400,
            r#"{"__type":"ServerException","message":"Service unavailable."}"#.into(),
        )
    });
    let client = mock_client!(aws_sdk_ecs, [&rule]);
    let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:3";
    let error = from_live(&client, arn).await.unwrap_err();
    // AWS failed, not the input: the message names the call, not `task-definition-arn`.
    assert!(
        error
            .to_string()
            .starts_with(&format!("DescribeTaskDefinition `{arn}` failed: ")),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with("ServerException: Service unavailable."),
        "{error}"
    );
    assert_eq!(error.exit(), Exit::Failed);
}

/// Replaces the request body: lets a test register a task definition file exactly as written,
/// without a JSON-to-builder conversion of its own. (The bed does not check signatures.)
#[derive(Debug)]
struct RawRequest(String);

impl Intercept for RawRequest {
    fn name(&self) -> &'static str {
        "RawRequest"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        *request.body_mut() = SdkBody::from(self.0.clone());
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        Ok(())
    }
}

/// Registers the fixture file in the test bed (moto), as a deploy would.
async fn register_fixture(client: &Client) -> Value {
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    client
        .register_task_definition()
        .family("replaced-by-the-file")
        .customize()
        .interceptor(RawRequest(text.clone()))
        .send()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every key of `expected` is in `actual` with the same value (ECS may add defaults of its own).
fn assert_kept(expected: &Value, actual: &Value, at: &str) {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, value) in want {
                let got = got
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}.{key} is missing"));
                assert_kept(value, got, &format!("{at}.{key}"));
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            assert_eq!(want.len(), got.len(), "{at}: {got:?}");
            for (index, (w, g)) in want.iter().zip(got).enumerate() {
                assert_kept(w, g, &format!("{at}[{index}]"));
            }
        }
        _ => assert_eq!(expected, actual, "{at}"),
    }
}

#[tokio::test]
async fn the_live_family_from_the_test_bed_keeps_every_field_of_the_file() {
    let bed = deploy_kit_testbed::Bed::start(&[]).unwrap();
    let client = Client::new(&bed.sdk_config().await);
    let mut file = register_fixture(&client).await;
    file["cpu"] = json!("1024");
    let text = file.to_string();
    client
        .register_task_definition()
        .family("api")
        .customize()
        .interceptor(RawRequest(text))
        .send()
        .await
        .unwrap(); // revision 2: the family resolves to the latest

    let live = from_live(&client, "api").await.unwrap();
    // `tags` included: the fixture's tags come back through `include: TAGS`.
    assert!(file["tags"].as_array().is_some_and(|t| !t.is_empty()));
    assert_kept(&file, &Value::Object(live.task.clone()), "task");
    for describe_only in ["taskDefinitionArn", "revision", "status", "registeredAt"] {
        assert!(
            !live.task.contains_key(describe_only),
            "{describe_only} dropped"
        );
    }
    let error = from_live(&client, "no-such-family").await.unwrap_err();
    assert!(
        error.to_string().starts_with(
            "input `task-definition-family`: cannot read task definition `no-such-family`: "
        ),
        "{error}"
    );
    assert_eq!(error.exit(), Exit::BadInput, "{error}");
}
