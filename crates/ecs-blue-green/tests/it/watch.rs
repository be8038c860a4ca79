use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::types::{
    DeploymentLifecycleHookDetail, DeploymentLifecycleHookStatus,
    DeploymentLifecycleHookTargetType, ServiceDeployment, ServiceDeploymentLifecycleStage,
    ServiceDeploymentStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use deploy_kit_ecs_blue_green::Error;
use deploy_kit_ecs_blue_green::watch::{Follower, Step, Watch, until_ended};
use deploy_kit_gha::{Classify, Exit, OutputFormat, Runner, RunnerEnv};

const ARN: &str = "arn:aws:ecs:us-east-1:1:service-deployment/prod/api/d1";

fn at(stage: &str, status: &str, reason: Option<&str>) -> DescribeServiceDeploymentsOutput {
    DescribeServiceDeploymentsOutput::builder()
        .service_deployments(
            ServiceDeployment::builder()
                .service_deployment_arn(ARN)
                .lifecycle_stage(ServiceDeploymentLifecycleStage::from(stage))
                .status(ServiceDeploymentStatus::from(status))
                .set_status_reason(reason.map(str::to_owned))
                .build(),
        )
        .build()
}

fn watch() -> Watch<'static> {
    Watch {
        cluster: "prod",
        service: "api",
        arn: ARN,
        timeout: Duration::from_secs(60),
        bake: Some(Duration::from_secs(300)),
        poll_scale: 0.001,
        events: false,
        console_url: Some("https://console/deployments"),
    }
}

fn runner() -> (Runner, deploy_kit_gha::Captured) {
    Runner::capture(
        "ecs-blue-green",
        RunnerEnv::default(),
        OutputFormat::default(),
    )
}

fn throttled() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
    )
}

fn server_error() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(500).unwrap(),
        SdkBody::from(r#"{"__type":"ServerException","message":"internal"}"#),
    )
}

#[tokio::test]
async fn follows_every_stage_to_successful_counting_describe_calls() {
    let stages = [
        ("SCALE_UP", "IN_PROGRESS"),
        ("TEST_TRAFFIC_SHIFT", "IN_PROGRESS"),
        ("PRODUCTION_TRAFFIC_SHIFT", "IN_PROGRESS"),
        ("BAKE_TIME", "IN_PROGRESS"),
        ("CLEAN_UP", "IN_PROGRESS"),
        ("CLEAN_UP", "SUCCESSFUL"),
    ];
    let mut rule = mock!(Client::describe_service_deployments)
        .match_requests(|r| r.service_deployment_arns() == [ARN])
        .sequence();
    for (stage, status) in stages {
        rule = rule.output(move || at(stage, status, None));
    }
    let rule = rule.build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (runner, captured) = runner();
    let outcome = until_ended(&client, &watch(), &runner).await.unwrap();
    assert!(outcome.succeeded());
    assert_eq!(outcome.describe_calls, 6);
    assert_eq!(rule.num_calls(), 6);
    let names: Vec<&str> = outcome.stages.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "SCALE_UP",
            "TEST_TRAFFIC_SHIFT",
            "PRODUCTION_TRAFFIC_SHIFT",
            "BAKE_TIME",
            "CLEAN_UP"
        ]
    );
    assert!(
        captured.stderr().contains("stage BAKE_TIME"),
        "{}",
        captured.stderr()
    );
}

#[tokio::test]
async fn a_rollback_ends_with_its_reason() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| at("SCALE_UP", "IN_PROGRESS", None))
        .output(|| {
            at(
                "SCALE_UP",
                "ROLLBACK_IN_PROGRESS",
                Some("circuit breaker: 3 tasks failed"),
            )
        })
        .output(|| {
            at(
                "CLEAN_UP",
                "ROLLBACK_SUCCESSFUL",
                Some("circuit breaker: 3 tasks failed"),
            )
        })
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (runner, _captured) = runner();
    let outcome = until_ended(&client, &watch(), &runner).await.unwrap();
    assert!(!outcome.succeeded());
    assert_eq!(outcome.status, "ROLLBACK_SUCCESSFUL");
    assert_eq!(
        outcome.reason.as_deref(),
        Some("circuit breaker: 3 tasks failed")
    );
}

#[tokio::test]
async fn throttling_and_5xx_mid_watch_are_survived() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| at("SCALE_UP", "IN_PROGRESS", None))
        .http_response(throttled)
        .times(3)
        .http_response(server_error)
        .times(2)
        .output(|| at("CLEAN_UP", "SUCCESSFUL", None))
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule], |config| {
        // the SDK's own retries off: this tests the watcher's backoff, in scaled time
        config.retry_config(RetryConfig::disabled())
    });
    let (runner, _captured) = runner();
    let outcome = until_ended(&client, &watch(), &runner).await.unwrap();
    assert!(outcome.succeeded());
    assert_eq!(rule.num_calls(), 7);
}

