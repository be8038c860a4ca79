use deploy_kit_gha::Exit;
use deploy_kit_render_taskdef::Args;

use crate::render::{FIXTURE, args, render};

/// Runs render-taskdef, expecting bad input: exit 2, the input named first, `expected` in the
/// message, and no file written.
async fn fails(args: Args, input: &str, expected: &str) {
    let rendered = render(args).await;
    assert_eq!(rendered.exit(), Exit::BadInput, "{}", rendered.message());
    let message = rendered.message();
    assert!(
        message.starts_with(&format!("input `{input}`: ")),
        "{message}"
    );
    assert!(
        message.contains(expected),
        "expected `{expected}` in: {message}"
    );
    assert!(rendered.file.is_empty(), "nothing is written on bad input");
}

fn file_with(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("td.json");
    std::fs::write(&path, text).unwrap();
    let shown = path.display().to_string();
    (dir, shown)
}

/// The fixture with `from` replaced by `to`, as a file.
fn fixture_with(from: &str, to: &str) -> (tempfile::TempDir, Args) {
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    assert!(text.contains(from), "{from} in the fixture");
    let (dir, path) = file_with(&text.replace(from, to));
    let args = Args {
        task_definition: Some(path),
        ..args()
    };
    (dir, args)
}

#[tokio::test]
async fn a_missing_container_lists_the_containers() {
    let worker = Args {
        container_name: Some("worker".into()),
        ..args()
    };
    let expected = "container `worker` not found in `";
    fails(worker, "container-name", expected).await;
    let worker = Args {
        container_name: Some("worker".into()),
        ..args()
    };
    let listed = "two-containers.json`: containers are `web`, `log-router`";
    fails(worker, "container-name", listed).await;
    let cron = Args {
        images: Some("cron=app:1".into()),
        container_name: None,
        image: None,
        ..args()
    };
    fails(cron, "images", "container `cron` not found").await;
}

#[tokio::test]
async fn sources_and_pairs() {
    let none = Args {
        task_definition: None,
        ..args()
    };
    fails(none, "task-definition", "is required").await;
    let two = Args {
        task_definition_family: Some("api".into()),
        ..args()
    };
    fails(two, "task-definition", "give only one of").await;
    let image_alone = Args {
        container_name: None,
        ..args()
    };
    fails(image_alone, "image", "needs `container-name`").await;
    let missing = Args {
        task_definition: Some("/no/such/file.json".into()),
        ..args()
    };
    let expected = "cannot read `/no/such/file.json`: No such file or directory";
    fails(missing, "task-definition", expected).await;
    let twice = Args {
        images: Some("web=app:2".into()),
        ..args()
    };
    fails(twice, "images", "container `web` is given an image twice").await;
}

#[tokio::test]
async fn bad_json_says_where() {
    let (_dir, path) = file_with("{\n  \"family\": \"api\",\n  \"cpu\": 256,,\n}");
    let args = Args {
        task_definition: Some(path),
        ..args()
    };
    let expected = "is not valid JSON: key must be a string at line 3 column 14";
    fails(args, "task-definition", expected).await;
}

#[tokio::test]
async fn unknown_keys_suggest_the_closest_valid_one() {
    let (_dir, args) = fixture_with("\"essential\": true", "\"esential\": true");
    let expected = "unknown key `esential` in `containerDefinitions[0]` (ContainerDefinition): did you mean `essential`?";
    fails(args, "task-definition", expected).await;
    let (_dir, args) = fixture_with("\"containerPort\"", "\"containerport\"");
    let expected =
        "in `containerDefinitions[0].portMappings[0]` (PortMapping): did you mean `containerPort`?";
    fails(args, "task-definition", expected).await;
    let (_dir, args) = fixture_with("\"interval\": 10", "\"intervall\": 10");
    let expected =
        "in `containerDefinitions[0].healthCheck` (HealthCheck): did you mean `interval`?";
    fails(args, "task-definition", expected).await;
}

#[tokio::test]
async fn values_of_the_wrong_type_say_what_is_expected() {
    let (_dir, args) = fixture_with("\"cpu\": \"512\"", "\"cpu\": 512");
    let expected = "`cpu` must be a string, not `512` (write it in quotes: \"512\")";
    fails(args, "task-definition", expected).await;
    let (_dir, args) = fixture_with("\"memoryReservation\": 50", "\"memoryReservation\": \"50\"");
    let expected =
        "`containerDefinitions[1].memoryReservation` must be a whole number, not a string";
    fails(args, "task-definition", expected).await;
}

