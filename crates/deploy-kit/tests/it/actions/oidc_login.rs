//! `deploy-kit oidc-login` against the test bed's GitHub OIDC endpoint and STS over HTTP: the
//! exchange and its exports, role chaining, the allowed-account refusal, fast failures that
//! explain the trust policy, retries with a new token each time, the missing-permission message,
//! the local fallback, and no secret in any log before its mask.

use std::time::Duration;

use deploy_kit_testbed::binary::Run;
use deploy_kit_testbed::{Bed, Component};

const ROLE: &str = "arn:aws:iam::123456789012:role/github-deploy";

struct Fixture {
    bed: Bed,
}

fn fixture() -> Fixture {
    Fixture {
        bed: Bed::start(&[Component::Aws, Component::Oidc]).unwrap(),
    }
}

impl Fixture {
    /// Runs oidc-login as a GitHub job would (`actions`), or as a laptop would. Only the bed's
    /// endpoint: the credentials are the ones the action gets (or the laptop's own keys).
    fn run(&self, inputs: &[(&str, &str)], actions: bool) -> Run {
        let invocation = crate::deploy_kit()
            .action("oidc-login")
            .time_scale(0.01)
            .env("AWS_ENDPOINT_URL", self.bed.endpoint_url())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .runner_files()
            .input("aws-region", "us-east-1");
        let invocation = if actions {
            let token = |name: &str| self.bed.var(name).unwrap().to_owned();
            invocation
                .in_actions()
                .env(
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    token("ACTIONS_ID_TOKEN_REQUEST_URL"),
                )
                .env(
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    token("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
                )
        } else {
            // A laptop with static keys (the bed's dummy ones).
            invocation
                .env("AWS_ACCESS_KEY_ID", "AKIALOCALDEVELOPER1")
                .env("AWS_SECRET_ACCESS_KEY", "local-secret-key-value")
        };
        invocation.inputs(inputs).run()
    }

    fn sts_knobs(&self, json: &str) {
        let (status, body) = self.bed.post("/_bed/sts", json).unwrap();
        assert_eq!(status, 200, "{body}");
    }

    fn sts_state(&self) -> serde_json::Value {
        serde_json::from_str(&self.bed.get("/_bed/sts").unwrap().1).unwrap()
    }
}

/// Every secret's first appearance in the logs is its own `::add-mask::` line.
fn assert_masked_before_printed(run: &Run, secrets: &[&str]) {
    let log = format!("{}{}", run.stderr, run.stdout);
    for secret in secrets {
        assert!(!secret.is_empty());
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(secret)).collect();
        assert!(
            lines.iter().all(|l| *l == format!("::add-mask::{secret}")),
            "secret printed outside its mask: {lines:?}"
        );
        let mask_at = log.find(&format!("::add-mask::{secret}"));
        assert!(mask_at.is_some(), "no mask for a secret in:\n{log}");
    }
}

