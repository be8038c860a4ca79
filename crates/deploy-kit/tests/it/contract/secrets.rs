//! Known secret values through every action, on success and failure paths (errors are where
//! secrets leak): OIDC credentials and tokens, the ECR password, smoke-check header values, build
//! secrets, task and migration environment values. Each may appear in stdout or stderr only in
//! its own `::add-mask::` line, and in no file the step writes (outputs, summary, reports),
//! except where putting it is the action's job: oidc-login's `$GITHUB_ENV` exports (and outputs
//! when `output-credentials` asks) and the rendered task definition.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;

use crate::contract::bad_input::setup::{self, ROLE};

mod check;

use check::{Secret, assert_kept, assert_no_token, masked_values, secret, step};

#[tokio::test]
async fn oidc_credentials_and_tokens_stay_masked_on_success_and_failure() {
    let world = setup::world().await;
    let request_token = world
        .bed
        .var("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .unwrap()
        .to_owned();
    let base = [("role-to-assume", ROLE), ("aws-region", "us-east-1")];

    // Success, chained, with the credentials asked for as outputs too.
    let mut inputs = base.to_vec();
    inputs.push((
        "role-chain",
        "arn:aws:iam::123456789012:role/staging-deploy",
    ));
    inputs.push(("output-credentials", "true"));
    let ok = step(&world, "oidc-login", &inputs, &[]);
    assert_eq!(ok.ran.code, Some(0), "{}", ok.ran.stderr);
    let mut secrets: Vec<Secret> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ]
    .iter()
    .map(|key| Secret {
        allowed_in: &["$ENV", "$OUTPUT"],
        ..secret(&ok.ran.exported[*key])
    })
    .collect();
    secrets.push(Secret {
        masked: false,
        ..secret(&request_token)
    });
    assert_kept("oidc-login success", &ok, &secrets);
    assert_no_token("oidc-login success", &ok);

    // Refused after the credentials were had (another account): masked, exported nowhere.
    let mut inputs = base.to_vec();
    inputs.push(("allowed-account-ids", "111111111111"));
    let refused = step(&world, "oidc-login", &inputs, &[]);
    assert_eq!(refused.ran.code, Some(2), "{}", refused.ran.stderr);
    let had = masked_values(&refused.ran);
    assert!(
        had.len() >= 2,
        "the credentials were masked: {}",
        refused.ran.stderr
    );
    let mut secrets: Vec<Secret> = had.iter().map(|v| secret(v)).collect();
    secrets.push(Secret {
        masked: false,
        ..secret(&request_token)
    });
    assert_kept("oidc-login refused account", &refused, &secrets);
    assert_no_token("oidc-login refused account", &refused);

    oidc_failures_keep_the_token(&world, &base, &request_token);
}