#[tokio::test]
async fn a_deployment_that_disappears_is_a_failure_naming_it() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| at("SCALE_UP", "IN_PROGRESS", None))
        .output(|| DescribeServiceDeploymentsOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (runner, _captured) = runner();
    let error = until_ended(&client, &watch(), &runner).await.unwrap_err();
    assert_eq!(error.exit(), Exit::Failed);
    assert!(error.to_string().contains(ARN), "{error}");
    assert!(error.to_string().contains("disappeared"), "{error}");
}

#[tokio::test]
async fn unknown_future_statuses_and_stages_are_followed_not_fatal() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| at("WARP_DRIVE", "IN_PROGRESS", None))
        .output(|| at("WARP_DRIVE", "REFLECTING", None))
        .output(|| at("CLEAN_UP", "SUCCESSFUL", None))
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (runner, captured) = runner();
    let outcome = until_ended(&client, &watch(), &runner).await.unwrap();
    assert!(outcome.succeeded());
    assert!(
        captured.stderr().contains("status REFLECTING"),
        "{}",
        captured.stderr()
    );
    assert_eq!(outcome.stages[0].0, "WARP_DRIVE");
}

#[tokio::test(start_paused = true)]
async fn the_timeout_is_an_exit_3_error_naming_the_deployment() {
    let rule = mock!(Client::describe_service_deployments)
        .then_output(|| at("BAKE_TIME", "IN_PROGRESS", None));
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let (runner, _captured) = runner();
    let mut w = watch();
    w.poll_scale = 1.0;
    w.timeout = Duration::from_secs(600);
    let error = until_ended(&client, &w, &runner).await.unwrap_err();
    assert!(matches!(
        error,
        Error::Ecs(deploy_kit_ecs::Error::TimedOut(_))
    ));
    assert_eq!(error.exit(), Exit::TimedOut);
    assert!(
        error.to_string().contains("did not finish within 10m"),
        "{error}"
    );
    // a 300 s bake that never ends, over 600 s: the long sleeps keep the call count low
    assert!(rule.num_calls() <= 100, "{} calls", rule.num_calls());
}

#[tokio::test(start_paused = true)]
async fn under_a_time_scale_a_bake_is_slept_through_once_then_polled_fast() {
    // A 60 s bake at scale 0.001 is 60 ms on the clock: one sleep to 2 s (2 ms) before its
    // end, then a poll every (scaled) second. Timed on the policy's clock, each poll would sleep
    // 58 ms again.
    let mut rule = mock!(Client::describe_service_deployments).sequence();
    for _ in 0..4 {
        rule = rule.output(|| at("BAKE_TIME", "IN_PROGRESS", None));
    }
    let rule = rule.output(|| at("CLEAN_UP", "SUCCESSFUL", None)).build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (runner, _captured) = runner();
    let mut w = watch();
    w.bake = Some(Duration::from_secs(60));
    let started = tokio::time::Instant::now();
    let outcome = until_ended(&client, &w, &runner).await.unwrap();
    assert!(outcome.succeeded());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(58) && took < Duration::from_millis(70),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_rollback_is_requested_and_followed_until_it_settles() {
    let stop = mock!(Client::stop_service_deployment)
        .match_requests(|r| {
            r.service_deployment_arn() == Some(ARN)
                && r.stop_type()
                    == Some(&aws_sdk_ecs::types::StopServiceDeploymentStopType::Rollback)
        })
        .then_output(|| {
            aws_sdk_ecs::operation::stop_service_deployment::StopServiceDeploymentOutput::builder()
                .service_deployment_arn(ARN)
                .build()
        });
    let describe = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| at("BAKE_TIME", "ROLLBACK_IN_PROGRESS", None))
        .output(|| {
            at(
                "CLEAN_UP",
                "ROLLBACK_SUCCESSFUL",
                Some("stopped by deploy-kit"),
            )
        })
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&stop, &describe]);
    let (runner, captured) = runner();
    let outcome =
        deploy_kit_ecs_blue_green::rollback::roll_back(&client, &watch(), "timed out", &runner)
            .await
            .unwrap();
    assert_eq!(stop.num_calls(), 1);
    assert_eq!(outcome.status, "ROLLBACK_SUCCESSFUL");
    assert!(
        captured
            .stderr()
            .contains("timed out: rolling back service deployment"),
        "{}",
        captured.stderr()
    );
}

