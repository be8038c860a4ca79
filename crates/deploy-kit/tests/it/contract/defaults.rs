//! The drift test's second half: every `default:` in an `action.yml` is the default the binary
//! applies. The runner always passes the declared default, so a mismatch would make the action
//! behave differently from the binary run by hand (and from its docs).
//!
//! Where a default lives does not matter to this test: clap's `default_value` (checked directly),
//! or the parser's own (checked by what it does: the typed input parsed with the input unset must
//! be the one parsed with it set to the declared default).

use clap::{Args, Command, FromArgMatches};
use deploy_kit_gha::{RunIdentity, RunnerEnv};

use crate::contract::action_yml::{actions, keys, load, repo_root};

/// Parses an action's flags into its typed input, rendered with `{:?}` (or the parse error).
type Parse = fn(&[String]) -> Result<String, String>;

fn matches<A: Args + FromArgMatches>(name: &'static str, argv: &[String]) -> Result<A, String> {
    let command = A::augment_args(Command::new(name).no_binary_name(true));
    let found = command
        .try_get_matches_from(argv)
        .map_err(|e| e.to_string())?;
    A::from_arg_matches(&found).map_err(|e| e.to_string())
}

fn shown<T: std::fmt::Debug, E: std::fmt::Display>(result: Result<T, E>) -> Result<String, String> {
    result.map(|t| format!("{t:?}")).map_err(|e| e.to_string())
}

