//! STS AssumeRoleWithWebIdentity with the bed's GitHub OIDC tokens, and its failure knobs.

use aws_config::retry::RetryConfig;
use aws_sdk_sts::Client;
use aws_sdk_sts::error::SdkError;
use deploy_kit_testbed::{Bed, Component};

const ROLE: &str = "arn:aws:iam::123456789012:role/deploy";

async fn setup() -> (Bed, Client, String) {
    let bed = Bed::start(&[Component::Aws, Component::Oidc]).expect("bed");
    // No retries: each call is one attempt, so the knobs' counts are exact.
    let config = aws_sdk_sts::config::Builder::from(&bed.sdk_config().await)
        .retry_config(RetryConfig::disabled())
        .build();
    let token = github_token(&bed).await;
    (bed, Client::from_conf(config), token)
}

async fn github_token(bed: &Bed) -> String {
    let url = format!(
        "{}&audience=sts.amazonaws.com",
        bed.var("ACTIONS_ID_TOKEN_REQUEST_URL").unwrap()
    );
    let text = reqwest::Client::new()
        .get(url)
        .bearer_auth(bed.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    body["value"].as_str().unwrap().to_owned()
}

type AssumeError =
    aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;

async fn assume(sts: &Client, token: &str) -> Result<String, (u16, AssumeError)> {
    match sts
        .assume_role_with_web_identity()
        .role_arn(ROLE)
        .role_session_name("deploy-kit")
        .web_identity_token(token)
        .send()
        .await
    {
        Ok(out) => Ok(out.credentials().unwrap().access_key_id().to_owned()),
        Err(SdkError::ServiceError(e)) => Err((e.raw().status().as_u16(), e.into_err())),
        Err(other) => panic!("not a service error: {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_github_token_gets_credentials() {
    let (_bed, sts, token) = setup().await;
    let key = assume(&sts, &token).await.unwrap();
    assert!(!key.is_empty());
}

#[tokio::test]
async fn tokens_are_verified_like_aws_does() {
    let (bed, sts, token) = setup().await;
    // A tampered signature.
    let (status, err) = assume(&sts, &format!("{token}x")).await.unwrap_err();
    assert_eq!(status, 400);
    assert!(err.is_invalid_identity_token_exception(), "{err:?}");
    assert!(
        err.meta()
            .message()
            .unwrap()
            .contains("could not be validated"),
        "{err:?}"
    );
    // The wrong audience.
    bed.post("/_bed/oidc/claims", r#"{"aud": "https://github.com/org"}"#)
        .unwrap();
    let wrong_aud = github_token(&bed).await;
    let (_, err) = assume(&sts, &wrong_aud).await.unwrap_err();
    assert!(err.is_invalid_identity_token_exception(), "{err:?}");
    assert_eq!(err.meta().message(), Some("Incorrect token audience"));
    // Expired.
    bed.post("/_bed/oidc/reset", "{}").unwrap();
    bed.post("/_bed/oidc/claims", r#"{"exp": 1}"#).unwrap();
    let expired = github_token(&bed).await;
    let (_, err) = assume(&sts, &expired).await.unwrap_err();
    assert!(err.is_expired_token_exception(), "{err:?}");
}

#[tokio::test]
async fn the_trust_condition_and_reject_knobs_deny() {
    let (bed, sts, token) = setup().await;
    bed.post(
        "/_bed/sts",
        r#"{"trust": {"sub": "repo:org/app:environment:production"}}"#,
    )
    .unwrap();
    let (status, err) = assume(&sts, &token).await.unwrap_err();
    assert_eq!(status, 403);
    assert_eq!(err.meta().code(), Some("AccessDenied"));
    assert_eq!(
        err.meta().message(),
        Some("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );
    // The default token is for environment staging: a matching pattern lets it through.
    bed.post(
        "/_bed/sts",
        r#"{"trust": {"sub": "repo:org/app:environment:*"}}"#,
    )
    .unwrap();
    assert!(assume(&sts, &token).await.is_ok());

    bed.post("/_bed/sts", r#"{"reject": "InvalidIdentityToken", "message": "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com"}"#).unwrap();
    let (_, err) = assume(&sts, &token).await.unwrap_err();
    assert!(err.is_invalid_identity_token_exception(), "{err:?}");
    assert!(
        err.meta()
            .message()
            .unwrap()
            .starts_with("No OpenIDConnect provider")
    );
}

#[tokio::test]
async fn transient_failures_happen_n_times_then_pass() {
    let (bed, sts, token) = setup().await;
    bed.post(
        "/_bed/sts",
        r#"{"failTimes": 2, "failWith": "IDPCommunicationError"}"#,
    )
    .unwrap();
    for _ in 0..2 {
        let (status, err) = assume(&sts, &token).await.unwrap_err();
        assert_eq!(status, 400);
        assert!(err.is_idp_communication_error_exception(), "{err:?}");
    }
    assert!(assume(&sts, &token).await.is_ok());

    bed.post("/_bed/sts", r#"{"failTimes": 1, "failWith": "503"}"#)
        .unwrap();
    let (status, err) = assume(&sts, &token).await.unwrap_err();
    assert_eq!(
        (status, err.meta().code()),
        (503, Some("ServiceUnavailable"))
    );
    assert!(assume(&sts, &token).await.is_ok());
    let (_, knobs) = bed.get("/_bed/sts").unwrap();
    let knobs: serde_json::Value = serde_json::from_str(&knobs).unwrap();
    // Two IDP failures, a success, a 503, a success: every attempt is counted.
    assert_eq!(knobs["calls"], 5);
}
