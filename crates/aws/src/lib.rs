//! AWS plumbing shared by the actions: configuration loaded once, and errors rendered as
//! `code: message` (the SDK's own Display says only "service error").
// Reads the SDK's own settings (CA bundle, proxies, the refresh token) like the SDK does.
#![allow(clippy::disallowed_methods)]

pub mod ecr;
pub mod refresh;
pub mod retry;
pub mod tls;
pub mod web_identity;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use retry::Retry;

/// No region anywhere: every AWS call would fail, so say it once, up front.
#[derive(Debug, thiserror::Error)]
#[error("no AWS region: set `aws-region` on oidc-login, or AWS_REGION in the environment")]
pub struct NoRegion;

/// The SDK's app name for `action`: every request's user agent then carries
/// `app/deploy-kit-<action>`, so CloudTrail (and the test bed's call log) can tell which step
/// made a call.
pub fn app_name(action: &str) -> aws_types::app_name::AppName {
    // Action names are lowercase words and dashes, which the app name allows.
    aws_types::app_name::AppName::new(format!("deploy-kit-{action}"))
        .unwrap_or_else(|_| aws_types::app_name::AppName::new("deploy-kit").expect("valid"))
}

/// The settings every action's configuration shares: its app name, the timeouts, and the HTTPS
/// client over the system CA roots read once ([`tls`]).
pub fn config_loader(action: &str) -> aws_config::ConfigLoader {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .app_name(app_name(action))
        .timeout_config(timeouts())
        .http_client(tls::http_client(tls::roots));
    if env_credentials(|name| std::env::var(name).ok()) {
        loader.credentials_provider(EnvironmentVariableCredentialsProvider::new())
    } else {
        loader
    }
}

/// Whether the environment holds an access key and its secret, as oidc-login leaves them for
/// the later steps. The SDK's default chain tries the environment first and takes these then,
/// so going to that provider directly gives the same credentials without building the rest of
/// the chain (its web identity STS client and IMDS clients: about a tenth of a step's own
/// instructions).
pub fn env_credentials(env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| env(name).is_some_and(|value| !value.trim().is_empty());
    set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY")
}

/// Loads the configuration once for `action`: credentials, region and `AWS_ENDPOINT_URL` (the
/// local test bed) from the standard chain, with `retry` as every client's retry policy.
/// When oidc-login left what is needed in the environment, the credentials re-run the GitHub
/// OIDC exchange before they expire ([`refresh`]), so a long step does not fail mid-wait.
pub async fn load_config(action: &str, retry: Retry) -> Result<Aws, NoRegion> {
    let config = config_loader(action)
        .retry_config(retry.retry_config())
        .load()
        .await;
    if config.region().is_none() {
        return Err(NoRegion);
    }
    let sdk = match refresh::WebIdentityRefresh::from_env(&config) {
        Some(provider) => config
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build(),
        None => config,
    };
    Ok(Aws::new(sdk, retry))
}

/// The loaded configuration and the retry policy; the only way the actions get their clients,
/// so none is built without the policy.
#[derive(Debug, Clone)]
pub struct Aws {
    sdk: SdkConfig,
    retry: Retry,
}

impl Aws {
    pub fn new(sdk: SdkConfig, retry: Retry) -> Self {
        let sdk = sdk
            .into_builder()
            .retry_config(retry.retry_config())
            .build();
        Self { sdk, retry }
    }

    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The region every client uses (load_config refuses to go on without one).
    pub fn region(&self) -> String {
        self.sdk
            .region()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    pub fn ecs(&self) -> aws_sdk_ecs::Client {
        let config = self
            .retry
            .ecs_config(aws_sdk_ecs::config::Builder::from(&self.sdk));
        aws_sdk_ecs::Client::from_conf(config.build())
    }

    pub fn ecr(&self) -> aws_sdk_ecr::Client {
        let config = aws_sdk_ecr::config::Builder::from(&self.sdk)
            .interceptor(self.retry.interceptor())
            .build();
        aws_sdk_ecr::Client::from_conf(config)
    }

    /// ECR Public, always in [`ecr::PUBLIC_REGION`] whatever the step's region: its
    /// GetAuthorizationToken is served there only.
    pub fn ecr_public(&self) -> aws_sdk_ecrpublic::Client {
        let config = aws_sdk_ecrpublic::config::Builder::from(&self.sdk)
            .region(aws_sdk_ecrpublic::config::Region::from_static(
                ecr::PUBLIC_REGION,
            ))
            .interceptor(self.retry.interceptor())
            .build();
        aws_sdk_ecrpublic::Client::from_conf(config)
    }

    /// CloudWatch (ecs-blue-green's 5xx-rate alarm).
    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        let config = aws_sdk_cloudwatch::config::Builder::from(&self.sdk)
            .interceptor(self.retry.interceptor())
            .build();
        aws_sdk_cloudwatch::Client::from_conf(config)
    }

    /// Elastic Load Balancing v2 (the target groups' load balancer, for the alarm's dimensions).
    pub fn elbv2(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        let config = aws_sdk_elasticloadbalancingv2::config::Builder::from(&self.sdk)
            .interceptor(self.retry.interceptor())
            .build();
        aws_sdk_elasticloadbalancingv2::Client::from_conf(config)
    }

    /// S3 (deploy-static's bucket).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .interceptor(self.retry.interceptor())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// CloudFront (deploy-static's invalidation).
    pub fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        let config = aws_sdk_cloudfront::config::Builder::from(&self.sdk)
            .interceptor(self.retry.interceptor())
            .build();
        aws_sdk_cloudfront::Client::from_conf(config)
    }

    /// CloudWatch Logs in `region` (a log group may live in another region than the cluster).
    pub fn logs(&self, region: Option<String>) -> aws_sdk_cloudwatchlogs::Client {
        let mut config = aws_sdk_cloudwatchlogs::config::Builder::from(&self.sdk)
            .interceptor(self.retry.interceptor());
        if let Some(region) = region {
            config = config.region(aws_sdk_cloudwatchlogs::config::Region::new(region));
        }
        aws_sdk_cloudwatchlogs::Client::from_conf(config.build())
    }
}

/// How long one attempt of an AWS call may take before the SDK gives up on it (and retries). The
/// SDK sets no such limit, so an answer that never comes (a half-open connection) would hold a
/// step until the job's own timeout, hours later; ECS, ECR, STS and Logs answer within a second.
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The SDK's connect timeout (3.1 s, its default) and [`ATTEMPT_TIMEOUT`].
pub fn timeouts() -> aws_smithy_types::timeout::TimeoutConfig {
    aws_smithy_types::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(3100))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .build()
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
                // No AWS error document (a load balancer's page): the status says most, and the
                // parser's complaint about the page nothing.
                _ => format!(
                    "unexpected answer (HTTP {}) without an AWS error code",
                    service.raw().status().as_u16()
                ),
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

/// Throttling, a 5xx, a timeout or a lost connection, after the SDK's own retries: worth asking
/// again later, where a caller polls (a task, a deployment) and giving up would leave it behind.
pub fn is_transient<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            code.contains("Throttl")
                || code == "ServerException"
                || code.contains("ServiceUnavailable")
                || service.raw().status().is_server_error()
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::env_credentials;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn env_credentials_need_both_the_key_and_its_secret_not_blank() {
        let both = [
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        assert!(env_credentials(env(&both)));
        assert!(!env_credentials(env(&both[..1])));
        assert!(!env_credentials(env(&both[1..])));
        let blank = [
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "  "),
        ];
        assert!(!env_credentials(env(&blank)));
    }
}
