//! The fake GitHub OIDC endpoint: bearer checked, audience honoured, tokens verifiable, claims
//! overridable per test.

use deploy_kit_testbed::Bed;
use serde_json::{Value, json};

async fn token(bed: &Bed, bearer: &str, audience: Option<&str>) -> (u16, Value) {
    let mut url = bed
        .var("ACTIONS_ID_TOKEN_REQUEST_URL")
        .expect("OIDC URL")
        .to_owned();
    if let Some(audience) = audience {
        // GitHub's URL already has a query (`?api-version=2.0`); clients append to it.
        url = format!("{url}&audience={audience}");
    }
    let resp = reqwest::Client::new()
        .get(url)
        .header("Authorization", format!("Bearer {bearer}"))
        .send()
        .await
        .expect("GET token");
    let status = resp.status().as_u16();
    let body = resp.text().await.expect("body");
    (status, serde_json::from_str(&body).expect("JSON"))
}

async fn post(bed: &Bed, path: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", bed.endpoint_url()))
        .body(body.to_string())
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    let body = resp.text().await.expect("body");
    (status, serde_json::from_str(&body).expect("JSON"))
}

/// Verifies through the bed (`POST /_bed/oidc/verify`, the check the STS patch makes).
async fn verify(bed: &Bed, jwt: &str, audience: &str) -> Result<Value, String> {
    let (status, body) = post(
        bed,
        "/_bed/oidc/verify",
        &json!({"token": jwt, "audience": audience}),
    )
    .await;
    if status == 200 {
        Ok(body)
    } else {
        Err(body["error"].as_str().unwrap_or_default().to_owned())
    }
}

#[tokio::test]
async fn bearer_is_required() {
    let bed = Bed::start(&[]).expect("bed");
    let request_token = bed
        .var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .expect("request token");
    assert!(
        request_token.len() >= 32,
        "the request token is random: {request_token}"
    );
    let (status, _) = token(&bed, "wrong", None).await;
    assert_eq!(status, 401);
    let (status, body) = token(&bed, request_token, None).await;
    assert_eq!(status, 200);
    let claims = verify(
        &bed,
        body["value"].as_str().unwrap(),
        "https://github.com/org",
    )
    .await
    .expect("default audience is the owner's URL");
    assert_eq!(claims["iss"], "https://token.actions.githubusercontent.com");
}

#[tokio::test]
async fn audience_is_honoured_and_signature_checked() {
    let bed = Bed::start(&[]).expect("bed");
    let request_token = bed.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").unwrap();
    let (_, body) = token(&bed, request_token, Some("sts.amazonaws.com")).await;
    let jwt = body["value"].as_str().unwrap();
    assert_eq!(jwt.split('.').count(), 3, "a JWS compact token: {jwt}");
    let claims = verify(&bed, jwt, "sts.amazonaws.com").await.expect("valid");
    assert_eq!(claims["aud"], "sts.amazonaws.com");
    assert_eq!(claims["sub"], "repo:org/app:environment:staging");
    assert_eq!(claims["repository"], "org/app");
    assert_eq!(claims["ref"], "refs/heads/main");
    assert_eq!(claims["environment"], "staging");
    assert!(
        claims["job_workflow_ref"]
            .as_str()
            .unwrap()
            .starts_with("org/app/.github/workflows/")
    );
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    let wrong = verify(&bed, jwt, "https://example.com").await.unwrap_err();
    assert!(wrong.contains("audience"), "{wrong}");
    // Flip the first character of the signature: all 6 of its bits are signature bits (the
    // last character's low bits are padding, so flipping it may change nothing).
    let start = jwt.rfind('.').unwrap() + 1;
    let first = jwt[start..].chars().next().unwrap();
    let tampered = format!(
        "{}{}{}",
        &jwt[..start],
        if first == 'A' { 'B' } else { 'A' },
        &jwt[start + 1..]
    );
    let bad = verify(&bed, &tampered, "sts.amazonaws.com")
        .await
        .unwrap_err();
    assert!(
        bad.contains("signature") || bad.contains("malformed"),
        "{bad}"
    );

    // The public key is published like GitHub's JWKS.
    let jwks = reqwest::get(format!("{}/_bed/oidc/jwks", bed.endpoint_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}

#[tokio::test]
async fn claims_can_be_overridden() {
    let bed = Bed::start(&[]).expect("bed");
    let request_token = bed.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").unwrap();
    let (status, _) = post(
        &bed,
        "/_bed/oidc/claims",
        &json!({"sub": "repo:org/app:ref:refs/heads/feature", "environment": null, "ref": "refs/heads/feature"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = token(&bed, request_token, Some("sts.amazonaws.com")).await;
    let claims = verify(&bed, body["value"].as_str().unwrap(), "sts.amazonaws.com")
        .await
        .unwrap();
    assert_eq!(claims["sub"], "repo:org/app:ref:refs/heads/feature");
    assert_eq!(claims["ref"], "refs/heads/feature");
    assert!(
        claims.get("environment").is_none(),
        "null removes a claim: {claims}"
    );

    // An expired token is refused by the verifier.
    post(&bed, "/_bed/oidc/claims", &json!({"exp": 1})).await;
    let (_, body) = token(&bed, request_token, Some("sts.amazonaws.com")).await;
    let err = verify(&bed, body["value"].as_str().unwrap(), "sts.amazonaws.com")
        .await
        .unwrap_err();
    assert!(err.contains("expired"), "{err}");
}