#[tokio::test]
async fn describe_output_saved_whole_gets_a_hint() {
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    let (_dir, path) = file_with(&format!("{{\"taskDefinition\": {text}}}"));
    let args = Args {
        task_definition: Some(path),
        ..args()
    };
    let expected = "use the object under `taskDefinition`";
    fails(args, "task-definition", expected).await;
}

#[tokio::test]
async fn unset_template_variables_name_the_variable_and_line() {
    let (_dir, args) = fixture_with("web:1.4.1", "web:${DEPLOY_KIT_TEST_SURELY_UNSET}");
    let args = Args {
        image: None,
        container_name: None,
        ..args
    };
    let expected = "`${DEPLOY_KIT_TEST_SURELY_UNSET}` on line 12 is not set";
    fails(args, "task-definition", expected).await;
}

#[tokio::test]
async fn runner_credentials_are_never_rendered() {
    // PATH is set in every test process: the refusal does not depend on the variable being unset.
    for name in [
        "AWS_SECRET_ACCESS_KEY",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GITHUB_TOKEN",
        "INPUT_SECRETS",
    ] {
        let (_dir, args) = fixture_with("web:1.4.1", &format!("web:${{{name}}}"));
        let args = Args {
            image: None,
            container_name: None,
            ..args
        };
        let expected = format!("`${{{name}}}` on line 12 is ");
        fails(args, "task-definition", &expected).await;
    }
}

#[tokio::test]
async fn environment_names_are_checked() {
    let cases = [
        (
            "environment-variables",
            "9LIVES=x",
            "`9LIVES` is not a valid variable name",
        ),
        ("environment-variables", "A=1\nA=2", "`A` is given twice"),
        ("secrets", "A", "is not of the form `NAME=value`"),
        ("secrets", "A=", "needs a Secrets Manager or SSM ARN/name"),
    ];
    for (input, value, expected) in cases {
        let args = if input == "secrets" {
            Args {
                secrets: Some(value.into()),
                ..args()
            }
        } else {
            Args {
                environment_variables: Some(value.into()),
                ..args()
            }
        };
        fails(args, input, expected).await;
    }
}

