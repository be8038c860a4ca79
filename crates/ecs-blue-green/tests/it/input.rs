use std::time::Duration;

use deploy_kit_ecs::{RevisionRef, TaskDefinition};
use deploy_kit_ecs_blue_green::{Args, Input, Strategy};
use deploy_kit_gha::{Classify, Exit};
use deploy_kit_smoke_test::TestArgs;

/// A rendered task definition: `task-definition` files are read when the inputs are parsed.
pub const TASKDEF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/taskdef.json");

pub fn args() -> Args {
    Args {
        service: Some("api".into()),
        task_definition: Some(TASKDEF.into()),
        ..Args::default()
    }
}

fn refused(args: Args) -> String {
    let error = Input::from_args(&args).expect_err("should be refused");
    assert_eq!(error.exit(), Exit::BadInput);
    error.to_string()
}

#[test]
fn defaults_are_those_documented() {
    let input = Input::from_args(&args()).unwrap();
    assert_eq!(input.service.cluster, "default");
    assert_eq!(input.strategy, Strategy::Keep);
    assert!(
        matches!(&input.task_definition, TaskDefinition::File(file) if file.path.to_str() == Some(TASKDEF))
    );
    assert_eq!(input.timeout, Duration::from_secs(1800));
    assert!(input.rollback_on_timeout && input.rollback_on_cancel && input.wait);
    assert!(!input.dry_run && !input.force_new_deployment);
    assert!(input.test_checks.is_none());
}

