use std::time::Duration;

use aws_sdk_ecs::types::{ContainerDefinition, LaunchType};
use deploy_kit_ecs::TaskDefinition;
use deploy_kit_gha::RunIdentity;
use deploy_kit_run_migrations::plan::choose_container;
use deploy_kit_run_migrations::{Args, Input};

fn args() -> Args {
    Args {
        service: Some("api".into()),
        ..Args::default()
    }
}

fn identity(run_id: &str, job: &str) -> RunIdentity {
    RunIdentity {
        run_id: run_id.into(),
        attempt: "1".into(),
        job: job.into(),
        step: "migrate".into(),
        ..RunIdentity::default()
    }
}

#[test]
fn defaults_come_from_the_service_and_the_workflow_run() {
    let input = Input::from_args(&args(), &identity("77", "staging")).unwrap();
    assert_eq!(input.service.cluster, "default");
    assert!(matches!(input.task_definition, TaskDefinition::Service));
    assert_eq!(input.start_timeout, Duration::from_secs(600));
    assert_eq!(input.timeout, Duration::from_secs(1800));
    assert!(input.stream_logs);
    assert_eq!(input.started_by, "deploy-kit/77/1");
    assert!(input.client_token.len() <= 64);
}

#[test]
fn the_client_token_is_the_same_for_a_rerun_and_differs_per_job_and_target() {
    let token = |run: &str, job: &str, service: &str| {
        let args = Args {
            service: Some(service.into()),
            ..Args::default()
        };
        Input::from_args(&args, &identity(run, job))
            .unwrap()
            .client_token
    };
    assert_eq!(token("77", "staging", "api"), token("77", "staging", "api"));
    assert_ne!(
        token("77", "staging", "api"),
        token("77", "production", "api")
    );
    assert_ne!(
        token("77", "staging", "api"),
        token("77", "staging", "worker")
    );
    assert_ne!(token("77", "staging", "api"), token("78", "staging", "api"));
}

#[test]
fn task_definitions_commands_and_overrides_parse() {
    let cases = [
        ("arn:aws:ecs:us-east-1:1:task-definition/migrate:3", true),
        ("migrate:3", true),
        ("migrate", true),
        ("deploy/task-definition.json", false),
        ("td.json", false),
    ];
    for (text, reference) in cases {
        let parsed = Input::from_args(
            &Args {
                task_definition: Some(text.into()),
                ..args()
            },
            &RunIdentity::default(),
        );
        if reference {
            let input = parsed.unwrap();
            assert!(
                matches!(&input.task_definition, TaskDefinition::Reference(r) if r == text),
                "{text}"
            );
        } else {
            // A file is read while parsing: these do not exist.
            let error = parsed.unwrap_err().to_string();
            assert!(error.contains(&format!("cannot read `{text}`")), "{error}");
        }
    }
    let input = Input::from_args(
        &Args {
            command: Some(r#"["bin/rails", "db:migrate"]"#.into()),
            environment: Some("RAILS_ENV=production\nVERBOSE=1".into()),
            subnets: Some("subnet-a, subnet-b".into()),
            security_groups: Some("sg-1\nsg-2".into()),
            assign_public_ip: Some("false".into()),
            launch_type: Some("fargate".into()),
            ..args()
        },
        &RunIdentity::default(),
    )
    .unwrap();
    assert_eq!(input.command.unwrap(), ["bin/rails", "db:migrate"]);
    assert_eq!(input.environment.len(), 2);
    assert_eq!(input.network.subnets, ["subnet-a", "subnet-b"]);
    assert_eq!(input.network.security_groups, ["sg-1", "sg-2"]);
    assert_eq!(input.network.assign_public_ip, Some(false));
    assert_eq!(input.launch_type, Some(LaunchType::Fargate));
    let shell = Input::from_args(
        &Args {
            command: Some("bin/migrate --to 'release 7'".into()),
            ..args()
        },
        &RunIdentity::default(),
    )
    .unwrap();
    assert_eq!(shell.command.unwrap(), ["bin/migrate", "--to", "release 7"]);
}

#[test]
fn bad_inputs_name_the_input() {
    let cases: [(Args, &str); 8] = [
        (Args::default(), "input `service`"),
        (
            Args {
                command: Some(r#"["bin/migrate", up]"#.into()),
                ..args()
            },
            "input `command`: is not a valid JSON array",
        ),
        (
            Args {
                environment: Some("RAILS_ENV".into()),
                ..args()
            },
            "input `environment`",
        ),
        (
            Args {
                subnets: Some("10.0.0.0/24".into()),
                ..args()
            },
            "input `subnets`: `10.0.0.0/24` is not an id starting with `subnet-`",
        ),
        (
            Args {
                security_groups: Some("default".into()),
                ..args()
            },
            "input `security-groups`",
        ),
        (
            Args {
                launch_type: Some("lambda".into()),
                ..args()
            },
            "input `launch-type`: `lambda` is not a launch type",
        ),
        (
            Args {
                start_timeout: Some("0s".into()),
                ..args()
            },
            "input `start-timeout`: must be longer than 0s",
        ),
        (
            Args {
                started_by: Some("me and you".into()),
                ..args()
            },
            "input `started-by`",
        ),
    ];
    for (args, expected) in cases {
        let error = Input::from_args(&args, &RunIdentity::default())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with(expected), "{error:?} vs {expected:?}");
    }
}

fn container(name: &str, essential: Option<bool>) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name(name)
        .set_essential(essential)
        .build()
}

#[test]
fn the_container_is_the_named_one_or_the_single_essential_one() {
    let two = [container("app", None), container("log-router", Some(false))];
    assert_eq!(
        choose_container(None, &two).unwrap(),
        "app",
        "essential by default"
    );
    assert_eq!(
        choose_container(Some("log-router"), &two).unwrap(),
        "log-router"
    );
    let error = choose_container(Some("db"), &two).unwrap_err().to_string();
    assert!(
        error.contains("no container `db`: it has `app`, `log-router`"),
        "{error}"
    );
    let both = [
        container("app", Some(true)),
        container("worker", Some(true)),
    ];
    let error = choose_container(None, &both).unwrap_err().to_string();
    assert!(
        error.starts_with("input `container-name`: the task definition has 2 essential containers (`app`, `worker`)"),
        "{error}"
    );
}