#[test]
fn github_oidc_exports_masked_credentials_and_what_later_steps_need() {
    let f = fixture();
    let run = f.run(&[("role-to-assume", ROLE)], true);
    run.assert_code(0);
    let key = run.exported["AWS_ACCESS_KEY_ID"].clone();
    let secret = run.exported["AWS_SECRET_ACCESS_KEY"].clone();
    let token = run.exported["AWS_SESSION_TOKEN"].clone();
    assert_masked_before_printed(&run, &[&key, &secret, &token]);
    assert_eq!(run.exported["AWS_REGION"], "us-east-1");
    assert_eq!(run.exported["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(run.exported["DEPLOY_KIT_OIDC_ROLE"], ROLE);
    assert_eq!(
        run.exported["DEPLOY_KIT_OIDC_AUDIENCE"],
        "sts.amazonaws.com"
    );
    assert_eq!(run.outputs["aws-account-id"], "123456789012");
    assert!(
        run.outputs["authenticated-arn"].contains("github-deploy"),
        "{:?}",
        run.outputs
    );
    assert!(
        !run.outputs.contains_key("aws-secret-access-key"),
        "credentials only when asked"
    );
    run.assert_logged("through GitHub OIDC");
    assert_eq!(f.sts_state()["calls"], 1);
}

#[test]
fn role_chaining_and_the_allowed_account_check() {
    let f = fixture();
    // Into another account: the account checked and output is the chained role's.
    let chained = "arn:aws:iam::210987654321:role/staging-deploy";
    crate::contract::iam::reset(&f.bed);
    let run = f.run(
        &[
            ("role-to-assume", ROLE),
            ("role-chain", chained),
            ("allowed-account-ids", "210987654321"),
            ("output-credentials", "true"),
        ],
        true,
    );
    run.assert_code(0);
    let calls = crate::contract::iam::assert_allowed(&f.bed, "oidc-login");
    assert!(calls.iter().any(|c| c == "sts:AssumeRole"), "{calls:?}");
    // The account and ARN come with the chained session: no GetCallerIdentity after it.
    assert!(
        !calls.iter().any(|c| c == "sts:GetCallerIdentity"),
        "{calls:?}"
    );
    assert!(
        run.outputs["authenticated-arn"]
            .starts_with("arn:aws:sts::210987654321:assumed-role/staging-deploy/"),
        "{:?}",
        run.outputs
    );
    assert_eq!(run.outputs["aws-account-id"], "210987654321");
    assert_eq!(
        run.outputs["aws-access-key-id"],
        run.exported["AWS_ACCESS_KEY_ID"]
    );
    assert_masked_before_printed(&run, &[&run.outputs["aws-secret-access-key"]]);
    assert_eq!(run.exported["DEPLOY_KIT_OIDC_CHAIN"], chained);

    // The first role's account is not the one checked when a chain follows.
    let chain_refused = f.run(
        &[
            ("role-to-assume", ROLE),
            ("role-chain", chained),
            ("allowed-account-ids", "123456789012"),
        ],
        true,
    );
    chain_refused.assert_code(2);
    assert!(
        chain_refused
            .stderr
            .contains("account 210987654321, which `allowed-account-ids` does not list"),
        "{}",
        chain_refused.stderr
    );

    let refused = f.run(
        &[
            ("role-to-assume", ROLE),
            ("allowed-account-ids", "111111111111,222222222222"),
        ],
        true,
    );
    refused.assert_code(2);
    assert!(
        refused
            .stderr
            .contains("account 123456789012, which `allowed-account-ids` does not list"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.exported.is_empty(),
        "nothing exported: {:?}",
        refused.exported
    );
}

#[test]
fn access_denied_fails_fast_and_explains_the_trust_policy() {
    let f = fixture();
    f.sts_knobs(r#"{"reject": "AccessDenied"}"#);
    let run = f.run(&[("role-to-assume", ROLE)], true);
    run.assert_code(1);
    assert!(run.took < Duration::from_secs(2), "took {:?}", run.took);
    assert_eq!(f.sts_state()["calls"], 1, "not retried");
    for expected in [
        "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
        "sub: repo:org/app:environment:staging",
        "environment: staging",
        "job_workflow_ref: ",
        "\"token.actions.githubusercontent.com:sub\": \"repo:org/app:environment:staging\"",
    ] {
        assert!(
            run.stderr.contains(expected),
            "wanted {expected:?} in {}",
            run.stderr
        );
    }
    assert!(run.exported.is_empty());
}

#[test]
fn transient_failures_are_retried_with_a_new_token_each_time() {
    let f = fixture();
    f.sts_knobs(r#"{"failTimes": 2, "failWith": "IDPCommunicationError"}"#);
    let run = f.run(&[("role-to-assume", ROLE)], true);
    run.assert_code(0);
    run.assert_logged("attempt 1 of 6: IDPCommunicationError");
    run.assert_logged("attempt 2 of 6");
    let state = f.sts_state();
    assert_eq!(state["calls"], 3);
    let ids: Vec<&str> = state["tokenIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );

    f.sts_knobs(r#"{"failTimes": 9, "failWith": "503"}"#);
    let run = f.run(
        &[("role-to-assume", ROLE), ("retry-max-attempts", "3")],
        true,
    );
    run.assert_code(1);
    run.assert_logged("failed 3 times; the last: ");
}

#[test]
fn missing_token_permission_shows_the_yaml_and_locally_the_default_chain_is_used() {
    let f = fixture();
    let run = f.run(&[("role-to-assume", ROLE)], false);
    // A laptop: static keys, then AssumeRole of the role.
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("through the environment's AWS_ACCESS_KEY_ID, then role"),
        "{}",
        run.stderr
    );
    // Outside Actions there is no log to mask: the secret is just never printed.
    let secret = run.exported["AWS_SECRET_ACCESS_KEY"].clone();
    assert!(!run.stderr.contains(&secret) && !run.stdout.contains(&secret));
    // Nothing to refresh, and an earlier login's refresh settings are cleared.
    assert_eq!(
        run.exported.get("DEPLOY_KIT_OIDC_ROLE").map(String::as_str),
        Some(""),
        "nothing to refresh"
    );
    assert!(!run.stderr.contains("local-secret-key-value"));

    // In Actions without `id-token: write` the token variables are missing.
    let run = crate::deploy_kit()
        .action("oidc-login")
        .in_actions()
        .input("role-to-assume", ROLE)
        .input("aws-region", "us-east-1")
        .run();
    run.assert_code(2);
    run.assert_logged("id-token: write");
}

#[test]
fn bad_input_exits_2_naming_it() {
    let f = fixture();
    let cases = [
        (
            vec![("aws-region", "")],
            "input `role-to-assume`: is required in GitHub Actions",
        ),
        (
            vec![("role-to-assume", "github-deploy")],
            "input `role-to-assume`: `github-deploy` is not an IAM role ARN",
        ),
        (
            vec![("role-to-assume", ROLE), ("aws-region", "Europe")],
            "input `aws-region`",
        ),
        (
            vec![("role-to-assume", ROLE), ("role-duration-seconds", "60")],
            "input `role-duration-seconds`",
        ),
    ];
    for (inputs, expected) in cases {
        let mut all = vec![];
        if !inputs.iter().any(|(k, _)| *k == "role-to-assume") {
            all.push(("role-to-assume", ""));
        }
        all.extend(inputs);
        let run = f.run(&all, true);
        assert_eq!(run.code, Some(2), "{all:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected),
            "{all:?}: wanted {expected:?} in {}",
            run.stderr
        );
    }
    assert_eq!(f.sts_state()["calls"], 0, "no call for bad input");
}

/// The STS calls' session options as the bed recorded them, in order.
fn sessions(f: &Fixture) -> Vec<serde_json::Value> {
    f.sts_state()["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// configure-aws-credentials' session options: policies on the last role assumed, tags (the
/// run's and custom ones) only on AssumeRole, and the same options recorded for the refresh.
#[test]
fn session_policies_and_tags_go_where_configure_aws_credentials_puts_them() {
    let f = fixture();
    let chained = "arn:aws:iam::123456789012:role/staging-deploy";
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}"#;
    let managed = "arn:aws:iam::aws:policy/AmazonECS_FullAccess";
    let mut inputs = vec![
        ("role-to-assume", ROLE),
        ("inline-session-policy", policy),
        ("managed-session-policies", managed),
        ("custom-tags", r#"{"Team": "payments"}"#),
        ("transitive-tag-keys", "Team\nBaseRef"),
    ];
    let alone = f.run(&inputs, true);
    assert_eq!(alone.code, Some(0), "{}", alone.stderr);
    assert!(
        alone.stderr.contains("`custom-tags` are not sent"),
        "{}",
        alone.stderr
    );
    inputs.push(("role-chain", chained));
    let run = f.run(&inputs, true);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let calls = sessions(&f);
    let [first, web, chain] = &calls[..] else {
        panic!("three STS calls: {calls:?}");
    };
    // Alone, the web identity session is the last: it gets the policies, and no tags.
    assert_eq!(first["action"], "AssumeRoleWithWebIdentity");
    assert!(
        first["Policy"].as_str().unwrap().contains("ecs:*"),
        "{first}"
    );
    assert_eq!(first["PolicyArns"], serde_json::json!([managed]));
    assert_eq!(first["Tags"], serde_json::json!({}));
    // Chained, the policies move to the chained role, which is tagged.
    assert_eq!(web["Policy"], serde_json::Value::Null, "{web}");
    assert_eq!(web["PolicyArns"], serde_json::json!([]));
    assert_eq!(chain["action"], "AssumeRole");
    assert_eq!(chain["RoleArn"], chained);
    assert!(
        chain["Policy"].as_str().unwrap().contains("ecs:*"),
        "{chain}"
    );
    assert_eq!(chain["PolicyArns"], serde_json::json!([managed]));
    assert_eq!(chain["Tags"]["GitHub"], "Actions", "{chain}");
    assert_eq!(chain["Tags"]["Team"], "payments", "{chain}");
    assert_eq!(chain["TransitiveTagKeys"], serde_json::json!(["Team"]));
    let recorded = &run.exported["DEPLOY_KIT_OIDC_SESSION"];
    assert!(
        recorded.contains("ecs:*") && recorded.contains("payments"),
        "{recorded}"
    );

    inputs.push(("role-skip-session-tagging", "true"));
    let untagged = f.run(&inputs, true);
    assert_eq!(untagged.code, Some(0), "{}", untagged.stderr);
    let last = sessions(&f).pop().unwrap();
    assert_eq!(last["Tags"], serde_json::json!({}), "{last}");
    assert_eq!(last["TransitiveTagKeys"], serde_json::json!([]));
    assert_eq!(
        last["PolicyArns"],
        serde_json::json!([managed]),
        "policies stay"
    );
}

/// `web-identity-token-file` wins over the runner's token; `sts-endpoint` takes every STS call;
/// neither leaves a refresh behind (it would ask GitHub and the region's STS).
#[test]
fn an_sts_answer_without_credentials_exports_nothing() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "e30.eyJqdGkiOiJ4In0.c2ln\n").unwrap();
    // A 200 with the session's ARN but no Credentials (the model requires them).
    let sts = crate::contract::hostile::serve(
        "200 OK",
        concat!(
            r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">"#,
            "<AssumeRoleWithWebIdentityResult><AssumedRoleUser>",
            "<Arn>arn:aws:sts::123456789012:assumed-role/github-deploy/x</Arn>",
            "<AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>",
            "</AssumeRoleWithWebIdentityResult>",
            "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>",
            "</AssumeRoleWithWebIdentityResponse>"
        )
        .to_owned(),
    );
    let path = file.display().to_string();
    let run = f.run(
        &[
            ("role-to-assume", ROLE),
            ("web-identity-token-file", &path),
            ("sts-endpoint", &sts),
        ],
        true,
    );
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("without credentials: nothing was exported"),
        "{}",
        run.stderr
    );
    assert!(
        !run.exported.contains_key("AWS_ACCESS_KEY_ID"),
        "{:?}",
        run.exported
    );
}

#[test]
fn a_token_file_and_a_custom_sts_endpoint() {
    let f = fixture();
    // Any token: this test is about which token is sent, not about verifying it.
    f.sts_knobs(r#"{"verify": false}"#);
    // The payload is base64url of {"jti":"from-the-file"}.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "e30.eyJqdGkiOiJmcm9tLXRoZS1maWxlIn0.c2ln\n").unwrap();
    let path = file.display().to_string();
    let run = f.run(
        &[("role-to-assume", ROLE), ("web-identity-token-file", &path)],
        true,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        f.sts_state()["tokenIds"],
        serde_json::json!(["from-the-file"])
    );
    assert!(
        run.stderr.contains("through the token in"),
        "{}",
        run.stderr
    );
    // Nothing to refresh, and an earlier login's refresh settings are cleared.
    assert_eq!(
        run.exported.get("DEPLOY_KIT_OIDC_ROLE").map(String::as_str),
        Some(""),
        "no refresh"
    );

    let endpoint = f.bed.endpoint_url().to_owned();
    let through = f.run(
        &[("role-to-assume", ROLE), ("sts-endpoint", &endpoint)],
        true,
    );
    assert_eq!(through.code, Some(0), "{}", through.stderr);
    // Nothing to refresh, and an earlier login's refresh settings are cleared.
    assert_eq!(
        through
            .exported
            .get("DEPLOY_KIT_OIDC_ROLE")
            .map(String::as_str),
        Some(""),
        "no refresh"
    );
    let nowhere = f.run(
        &[
            ("role-to-assume", ROLE),
            ("sts-endpoint", "http://127.0.0.1:9"),
            ("disable-retry", "true"),
        ],
        true,
    );
    assert_eq!(nowhere.code, Some(1), "{}", nowhere.stderr);
    assert!(
        nowhere.stderr.contains("failed 1 times"),
        "{}",
        nowhere.stderr
    );
    assert_eq!(f.sts_state()["calls"], 2, "the bed's STS was not asked");
}

/// `output-env-credentials: false` exports nothing; `action-timeout-s` ends a step that hangs
/// with exit 3 and nothing exported.
#[test]
fn outputs_without_the_environment_and_the_step_timeout() {
    let f = fixture();
    let run = f.run(
        &[
            ("role-to-assume", ROLE),
            ("output-env-credentials", "false"),
            ("output-credentials", "true"),
        ],
        true,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.exported.is_empty(), "{:?}", run.exported);
    assert!(!run.outputs["aws-access-key-id"].is_empty());

    // A listener that never answers: STS hangs until the step's limit.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let hung = f.run(
        &[
            ("role-to-assume", ROLE),
            ("sts-endpoint", &endpoint),
            ("action-timeout-s", "1"),
        ],
        true,
    );
    assert_eq!(hung.code, Some(3), "{}", hung.stderr);
    assert!(
        hung.stderr.contains("`action-timeout-s` ran out"),
        "{}",
        hung.stderr
    );
    assert!(hung.took < Duration::from_secs(10), "{:?}", hung.took);
    assert!(hung.exported.is_empty(), "{:?}", hung.exported);
}

/// `use-existing-credentials`: working credentials of an allowed account are kept (no STS role
/// call, nothing exported); of another account, the login runs as usual.
#[test]
fn existing_credentials_are_kept_when_they_work() {
    let f = fixture();
    let kept = f.run(
        &[
            ("role-to-assume", ROLE),
            ("use-existing-credentials", "true"),
        ],
        false,
    );
    assert_eq!(kept.code, Some(0), "{}", kept.stderr);
    assert!(
        kept.stderr.contains("nothing new fetched"),
        "{}",
        kept.stderr
    );
    assert!(kept.exported.is_empty(), "{:?}", kept.exported);
    assert_eq!(kept.outputs["aws-account-id"], "123456789012");
    assert!(sessions(&f).is_empty(), "no AssumeRole: {:?}", sessions(&f));

    let elsewhere = f.run(
        &[
            ("role-to-assume", ROLE),
            ("use-existing-credentials", "true"),
            ("allowed-account-ids", "111111111111"),
        ],
        false,
    );
    assert!(
        elsewhere.stderr.contains("logging in"),
        "{}",
        elsewhere.stderr
    );
    assert_eq!(sessions(&f).len(), 1, "the role was assumed");
}
