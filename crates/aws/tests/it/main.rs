//! crates/aws against the test bed:
//! - here: the refreshing GitHub OIDC credentials (fake OIDC endpoint, STS);
//! - `throttle`: the retry budget against ECS's token buckets and concurrent registrations;
//! - `writes`: which writes are sent again after a lost answer (the fault proxy), and what is
//!   retried as throttling (aws-smithy-mocks).
//! - `private_ca`: the HTTPS client over the CA roots read once, against a local HTTPS server
//!   whose certificate a private CA issued.
#![allow(clippy::unwrap_used)] // a panic in a test is its failure

mod private_ca;
mod throttle;
mod writes;

use std::time::Duration;

use aws_credential_types::provider::SharedCredentialsProvider;
use deploy_kit_aws::refresh::WebIdentityRefresh;
use deploy_kit_aws::web_identity::{Roles, TokenSource};
use deploy_kit_testbed::{Bed, Component};

fn sts_calls(bed: &Bed) -> u64 {
    let (_, body) = bed.get("/_bed/sts").unwrap();
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    state["calls"].as_u64().unwrap()
}

/// A long step: its session expires between two calls, and the second call still works because
/// the provider ran the exchange again (a new STS call with a new token), not because the old
/// session was reused.
#[tokio::test]
async fn expired_sessions_are_replaced_by_a_new_exchange_mid_operation() {
    let bed = Bed::start(&[Component::Aws, Component::Oidc]).unwrap();
    let config = bed.sdk_config().await;
    let provider = WebIdentityRefresh::new(
        config.clone(),
        TokenSource {
            url: bed.var("ACTIONS_ID_TOKEN_REQUEST_URL").unwrap().to_owned(),
            bearer: bed
                .var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
                .unwrap()
                .to_owned(),
            audience: "sts.amazonaws.com".to_owned(),
        },
        Roles {
            role_arn: "arn:aws:iam::123456789012:role/github-deploy".to_owned(),
            session_name: "long-deployment".to_owned(),
            // A 2 s session: it is over before the second call.
            duration_seconds: 2,
            chain: None,
            session: Default::default(),
        },
    );
    let refreshing = config
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build();
    let sts = aws_sdk_sts::Client::new(&refreshing);
    let first = sts.get_caller_identity().send().await.unwrap();
    assert!(first.arn().unwrap().contains("long-deployment"));
    assert_eq!(sts_calls(&bed), 1);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(second.arn(), first.arn());
    assert_eq!(sts_calls(&bed), 2, "the expired session was replaced");
    let (_, body) = bed.get("/_bed/sts").unwrap();
    let ids = serde_json::from_str::<serde_json::Value>(&body).unwrap()["tokenIds"].clone();
    assert_ne!(ids[0], ids[1], "with a new token");
}
