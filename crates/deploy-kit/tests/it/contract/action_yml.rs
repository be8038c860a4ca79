//! The drift test: each action's `action.yml` must declare exactly the inputs the binary reads
//! (with the `INPUT_*` env mapping the binary expects) and the outputs it writes. The runner does
//! not check any of this, so a typo here would silently drop an input.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::{Args, Command};
use serde_yaml_ng::Value;

/// Every action: its folder, its clap arguments and its declared outputs.
pub(crate) fn actions() -> Vec<(&'static str, Command, &'static [&'static str])> {
    vec![
        (
            "build-push-ecr",
            deploy_kit_build_push_ecr::Args::augment_args(Command::new("build-push-ecr")),
            deploy_kit_build_push_ecr::OUTPUTS,
        ),
        (
            "oidc-login",
            deploy_kit_oidc_login::Args::augment_args(Command::new("oidc-login")),
            deploy_kit_oidc_login::OUTPUTS,
        ),
        (
            "render-taskdef",
            deploy_kit_render_taskdef::Args::augment_args(Command::new("render-taskdef")),
            deploy_kit_render_taskdef::OUTPUTS,
        ),
        (
            "smoke-test",
            deploy_kit_smoke_test::Args::augment_args(Command::new("smoke-test")),
            deploy_kit_smoke_test::OUTPUTS,
        ),
        (
            "ecs-blue-green",
            deploy_kit_ecs_blue_green::Args::augment_args(Command::new("ecs-blue-green")),
            deploy_kit_ecs_blue_green::OUTPUTS,
        ),
        (
            "run-migrations",
            deploy_kit_run_migrations::Args::augment_args(Command::new("run-migrations")),
            deploy_kit_run_migrations::OUTPUTS,
        ),
        (
            "deploy-static",
            deploy_kit_deploy_static::Args::augment_args(Command::new("deploy-static")),
            deploy_kit_deploy_static::OUTPUTS,
        ),
        (
            "ecr-login",
            deploy_kit_ecr_login::Args::augment_args(Command::new("ecr-login")),
            deploy_kit_ecr_login::OUTPUTS,
        ),
    ]
}

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn env_name(input: &str) -> String {
    format!("INPUT_{}", input.replace('-', "_").to_uppercase())
}

pub(crate) fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_mapping()
        .map(|map| {
            map.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The inputs the binary reads: every long flag of the subcommand, with its env var.
fn binary_inputs(command: &Command) -> Vec<(String, Option<String>)> {
    command
        .get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?.to_owned();
            let env = arg.get_env().map(|env| env.to_string_lossy().into_owned());
            Some((long, env))
        })
        .collect()
}

#[test]
fn every_action_folder_is_known_and_every_known_action_has_a_folder() {
    let root = repo_root();
    let mut folders = BTreeSet::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.join("action.yml").is_file() {
            folders.insert(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    let known: BTreeSet<String> = actions()
        .iter()
        .map(|(name, ..)| (*name).to_owned())
        .collect();
    assert_eq!(
        folders, known,
        "action folders vs actions the binary implements"
    );
}

#[test]
fn inputs_env_mappings_and_outputs_match_the_binary() {
    for (name, command, outputs) in actions() {
        let path = repo_root().join(name).join("action.yml");
        let yaml = load(&path);
        let inputs = &yaml["inputs"];

        let read = binary_inputs(&command);
        for (long, env) in &read {
            assert_eq!(
                env.as_deref(),
                Some(env_name(long).as_str()),
                "{name}: --{long} env var"
            );
        }
        let read: BTreeSet<String> = read.into_iter().map(|(long, _)| long).collect();
        assert_eq!(
            keys(inputs),
            read,
            "{name}: action.yml inputs vs flags the binary reads"
        );

        for input in keys(inputs) {
            let spec = &inputs[input.as_str()];
            assert!(
                spec["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{name}: `{input}` needs a description"
            );
            assert!(
                spec["default"].is_string(),
                "{name}: `{input}` needs a string default"
            );
        }

        let steps = yaml["runs"]["steps"]
            .as_sequence()
            .expect("composite steps");
        assert_eq!(yaml["runs"]["using"].as_str(), Some("composite"), "{name}");
        assert_eq!(steps.len(), 2, "{name}: install step + one deploy-kit step");
        assert_eq!(
            steps[0]["run"].as_str(),
            Some("\"$GITHUB_ACTION_PATH/../dist/install.sh\""),
            "{name}"
        );
        let run = &steps[1];
        assert_eq!(run["id"].as_str(), Some("run"), "{name}");
        assert_eq!(
            run["run"].as_str(),
            Some(format!("exec deploy-kit {name}").as_str()),
            "{name}"
        );

        let env = &run["env"];
        let expected: BTreeSet<String> = keys(inputs).iter().map(|input| env_name(input)).collect();
        assert_eq!(keys(env), expected, "{name}: env mapping vs inputs");
        for input in keys(inputs) {
            let value = env[env_name(&input).as_str()].as_str();
            assert_eq!(
                value,
                Some(format!("${{{{ inputs.{input} }}}}").as_str()),
                "{name}: {input}"
            );
        }

        let declared: BTreeSet<String> = outputs.iter().map(|o| (*o).to_owned()).collect();
        assert_eq!(
            keys(&yaml["outputs"]),
            declared,
            "{name}: action.yml outputs vs OUTPUTS"
        );
        for output in outputs {
            let value = yaml["outputs"][*output]["value"].as_str();
            assert_eq!(
                value,
                Some(format!("${{{{ steps.run.outputs.{output} }}}}").as_str()),
                "{name}: {output}"
            );
        }
    }
}

#[test]
fn no_expression_is_interpolated_into_shell() {
    let root = repo_root();
    let mut files: Vec<PathBuf> = actions()
        .iter()
        .map(|(name, ..)| root.join(name).join("action.yml"))
        .collect();
    files.push(root.join("action.yml"));
    for path in files.into_iter().filter(|p| p.is_file()) {
        let yaml = load(&path);
        for step in yaml["runs"]["steps"].as_sequence().into_iter().flatten() {
            if let Some(run) = step["run"].as_str() {
                assert!(
                    !run.contains("${{"),
                    "{}: `${{{{` in run: {run}",
                    path.display()
                );
            }
        }
    }
}