/// STS denies, then STS keeps failing: the explanations quote claims, never the token.
fn oidc_failures_keep_the_token(world: &setup::World, base: &[(&str, &str)], request_token: &str) {
    let sts = |json: &str| {
        let (status, body) = world.bed.post("/_bed/sts", json).unwrap();
        assert_eq!(status, 200, "{body}");
    };
    for (label, knobs) in [
        ("oidc-login AccessDenied", r#"{"reject": "AccessDenied"}"#),
        (
            "oidc-login retries exhausted",
            r#"{"reset": true, "failTimes": 9, "failWith": "503"}"#,
        ),
    ] {
        sts(r#"{"reset": true}"#);
        sts(knobs);
        let mut inputs = base.to_vec();
        inputs.push(("retry-max-attempts", "2"));
        let failed = step(world, "oidc-login", &inputs, &[]);
        assert_eq!(failed.ran.code, Some(1), "{label}: {}", failed.ran.stderr);
        let secrets = [Secret {
            masked: false,
            ..secret(request_token)
        }];
        assert_kept(label, &failed, &secrets);
        assert_no_token(label, &failed);
        let env = &failed.files.iter().find(|(n, _)| n == "$ENV").unwrap().1;
        assert!(env.is_empty(), "{label}: nothing exported: {env}");
    }
}

/// An HTTP server that answers `status` and quotes the request's headers back in the body, as
/// some servers quote the credential they refused.
fn echo_server(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/health", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let body = format!("ok; you sent: {}", String::from_utf8_lossy(&buf[..n]));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

const BEARER: &str = "s3cr3t-smoke-bearer-7f3a";
const API_KEY: &str = "s3cr3t-smoke-apikey-91c2";

#[tokio::test]
async fn smoke_check_header_values_stay_masked_when_checks_pass_and_fail() {
    let world = setup::world().await;
    let headers = format!("Authorization: Bearer {BEARER}\nX-Api-Key: {API_KEY}");
    for (label, status, code) in [("smoke-test pass", 200, 0), ("smoke-test 401", 401, 3)] {
        let url = echo_server(status);
        let run = step(
            &world,
            "smoke-test",
            &[
                ("url", &url),
                ("headers", &headers),
                ("expect-body", "ok"),
                ("wait-for", "1s"),
                ("requests", "3"),
            ],
            &[],
        );
        assert_eq!(run.ran.code, Some(code), "{label}: {}", run.ran.stderr);
        assert!(
            run.files
                .iter()
                .any(|(n, c)| n.ends_with(".json") && !c.is_empty()),
            "{label}: the report is among the files checked"
        );
        assert_kept(label, &run, &[secret(BEARER), secret(API_KEY)]);
    }
    // A smoke check inside ecs-blue-green: pass continues, fail rolls back; same rule.
    let file = world.dir.path().join("web.json").display().to_string();
    for (label, status, code, service) in [
        ("ecs-blue-green test pass", 200, 0, "web"),
        ("ecs-blue-green test 401", 401, 1, "web2"),
    ] {
        let url = echo_server(status);
        let run = step(
            &world,
            "ecs-blue-green",
            &[
                ("cluster", "prod"),
                ("service", service),
                ("task-definition", &file),
                ("strategy", "blue-green"),
                ("test-url", &url),
                ("test-headers", &headers),
                ("test-wait-for", "1s"),
                ("test-requests", "2"),
            ],
            &[],
        );
        assert_eq!(run.ran.code, Some(code), "{label}: {}", run.ran.stderr);
        assert_kept(label, &run, &[secret(BEARER), secret(API_KEY)]);
    }
}

const DB_PASSWORD: &str = "s3cr3t-db-password-5e1d";

#[tokio::test]
async fn environment_values_stay_out_of_logs_summaries_and_outputs() {
    let world = setup::world().await;
    let file = world.dir.path().join("api.json").display().to_string();
    let env = format!("DB_PASSWORD={DB_PASSWORD}\nRELEASE=7");
    let rendered = Secret {
        allowed_in: &["task-definition-"],
        ..secret(DB_PASSWORD)
    };
    // Allowed: rendered (that file's job), masked, nowhere else.
    let run = step(
        &world,
        "render-taskdef",
        &[
            ("task-definition", &file),
            ("environment-variables", &env),
            ("allow-plaintext-secrets", "true"),
        ],
        &[],
    );
    assert_eq!(run.ran.code, Some(0), "{}", run.ran.stderr);
    assert!(
        run.files
            .iter()
            .any(|(n, c)| n.contains("task-definition-") && c.contains(DB_PASSWORD)),
        "the rendered file holds the variable"
    );
    assert_kept("render-taskdef allowed", &run, &[rendered]);
    // Refused: the error names the variable, not its value.
    let run = step(
        &world,
        "render-taskdef",
        &[("task-definition", &file), ("environment-variables", &env)],
        &[],
    );
    assert_eq!(run.ran.code, Some(2), "{}", run.ran.stderr);
    assert!(run.ran.stderr.contains("DB_PASSWORD"), "{}", run.ran.stderr);
    let refused = Secret {
        masked: false,
        ..secret(DB_PASSWORD)
    };
    assert_kept("render-taskdef refused", &run, &[refused]);

    // run-migrations: the override goes to RunTask; passing and failing task alike.
    for (label, exit_env, code) in [
        ("run-migrations exit 0", "0", 0),
        ("run-migrations exit 3", "3", 1),
    ] {
        let env = format!("DB_PASSWORD={DB_PASSWORD}\nBED_EXIT_CODE={exit_env}\nBED_RUN_SECONDS=1");
        let run = step(
            &world,
            "run-migrations",
            &[
                ("cluster", "prod"),
                ("service", "mig"),
                ("command", "bin/migrate up"),
                ("environment", &env),
            ],
            &[],
        );
        assert_eq!(run.ran.code, Some(code), "{label}: {}", run.ran.stderr);
        let kept = Secret {
            masked: false,
            ..secret(DB_PASSWORD)
        };
        assert_kept(label, &run, &[kept]);
    }
}

const BUILD_SECRET: &str = "s3cr3t-build-token-c0ffee";

#[tokio::test]
async fn the_ecr_password_and_build_secrets_stay_masked() {
    use deploy_kit_testbed::docker::{Docker, sample_app_context};
    let world = setup::world().await;
    let docker = Docker::start(&world.bed).unwrap();
    let (token, password) = crate::ecr_token(&world.bed).await;
    let context: PathBuf = sample_app_context(&world.dir.path().join("app")).unwrap();
    let context = context.display().to_string();
    let docker_env = [
        ("DOCKER", docker.var("DOCKER").to_owned()),
        ("DOCKER_HOST", docker.var("DOCKER_HOST").to_owned()),
    ];
    let secrets_input = format!("token={BUILD_SECRET}");
    for (label, repository, create, code) in [
        ("build-push-ecr built", "secretive", "true", 0),
        ("build-push-ecr no repository", "absent", "false", 2),
    ] {
        let run = step(
            &world,
            "build-push-ecr",
            &[
                ("repository", repository),
                ("create-repository", create),
                ("context", &context),
                ("tags", "t1"),
                ("secrets", &secrets_input),
            ],
            &docker_env,
        );
        assert_eq!(run.ran.code, Some(code), "{label}: {}", run.ran.stderr);
        let password_masked = code == 0;
        assert_kept(
            label,
            &run,
            &[
                secret(BUILD_SECRET),
                Secret {
                    masked: password_masked,
                    ..secret(&password)
                },
                Secret {
                    masked: false,
                    ..secret(&token)
                },
            ],
        );
    }
    drop(docker);
}

const SESSION_SECRET: &str = "wJalrXUtnFEMI-deploy-static-s3cr3t";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEdeploy-static-session-token";

/// deploy-static signs every request with the step's credentials; on success and on the
/// failures it reports (a missing bucket, a missing folder), they are in no line and no file.
#[tokio::test]
async fn deploy_static_keeps_the_credentials_out_of_logs_and_files() {
    let world = setup::world().await;
    let site = world.dir.path().join("site").display().to_string();
    let env = [
        ("AWS_SECRET_ACCESS_KEY", SESSION_SECRET.to_owned()),
        ("AWS_SESSION_TOKEN", SESSION_TOKEN.to_owned()),
    ];
    for (label, source, bucket, code) in [
        ("deploy-static ok", site.as_str(), "bad-input-site", 0),
        (
            "deploy-static no bucket",
            site.as_str(),
            "no-such-bucket",
            2,
        ),
        (
            "deploy-static no folder",
            "/nonexistent/site",
            "bad-input-site",
            2,
        ),
    ] {
        let run = step(
            &world,
            "deploy-static",
            &[
                ("source", source),
                ("bucket", bucket),
                ("prefix", "secrets/"),
            ],
            &env,
        );
        assert_eq!(run.ran.code, Some(code), "{label}: {}", run.ran.stderr);
        let unmasked = |value| Secret {
            masked: false,
            ..secret(value)
        };
        assert_kept(
            label,
            &run,
            &[unmasked(SESSION_SECRET), unmasked(SESSION_TOKEN)],
        );
    }
}
