use deploy_kit_gha::Exit;
use deploy_kit_render_taskdef::Args;

use crate::render::{FIXTURE, args, render};

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

#[tokio::test]
async fn a_missing_container_lists_the_containers() {
    fails(
        Args {
            container_name: Some("worker".into()),
            ..args()
        },
        "container-name",
        "container `worker` not found in",
    )
    .await;
    fails(
        Args {
            container_name: Some("worker".into()),
            ..args()
        },
        "container-name",
        "containers are `web`, `log-router`",
    )
    .await;
    fails(
        Args {
            images: Some("cron=app:1".into()),
            container_name: None,
            image: None,
            ..args()
        },
        "images",
        "container `cron` not found",
    )
    .await;
}

#[tokio::test]
async fn sources_and_pairs() {
    fails(
        Args {
            task_definition: None,
            ..args()
        },
        "task-definition",
        "is required",
    )
    .await;
    fails(
        Args {
            task_definition_family: Some("api".into()),
            ..args()
        },
        "task-definition",
        "give only one of",
    )
    .await;
    fails(
        Args {
            container_name: None,
            ..args()
        },
        "image",
        "needs `container-name`",
    )
    .await;
    fails(
        Args {
            task_definition: Some("/no/such/file.json".into()),
            ..args()
        },
        "task-definition",
        "cannot read `/no/such/file.json`",
    )
    .await;
    fails(
        Args {
            images: Some("web=app:2".into()),
            ..args()
        },
        "images",
        "container `web` is given an image twice",
    )
    .await;
}

#[tokio::test]
async fn bad_json_says_where() {
    let (_dir, path) = file_with("{\n  \"family\": \"api\",\n  \"cpu\": 256,,\n}");
    fails(
        Args {
            task_definition: Some(path),
            ..args()
        },
        "task-definition",
        "is not valid JSON: key must be a string at line 3 column 14",
    )
    .await;
}

#[tokio::test]
async fn unknown_keys_suggest_the_closest_valid_one() {
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .replace("\"essential\": true", "\"esential\": true");
    let (_dir, path) = file_with(&text);
    fails(
        Args {
            task_definition: Some(path),
            ..args()
        },
        "task-definition",
        "unknown key `esential` in",
    )
    .await;
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .replace("\"essential\": true", "\"esential\": true");
    let (_dir, path) = file_with(&text);
    fails(
        Args {
            task_definition: Some(path),
            ..args()
        },
        "task-definition",
        "containerDefinitions[0] (container definition): did you mean `essential`?",
    )
    .await;
}

#[tokio::test]
async fn unset_template_variables_name_the_variable_and_line() {
    let text = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .replace("web:1.4.1", "web:${DEPLOY_KIT_TEST_SURELY_UNSET}");
    let (_dir, path) = file_with(&text);
    fails(
        Args {
            task_definition: Some(path),
            image: None,
            container_name: None,
            ..args()
        },
        "task-definition",
        "`${DEPLOY_KIT_TEST_SURELY_UNSET}` on line 12 is not set",
    )
    .await;
}

#[tokio::test]
async fn environment_names_are_checked() {
    fails(
        Args {
            environment_variables: Some("9LIVES=x".into()),
            ..args()
        },
        "environment-variables",
        "`9LIVES` is not a valid variable name",
    )
    .await;
    fails(
        Args {
            environment_variables: Some("A=1\nA=2".into()),
            ..args()
        },
        "environment-variables",
        "`A` is given twice",
    )
    .await;
    fails(
        Args {
            secrets: Some("A".into()),
            ..args()
        },
        "secrets",
        "is not of the form `NAME=value`",
    )
    .await;
    fails(
        Args {
            secrets: Some("A=".into()),
            ..args()
        },
        "secrets",
        "needs a Secrets Manager or SSM ARN/name",
    )
    .await;
}

#[tokio::test]
async fn plaintext_secrets_are_refused() {
    fails(
        Args {
            environment_variables: Some("STRIPE_API_KEY=sk_live_x".into()),
            ..args()
        },
        "environment-variables",
        "`STRIPE_API_KEY` (container `web`) look like secrets",
    )
    .await;
}

#[tokio::test]
async fn edits_need_a_container_when_there_are_several() {
    fails(
        Args {
            container_name: None,
            image: None,
            environment_variables: Some("A=1".into()),
            ..args()
        },
        "container-name",
        "is required to say which container",
    )
    .await;
}

#[tokio::test]
async fn log_options_need_a_log_configuration() {
    fails(
        Args {
            container_name: Some("log-router".into()),
            image: None,
            log_configuration_options: Some("a=b".into()),
            ..args()
        },
        "log-configuration-options",
        "has no `logConfiguration`",
    )
    .await;
}

#[tokio::test]
async fn bad_command_and_boolean() {
    fails(
        Args {
            command: Some("[1, 2]".into()),
            ..args()
        },
        "command",
        "is not a JSON array of strings",
    )
    .await;
    fails(
        Args {
            allow_plaintext_secrets: Some("sure".into()),
            ..args()
        },
        "allow-plaintext-secrets",
        "is not a boolean",
    )
    .await;
}
