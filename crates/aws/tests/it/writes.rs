//! Retried writes: a lost answer (the bed's fault proxy forwards the request and cuts the
//! answer) is the case where the request took effect; throttling, scripted with
//! aws-smithy-mocks, is a refusal.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_aws::{Aws, Retry};
use deploy_kit_testbed::faults::{FaultConfig, FaultProxy};
use deploy_kit_testbed::{Bed, Component};

fn policy() -> (Retry, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let retry = Retry::new(Arc::new(move |line: &str| {
        sink.lock().unwrap().push(line.to_owned())
    }))
    .initial_backoff(Duration::from_millis(1));
    (retry, lines)
}

/// A bed with service `api` (rolling) in cluster `prod` running `api:1`, and a client whose
/// requests all go through a fault proxy that forwards them and cuts every answer: the request
/// takes effect, its answer is lost.
async fn lost_answers() -> (Bed, FaultProxy, Client, Arc<Mutex<Vec<String>>>) {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let direct = Client::new(&bed.sdk_config().await);
    direct
        .create_cluster()
        .cluster_name("prod")
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        direct
            .register_task_definition()
            .family("api")
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("app")
                    .image("app:1")
                    .memory(128)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    direct
        .create_service()
        .cluster("prod")
        .service_name("api")
        .task_definition("api:1")
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let mut faults = FaultConfig::new(1.0, 1);
    faults.kinds = vec!["truncate".to_owned()];
    let proxy = FaultProxy::start(bed.endpoint_url(), &faults).unwrap();
    let (retry, lines) = policy();
    let sdk = bed
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(proxy.url())
        .build();
    (bed, proxy, Aws::new(sdk, retry).ecs(), lines)
}

fn update_requests(proxy: &FaultProxy) -> u64 {
    proxy.stats().unwrap()["byOperation"]["UpdateService"]["requests"]
        .as_u64()
        .unwrap()
}

async fn deployments(bed: &Bed) -> usize {
    let direct = Client::new(&bed.sdk_config().await);
    let listed = direct
        .list_service_deployments()
        .cluster("prod")
        .service("api")
        .send()
        .await
        .unwrap();
    listed.service_deployments().len()
}

/// With `forceNewDeployment` a repeat would start a second deployment: after the lost answer
/// no second request goes out, the call fails, and the service has one new deployment.
#[tokio::test]
async fn a_forced_update_service_is_not_sent_again_after_a_lost_answer() {
    let (bed, proxy, ecs, lines) = lost_answers().await;
    let before = deployments(&bed).await;
    let sent = ecs
        .update_service()
        .cluster("prod")
        .service("api")
        .task_definition("api:2")
        .force_new_deployment(true)
        .send()
        .await;
    assert!(sent.is_err());
    assert_eq!(update_requests(&proxy), 1, "sent once");
    assert!(lines.lock().unwrap().is_empty(), "nothing was retried");
    assert_eq!(deployments(&bed).await, before + 1);
}

/// Without it, each repeat is the same request (the same task definition): the SDK's three
/// attempts go out, ECS starts one deployment for the first and none for the repeats, and the
/// log line says an attempt whose answer was lost may have taken effect.
#[tokio::test]
async fn an_update_service_without_force_is_retried_and_starts_one_deployment() {
    let (bed, proxy, ecs, lines) = lost_answers().await;
    let before = deployments(&bed).await;
    let sent = ecs
        .update_service()
        .cluster("prod")
        .service("api")
        .task_definition("api:2")
        .send()
        .await;
    assert!(sent.is_err(), "every answer was cut");
    assert_eq!(update_requests(&proxy), 3);
    assert_eq!(
        deployments(&bed).await,
        before + 1,
        "one deployment for three requests"
    );
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("ECS UpdateService retried 2 times over ")
            && lines[0].ends_with(
                "failed; an attempt whose answer was lost may have taken effect before the one answered"
            ),
        "{}",
        lines[0]
    );
}

/// Throttling past the SDK's three attempts: the budget keeps going (here 8 refusals), and the
/// call's one line counts them all.
#[tokio::test]
async fn throttling_is_retried_past_three_attempts_and_reported_once() {
    let (retry, lines) = policy();
    let rule = mock!(Client::register_task_definition)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned()),
        )
        .times(8)
        .output(|| {
            aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput::builder(
            )
            .build()
        })
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule], |c| retry
        .ecs_config(c));
    let sent = ecs.register_task_definition().family("api").send().await;
    assert!(sent.is_ok(), "{sent:?}");
    assert_eq!(rule.num_calls(), 9);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("ECS RegisterTaskDefinition retried 8 times over ")
            && lines[0].ends_with("(ThrottlingException: Rate exceeded x8): succeeded"),
        "{}",
        lines[0]
    );
}

/// A budget of zero leaves throttling the SDK's three attempts (the benchmark's baseline), and
/// the line says the budget ended it.
#[tokio::test]
async fn a_zero_budget_gives_the_sdk_three_attempts() {
    let (retry, lines) = policy();
    let retry = retry.budget(Duration::ZERO);
    let rule = mock!(Client::register_task_definition)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned()),
        )
        .times(8)
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule], |c| retry
        .ecs_config(c));
    let sent = ecs.register_task_definition().family("api").send().await;
    assert!(sent.is_err());
    assert_eq!(rule.num_calls(), 3);
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].ends_with("still throttled when its retry budget ran out"),
        "{}",
        lines[0]
    );
}

/// ECS's concurrent-revision ClientException is retried like throttling (nothing was
/// registered), past the SDK's three attempts; another ClientException is not retried at all.
#[tokio::test]
async fn the_concurrent_revision_client_exception_is_retried_and_others_are_not() {
    let (retry, lines) = policy();
    let busy = r#"{"__type":"ClientException","message":"Too many concurrent attempts to create a new revision of the specified family."}"#;
    let rule = mock!(Client::register_task_definition)
        .sequence()
        .http_status(400, Some(busy.to_owned()))
        .times(4)
        .output(|| {
            aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput::builder(
            )
            .build()
        })
        .build();
    let other = mock!(Client::register_task_definition)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ClientException","message":"Invalid cpu"}"#.to_owned()),
        )
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule, &other], |c| {
        retry.ecs_config(c)
    });
    let sent = ecs.register_task_definition().family("api").send().await;
    assert!(sent.is_ok(), "{sent:?}");
    assert_eq!(rule.num_calls(), 5);
    let refused = ecs.register_task_definition().family("api").send().await;
    assert!(refused.is_err());
    assert_eq!(other.num_calls(), 1, "not retried");
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("ECS RegisterTaskDefinition retried 4 times over ")
            && lines[0].ends_with(
                "(ClientException: Too many concurrent attempts to create a new revision of the specified family. x4): succeeded"
            ),
        "{}",
        lines[0]
    );
}
