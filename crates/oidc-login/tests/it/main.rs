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

/// configure-aws-credentials' inputs: their defaults, the run's tags on AssumeRole (with the
/// custom ones), transitive keys only of tags the session has, `disable-retry` over
/// `retry-max-attempts`, and each bad value refused naming its input.
#[test]
fn session_policies_tags_and_the_other_configure_aws_credentials_inputs() {
    let mut env = actions();
    env.vars
        .insert("GITHUB_REPOSITORY".into(), "org/app".into());
    env.vars
        .insert("GITHUB_REF".into(), "refs/heads/feat#1".into());
    let input = Input::from_args(&args(), &env).unwrap();
    assert!(input.output_env_credentials);
    assert_eq!(input.timeout, None);
    assert_eq!(input.session.policy, None);
    assert_eq!(
        input.session.tags,
        [
            ("GitHub".to_owned(), "Actions".to_owned()),
            ("Repository".to_owned(), "org/app".to_owned()),
            ("Branch".to_owned(), "refs/heads/feat_1".to_owned()),
        ]
    );
    let given = Args {
        custom_tags: Some(r#"{"Team": "payments"}"#.into()),
        transitive_tag_keys: Some("Team\nBaseRef".into()),
        managed_session_policies: Some("arn:aws:iam::aws:policy/ReadOnlyAccess".into()),
        disable_retry: Some("true".into()),
        retry_max_attempts: Some("9".into()),
        action_timeout_s: Some("30".into()),
        ..args()
    };
    let input = Input::from_args(&given, &env).unwrap();
    assert_eq!(input.session.tags.last().unwrap().0, "Team");
    assert_eq!(
        input.session.transitive_tag_keys,
        ["Team"],
        "no BaseRef tag on a push"
    );
    assert_eq!(input.session.policy_arns.len(), 1);
    assert_eq!(input.max_attempts, 1);
    assert_eq!(input.timeout, Some(std::time::Duration::from_secs(30)));
    let skipped = Input::from_args(
        &Args {
            role_skip_session_tagging: Some("true".into()),
            ..given
        },
        &env,
    )
    .unwrap();
    assert!(skipped.session.tags.is_empty() && skipped.session.transitive_tag_keys.is_empty());
    assert_eq!(skipped.session.policy_arns.len(), 1, "policies stay");
}

/// Each of configure-aws-credentials' inputs refuses a bad value, naming itself.
#[test]
fn each_new_input_refuses_a_bad_value_naming_itself() {
    let bad = [
        ("inline-session-policy", "[]"),
        ("managed-session-policies", "ReadOnlyAccess"),
        ("role-skip-session-tagging", "maybe"),
        ("transitive-tag-keys", "a;b"),
        ("custom-tags", r#"{"Actor": "x"}"#),
        ("web-identity-token-file", "/nonexistent/token"),
        ("sts-endpoint", "sts.amazonaws.com"),
        ("output-env-credentials", "maybe"),
        ("action-timeout-s", "-1"),
        ("disable-retry", "2"),
        ("use-existing-credentials", "yes please"),
    ];
    for (name, value) in bad {
        let mut given = args();
        let slot = match name {
            "inline-session-policy" => &mut given.inline_session_policy,
            "managed-session-policies" => &mut given.managed_session_policies,
            "role-skip-session-tagging" => &mut given.role_skip_session_tagging,
            "transitive-tag-keys" => &mut given.transitive_tag_keys,
            "custom-tags" => &mut given.custom_tags,
            "web-identity-token-file" => &mut given.web_identity_token_file,
            "sts-endpoint" => &mut given.sts_endpoint,
            "output-env-credentials" => &mut given.output_env_credentials,
            "action-timeout-s" => &mut given.action_timeout_s,
            "use-existing-credentials" => &mut given.use_existing_credentials,
            _ => &mut given.disable_retry,
        };
        *slot = Some(value.into());
        let error = Input::from_args(&given, &actions()).unwrap_err();
        assert_eq!(error.input, name, "{error}");
    }
}

#[test]
fn a_relative_token_file_is_found_in_the_workspace() {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("token"), "header.payload.sig\n").unwrap();
    let mut env = actions();
    env.vars.insert(
        "GITHUB_WORKSPACE".into(),
        workspace.path().display().to_string(),
    );
    let args = Args {
        web_identity_token_file: Some("token".into()),
        ..args()
    };
    let input = Input::from_args(&args, &env).unwrap();
    assert_eq!(input.token_file, Some(workspace.path().join("token")));
    let without_role = Args {
        role_to_assume: None,
        ..args
    };
    let error = Input::from_args(
        &without_role,
        &RunnerEnv {
            vars: env.vars.clone(),
            ..RunnerEnv::default()
        },
    )
    .unwrap_err();
    assert_eq!(error.input, "web-identity-token-file");
}
