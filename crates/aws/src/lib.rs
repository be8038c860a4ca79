//! AWS plumbing shared by the actions: configuration loaded once, and errors rendered as
//! `code: message` (the SDK's own Display says only "service error").

pub mod refresh;
pub mod web_identity;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// No region anywhere: every AWS call would fail, so say it once, up front.
#[derive(Debug, thiserror::Error)]
#[error("no AWS region: set `aws-region` on oidc-login, or AWS_REGION in the environment")]
pub struct NoRegion;

/// Loads the configuration once: credentials, region and `AWS_ENDPOINT_URL` (the local test bed)
/// from the standard chain.
/// When oidc-login left what is needed in the environment, the credentials re-run the GitHub
/// OIDC exchange before they expire ([`refresh`]), so a long step does not fail mid-wait.
pub async fn load_config() -> Result<SdkConfig, NoRegion> {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    if config.region().is_none() {
        return Err(NoRegion);
    }
    match refresh::WebIdentityRefresh::from_env(&config) {
        Some(provider) => Ok(config
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build()),
        None => Ok(config),
    }
}

/// `ClientException: Unable to describe task definition.`, or what went wrong on the way there.
pub fn describe_error<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => deepest(err),
            }
        }
        SdkError::TimeoutError(_) => "request timed out".to_owned(),
        SdkError::DispatchFailure(_) => format!("cannot reach AWS: {}", deepest(error)),
        // Not an AWS error document (a proxy's or a load balancer's page): the status says most.
        SdkError::ResponseError(context) => format!(
            "unexpected answer (HTTP {}): {}",
            context.raw().status().as_u16(),
            deepest(error)
        ),
        _ => deepest(error),
    }
}

/// The innermost cause: SDK errors wrap the useful part several layers down.
fn deepest(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}
