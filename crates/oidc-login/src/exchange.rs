//! The GitHub OIDC exchange with classified retries: errors that a new attempt cannot fix
//! (AccessDenied, InvalidIdentityToken, validation) fail at once with an explanation; network
//! errors, throttling, IDPCommunicationError and 5xx are retried with jittered exponential
//! backoff, a fresh token each attempt, and a timeout per attempt.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use deploy_kit_aws::web_identity::{
    Roles, TokenError, TokenSource, WebIdentityError, assume_with_token, web_identity_client,
};
use deploy_kit_gha::{Runner, format_duration};

use crate::{Error, claims};

/// Per attempt: the token request, and the STS call.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);
const STS_TIMEOUT: Duration = Duration::from_secs(20);

/// Codes a new attempt cannot change.
const PERMANENT: [&str; 7] = [
    "AccessDenied",
    "InvalidIdentityToken",
    "ValidationError",
    "IDPRejectedClaim",
    "MalformedPolicyDocument",
    "PackedPolicyTooLarge",
    "RegionDisabledException",
];

enum Attempt {
    Done(Credentials),
    Retry(String),
    Fail(Error),
}

pub async fn web_identity(
    config: &aws_types::SdkConfig,
    source: &TokenSource,
    roles: &Roles,
    max_attempts: u32,
    scale: f64,
    runner: &Runner,
) -> Result<Credentials, Error> {
    // The same roots as the SDK's client, read once (crates/aws tls.rs).
    let http = deploy_kit_aws::tls::reqwest_client(&source.url, |name| {
        runner.env().var(name).map(str::to_owned)
    });
    let sts = web_identity_client(config);
    let mut last = String::new();
    for attempt in 1..=max_attempts {
        match once(&http, &sts, source, roles).await {
            Attempt::Done(credentials) => return Ok(credentials),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry(reason) => last = reason,
        }
        if attempt == max_attempts {
            break;
        }
        let delay = backoff(attempt);
        runner.warning(format!(
            "attempt {attempt} of {max_attempts}: {last}; retrying in {} with a new token",
            format_duration(delay)
        ));
        tokio::time::sleep(delay.mul_f64(scale)).await;
    }
    Err(Error::Exhausted {
        role: roles.role_arn.clone(),
        attempts: max_attempts,
        last,
    })
}

async fn once(
    http: &reqwest::Client,
    sts: &aws_sdk_sts::Client,
    source: &TokenSource,
    roles: &Roles,
) -> Attempt {
    let token = match source.fetch(http, TOKEN_TIMEOUT).await {
        Ok(token) => token,
        Err(TokenError::Transient(reason)) => return Attempt::Retry(reason),
        Err(refused @ TokenError::Refused(_)) => {
            return Attempt::Fail(Error::Token(refused.to_string()));
        }
    };
    match tokio::time::timeout(STS_TIMEOUT, assume_with_token(sts, roles, &token)).await {
        Err(_) => Attempt::Retry(format!(
            "AssumeRoleWithWebIdentity did not answer within {}",
            format_duration(STS_TIMEOUT)
        )),
        Ok(Ok(credentials)) => Attempt::Done(credentials),
        Ok(Err(error)) => classify(&error, roles, &token),
    }
}

fn classify(error: &WebIdentityError, roles: &Roles, token: &str) -> Attempt {
    let message = deploy_kit_aws::describe_error(error);
    let code = match error {
        SdkError::ServiceError(service) => service.err().code().unwrap_or_default().to_owned(),
        // No answer, or not an AWS error document: the network or a 5xx page.
        _ => return Attempt::Retry(message),
    };
    let server = matches!(error, SdkError::ServiceError(s) if s.raw().status().is_server_error());
    if PERMANENT.contains(&code.as_str()) && !server {
        let explanation = claims::decode(token)
            .map(|claims| claims::explain(&claims))
            .unwrap_or_default();
        let hint = if code == "InvalidIdentityToken" {
            "The account needs an IAM OIDC identity provider for https://token.actions.githubusercontent.com whose audience (client id) is the token's `aud`.\n"
        } else {
            ""
        };
        return Attempt::Fail(Error::Denied {
            role: roles.role_arn.clone(),
            message,
            explanation: format!("{hint}{explanation}"),
        });
    }
    Attempt::Retry(message)
}

/// 1, 2, 4, 8, 16 s (at most 16), each ±50 % so parallel jobs do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_secs(1u64 << attempt.saturating_sub(1).min(4));
    base.mul_f64(0.5 + fastrand::f64())
}