fn with_hook(stage: &str, kind: &str, status: &str, id: &str) -> DescribeServiceDeploymentsOutput {
    let mut out = at(stage, "IN_PROGRESS", None);
    out.service_deployments.as_mut().unwrap()[0].lifecycle_hook_details = Some(vec![
        DeploymentLifecycleHookDetail::builder()
            .hook_id(id)
            .target_type(DeploymentLifecycleHookTargetType::from(kind))
            .status(DeploymentLifecycleHookStatus::from(status))
            .build(),
    ]);
    out
}

/// A PAUSE hook awaiting action at POST_SCALE_UP is not ours even when the watcher answers
/// pauses: it is named once (hook, stage, console, what it waits for) and followed, never
/// handed to the caller to answer.
#[tokio::test]
async fn a_pause_that_is_not_ours_is_named_and_waited_on_not_answered() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| {
            with_hook(
                "POST_SCALE_UP",
                "PAUSE",
                "AWAITING_ACTION",
                "ecs-pause-person",
            )
        })
        .output(|| {
            with_hook(
                "POST_SCALE_UP",
                "PAUSE",
                "AWAITING_ACTION",
                "ecs-pause-person",
            )
        })
        .output(|| with_hook("POST_SCALE_UP", "PAUSE", "SUCCEEDED", "ecs-pause-person"))
        .output(|| {
            with_hook(
                "POST_TEST_TRAFFIC_SHIFT",
                "PAUSE",
                "AWAITING_ACTION",
                "ecs-pause-ours",
            )
        })
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (runner, captured) = runner();
    let mut follower = Follower::new(&client, watch(), &runner);
    match follower.next(true).await.unwrap() {
        Step::Paused { hook_id } => assert_eq!(hook_id, "ecs-pause-ours"),
        Step::Done(outcome) => panic!("ended: {outcome:?}"),
        Step::TimedOut(message) => panic!("{message}"),
    }
    let waited = &follower.outcome().waited_on;
    assert_eq!(waited.len(), 1, "named once: {waited:?}");
    assert!(
        waited[0].contains("ecs-pause-person (PAUSE) at stage POST_SCALE_UP")
            && waited[0].contains("waiting for ContinueServiceDeployment")
            && waited[0].contains("https://console/deployments"),
        "{waited:?}"
    );
    assert!(
        captured.stderr().contains(&waited[0]),
        "{}",
        captured.stderr()
    );
}

/// ECS lists only the current stage's hooks: a hook seen FAILED stays in the record after
/// it leaves the answers, so the explanation does not depend on the last one.
#[tokio::test]
async fn a_failed_hook_is_remembered_after_ecs_stops_listing_it() {
    let rule = mock!(Client::describe_service_deployments)
        .sequence()
        .output(|| with_hook("POST_SCALE_UP", "AWS_LAMBDA", "FAILED", "lambda-1"))
        .output(|| at("POST_SCALE_UP", "ROLLBACK_IN_PROGRESS", None))
        .output(|| at("POST_SCALE_UP", "ROLLBACK_SUCCESSFUL", None))
        .build();
    let client = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let (runner, _captured) = runner();
    let outcome = until_ended(&client, &watch(), &runner).await.unwrap();
    assert_eq!(outcome.status, "ROLLBACK_SUCCESSFUL");
    assert!(outcome.last.unwrap().lifecycle_hook_details().is_empty());
    assert_eq!(
        outcome.failed_hooks,
        ["lifecycle hook lambda-1 (AWS_LAMBDA) FAILED at stage POST_SCALE_UP"]
    );
}

/// ROLLING reports no stage, so "the end is next" cannot wait for CLEAN_UP: it is green running
/// every task it asked for with no source task left.
#[test]
fn a_deployment_without_a_stage_is_near_its_end_once_green_runs_alone() {
    use aws_sdk_ecs::types::ServiceRevisionSummary;
    use deploy_kit_ecs_blue_green::status::terminal_next;
    let rolling = |green: i32, blue: i32| {
        ServiceDeployment::builder()
            .status(ServiceDeploymentStatus::InProgress)
            .target_service_revision(
                ServiceRevisionSummary::builder()
                    .requested_task_count(2)
                    .running_task_count(green)
                    .build(),
            )
            .source_service_revisions(
                ServiceRevisionSummary::builder()
                    .running_task_count(blue)
                    .build(),
            )
            .build()
    };
    assert!(!terminal_next(&rolling(1, 1)));
    assert!(!terminal_next(&rolling(2, 1)));
    assert!(terminal_next(&rolling(2, 0)));
    // With a stage, CLEAN_UP still decides.
    let mut staged = rolling(2, 0);
    staged.lifecycle_stage = Some(ServiceDeploymentLifecycleStage::BakeTime);
    assert!(!terminal_next(&staged));
    staged.lifecycle_stage = Some(ServiceDeploymentLifecycleStage::CleanUp);
    assert!(terminal_next(&staged));
}
