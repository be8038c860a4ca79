use deploy_kit_gha::{OutputFormat, Runner, RunnerEnv};

fn files_env(dir: &std::path::Path) -> RunnerEnv {
    RunnerEnv {
        in_actions: true,
        output_file: Some(dir.join("output")),
        env_file: Some(dir.join("env")),
        path_file: Some(dir.join("path")),
        summary_file: Some(dir.join("summary")),
        temp_dir: dir.to_path_buf(),
        terminal: false,
        act_pty: false,
        ..RunnerEnv::default()
    }
}

fn read(path: std::path::PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn outputs_go_to_github_output_in_delimiter_form() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, captured) = Runner::capture("x", files_env(dir.path()), OutputFormat::Lines);
    runner.set_output("task-definition", "/tmp/a.json").unwrap();
    runner.set_output("report", "line 1\nline 2").unwrap();
    let written = read(dir.path().join("output"));
    let pairs = deploy_kit_gha::output_pairs(&written);
    assert_eq!(
        pairs,
        vec![
            ("task-definition".to_owned(), "/tmp/a.json".to_owned()),
            ("report".to_owned(), "line 1\nline 2".to_owned()),
        ]
    );
    assert_eq!(
        captured.stdout(),
        "",
        "nothing on stdout when $GITHUB_OUTPUT is set"
    );
}

#[test]
fn outputs_print_as_lines_locally() {
    let (runner, captured) = Runner::capture("x", RunnerEnv::default(), OutputFormat::Lines);
    runner.set_output("passed", "true").unwrap();
    runner.set_output("p95-ms", "12").unwrap();
    runner.finish().unwrap();
    assert_eq!(captured.stdout(), "passed=true\np95-ms=12\n");
}

#[test]
fn outputs_print_as_one_json_object_with_json() {
    let (runner, captured) = Runner::capture("x", RunnerEnv::default(), OutputFormat::Json);
    runner.set_output("passed", "true").unwrap();
    runner.set_output("error-rate", "0.00").unwrap();
    assert_eq!(captured.stdout(), "", "printed once, at the end");
    runner.finish().unwrap();
    assert_eq!(
        captured.stdout(),
        "{\"passed\":\"true\",\"error-rate\":\"0.00\"}\n"
    );
}

#[test]
fn exported_variables_and_paths() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _) = Runner::capture("x", files_env(dir.path()), OutputFormat::Lines);
    assert!(runner.export_variable("AWS_REGION", "eu-west-1").unwrap());
    assert!(runner.add_path("/opt/deploy-kit/bin").unwrap());
    let env = deploy_kit_gha::output_pairs(&read(dir.path().join("env")));
    assert_eq!(env, vec![("AWS_REGION".to_owned(), "eu-west-1".to_owned())]);
    assert_eq!(read(dir.path().join("path")), "/opt/deploy-kit/bin\n");
    let (local, _) = Runner::capture("x", RunnerEnv::default(), OutputFormat::Lines);
    assert!(
        !local.export_variable("A", "b").unwrap(),
        "no $GITHUB_ENV locally"
    );
}

#[test]
fn summary_is_appended_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _) = Runner::capture("x", files_env(dir.path()), OutputFormat::Lines);
    runner.mask("topsecret");
    runner.summary("## Result\n").unwrap();
    runner.summary("value: topsecret\n").unwrap();
    assert_eq!(read(dir.path().join("summary")), "## Result\nvalue: ***\n");
}

/// The runner drops a step summary over 1 MiB whole (actions/runner FileCommandManager.cs,
/// `AttachmentSizeLimit`): a long report is cut at a line with a note, and later appends are
/// dropped, so the file stays within the limit.
#[test]
fn the_summary_stays_under_the_runners_limit_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _) = Runner::capture("x", files_env(dir.path()), OutputFormat::Lines);
    runner.summary("## Timeline\n").unwrap();
    let rows: String = (0..40_000)
        .map(|n| format!("| {n} | stage BAKE_TIME | 0.5s |\n"))
        .collect();
    runner.summary(&rows).unwrap();
    runner.summary("## later section\n").unwrap();
    let text = read(dir.path().join("summary"));
    assert!(text.len() as u64 <= deploy_kit_gha::summary::STEP_SUMMARY_LIMIT);
    assert!(text.len() as u64 > deploy_kit_gha::summary::STEP_SUMMARY_LIMIT - 200);
    assert!(text.starts_with("## Timeline\n| 0 |"));
    assert!(
        text.ends_with(deploy_kit_gha::summary::CUT_NOTE),
        "the note ends it"
    );
    assert!(!text.contains("later section"), "nothing after the cut");
}
