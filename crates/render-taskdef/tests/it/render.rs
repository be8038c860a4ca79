use deploy_kit_gha::{Captured, Classify, Exit, OutputFormat, Runner, RunnerEnv, output_pairs};
use deploy_kit_render_taskdef::{Args, Error, run};

pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/two-containers.json"
);
pub const DIGEST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";

pub struct Rendered {
    pub result: Result<(), Error>,
    /// The `task-definition` output: the rendered file's path.
    pub output: Option<String>,
    pub captured: Captured,
    pub file: String,
    pub summary: String,
    _dir: tempfile::TempDir,
}

impl Rendered {
    pub fn exit(&self) -> Exit {
        self.result
            .as_ref()
            .err()
            .map_or(Exit::Success, Classify::exit)
    }

    pub fn message(&self) -> String {
        self.result
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}

pub fn args() -> Args {
    Args {
        task_definition: Some(FIXTURE.into()),
        container_name: Some("web".into()),
        image: Some(DIGEST.into()),
        ..Args::default()
    }
}

pub async fn render(args: Args) -> Rendered {
    render_with(args, &[]).await
}

/// `vars`: the step's environment, which `${VAR}` in the file reads.
pub async fn render_with(args: Args, vars: &[(&str, &str)]) -> Rendered {
    let dir = tempfile::tempdir().unwrap();
    let env = RunnerEnv {
        vars: vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        in_actions: true,
        output_file: Some(dir.path().join("output")),
        summary_file: Some(dir.path().join("summary")),
        temp_dir: dir.path().to_path_buf(),
        ..RunnerEnv::default()
    };
    let (runner, captured) = Runner::capture("render-taskdef", env, OutputFormat::Lines);
    let result = run(args, &runner).await;
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    let outputs = output_pairs(&read(&dir.path().join("output")));
    let output = outputs
        .iter()
        .find(|(n, _)| n == "task-definition")
        .map(|(_, v)| v.clone());
    let file = output
        .as_deref()
        .map(|v| read(std::path::Path::new(v)))
        .unwrap_or_default();
    Rendered {
        result,
        output,
        captured,
        file,
        summary: read(&dir.path().join("summary")),
        _dir: dir,
    }
}

#[tokio::test]
async fn every_edit_lands_and_key_order_is_kept() {
    let rendered = render(Args {
        environment_variables: Some("# release\nRELEASE=2024.11\nLOG_LEVEL=debug".into()),
        remove_environment_variables: Some("FEATURE_SEARCH".into()),
        secrets: Some(
            "API_TOKEN=arn:aws:secretsmanager:us-east-1:123456789012:secret:api/token".into(),
        ),
        command: Some(r#"bin/serve --port "8080""#.into()),
        log_configuration_options: Some("awslogs-stream-prefix=web-v2\nmode=non-blocking".into()),
        docker_labels: Some("com.example.release=2024.11".into()),
        cpu: Some("1024".into()),
        family: Some("api-staging".into()),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    insta::assert_snapshot!(rendered.file);
}

#[tokio::test]
async fn output_is_byte_identical_for_the_same_input() {
    let first = render(args()).await;
    let second = render(args()).await;
    assert!(!first.file.is_empty());
    assert_eq!(first.file, second.file);
    assert!(first.file.ends_with("}\n"));
}

#[tokio::test]
async fn images_for_several_containers() {
    let rendered = render(Args {
        container_name: None,
        image: None,
        images: Some(format!(
            "web={DIGEST}\nlog-router=public.ecr.aws/aws-observability/aws-for-fluent-bit:2.33.0"
        )),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    assert!(rendered.file.contains(DIGEST));
    assert!(rendered.file.contains("aws-for-fluent-bit:2.33.0"));
}

#[tokio::test]
async fn variables_in_the_file_are_templated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("td.json");
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .replace("\"api\"", "\"${SERVICE_FAMILY}\"");
    std::fs::write(&path, text).unwrap();
    let rendered = render_with(
        Args {
            task_definition: Some(path.display().to_string()),
            ..args()
        },
        &[("SERVICE_FAMILY", "deploy-kit-render-taskdef")],
    )
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    assert!(
        rendered
            .file
            .contains(r#""family": "deploy-kit-render-taskdef""#),
        "{}",
        rendered.file
    );
}

#[tokio::test]
async fn floating_images_warn_and_digests_do_not() {
    let rendered = render(Args {
        image: Some("web:latest".into()),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok());
    let stderr = rendered.captured.stderr();
    assert!(
        stderr.contains("::warning title=render-taskdef::container `web` uses image `web:latest`"),
        "{stderr}"
    );
    let rendered = render(args()).await;
    assert!(
        !rendered.captured.stderr().contains("::warning"),
        "{}",
        rendered.captured.stderr()
    );
}

#[tokio::test]
async fn the_summary_shows_changes_and_never_secret_values() {
    let rendered = render(Args {
        environment_variables: Some("RELEASE=1\nLOG_LEVEL=debug".into()),
        remove_environment_variables: Some("FEATURE_SEARCH".into()),
        secrets: Some(
            "API_TOKEN=arn:aws:secretsmanager:us-east-1:123456789012:secret:very-private-name"
                .into(),
        ),
        command: Some("bin/serve".into()),
        cpu: Some("1024".into()),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    assert!(!rendered.summary.contains("very-private-name"));
    assert!(!rendered.summary.contains("secretsmanager"));
    // The last line names the temporary file: leave it out of the snapshot.
    let summary: Vec<&str> = rendered.summary.lines().collect();
    insta::assert_snapshot!(summary[..summary.len() - 1].join("\n"));
}

#[tokio::test]
async fn plaintext_secrets_pass_when_explicitly_allowed_and_are_masked() {
    let rendered = render(Args {
        environment_variables: Some("DB_PASSWORD=hunter2-but-longer".into()),
        allow_plaintext_secrets: Some("true".into()),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    let stderr = rendered.captured.stderr();
    assert!(
        stderr.contains("::add-mask::hunter2-but-longer"),
        "{stderr}"
    );
    assert!(
        stderr.contains("allowed by `allow-plaintext-secrets`: DB_PASSWORD"),
        "{stderr}"
    );
}

#[tokio::test]
async fn describe_only_fields_in_a_file_are_dropped_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("described.json");
    let mut task: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    task["taskDefinitionArn"] = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:7".into();
    task["revision"] = 7.into();
    task["status"] = "ACTIVE".into();
    std::fs::write(&path, task.to_string()).unwrap();
    let rendered = render(Args {
        task_definition: Some(path.display().to_string()),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    assert!(!rendered.file.contains("taskDefinitionArn") && !rendered.file.contains("revision"));
    let stderr = rendered.captured.stderr();
    assert_eq!(stderr.matches("::warning").count(), 1, "{stderr}");
    assert!(
        stderr.contains("only DescribeTaskDefinition returns; they were left out: taskDefinitionArn, revision, status"),
        "{stderr}"
    );
}

#[tokio::test]
async fn removing_a_variable_that_is_not_there_warns() {
    let rendered = render(Args {
        remove_environment_variables: Some("FEATURE_SERCH".into()),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    let stderr = rendered.captured.stderr();
    assert!(
        stderr
            .contains("container `web`: `FEATURE_SERCH` is not set, so there is nothing to remove"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_secret_replaces_the_plaintext_variable_of_its_name() {
    let rendered = render(Args {
        secrets: Some("FEATURE_SEARCH=/api/feature-search".into()),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    let task: serde_json::Value = serde_json::from_str(&rendered.file).unwrap();
    let web = &task["containerDefinitions"][0];
    assert_eq!(
        web["environment"],
        serde_json::json!([{"name": "LOG_LEVEL", "value": "info"}])
    );
    assert_eq!(
        web["secrets"][1],
        serde_json::json!({"name": "FEATURE_SEARCH", "valueFrom": "/api/feature-search"})
    );
}

#[tokio::test]
async fn outputs_name_a_unique_file_per_run_under_the_temp_dir() {
    let first = render(args()).await;
    let second = render(args()).await;
    let name = |r: &Rendered| r.output.clone().unwrap_or_default();
    assert!(
        name(&first).contains("/task-definition-api-"),
        "{}",
        name(&first)
    );
    assert!(name(&first).ends_with(".json"));
    assert_ne!(
        std::path::Path::new(&name(&first)).file_name(),
        std::path::Path::new(&name(&second)).file_name()
    );
}

#[tokio::test]
async fn the_rendered_file_reads_back_as_the_sdks_register_input() {
    let rendered = render(Args {
        secrets: Some("API_TOKEN=/api/token".into()),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    let value: serde_json::Value = serde_json::from_str(&rendered.file).unwrap();
    let input = deploy_kit_render_taskdef::register_input(&value).unwrap();
    assert_eq!(input.family(), Some("api"));
    assert_eq!(input.cpu(), Some("512"));
    let web = &input.container_definitions()[0];
    assert_eq!(web.image(), Some(DIGEST));
    let secrets: Vec<(&str, &str)> = web
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    assert_eq!(secrets[1], ("API_TOKEN", "/api/token"));
    let log = web.log_configuration().unwrap();
    assert_eq!(log.log_driver().as_str(), "awslogs");
    assert_eq!(log.options().unwrap()["awslogs-group"], "/ecs/api");
    assert_eq!(
        input.container_definitions()[1].memory_reservation(),
        Some(50)
    );
    let error =
        deploy_kit_render_taskdef::register_input(&serde_json::json!({"family": 1})).unwrap_err();
    assert_eq!(
        error,
        "`family` must be a string, not `1` (write it in quotes: \"1\")"
    );
}

/// aws-actions' `log-configuration-log-driver` and `env-files`, with their meaning: the driver
/// set (and `logConfiguration` created where there was none, so options can follow), the env
/// files replacing the list.
#[tokio::test]
async fn log_driver_and_env_files_land_on_the_container() {
    let rendered = render(Args {
        container_name: Some("log-router".into()),
        image: None,
        log_configuration_log_driver: Some("awslogs".into()),
        log_configuration_options: Some("awslogs-group=/ecs/router".into()),
        env_files: Some(
            "arn:aws:s3:::config-bucket/router.env\narn:aws:s3:::config-bucket/shared.env".into(),
        ),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    let task: serde_json::Value = serde_json::from_str(&rendered.file).unwrap();
    let router = &task["containerDefinitions"][1];
    assert_eq!(router["name"], "log-router");
    assert_eq!(
        router["logConfiguration"],
        serde_json::json!({"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/router"}})
    );
    assert_eq!(
        router["environmentFiles"],
        serde_json::json!([
            {"value": "arn:aws:s3:::config-bucket/router.env", "type": "s3"},
            {"value": "arn:aws:s3:::config-bucket/shared.env", "type": "s3"}
        ])
    );
    // The other container is untouched.
    assert_eq!(
        task["containerDefinitions"][0]["logConfiguration"]["logDriver"],
        "awslogs"
    );
    assert!(
        task["containerDefinitions"][0]
            .get("environmentFiles")
            .is_none()
    );

    // A driver replaces the one the file has; its options stay.
    let rendered = render(Args {
        log_configuration_log_driver: Some("awsfirelens".into()),
        ..args()
    })
    .await;
    let task: serde_json::Value = serde_json::from_str(&rendered.file).unwrap();
    let web = &task["containerDefinitions"][0]["logConfiguration"];
    assert_eq!(web["logDriver"], "awsfirelens");
    assert_eq!(web["options"]["awslogs-group"], "/ecs/api");
}
