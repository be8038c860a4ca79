//! The retry budget against the bed's ECS token buckets (`tests/bed/bed/plugins/throttle.py`): many
//! registrations at once, as a monorepo's matrix makes them, all succeed, each once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::types::ContainerDefinition;
use deploy_kit_aws::{Aws, Retry};
use deploy_kit_testbed::{Bed, Component};

fn throttle(bed: &Bed, knobs: &str) -> serde_json::Value {
    let (status, body) = bed.post("/_bed/throttle", knobs).unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn counters(bed: &Bed) -> serde_json::Value {
    serde_json::from_str(&bed.get("/_bed/throttle").unwrap().1).unwrap()
}

async fn register(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
) -> Result<
    String,
    aws_sdk_ecs::error::SdkError<
        aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionError,
    >,
> {
    let container = ContainerDefinition::builder()
        .name("app")
        .image("registry.example/app:1")
        .memory(128)
        .build();
    let out = ecs
        .register_task_definition()
        .family(family)
        .container_definitions(container)
        .send()
        .await?;
    Ok(out
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap_or_default()
        .to_owned())
}

/// 12 registrations at once, three of each of four families, against ECS's buckets with the
/// RegisterTaskDefinition bucket scaled down (burst 3, 2 a second, where ECS has 20 and 1) so
/// the test takes seconds: 12 is four times the burst, as 20 deploys are to ECS's 20 plus the
/// reads around them. Every registration succeeds; each retried call says so in one line, and
/// those lines account for every refusal the bed counted; no family gets an extra revision.
#[tokio::test]
async fn concurrent_registrations_past_the_burst_all_succeed_within_the_budget() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    throttle(
        &bed,
        r#"{"preset": "ecs", "buckets": {"task-definition-modify": {"burst": 3, "rate": 2}},
            "concurrentRevisionSeconds": 0.2}"#,
    );
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let retry = Retry::new(Arc::new(move |line: &str| {
        sink.lock().unwrap().push(line.to_owned())
    }));
    let ecs = Aws::new(bed.sdk_config().await, retry).ecs();
    let families = ["api", "web", "worker", "cron"];
    let calls = families
        .iter()
        .flat_map(|f| std::iter::repeat_n(*f, 3))
        .map(|family| {
            let ecs = ecs.clone();
            tokio::spawn(async move { register(&ecs, family).await })
        })
        .collect::<Vec<_>>();
    for call in calls {
        let arn = call.await.unwrap();
        assert!(arn.is_ok(), "a registration failed: {arn:?}");
    }

    let seen = counters(&bed);
    let throttled = seen["throttled"]["RegisterTaskDefinition"]
        .as_u64()
        .unwrap_or(0);
    let concurrent = seen["concurrentRevision"].as_u64().unwrap();
    assert!(throttled > 0, "the bucket never ran dry: {seen}");
    assert_eq!(seen["allowed"]["RegisterTaskDefinition"], 12);
    let lines = lines.lock().unwrap().clone();
    let reported: u64 = lines
        .iter()
        .map(|line| {
            assert!(
                line.starts_with("ECS RegisterTaskDefinition retried ")
                    && line.contains("succeeded"),
                "{line}"
            );
            let n = line.split_whitespace().nth(3).unwrap();
            n.parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(
        reported,
        throttled + concurrent,
        "one line per call, every retry counted: {lines:#?}"
    );
    assert!(lines.len() <= 12);
    for family in families {
        let listed = ecs
            .list_task_definitions()
            .family_prefix(family)
            .send()
            .await
            .unwrap();
        assert_eq!(
            listed.task_definition_arns().len(),
            3,
            "{family}: {listed:?}"
        );
    }
}

/// The same burst with the SDK's default retry (3 attempts, about 3 s of backoff at most):
/// the bucket cannot refill fast enough, so some registrations fail with ThrottlingException.
/// This is the failure the budget removes.
#[tokio::test]
async fn the_sdk_default_retry_fails_the_same_burst() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    throttle(
        &bed,
        r#"{"buckets": {"task-definition-modify": {"burst": 3, "rate": 2}},
            "concurrentRevisionSeconds": 0}"#,
    );
    let ecs = aws_sdk_ecs::Client::new(&bed.sdk_config().await);
    let calls = (0..12)
        .map(|i| {
            let ecs = ecs.clone();
            tokio::spawn(async move { register(&ecs, &format!("svc{i}")).await })
        })
        .collect::<Vec<_>>();
    let mut failures = Vec::new();
    for call in calls {
        if let Err(error) = call.await.unwrap() {
            failures.push(deploy_kit_aws::describe_error(&error));
        }
    }
    assert!(!failures.is_empty(), "all 12 passed with 3 attempts");
    for failure in failures {
        assert_eq!(failure, "ThrottlingException: Rate exceeded");
    }
}

/// The bed's buckets and the concurrent-revision refusal, each call once (no retries): a bucket
/// answers its burst, refuses the next, and refills at its rate; a second registration of a
/// family while the first holds it is refused with ECS's ClientException, and not when the knob
/// is 0.
#[tokio::test]
async fn buckets_refill_at_their_rate_and_concurrent_registrations_are_refused() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let sdk = bed
        .sdk_config()
        .await
        .into_builder()
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled())
        .build();
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    ecs.create_cluster()
        .cluster_name("default")
        .send()
        .await
        .unwrap();
    let settings = throttle(
        &bed,
        r#"{"buckets": {"service-read": {"burst": 2, "rate": 1}}, "concurrentRevisionSeconds": 30}"#,
    );
    assert_eq!(settings["buckets"]["task-definition-modify"]["burst"], 20.0);
    assert_eq!(settings["buckets"]["service-modify"]["rate"], 5.0);
    let describe = || {
        ecs.describe_services()
            .cluster("default")
            .services("none")
            .send()
    };
    assert!(describe().await.is_ok());
    assert!(describe().await.is_ok());
    let refused = describe().await.unwrap_err();
    assert_eq!(
        deploy_kit_aws::describe_error(&refused),
        "ThrottlingException: Rate exceeded"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(describe().await.is_ok(), "one token back after a second");

    assert!(register(&ecs, "api").await.is_ok());
    let refused = register(&ecs, "api").await.unwrap_err();
    assert_eq!(
        deploy_kit_aws::describe_error(&refused),
        "ClientException: Too many concurrent attempts to create a new revision of the specified family."
    );
    assert!(
        register(&ecs, "web").await.is_ok(),
        "another family is free"
    );

    throttle(&bed, r#"{"concurrentRevisionSeconds": 0}"#);
    assert!(register(&ecs, "api").await.is_ok());
    assert!(register(&ecs, "api").await.is_ok());
    let (status, body) = bed.post("/_bed/throttle", r#"{"bukets": {}}"#).unwrap();
    assert_eq!(status, 400, "an unknown knob is refused: {body}");
}
