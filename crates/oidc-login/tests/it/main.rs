//! oidc-login's pieces: inputs and the claims explanation. The exchange itself runs against the
//! test bed in crates/deploy-kit/tests/it/oidc_login.rs.
#![allow(clippy::unwrap_used)] // a panic in a test is its failure

use deploy_kit_gha::RunnerEnv;
use deploy_kit_oidc_login::{Args, Input, claims, session_name};

fn args() -> Args {
    Args {
        role_to_assume: Some("arn:aws:iam::123456789012:role/deploy".into()),
        aws_region: Some("eu-west-1".into()),
        ..Args::default()
    }
}

fn actions() -> RunnerEnv {
    RunnerEnv {
        in_actions: true,
        ..RunnerEnv::default()
    }
}

#[test]
fn session_names_follow_stss_rules() {
    assert_eq!(session_name("org/app run #42"), "org-app-run--42");
    assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    assert_eq!(session_name("a"), "deploy-kit", "at least 2 characters");
    assert_eq!(
        session_name("ci+deploy=1,a.b@c-d_e"),
        "ci+deploy=1,a.b@c-d_e"
    );
}

#[test]
fn defaults_and_bad_inputs() {
    let input = Input::from_args(&args(), &actions()).unwrap();
    assert_eq!(input.audience, "sts.amazonaws.com");
    assert_eq!(input.duration_seconds, 3600);
    assert_eq!(input.max_attempts, 6);
    assert!(
        Input::from_args(
            &Args {
                role_to_assume: None,
                ..args()
            },
            &RunnerEnv::default()
        )
        .is_ok(),
        "local"
    );
    let cases: [(Args, &str); 6] = [
        (
            Args {
                role_to_assume: None,
                ..args()
            },
            "input `role-to-assume`: is required in GitHub Actions",
        ),
        (
            Args {
                aws_region: None,
                ..args()
            },
            "input `aws-region`",
        ),
        (
            Args {
                aws_region: Some("EU-WEST-1".into()),
                ..args()
            },
            "input `aws-region`: `EU-WEST-1` is not an AWS region",
        ),
        (
            Args {
                role_chain: Some("arn:aws:iam::1:role/x".into()),
                ..args()
            },
            "input `role-chain`",
        ),
        (
            Args {
                allowed_account_ids: Some("12345".into()),
                ..args()
            },
            "input `allowed-account-ids`: `12345` is not a 12-digit account id",
        ),
        (
            Args {
                retry_max_attempts: Some("0".into()),
                ..args()
            },
            "input `retry-max-attempts`",
        ),
    ];
    for (args, expected) in cases {
        let error = Input::from_args(&args, &actions()).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{error:?} vs {expected:?}");
    }
}

#[test]
fn role_arns_and_other_iam_inputs_keep_to_the_characters_iam_allows() {
    let refused = |args: Args, input: &str| {
        let error = Input::from_args(&args, &actions()).unwrap_err();
        assert_eq!(error.input, input, "{error}");
        error.to_string()
    };
    for arn in [
        "arn:aws:iam::123456789012:role/deploy\n::add-mask::x",
        "arn:aws:iam::123456789012:role/dep loy",
        "arn:aws:iam::123456789012:role/dep\"loy",
        "arn:aws:iam::123456789012:role/p ath/deploy",
        "arn:aws:iam::123456789012:role/deploy\u{200b}",
        &format!("arn:aws:iam::123456789012:role/{}", "r".repeat(65)),
        "arn:aws:iam::123456789012:role/",
        "arn:AWS:iam::123456789012:role/deploy",
    ] {
        let message = refused(
            Args {
                role_to_assume: Some(arn.into()),
                ..args()
            },
            "role-to-assume",
        );
        assert!(!message.contains('\n'), "{message:?}");
        assert!(
            !message.contains("add-mask"),
            "control characters: not quoted: {message}"
        );
        assert!(!message.contains('\u{200b}'), "{message:?}");
        refused(
            Args {
                role_chain: Some(arn.into()),
                ..args()
            },
            "role-chain",
        );
    }
    for arn in [
        "arn:aws:iam::123456789012:role/service-role/ci+deploy=1,a.b@c_d-e",
        "arn:aws-us-gov:iam::123456789012:role/deploy",
        "arn:aws-cn:iam::123456789012:role/a/b/c/deploy",
    ] {
        let args = Args {
            role_to_assume: Some(arn.into()),
            ..args()
        };
        assert!(Input::from_args(&args, &actions()).is_ok(), "{arn}");
    }
    let message = refused(
        Args {
            role_external_id: Some("ext id\nwith newline".into()),
            ..args()
        },
        "role-external-id",
    );
    assert!(!message.contains("newline"), "never quoted: {message}");
    refused(
        Args {
            audience: Some("sts.amazonaws.com&x=1 y".into()),
            ..args()
        },
        "audience",
    );
}

#[test]
fn the_explanation_shows_the_claims_and_a_matching_condition() {
    // header.payload.signature, the payload base64url without padding.
    let payload = r#"{"sub":"repo:org/app:ref:refs/heads/main","aud":"sts.amazonaws.com","repository":"org/app","ref":"refs/heads/main","job_workflow_ref":"org/app/.github/workflows/d.yml@refs/heads/main","run_id":"7"}"#;
    let encoded = aws_smithy_types::base64::encode(payload)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    let token = format!("e30.{encoded}.c2ln");
    let claims = claims::decode(&token).unwrap();
    let text = claims::explain(&claims);
    assert!(
        text.contains("  sub: repo:org/app:ref:refs/heads/main\n"),
        "{text}"
    );
    assert!(text.contains("  ref: refs/heads/main\n"), "{text}");
    assert!(
        !text.contains("run_id"),
        "only the claims a trust policy uses: {text}"
    );
    assert!(
        text.contains(
            r#""token.actions.githubusercontent.com:sub": "repo:org/app:ref:refs/heads/main""#
        ),
        "{text}"
    );
    assert!(claims::decode("not-a-jwt").is_none());
}
