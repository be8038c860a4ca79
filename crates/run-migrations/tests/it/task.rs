use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::run_task::RunTaskOutput;
use aws_sdk_ecs::types::{Container, Failure, Task, TaskStopCode};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_gha::{Classify, Exit, OutputFormat, Runner, RunnerEnv};
use deploy_kit_run_migrations::plan::{Launch, Plan};
use deploy_kit_run_migrations::{Args, Input, RunIdentity, judge, task};

fn input() -> Input {
    let mut input = Input::from_args(
        &Args {
            cluster: Some("prod".into()),
            service: Some("api".into()),
            ..Args::default()
        },
        &RunIdentity::default(),
    )
    .unwrap();
    input.poll_scale = 0.001;
    input
}

fn plan() -> Plan {
    Plan {
        task_definition: Some("migrate:1".into()),
        container: "app".into(),
        log: None,
        network: None,
        launch: Launch::ClusterDefault,
        platform_version: None,
    }
}

fn failure(reason: &str) -> RunTaskOutput {
    RunTaskOutput::builder()
        .failures(
            Failure::builder()
                .arn("arn:aws:ecs:us-east-1:1:container-instance/prod/abc")
                .reason(reason)
                .build(),
        )
        .build()
}

fn started() -> RunTaskOutput {
    RunTaskOutput::builder()
        .tasks(
            Task::builder()
                .task_arn("arn:aws:ecs:us-east-1:1:task/prod/t1")
                .build(),
        )
        .build()
}

fn runner() -> (Runner, deploy_kit_gha::Captured) {
    Runner::capture(
        "run-migrations",
        RunnerEnv::default(),
        OutputFormat::default(),
    )
}

#[tokio::test]
async fn capacity_failures_are_retried_then_the_task_starts() {
    let rule = mock!(Client::run_task)
        .sequence()
        .output(|| failure("RESOURCE:MEMORY"))
        .output(|| failure("RESOURCE:CPU"))
        .output(started)
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (runner, captured) = runner();
    let arn = tokio::time::timeout(
        Duration::from_secs(5),
        task::start(&client, &input(), &plan(), "migrate:1", &runner),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(arn, "arn:aws:ecs:us-east-1:1:task/prod/t1");
    assert_eq!(rule.num_calls(), 3);
    assert!(
        captured.stderr().contains("RESOURCE:MEMORY"),
        "{}",
        captured.stderr()
    );
}

#[tokio::test]
async fn other_failures_name_the_reason_and_the_resource() {
    let rule = mock!(Client::run_task).then_output(|| failure("MISSING"));
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let (runner, _captured) = runner();
    let error = task::start(&client, &input(), &plan(), "migrate:1", &runner)
        .await
        .unwrap_err();
    assert_eq!(error.exit(), Exit::Failed);
    assert_eq!(
        error.to_string(),
        "RunTask for service `api` in cluster `prod` started no task: MISSING (arn:aws:ecs:us-east-1:1:container-instance/prod/abc)"
    );
    assert_eq!(rule.num_calls(), 1, "not retried");
}

fn stopped(app_exit: Option<i32>, reason: Option<&str>) -> Task {
    Task::builder()
        .task_arn("arn:aws:ecs:us-east-1:1:task/prod/t1")
        .stop_code(TaskStopCode::TaskFailedToStart)
        .stopped_reason("Task failed to start")
        .containers(
            Container::builder()
                .name("app")
                .set_exit_code(app_exit)
                .set_reason(reason.map(str::to_owned))
                .build(),
        )
        .containers(Container::builder().name("sidecar").exit_code(0).build())
        .build()
}

#[test]
fn the_verdict_is_the_named_containers_exit_code() {
    assert!(judge(&stopped(Some(0), None), "app").is_ok());
    let error = judge(&stopped(Some(3), None), "app")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("container `app`") && error.contains("exited with code 3"),
        "{error}"
    );
    assert!(
        judge(&stopped(Some(3), None), "sidecar").is_ok(),
        "another container's 0"
    );
    let error = judge(
        &stopped(None, Some("CannotPullContainerError: pull access denied")),
        "app",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("never ran: stopCode TaskFailedToStart, Task failed to start; container: CannotPullContainerError"), "{error}");
}
