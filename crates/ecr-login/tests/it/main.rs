//! ecr-login without AWS or docker: the inputs, the shared token decoding against the real ECR
//! and ECR Public clients (aws-smithy-mocks; ECR Public's as `Aws` builds it, in us-east-1), and the login and logout steps against a docker stand-in that
//! records what it was asked (arguments, stdin, DOCKER_CONFIG). The bed test
//! (crates/deploy-kit/tests/it/ecr_login.rs) runs the real docker against the bed's registry.
#![allow(clippy::unwrap_used)] // a panic in a test is its failure

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_ecr::Client;
use aws_sdk_ecr::operation::get_authorization_token::GetAuthorizationTokenOutput;
use aws_sdk_ecr::types::AuthorizationData;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_aws::ecr::{Login, TokenError, logins};
use deploy_kit_ecr_login::{
    Args, Docker, Error, Input, LOGGED_IN_VAR, Registry, log_in, log_out, runners_docker,
};
use deploy_kit_gha::{OutputFormat, Runner, RunnerEnv};

fn args(pairs: &[(&str, &str)]) -> Args {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    Args {
        registries: get("registries"),
        registry_type: get("registry-type"),
        mask_password: get("mask-password"),
        logout: get("logout"),
    }
}

#[test]
fn inputs_default_to_the_own_registry_masked_and_accept_several_accounts_or_public() {
    assert_eq!(
        Input::from_args(&args(&[])).unwrap(),
        Input::Login {
            registry: Registry::Private { registries: vec![] },
            mask_password: true
        }
    );
    let several = args(&[
        ("registries", " 123456789012, 210987654321\n123456789012 "),
        ("registry-type", "PRIVATE"),
        ("mask-password", "false"),
    ]);
    assert_eq!(
        Input::from_args(&several).unwrap(),
        Input::Login {
            registry: Registry::Private {
                registries: vec!["123456789012".into(), "210987654321".into()]
            },
            mask_password: false
        }
    );
    // Public in any case; `registries` is still checked, then set aside (it names private ones).
    assert_eq!(
        Input::from_args(&args(&[
            ("registry-type", "Public"),
            ("registries", "123456789012")
        ]))
        .unwrap(),
        Input::Login {
            registry: Registry::Public {
                ignored: vec!["123456789012".into()]
            },
            mask_password: true
        }
    );
    assert_eq!(
        Input::from_args(&args(&[("logout", "true")])).unwrap(),
        Input::Logout
    );
}

#[test]
fn bad_inputs_are_refused_naming_the_input_in_either_mode() {
    let eleven = (0..11)
        .map(|i| format!("1234567890{i:02}"))
        .collect::<Vec<_>>()
        .join(",");
    let cases = [
        ("registries", "12345", "not an AWS account ID"),
        ("registries", "vpc-123 12345", "not an AWS account ID"),
        ("registries", eleven.as_str(), "at most 10"),
        ("registry-type", "bogus", "not a registry type"),
        (
            "registry-type",
            "ecr-public",
            "`public` (ECR Public, public.ecr.aws)",
        ),
        ("mask-password", "maybe", "not a boolean"),
        ("logout", "2", "not a boolean"),
    ];
    for (input, value, says) in cases {
        for logout in ["false", "true"] {
            if input == "logout" && logout == "true" {
                continue;
            }
            let error = Input::from_args(&args(&[(input, value), ("logout", logout)]))
                .expect_err(&format!("{input}={value}"));
            assert_eq!(error.input, input, "{error}");
            assert!(error.to_string().contains(says), "{error}");
        }
    }
}

fn data(token: &str, endpoint: &str) -> AuthorizationData {
    AuthorizationData::builder()
        .authorization_token(aws_smithy_types::base64::encode(token))
        .proxy_endpoint(endpoint)
        .expires_at(aws_smithy_types::DateTime::from_secs(1_800_000_000))
        .build()
}