/// Each action whose typed input is public: its parser, and the fewest flags it accepts.
/// render-taskdef's parse is private to its crate; its one default is checked through the binary.
fn parsers() -> Vec<(&'static str, Parse, &'static [&'static str])> {
    let mut all = login_and_build_parsers();
    all.extend(ecs_and_http_parsers());
    all
}

/// build-push-ecr, deploy-static and ecr-login.
fn login_and_build_parsers() -> Vec<(&'static str, Parse, &'static [&'static str])> {
    vec![
        (
            "build-push-ecr",
            |argv| {
                let args = matches::<deploy_kit_build_push_ecr::Args>("build-push-ecr", argv)?;
                shown(deploy_kit_build_push_ecr::Input::from_args(
                    &args,
                    Some("abc123"),
                ))
            },
            &["--repository", "api", "--tags", "t1"],
        ),
        (
            "deploy-static",
            |argv| {
                let args = matches::<deploy_kit_deploy_static::Args>("deploy-static", argv)?;
                shown(deploy_kit_deploy_static::Input::from_args(&args))
            },
            &["--source", ".", "--bucket", "site"],
        ),
        (
            "ecr-login",
            |argv| {
                let args = matches::<deploy_kit_ecr_login::Args>("ecr-login", argv)?;
                shown(deploy_kit_ecr_login::Input::from_args(&args))
            },
            &[],
        ),
    ]
}

/// ecs-blue-green, oidc-login, run-migrations and smoke-test.
fn ecs_and_http_parsers() -> Vec<(&'static str, Parse, &'static [&'static str])> {
    vec![
        (
            "ecs-blue-green",
            |argv| {
                let args = matches::<deploy_kit_ecs_blue_green::Args>("ecs-blue-green", argv)?;
                shown(deploy_kit_ecs_blue_green::Input::from_args(&args))
            },
            &[
                "--service",
                "api",
                "--task-definition",
                "arn:aws:ecs:us-east-1:123456789012:task-definition/api:1",
            ],
        ),
        (
            "oidc-login",
            |argv| {
                let args = matches::<deploy_kit_oidc_login::Args>("oidc-login", argv)?;
                shown(deploy_kit_oidc_login::Input::from_args(
                    &args,
                    &RunnerEnv::default(),
                ))
            },
            &[
                "--role-to-assume",
                "arn:aws:iam::123456789012:role/deploy",
                "--aws-region",
                "us-east-1",
            ],
        ),
        (
            "run-migrations",
            |argv| {
                let args = matches::<deploy_kit_run_migrations::Args>("run-migrations", argv)?;
                shown(deploy_kit_run_migrations::Input::from_args(
                    &args,
                    &RunIdentity {
                        repository: "org/app".into(),
                        run_id: "7".into(),
                        attempt: "1".into(),
                        job: "deploy".into(),
                        step: "migrate".into(),
                    },
                ))
            },
            &["--service", "api"],
        ),
        (
            "smoke-test",
            |argv| {
                let args = matches::<deploy_kit_smoke_test::Args>("smoke-test", argv)?;
                shown(deploy_kit_smoke_test::Checks::from_args(&args, ""))
            },
            &["--url", "https://example.com/health"],
        ),
    ]
}

/// (input, declared default) of every input of `action` with a non-empty `default:`.
fn declared_defaults(action: &str) -> Vec<(String, String)> {
    let yaml = load(&repo_root().join(action).join("action.yml"));
    keys(&yaml["inputs"])
        .into_iter()
        .filter_map(|input| {
            let default = yaml["inputs"][input.as_str()]["default"]
                .as_str()?
                .to_owned();
            (!default.is_empty()).then_some((input, default))
        })
        .collect()
}

#[test]
fn clap_defaults_are_the_declared_ones() {
    for (action, command, _) in actions() {
        let yaml = load(&repo_root().join(action).join("action.yml"));
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let rust: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            if rust.is_empty() {
                continue; // the parser's default, checked below
            }
            let declared = yaml["inputs"][long]["default"].as_str().unwrap_or_default();
            assert_eq!(rust.join(","), declared, "{action}: `{long}` default");
        }
    }
}

#[test]
fn the_parser_applies_each_declared_default() {
    let covered: Vec<&str> = parsers().iter().map(|(action, ..)| *action).collect();
    for (action, ..) in actions() {
        assert!(
            covered.contains(&action) || action == "render-taskdef",
            "{action}: add its parser to parsers() in contract_defaults.rs"
        );
    }
    let mut wrong = Vec::new();
    for (action, parse, baseline) in parsers() {
        let base: Vec<String> = baseline.iter().map(|s| (*s).to_owned()).collect();
        let unset = parse(&base).unwrap_or_else(|e| panic!("{action}: baseline refused: {e}"));
        for (input, default) in declared_defaults(action) {
            let mut argv = base.clone();
            if let Some(at) = argv.iter().position(|a| *a == format!("--{input}")) {
                argv.drain(at..=at + 1);
            }
            argv.extend([format!("--{input}"), default.clone()]);
            match parse(&argv) {
                Ok(set) if set == unset => {}
                Ok(set) => wrong.push(format!(
                    "{action} `{input}`: declared {default:?}, but unset parses as\n  {unset}\n\
                     and {default:?} as\n  {set}"
                )),
                Err(e) => wrong.push(format!(
                    "{action} `{input}`: the declared default {default:?} is refused: {e}"
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// render-taskdef's parser is private: the binary does the same with the input unset and set to
/// its declared default. The file holds a plaintext secret, so `allow-plaintext-secrets` matters.
#[test]
fn render_taskdef_applies_its_declared_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("task.json");
    std::fs::write(
        &file,
        r#"{"family": "api", "containerDefinitions": [{"name": "web", "image": "web:1",
            "environment": [{"name": "DB_PASSWORD", "value": "correct-horse-battery"}]}]}"#,
    )
    .unwrap();
    let render = |extra: &[(&str, &str)]| {
        let run = crate::deploy_kit()
            .action("render-taskdef")
            .env("RUNNER_TEMP", dir.path())
            .input("task-definition", &file)
            .input("container-name", "web")
            .input("image", "web:2")
            .inputs(extra)
            .arg("--json")
            .run();
        if run.code != Some(0) {
            return (run.code, run.stderr);
        }
        let outputs: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let rendered = outputs["task-definition"].as_str().unwrap();
        (run.code, std::fs::read_to_string(rendered).unwrap())
    };
    let unset = render(&[]);
    for (input, default) in declared_defaults("render-taskdef") {
        assert_eq!(
            render(&[(input.as_str(), default.as_str())]),
            unset,
            "render-taskdef `{input}`: declared {default:?}"
        );
    }
}
