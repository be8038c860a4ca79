//! The live task definition, from DescribeTaskDefinition. We keep the response's raw JSON rather
//! than converting the SDK's types field by field: nothing can be lost in translation, and
//! `shape::registrable` then drops the describe-only fields by the model.

use std::sync::{Arc, Mutex};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::TaskDefinitionField;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Map, Value};

/// Keeps a copy of the raw response body. Read after deserialization: only then has the
/// orchestrator buffered a streamed HTTP body (mocked bodies are in memory earlier, real ones not).
#[derive(Debug, Clone, Default)]
struct RawBody(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes() {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// Why the live task definition could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub message: String,
    /// The caller's fault (no such family or revision, a malformed ARN, no permission): fixing
    /// the input or the role fixes it, retrying does not.
    pub bad_input: bool,
}

impl FetchError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            bad_input: false,
        }
    }
}

/// The task definition `reference` (family, `family:revision` or ARN) as ECS sent it, with its
/// resource tags (asked for with `include: TAGS`) as `tags`, so a revision registered from it
/// keeps the cost-allocation and ownership tags.
pub async fn fetch(client: &Client, reference: &str) -> Result<Map<String, Value>, FetchError> {
    let raw = RawBody::default();
    client
        .describe_task_definition()
        .task_definition(reference)
        .include(TaskDefinitionField::Tags)
        .customize()
        .interceptor(raw.clone())
        .send()
        .await
        .map_err(|error| {
            let code = error.as_service_error().and_then(|e| e.code());
            FetchError {
                message: deploy_kit_aws::describe_error(&error),
                bad_input: matches!(
                    code,
                    Some("ClientException" | "InvalidParameterException" | "AccessDeniedException")
                ),
            }
        })?;
    let body = raw
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let document: Value = body
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| FetchError::new("DescribeTaskDefinition returned no readable body"))?;
    let Some(Value::Object(task)) = document.get("taskDefinition") else {
        return Err(FetchError::new(
            "DescribeTaskDefinition returned no taskDefinition",
        ));
    };
    let mut task = task.clone();
    // The tags come beside the task definition, not in it; RegisterTaskDefinition takes them in.
    match document.get("tags") {
        Some(Value::Array(tags)) if !tags.is_empty() => {
            task.insert("tags".to_owned(), Value::Array(tags.clone()));
        }
        _ => {}
    }
    Ok(task)
}