#[tokio::test]
async fn one_call_asks_for_the_accounts_and_each_answer_is_one_login() {
    #[allow(deprecated)] // the field picks the registries named in the answer
    let rule = mock!(Client::get_authorization_token)
        .match_requests(|req| req.registry_ids() == ["111111111111", "222222222222"])
        .then_output(|| {
            GetAuthorizationTokenOutput::builder()
                .authorization_data(data(
                    "AWS:token-1",
                    "https://111111111111.dkr.ecr.eu-west-1.amazonaws.com",
                ))
                .authorization_data(data(
                    "AWS:token-1",
                    "https://222222222222.dkr.ecr.eu-west-1.amazonaws.com",
                ))
                .build()
        });
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::Sequential, [&rule]);
    let ids = ["111111111111".to_owned(), "222222222222".to_owned()];
    let got = logins(&ecr, &ids).await.unwrap();
    let hosts: Vec<&str> = got.iter().map(|l| l.registry.as_str()).collect();
    assert_eq!(
        hosts,
        [
            "111111111111.dkr.ecr.eu-west-1.amazonaws.com",
            "222222222222.dkr.ecr.eu-west-1.amazonaws.com"
        ]
    );
    assert!(
        got.iter()
            .all(|l| l.username == "AWS" && l.password == "token-1")
    );
    assert_eq!(got[0].expires_at.as_deref(), Some("2027-01-15T08:00:00Z"));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_answer_without_authorization_data_or_with_a_bad_token_is_an_error() {
    let empty = mock!(Client::get_authorization_token)
        .then_output(|| GetAuthorizationTokenOutput::builder().build());
    let bad = mock!(Client::get_authorization_token).then_output(|| {
        GetAuthorizationTokenOutput::builder()
            .authorization_data(data("no colon here", "https://r.example"))
            .build()
    });
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::Sequential, [&empty, &bad]);
    assert!(matches!(logins(&ecr, &[]).await, Err(TokenError::Empty)));
    assert!(matches!(
        logins(&ecr, &[]).await,
        Err(TokenError::Malformed)
    ));
}

/// The client `Aws` builds for ECR Public, in a step whose region is eu-west-1.
fn public_client(rule: &aws_smithy_mocks::Rule) -> aws_sdk_ecrpublic::Client {
    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(aws_sdk_ecrpublic::config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new("eu-west-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("AKID", "secret", None, None, "test"),
            ),
        )
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .build();
    let retry = deploy_kit_aws::Retry::new(std::sync::Arc::new(|_: &str| {}));
    let client = deploy_kit_aws::Aws::new(sdk, retry).ecr_public();
    let mocked = client
        .config()
        .to_builder()
        .interceptor(aws_smithy_mocks::MockResponseInterceptor::new().with_rule(rule))
        .build();
    aws_sdk_ecrpublic::Client::from_conf(mocked)
}

#[tokio::test]
async fn public_is_one_call_in_us_east_1_and_logs_in_to_public_ecr_aws() {
    use aws_sdk_ecrpublic::operation::get_authorization_token::GetAuthorizationTokenOutput as Out;
    let rule = mock!(aws_sdk_ecrpublic::Client::get_authorization_token).then_output(|| {
        Out::builder()
            .authorization_data(
                aws_sdk_ecrpublic::types::AuthorizationData::builder()
                    .authorization_token(aws_smithy_types::base64::encode("AWS:public-token"))
                    .expires_at(aws_smithy_types::DateTime::from_secs(1_800_000_000))
                    .build(),
            )
            .build()
    });
    let client = public_client(&rule);
    assert_eq!(
        client.config().region().map(ToString::to_string).as_deref(),
        Some("us-east-1"),
        "ECR Public's tokens come from us-east-1 whatever the step's region"
    );
    let login = deploy_kit_aws::ecr::public_login(&client).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(login.registry, "public.ecr.aws");
    assert_eq!(login.username, "AWS");
    assert_eq!(login.password, "public-token");
    assert_eq!(login.expires_at.as_deref(), Some("2027-01-15T08:00:00Z"));
    assert_eq!(
        deploy_kit_aws::ecr::docker_login_args(&login.registry, &login.username),
        [
            "login",
            "--username",
            "AWS",
            "--password-stdin",
            "public.ecr.aws"
        ]
    );
}

#[tokio::test]
async fn a_public_answer_without_a_token_is_an_error() {
    use aws_sdk_ecrpublic::operation::get_authorization_token::GetAuthorizationTokenOutput as Out;
    let rule = mock!(aws_sdk_ecrpublic::Client::get_authorization_token)
        .then_output(|| Out::builder().build());
    let client = public_client(&rule);
    assert!(matches!(
        deploy_kit_aws::ecr::public_login(&client).await,
        Err(TokenError::Empty)
    ));
}

