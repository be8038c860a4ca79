//! The binary's contract with the runner: exit codes and how errors are reported.

use std::process::Command;

use deploy_kit_testbed::binary::Run;

fn deploy_kit(args: &[&str], env: &[(&str, &str)]) -> Run {
    crate::deploy_kit()
        .args(args)
        .envs(env.iter().copied())
        .run()
}

fn stderr(run: &Run) -> String {
    run.stderr.clone()
}

#[test]
fn help_and_version_exit_zero() {
    let help = deploy_kit(&["--help"], &[]);
    assert_eq!(help.code, Some(0));
    let text = help.stdout.clone();
    assert!(
        text.contains("render-taskdef") && text.contains("smoke-test"),
        "{text}"
    );
    let version = deploy_kit(&["--version"], &[]);
    assert_eq!(version.code, Some(0));
    let text = version.stdout.clone();
    assert_eq!(
        text.trim(),
        format!("deploy-kit {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_flag_is_bad_input_with_an_annotation_in_actions() {
    let output = deploy_kit(
        &["smoke-test", "--no-such-flag"],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_eq!(output.code, Some(2));
    let err = stderr(&output);
    assert!(
        err.starts_with(
            "::error title=deploy-kit::input `command line`: unexpected argument '--no-such-flag'"
        ),
        "{err}"
    );
    assert!(
        !err.contains("\n::"),
        "one annotation, its newlines escaped: {err}"
    );
}

#[test]
fn unknown_subcommand_is_bad_input_locally_too() {
    let output = deploy_kit(&["deploy-everything"], &[]);
    assert_eq!(output.code, Some(2));
    assert!(
        stderr(&output).starts_with("error: input `command line`: unrecognized subcommand"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_missing_required_input_exits_2_and_names_it() {
    for (action, input) in [("render-taskdef", "task-definition"), ("smoke-test", "url")] {
        let output = deploy_kit(&[action], &[("GITHUB_ACTIONS", "true")]);
        assert_eq!(output.code, Some(2), "{action}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(
            err.contains(&format!("::error title={action}::")),
            "{action}: {err}"
        );
        assert!(
            err.contains(&format!("`{input}`")),
            "{action} names `{input}`: {err}"
        );
    }
}

#[test]
fn empty_env_inputs_count_as_unset() {
    let output = deploy_kit(&["smoke-test"], &[("INPUT_URL", "")]);
    assert_eq!(output.code, Some(2));
    assert!(
        stderr(&output).contains("input `url`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn render_taskdef_from_a_live_family_in_the_test_bed() {
    let bed = deploy_kit_testbed::Bed::start(&[]).unwrap();
    let register = Command::new(deploy_kit_testbed::repo_root().join("tests/bed/.venv/bin/python"))
        .args(["-c", "import boto3,sys; boto3.client('ecs').register_task_definition(family='api', containerDefinitions=[{'name':'web','image':'web:1','essential':True,'memory':512}])"])
        .envs(bed.env().iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .status()
        .unwrap();
    assert!(register.success());
    let out = tempfile::tempdir().unwrap();
    let mut env: Vec<(&str, &str)> = bed
        .env()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let temp = out.path().display().to_string();
    env.push(("RUNNER_TEMP", &temp));
    env.push(("INPUT_TASK_DEFINITION_FAMILY", "api"));
    env.push(("INPUT_CONTAINER_NAME", "web"));
    env.push(("INPUT_IMAGE", "web:2"));
    let output = deploy_kit(&["render-taskdef", "--json"], &env);
    assert_eq!(output.code, Some(0), "{}", stderr(&output));
    let outputs: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let rendered = std::fs::read_to_string(outputs["task-definition"].as_str().unwrap()).unwrap();
    assert!(rendered.contains(r#""image": "web:2""#), "{rendered}");
    assert!(!rendered.contains("taskDefinitionArn"), "{rendered}");
}
