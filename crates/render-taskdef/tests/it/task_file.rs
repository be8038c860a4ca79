use deploy_kit_render_taskdef::task_file::read;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const TASK: &str = r#"{
  "family": "api",
  "cpu": "256",
  "memory": "512",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "executionRoleArn": "arn:aws:iam::1:role/exec",
  "containerDefinitions": [
    {"name": "web", "image": "web:2", "essential": true,
     "environment": [{"name": "RELEASE", "value": "2"}]}
  ]
}"#;

#[test]
fn a_describe_task_definition_file_is_accepted_and_bad_files_name_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let described = format!(
        r#"{{"taskDefinition": {}}}"#,
        TASK.replace(
            "\"family\": \"api\",",
            "\"family\": \"api\", \"revision\": 6, \"status\": \"ACTIVE\", \"taskDefinitionArn\": \"arn:aws:ecs:us-east-1:1:task-definition/api:6\","
        )
    );
    let file = read(&write(&dir, "described.json", &described)).unwrap();
    assert!(!file.json.contains_key("revision"));
    assert_eq!(file.request.family(), Some("api"));

    let cases = [
        ("missing.json", None, "input `task-definition`: cannot read"),
        ("text.json", Some("family: api"), "is not valid JSON"),
        ("array.json", Some("[]"), "must hold a JSON object"),
        (
            "typo.json",
            Some(r#"{"family": "api", "containerDefinitions": [{"name": "web", "imag": "x"}]}"#),
            "imag",
        ),
        (
            "nofamily.json",
            Some(r#"{"containerDefinitions": [{"name": "web", "image": "x"}]}"#),
            "family",
        ),
        (
            "elastic.json",
            Some(
                r#"{"family": "api", "containerDefinitions": [], "inferenceAccelerators": [{"deviceName": "d", "deviceType": "eia2.medium"}]}"#,
            ),
            "ECS no longer supports",
        ),
    ];
    for (name, text, expected) in cases {
        let path = match text {
            Some(text) => write(&dir, name, text),
            None => dir.path().join(name),
        };
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains(expected), "{name}: {error}");
        assert!(
            error.starts_with("input `task-definition`"),
            "{name}: {error}"
        );
    }
}