#[tokio::test]
async fn the_templates_own_variables_are_checked() {
    let twice = r#"{ "name": "LOG_LEVEL", "value": "info" },
        { "name": "LOG_LEVEL", "value": "debug" },"#;
    let (_dir, args) = fixture_with(r#"{ "name": "LOG_LEVEL", "value": "info" },"#, twice);
    let expected = "container `web` in `";
    fails(args, "task-definition", expected).await;
    let (_dir, args) = fixture_with(r#"{ "name": "LOG_LEVEL", "value": "info" },"#, twice);
    fails(
        args,
        "task-definition",
        "has `LOG_LEVEL` twice in `environment`",
    )
    .await;
    let (_dir, args) = fixture_with("\"FEATURE_SEARCH\"", "\"DATABASE_URL\"");
    let expected = "has `DATABASE_URL` both in `environment` and in `secrets`: keep one";
    fails(args, "task-definition", expected).await;
    let (_dir, args) = fixture_with(
        "\"valueFrom\": \"arn:aws:secretsmanager:us-east-1:123456789012:secret:api/db-AbCdEf\"",
        "\"valueFrom\": \"\"",
    );
    fails(
        args,
        "task-definition",
        "secret `DATABASE_URL` has no `valueFrom`",
    )
    .await;
}

#[tokio::test]
async fn plaintext_secrets_are_refused_naming_where_they_came_from() {
    let added = Args {
        environment_variables: Some("STRIPE_API_KEY=sk_live_x".into()),
        ..args()
    };
    let expected = "`STRIPE_API_KEY` (container `web`) looks like a secret but is a plaintext environment variable: store it in Secrets Manager";
    fails(added, "environment-variables", expected).await;
    let two = Args {
        environment_variables: Some("DB_PASSWORD=x\nAPI_TOKEN=y".into()),
        ..args()
    };
    let expected = "`DB_PASSWORD` (container `web`), `API_TOKEN` (container `web`) look like secrets but are plaintext environment variables: store them";
    fails(two, "environment-variables", expected).await;
    let (_dir, in_file) = fixture_with("\"FEATURE_SEARCH\"", "\"DB_PASSWORD\"");
    let expected = "`DB_PASSWORD` (container `web`) looks like a secret";
    fails(in_file, "task-definition", expected).await;
}

#[tokio::test]
async fn edits_need_a_container_when_there_are_several() {
    let args = Args {
        container_name: None,
        image: None,
        environment_variables: Some("A=1".into()),
        ..args()
    };
    fails(args, "container-name", "is required to say which container").await;
}

#[tokio::test]
async fn log_options_need_a_log_configuration() {
    let args = Args {
        container_name: Some("log-router".into()),
        image: None,
        log_configuration_options: Some("a=b".into()),
        ..args()
    };
    fails(
        args,
        "log-configuration-options",
        "has no `logConfiguration`",
    )
    .await;
}

#[tokio::test]
async fn a_family_is_needed() {
    let (_dir, args) = fixture_with("\"family\": \"api\",", "");
    fails(
        args,
        "family",
        "has no `family`: add one to the file or set the `family` input",
    )
    .await;
}

#[tokio::test]
async fn bad_command_boolean_and_settings() {
    let cases = [
        ("command", "[1, 2]", "is a JSON array but not of strings"),
        ("allow-plaintext-secrets", "sure", "is not a boolean"),
        ("cpu", "a lot", "is not CPU units"),
        (
            "execution-role-arn",
            "arn:aws:iam::123:role/x",
            "is not an IAM role ARN",
        ),
    ];
    for (input, value, expected) in cases {
        let value = Some(value.to_owned());
        let args = match input {
            "command" => Args {
                command: value,
                ..args()
            },
            "cpu" => Args {
                cpu: value,
                ..args()
            },
            "execution-role-arn" => Args {
                execution_role_arn: value,
                ..args()
            },
            _ => Args {
                allow_plaintext_secrets: value,
                ..args()
            },
        };
        fails(args, input, expected).await;
    }
}

#[tokio::test]
async fn malformed_documents_are_bad_input_never_a_panic() {
    let documents = [
        "",
        "null",
        "[]",
        "\"x\"",
        "{}",
        "{\"family\": \"api\"}",
        "{\"family\": \"api\", \"containerDefinitions\": null}",
        "{\"family\": \"api\", \"containerDefinitions\": [1]}",
        "{\"family\": \"api\", \"containerDefinitions\": [{\"name\": 5}]}",
        "{\"family\": \"api\", \"containerDefinitions\": [{}]}",
        "{\"family\": \"api\", \"containerDefinitions\": [{\"name\": \"web\", \"environment\": {}}]}",
        "{\"family\": \"api\", \"containerDefinitions\": [{\"name\": \"web\", \"environment\": [{\"value\": \"1\"}]}]}",
        "{\"family\": \"api\", \"containerDefinitions\": [{\"name\": \"web\", \"dockerLabels\": []}]}",
        "{\"family\": \"api\", \"containerDefinitions\": [{\"name\": \"web\", \"cpu\": 1e99}]}",
        "{\"family\": \"api\", \"containerDefinitions\": [{\"name\": \"web\", \"cpu\": -1.5}]}",
        "\u{feff}{",
    ];
    for document in documents {
        let (_dir, path) = file_with(document);
        let rendered = render(Args {
            task_definition: Some(path),
            environment_variables: Some("A=1".into()),
            log_configuration_options: Some("a=b".into()),
            ..args()
        })
        .await;
        assert_eq!(
            rendered.exit(),
            Exit::BadInput,
            "{document}: {}",
            rendered.message()
        );
        assert!(
            rendered.message().starts_with("input `"),
            "{document}: {}",
            rendered.message()
        );
    }
}

#[tokio::test]
async fn aws_actions_inputs_are_checked_by_name() {
    let revision_alone = Args {
        task_definition_revision: Some("7".into()),
        ..args()
    };
    fails(
        revision_alone,
        "task-definition-revision",
        "only goes with `task-definition-family`",
    )
    .await;
    let twice = Args {
        task_definition: None,
        task_definition_family: Some("api:6".into()),
        task_definition_revision: Some("7".into()),
        ..args()
    };
    fails(
        twice,
        "task-definition-revision",
        "already names a revision",
    )
    .await;
    for bad in ["0", "-1", "7a", "latest"] {
        let revision = Args {
            task_definition: None,
            task_definition_family: Some("api".into()),
            task_definition_revision: Some(bad.into()),
            ..args()
        };
        fails(
            revision,
            "task-definition-revision",
            "is not a revision number",
        )
        .await;
    }
    let driver = Args {
        log_configuration_log_driver: Some("cloudwatch".into()),
        ..args()
    };
    fails(
        driver,
        "log-configuration-log-driver",
        "use one of awsfirelens, awslogs",
    )
    .await;
    for bad in [
        "s3://bucket/app.env",
        "arn:aws:s3:::bucket",
        "arn:aws:s3:::Bucket/app.env",
    ] {
        let files = Args {
            env_files: Some(bad.into()),
            ..args()
        };
        fails(files, "env-files", "is not an S3 object ARN").await;
    }
}
