use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::run_task::{RunTaskError, RunTaskInput, RunTaskOutput};
use aws_sdk_ecs::types::error::ConflictException;
use aws_sdk_ecs::types::{Container, Failure, Task, TaskStopCode};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_ecs::Target;
use deploy_kit_gha::RunIdentity;
use deploy_kit_gha::{Classify, Exit, OutputFormat, Runner, RunnerEnv};
use deploy_kit_run_migrations::plan::{Launch, Plan, Timing};
use deploy_kit_run_migrations::{Args, Error, Input, judge, task};

fn input() -> Input {
    Input::from_args(
        &Args {
            cluster: Some("prod".into()),
            service: Some("api".into()),
            ..Args::default()
        },
        &RunIdentity::default(),
    )
    .unwrap()
}

fn plan(timing: Timing) -> Plan {
    Plan {
        target: Target::Existing("migrate:1".into()),
        container: "app".into(),
        log: None,
        network: None,
        launch: Launch::ClusterDefault,
        platform_version: None,
        timing,
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

/// RunTask with every poll delay a thousandth of production's.
async fn start(client: &Client, input: &Input, runner: &Runner) -> Result<String, Error> {
    start_with(client, input, Timing::new(input, 0.001), runner).await
}

async fn start_with(
    client: &Client,
    input: &Input,
    timing: Timing,
    runner: &Runner,
) -> Result<String, Error> {
    let since = tokio::time::Instant::now();
    tokio::time::timeout(
        Duration::from_secs(5),
        task::start(client, input, &plan(timing), "migrate:1", since, runner),
    )
    .await
    .unwrap()
}

/// The client tokens the RunTask rule saw, in order.
fn recorder() -> (
    Arc<Mutex<Vec<String>>>,
    impl Fn(&RunTaskInput) -> bool + Send + Sync,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let record = move |r: &RunTaskInput| {
        sink.lock()
            .unwrap()
            .push(r.client_token().unwrap_or_default().to_owned());
        true
    };
    (seen, record)
}

#[tokio::test]
async fn capacity_failures_are_retried_each_with_its_own_token_then_the_task_starts() {
    let (tokens, record) = recorder();
    let rule = mock!(Client::run_task)
        .match_requests(record)
        .sequence()
        .output(|| failure("RESOURCE:MEMORY"))
        .output(|| failure("AGENT"))
        .output(|| failure(FARGATE_CAPACITY))
        .output(started)
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (runner, captured) = runner();
    let arn = start(&client, &input(), &runner).await.unwrap();
    assert_eq!(arn, "arn:aws:ecs:us-east-1:1:task/prod/t1");
    assert_eq!(rule.num_calls(), 4);
    let stderr = captured.stderr();
    for reason in ["RESOURCE:MEMORY", "AGENT", FARGATE_CAPACITY] {
        assert!(stderr.contains(&format!("RunTask: {reason} (")), "{stderr}");
    }
    assert!(
        stderr.contains("no capacity yet, trying again in 2.0s"),
        "{stderr}"
    );
    let tokens = tokens.lock().unwrap().clone();
    let base = &tokens[0];
    assert_eq!(
        tokens[1..],
        [
            format!("{base}-r1"),
            format!("{base}-r2"),
            format!("{base}-r3")
        ],
        "a failed call started nothing: the next one is a new request"
    );
    assert!(tokens.iter().all(|t| t.len() <= 64), "{tokens:?}");
}

const FARGATE_CAPACITY: &str = "Capacity is unavailable at this time. Please try again later or in a different availability zone";

#[tokio::test]
async fn capacity_that_does_not_come_within_start_timeout_exits_3() {
    let rule = mock!(Client::run_task).then_output(|| failure("RESOURCE:CPU"));
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let (runner, _captured) = runner();
    let input = input();
    // Waits of 200, 400, 800 ms: the third would pass the timeout.
    let timing = Timing {
        start_timeout: Duration::from_secs(1),
        ..Timing::new(&input, 0.1)
    };
    let error = start_with(&client, &input, timing, &runner)
        .await
        .unwrap_err();
    assert_eq!(error.exit(), Exit::TimedOut);
    assert_eq!(
        error.to_string(),
        "RunTask for service `api` in cluster `prod` started no task within start-timeout 1.0s: RESOURCE:CPU (arn:aws:ecs:us-east-1:1:container-instance/prod/abc)"
    );
    assert_eq!(rule.num_calls(), 3, "retried while the timeout allowed");
}

#[tokio::test]
async fn other_failures_name_the_reason_and_the_resource_and_are_not_retried() {
    for reason in ["ATTRIBUTE", "MISSING", "INACTIVE"] {
        let rule = mock!(Client::run_task).then_output(move || failure(reason));
        let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
        let (runner, _captured) = runner();
        let error = start(&client, &input(), &runner).await.unwrap_err();
        assert_eq!(error.exit(), Exit::Failed);
        assert_eq!(
            error.to_string(),
            format!(
                "RunTask for service `api` in cluster `prod` started no task: {reason} (arn:aws:ecs:us-east-1:1:container-instance/prod/abc)"
            )
        );
        assert_eq!(rule.num_calls(), 1, "{reason}: not retried");
    }
}

#[test]
fn capacity_failures_are_the_ones_ecs_documents_as_passing() {
    for reason in [
        "RESOURCE:CPU",
        "RESOURCE:MEMORY",
        "RESOURCE:PORTS",
        "RESOURCE:ENI",
        "RESOURCE:GPU",
        "AGENT",
        FARGATE_CAPACITY,
    ] {
        assert!(task::is_capacity_failure(reason), "{reason}");
    }
    for reason in [
        "ATTRIBUTE",
        "MISSING",
        "INACTIVE",
        "AGENT_UPDATE",
        "capacity",
    ] {
        assert!(!task::is_capacity_failure(reason), "{reason}");
    }
}

/// ECS refuses a token bound to another request (ConflictException, `resourceIds`): the error
/// names the token and the tasks, exit 1, nothing started.
#[tokio::test]
async fn a_token_conflict_names_the_tasks_it_started() {
    let rule = mock!(Client::run_task).then_error(|| {
        RunTaskError::ConflictException(
            ConflictException::builder()
                .message("The clientToken is already in use with a different RunTask request.")
                .resource_ids("arn:aws:ecs:us-east-1:1:task/prod/old")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let (runner, _captured) = runner();
    let input = input();
    let error = start(&client, &input, &runner).await.unwrap_err();
    assert_eq!(error.exit(), Exit::Failed);
    let text = error.to_string();
    assert!(
        text.starts_with("RunTask for service `api` in cluster `prod` refused client token `")
            && text.contains(
                "it already started arn:aws:ecs:us-east-1:1:task/prod/old with other parameters"
            ),
        "{text}"
    );
    assert_eq!(rule.num_calls(), 1);
}

/// The token is the run's identity plus the request: the same request, the same token; another
/// command (or environment, or revision), another token.
#[tokio::test]
async fn the_token_follows_the_request() {
    let (tokens, record) = recorder();
    let rule = mock!(Client::run_task)
        .match_requests(record)
        .then_output(started);
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let (runner, _captured) = runner();
    let identity = RunIdentity {
        run_id: "9001".into(),
        attempt: "1".into(),
        job: "migrate".into(),
        step: "run".into(),
        ..RunIdentity::default()
    };
    let with_command = |command: Option<&str>| {
        Input::from_args(
            &Args {
                cluster: Some("prod".into()),
                service: Some("api".into()),
                command: command.map(str::to_owned),
                ..Args::default()
            },
            &identity,
        )
        .unwrap()
    };
    for command in [
        Some("bin/migrate up"),
        Some("bin/migrate up"),
        Some("bin/migrate down"),
        None,
    ] {
        start(&client, &with_command(command), &runner)
            .await
            .unwrap();
    }
    let tokens = tokens.lock().unwrap().clone();
    assert_eq!(tokens[0], tokens[1], "a re-run of the same request");
    assert_ne!(tokens[0], tokens[2], "another command");
    assert_ne!(tokens[0], tokens[3], "no command");
    assert!(
        tokens.iter().all(|t| t.starts_with("dk-9001-")),
        "{tokens:?}"
    );
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
