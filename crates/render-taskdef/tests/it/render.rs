use deploy_kit_gha::{Captured, Classify, Exit, OutputFormat, Runner, RunnerEnv, output_pairs};
use deploy_kit_render_taskdef::{Args, Error, run};

pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/two-containers.json"
);
pub const DIGEST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";

pub struct Rendered {
    pub result: Result<(), Error>,
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
    let dir = tempfile::tempdir().unwrap();
    let env = RunnerEnv {
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
    let file = outputs
        .iter()
        .find(|(n, _)| n == "task-definition")
        .map(|(_, v)| read(std::path::Path::new(v)))
        .unwrap_or_default();
    Rendered {
        result,
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
        .replace("\"api\"", "\"${CARGO_PKG_NAME}\"");
    std::fs::write(&path, text).unwrap();
    let rendered = render(Args {
        task_definition: Some(path.display().to_string()),
        ..args()
    })
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
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
    let summary = rendered
        .summary
        .lines()
        .take(5)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!summary.contains("very-private-name"));
    insta::assert_snapshot!(summary);
}

#[tokio::test]
async fn plaintext_secrets_pass_when_explicitly_allowed() {
    let rendered = render(Args {
        environment_variables: Some("DB_PASSWORD=hunter2".into()),
        allow_plaintext_secrets: Some("true".into()),
        ..args()
    })
    .await;
    assert!(rendered.result.is_ok(), "{}", rendered.message());
}
