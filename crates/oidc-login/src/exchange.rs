//! The GitHub OIDC exchange with classified retries: errors that a new attempt cannot fix
//! (AccessDenied, InvalidIdentityToken, validation) fail at once with an explanation; network
//! errors, throttling, IDPCommunicationError and 5xx are retried with jittered exponential
//! backoff, a fresh token each attempt, and a timeout per attempt.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use deploy_kit_aws::web_identity::{
    Roles, Session, TokenError, TokenSource, WebIdentityError, assume_with_token,
    web_identity_client,
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

/// Where each attempt's token comes from: GitHub's endpoint (a fresh token each time), or a
/// file (`web-identity-token-file`, read again each time: its owner may rotate it).
pub enum Token {
    GitHub(TokenSource),
    File(PathBuf),
}

/// A [`Token`] ready to fetch: GitHub's with its HTTP client.
enum Fetch<'a> {
    GitHub(&'a TokenSource, reqwest::Client),
    File(&'a Path),
}

impl Fetch<'_> {
    async fn get(&self) -> Result<String, Attempt> {
        match self {
            Fetch::GitHub(source, http) => match source.fetch(http, TOKEN_TIMEOUT).await {
                Ok(token) => Ok(token),
                Err(TokenError::Transient(reason)) => Err(Attempt::Retry(reason)),
                Err(refused @ TokenError::Refused(_)) => {
                    Err(Attempt::Fail(Error::Token(refused.to_string())))
                }
            },
            Fetch::File(path) => std::fs::read_to_string(path)
                .map(|token| token.trim().to_owned())
                .map_err(|e| {
                    Attempt::Fail(Error::Token(format!(
                        "cannot read the web identity token file `{}`: {e}",
                        path.display()
                    )))
                }),
        }
    }
}

enum Attempt {
    Done(Session),
    Retry(String),
    Fail(Error),
}

pub async fn web_identity(
    config: &aws_types::SdkConfig,
    token: &Token,
    roles: &Roles,
    max_attempts: u32,
    scale: f64,
    runner: &Runner,
) -> Result<Session, Error> {
    // The same roots as the SDK's client, read once (crates/aws tls.rs).
    let fetch = match token {
        Token::GitHub(source) => Fetch::GitHub(
            source,
            deploy_kit_aws::tls::reqwest_client(&source.url, |name| {
                runner.env().var(name).map(str::to_owned)
            }),
        ),
        Token::File(path) => Fetch::File(path),
    };
    let sts = web_identity_client(config);
    let mut last = String::new();
    for attempt in 1..=max_attempts {
        match once(&fetch, &sts, roles).await {
            Attempt::Done(session) => return Ok(session),
            Attempt::Fail(error) => return Err(error),
            Attempt::Retry(reason) => last = reason,
        }
        if attempt == max_attempts {
            break;
        }
        let delay = backoff(attempt);
        let fresh = match token {
            Token::GitHub(_) => "a new token",
            Token::File(_) => "the file's token",
        };
        runner.warning(format!(
            "attempt {attempt} of {max_attempts}: {last}; retrying in {} with {fresh}",
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

async fn once(fetch: &Fetch<'_>, sts: &aws_sdk_sts::Client, roles: &Roles) -> Attempt {
    let token = match fetch.get().await {
        Ok(token) => token,
        Err(attempt) => return attempt,
    };
    match tokio::time::timeout(STS_TIMEOUT, assume_with_token(sts, roles, &token)).await {
        Err(_) => Attempt::Retry(format!(
            "AssumeRoleWithWebIdentity did not answer within {}",
            format_duration(STS_TIMEOUT)
        )),
        Ok(Ok(session)) => Attempt::Done(session),
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