#[test]
fn task_definition_names_a_file_an_arn_previous_or_a_revision_number() {
    let source = |text: &str| {
        Input::from_args(&Args {
            task_definition: Some(text.into()),
            ..args()
        })
        .map(|input| input.task_definition)
    };
    let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/api:7";
    assert!(matches!(source(arn).unwrap(), TaskDefinition::Reference(a) if a == arn));
    assert!(matches!(
        source("previous").unwrap(),
        TaskDefinition::Revision(RevisionRef::Previous)
    ));
    assert!(matches!(
        source("41").unwrap(),
        TaskDefinition::Revision(RevisionRef::Number(41))
    ));
    // Anything else is a file, read while parsing.
    let error = source("deploy/previous.json").unwrap_err().to_string();
    assert!(
        error.contains("cannot read `deploy/previous.json`"),
        "{error}"
    );
    for bad in ["0", "007", "99999999999"] {
        let error = source(bad).expect_err(bad).to_string();
        assert!(
            error.contains("task-definition") && error.contains("not a revision number"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn canary_and_linear_take_their_own_knobs() {
    let input = Input::from_args(&Args {
        strategy: Some("canary".into()),
        canary_percent: Some("5%".into()),
        canary_bake_time: Some("3m".into()),
        ..args()
    })
    .unwrap();
    assert_eq!(
        input.strategy,
        Strategy::Canary {
            percent: 5.0,
            bake: Duration::from_secs(180)
        }
    );
    let input = Input::from_args(&Args {
        strategy: Some("linear".into()),
        linear_step_percent: Some("25".into()),
        linear_step_interval: Some("1m".into()),
        ..args()
    })
    .unwrap();
    assert_eq!(
        input.strategy,
        Strategy::Linear {
            step_percent: 25.0,
            interval: Duration::from_secs(60)
        }
    );
}

/// The ends of ECS's ranges are taken as they are (SDK model: canary 0.1 to 100, linear 3 to
/// 100, both in steps of 0.1).
#[test]
fn canary_and_linear_take_the_ends_of_ecs_ranges() {
    let canary = |text: &str| {
        Input::from_args(&Args {
            strategy: Some("canary".into()),
            canary_percent: Some(text.into()),
            ..args()
        })
        .map(|input| input.strategy)
    };
    let linear = |text: &str| {
        Input::from_args(&Args {
            strategy: Some("linear".into()),
            linear_step_percent: Some(text.into()),
            ..args()
        })
        .map(|input| input.strategy)
    };
    for (text, percent) in [("0.1%", 0.1), ("12.3%", 12.3), ("100%", 100.0)] {
        match canary(text).unwrap() {
            Strategy::Canary { percent: got, .. } => assert_eq!(got, percent, "{text}"),
            other => panic!("{other:?}"),
        }
    }
    for (text, percent) in [("3%", 3.0), ("33.3%", 33.3), ("100%", 100.0)] {
        match linear(text).unwrap() {
            Strategy::Linear { step_percent, .. } => assert_eq!(step_percent, percent, "{text}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(linear("2.9%").is_err());
    assert!(canary("0%").is_err());
}

/// Each case is refused, naming the input first.
fn assert_named(cases: Vec<(Args, &str)>) {
    for (args, expected) in cases {
        let message = refused(args);
        assert!(
            message.starts_with(expected),
            "{message:?} does not start with {expected:?}"
        );
    }
}

#[test]
fn the_service_task_definition_and_strategy_inputs_are_named() {
    assert_named(vec![
        (
            Args {
                service: None,
                ..args()
            },
            "input `service`",
        ),
        (
            Args {
                task_definition: Some(" ".into()),
                ..args()
            },
            "input `task-definition`",
        ),
        (
            Args {
                task_definition: Some("arn:aws:ecs:us-east-1:1:service/x".into()),
                ..args()
            },
            "input `task-definition`",
        ),
        (
            Args {
                strategy: Some("purple".into()),
                ..args()
            },
            "input `strategy`",
        ),
        (
            Args {
                bake_time: Some("90s".into()),
                strategy: Some("blue-green".into()),
                ..args()
            },
            "input `bake-time`: ECS counts this in whole minutes",
        ),
        (
            Args {
                bake_time: Some("5m".into()),
                strategy: Some("rolling".into()),
                ..args()
            },
            "input `bake-time`",
        ),
        (
            Args {
                canary_percent: Some("10".into()),
                ..args()
            },
            "input `canary-percent`: applies only with `strategy: canary`",
        ),
        (
            Args {
                strategy: Some("canary".into()),
                canary_percent: Some("0.05%".into()),
                ..args()
            },
            "input `canary-percent`: ECS takes a multiple of 0.1% from 0.1% to 100%",
        ),
    ]);
}

#[test]
fn the_traffic_and_wait_inputs_are_named() {
    assert_named(vec![
        (
            Args {
                strategy: Some("canary".into()),
                canary_percent: Some("10.05%".into()),
                ..args()
            },
            "input `canary-percent`: ECS takes a multiple of 0.1%",
        ),
        (
            Args {
                strategy: Some("linear".into()),
                linear_step_percent: Some("2%".into()),
                ..args()
            },
            "input `linear-step-percent`: ECS takes a multiple of 0.1% from 3% to 100%",
        ),
        (
            Args {
                strategy: Some("blue-green".into()),
                wait: Some("false".into()),
                test: TestArgs {
                    test_url: Some("http://127.0.0.1:9/".into()),
                    ..TestArgs::default()
                },
                ..args()
            },
            "input `wait`: `false` with `test-url` leaves the deployment paused",
        ),
        (
            // Past ECS's 20160-minute PAUSE hook timeout; the parser stops at 10 days.
            Args {
                strategy: Some("blue-green".into()),
                timeout: Some("337h".into()),
                test: TestArgs {
                    test_url: Some("http://127.0.0.1:9/".into()),
                    ..TestArgs::default()
                },
                ..args()
            },
            "input `timeout`",
        ),
        (
            Args {
                strategy: Some("linear".into()),
                linear_step_percent: Some("0".into()),
                ..args()
            },
            "input `linear-step-percent`",
        ),
        (
            Args {
                circuit_breaker: Some("maybe".into()),
                ..args()
            },
            "input `circuit-breaker`",
        ),
    ]);
}

#[test]
fn the_flags_are_named() {
    assert_named(vec![
        (
            Args {
                desired_count: Some("-1".into()),
                ..args()
            },
            "input `desired-count`",
        ),
        (
            Args {
                timeout: Some("soon".into()),
                ..args()
            },
            "input `timeout`",
        ),
        (
            Args {
                timeout: Some("0s".into()),
                ..args()
            },
            "input `timeout`",
        ),
        (
            Args {
                wait: Some("perhaps".into()),
                ..args()
            },
            "input `wait`",
        ),
        (
            Args {
                dry_run: Some("2".into()),
                ..args()
            },
            "input `dry-run`",
        ),
        (
            Args {
                rollback_on_cancel: Some("x".into()),
                ..args()
            },
            "input `rollback-on-cancel`",
        ),
    ]);
}

#[test]
fn the_test_inputs_are_named() {
    assert_named(vec![
        (
            Args {
                test: TestArgs {
                    test_requests: Some("20".into()),
                    ..TestArgs::default()
                },
                ..args()
            },
            "input `test-requests`: has no effect without `test-url`",
        ),
        (
            Args {
                test: TestArgs {
                    test_url: Some("ftp://x".into()),
                    ..TestArgs::default()
                },
                ..args()
            },
            "input `test-url`",
        ),
        (
            Args {
                test: TestArgs {
                    test_url: Some("http://localhost:8080/".into()),
                    test_max_error_rate: Some("lots".into()),
                    ..TestArgs::default()
                },
                ..args()
            },
            "input `test-max-error-rate`",
        ),
        (
            Args {
                test: TestArgs {
                    test_url: Some("http://localhost:8080/".into()),
                    ..TestArgs::default()
                },
                strategy: Some("rolling".into()),
                ..args()
            },
            "input `test-url`: needs a test listener",
        ),
    ]);
}

#[test]
fn test_inputs_are_parsed_by_the_smoke_test_library() {
    let input = Input::from_args(&Args {
        strategy: Some("blue-green".into()),
        test: TestArgs {
            test_url: Some("http://127.0.0.1:9/health".into()),
            test_requests: Some("5".into()),
            ..TestArgs::default()
        },
        ..args()
    })
    .unwrap();
    assert!(input.test_checks.is_some());
}

#[tokio::test]
async fn a_bad_input_exits_2_before_any_aws_call() {
    // No region and no endpoint in this process: an AWS call could only fail differently.
    let (runner, _captured) = deploy_kit_gha::Runner::capture(
        "ecs-blue-green",
        deploy_kit_gha::RunnerEnv::default(),
        deploy_kit_gha::OutputFormat::default(),
    );
    let error = deploy_kit_ecs_blue_green::run(
        Args {
            strategy: Some("x".into()),
            ..args()
        },
        &runner,
    )
    .await
    .expect_err("bad input");
    assert_eq!(error.exit(), Exit::BadInput);
    assert!(error.to_string().starts_with("input `strategy`"));
}