/// A docker stand-in that appends `DOCKER_CONFIG|args|stdin` to `calls` and fails for a
/// registry whose name contains `fail`.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("docker");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s|%s|%s\\n' \"$DOCKER_CONFIG\" \"$*\" \"$(cat)\" >> '{}'\n\
                 case \"$*\" in *fail*) echo 'denied: bad credentials' >&2; exit 1;; esac\n\
                 echo 'Login Succeeded'\n",
                dir.path().join("calls").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        World { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn runner(&self, logged_in: Option<&str>) -> (Runner, deploy_kit_gha::Captured) {
        let mut vars: BTreeMap<String, String> = [
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_OUTPUT", self.path("output").display().to_string()),
            ("GITHUB_ENV", self.path("env").display().to_string()),
            ("DOCKER", self.path("docker").display().to_string()),
            ("HOME", self.path("home").display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(hosts) = logged_in {
            vars.insert(LOGGED_IN_VAR.to_owned(), hosts.to_owned());
        }
        Runner::capture("ecr-login", RunnerEnv::from_vars(vars), OutputFormat::Lines)
    }

    fn calls(&self) -> Vec<String> {
        read(&self.path("calls"))
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn file_pairs(&self, name: &str) -> BTreeMap<String, String> {
        deploy_kit_gha::output_pairs(&read(&self.path(name)))
            .into_iter()
            .collect()
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn login(host: &str) -> Login {
    Login {
        registry: host.to_owned(),
        username: "AWS".to_owned(),
        password: "pw-secret".to_owned(),
        expires_at: Some("2027-01-15T08:00:00Z".to_owned()),
    }
}

#[tokio::test]
async fn login_goes_to_the_runners_config_with_the_password_on_stdin_and_is_remembered() {
    let world = World::new();
    let (runner, captured) = world.runner(Some("earlier.example"));
    let docker = runners_docker(runner.env()).unwrap();
    log_in(&docker, &[login("a.example"), login("b.example")], &runner)
        .await
        .unwrap();
    let config = world.path("home").join(".docker").display().to_string();
    assert_eq!(
        world.calls(),
        [
            format!("{config}|login --username AWS --password-stdin a.example|pw-secret"),
            format!("{config}|login --username AWS --password-stdin b.example|pw-secret"),
        ]
    );
    let outputs = world.file_pairs("output");
    assert_eq!(outputs["registry"], "a.example,b.example");
    assert_eq!(outputs["docker-username"], "AWS");
    assert_eq!(outputs["docker-password"], "pw-secret");
    assert_eq!(
        world.file_pairs("env")[LOGGED_IN_VAR],
        "earlier.example,a.example,b.example"
    );
    let log = captured.stderr();
    assert!(log.contains("logged in to b.example"), "{log}");
    assert!(log.contains("expires 2027-01-15T08:00:00Z"), "{log}");
}

#[tokio::test]
async fn a_failed_login_is_exit_1_and_the_logins_before_it_are_still_remembered() {
    let world = World::new();
    let (runner, _) = world.runner(None);
    let docker = runners_docker(runner.env()).unwrap();
    let error = log_in(
        &docker,
        &[login("a.example"), login("fail.example")],
        &runner,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::Docker { command: "login", registry, output }
            if registry == "fail.example" && output.contains("denied")),
        "{error}"
    );
    assert!(!error.to_string().contains("pw-secret"), "{error}");
    assert_eq!(world.file_pairs("env")[LOGGED_IN_VAR], "a.example");
    assert!(!world.file_pairs("output").contains_key("docker-password"));
}

#[tokio::test]
async fn logout_tries_every_remembered_registry_and_keeps_only_the_failed_one() {
    let world = World::new();
    let (runner, _) = world.runner(Some("a.example,fail.example,b.example"));
    let docker = Docker {
        config_dir: world.path("cfg"),
        ..runners_docker(runner.env()).unwrap()
    };
    let error = log_out(&docker, &runner).await.unwrap_err();
    let config = world.path("cfg").display().to_string();
    assert_eq!(
        world.calls(),
        [
            format!("{config}|logout a.example|"),
            format!("{config}|logout fail.example|"),
            format!("{config}|logout b.example|"),
        ],
        "every registry is tried, the failing one included"
    );
    assert!(matches!(
        error,
        Error::Docker {
            command: "logout",
            ..
        }
    ));
    assert_eq!(
        world.file_pairs("env")[LOGGED_IN_VAR],
        "fail.example",
        "recorded for another try"
    );
}

#[tokio::test]
async fn logout_with_nothing_remembered_runs_no_docker() {
    let world = World::new();
    let (runner, captured) = world.runner(None);
    log_out(&runners_docker(runner.env()).unwrap(), &runner)
        .await
        .unwrap();
    assert!(world.calls().is_empty());
    assert!(captured.stderr().contains("nothing to log out of"));
}
