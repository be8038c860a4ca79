//! Scenario knobs: each failure ends the deployment the way ECS would, with a reason naming it.

use std::time::Duration;

use aws_sdk_ecs::types::{
    DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentLifecycleHook,
    DeploymentLifecycleHookStage, DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType,
    DeploymentStrategy, ServiceDeploymentRollbackMonitorsStatus, ServiceDeploymentStatus,
};

use super::support::{CLUSTER, bed_hooks, bed_stages, deploy, ecs_bed, follow, register, service};

const TIMEOUT: Duration = Duration::from_secs(30);

fn circuit_breaker(rollback: bool) -> DeploymentCircuitBreaker {
    DeploymentCircuitBreaker::builder()
        .enable(true)
        .rollback(rollback)
        .build()
}

#[tokio::test]
async fn failing_health_checks_trip_the_circuit_breaker_and_roll_back() {
    let (_bed, ecs) = ecs_bed(0.02).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    // The scenario rides on the new revision's environment: the old one stays healthy.
    let green = register(
        &ecs,
        "app",
        "app:2",
        &[("BED_SCENARIO", "failing-health-check")],
    )
    .await;
    let cfg = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::Rolling)
        .deployment_circuit_breaker(circuit_breaker(true))
        .build();
    service(&ecs, "api", &blue, cfg).await;
    let arn = deploy(&ecs, "api", &green).await;
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;

    assert_eq!(
        seen.last.status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );
    let reason = seen.last.status_reason().unwrap();
    assert!(reason.contains("circuit breaker"), "{reason}");
    let cb = seen.last.deployment_circuit_breaker().unwrap();
    assert_eq!(
        cb.status(),
        Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered)
    );
    assert_eq!(cb.threshold(), 3);
    assert!(cb.failure_count() >= cb.threshold(), "{cb:?}");
    // ROLLING reports no lifecycle stage.
    assert_eq!(seen.last.lifecycle_stage(), None);

    let services = ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("api")
        .send()
        .await
        .unwrap();
    let svc = &services.services()[0];
    assert_eq!(svc.task_definition(), Some(blue.as_str()));
    let events: Vec<_> = svc.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        events
            .iter()
            .any(|m| m.contains("deployment failed: tasks failed to start")),
        "{events:#?}"
    );
}

#[tokio::test]
async fn failing_health_checks_without_circuit_breaker_keep_failing_tasks() {
    let (bed, ecs) = ecs_bed(0.02).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    service(
        &ecs,
        "api",
        &blue,
        DeploymentConfiguration::builder().build(),
    )
    .await;
    bed.scenario(r#"{"service": "api", "health": "failing"}"#)
        .unwrap();
    let arn = deploy(&ecs, "api", &green).await;
    // 10 s between failed launches at scale 0.02: a batch of 2 fails every 0.2 s; ECS retries on.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let services = ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("api")
        .send()
        .await
        .unwrap();
    let primary = &services.services()[0].deployments()[0];
    assert_eq!(primary.task_definition(), Some(green.as_str()));
    assert_eq!(
        primary.rollout_state().map(|s| s.as_str()),
        Some("IN_PROGRESS")
    );
    assert!(primary.failed_tasks() >= 4, "{primary:?}");
    assert_eq!(primary.running_count(), 0);
    let dep = super::support::describe(&ecs, &arn).await;
    assert_eq!(dep.status(), Some(&ServiceDeploymentStatus::InProgress));
    assert_eq!(
        dep.deployment_circuit_breaker().and_then(|c| c.status()),
        Some(&ServiceDeploymentRollbackMonitorsStatus::Disabled)
    );
}

#[tokio::test]
async fn an_alarm_during_bake_rolls_back_and_is_named() {
    let (bed, ecs) = ecs_bed(0.02).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    let alarms = DeploymentAlarms::builder()
        .alarm_names("api-5xx")
        .alarm_names("api-latency")
        .enable(true)
        .rollback(true)
        .build()
        .unwrap();
    let cfg = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(5)
        .alarms(alarms)
        .build();
    service(&ecs, "api", &blue, cfg).await;
    bed.scenario(r#"{"service": "api", "alarm": "api-latency", "alarmAfterSeconds": 30}"#)
        .unwrap();
    let arn = deploy(&ecs, "api", &green).await;
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;

    assert_eq!(
        seen.last.status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );
    let reason = seen.last.status_reason().unwrap();
    assert!(reason.contains("api-latency"), "{reason}");
    let alarms = seen.last.alarms().unwrap();
    assert_eq!(
        alarms.status(),
        Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered)
    );
    assert_eq!(alarms.triggered_alarm_names(), ["api-latency"]);
    // It fired in BAKE_TIME, 30 s (0.6 s scaled) in: nothing after that stage ran.
    assert_eq!(
        bed_stages(&bed, &arn).last().map(String::as_str),
        Some("BAKE_TIME")
    );
}

fn lambda_hook(stage: DeploymentLifecycleHookStage) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::AwsLambda)
        .hook_target_arn("arn:aws:lambda:us-east-1:123456789012:function:smoke")
        .role_arn("arn:aws:iam::123456789012:role/ecs-hooks")
        .lifecycle_stages(stage)
        .build()
}

#[tokio::test]
async fn lambda_hooks_succeed_unless_the_scenario_fails_them() {
    let (bed, ecs) = ecs_bed(0.02).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    let cfg = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(0)
        .lifecycle_hooks(lambda_hook(
            DeploymentLifecycleHookStage::PostTestTrafficShift,
        ))
        .build();
    for name in ["good", "bad"] {
        service(&ecs, name, &blue, cfg.clone()).await;
    }
    bed.scenario(r#"{"service": "bad", "scenario": "hook-fails"}"#)
        .unwrap();

    let good = deploy(&ecs, "good", &green).await;
    let bad = deploy(&ecs, "bad", &green).await;
    let running = std::sync::Mutex::new(Vec::new());
    let good_arn = good.clone();
    let good = follow(&ecs, &good, TIMEOUT, |d| {
        running
            .lock()
            .unwrap()
            .extend(d.lifecycle_hook_details().iter().cloned());
        false
    })
    .await;
    let bad = follow(&ecs, &bad, TIMEOUT, |_| false).await;

    assert_eq!(
        good.last.status(),
        Some(&ServiceDeploymentStatus::Successful)
    );
    // Listed while its stage runs (IN_PROGRESS), gone once the next stage starts.
    let running = running.into_inner().unwrap();
    let hook = running
        .first()
        .expect("the Lambda hook was listed while it ran");
    assert_eq!(
        hook.status(),
        Some(&DeploymentLifecycleHookStatus::InProgress)
    );
    assert_eq!(
        hook.target_arn(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:smoke")
    );
    assert!(good.last.lifecycle_hook_details().is_empty());
    let record = bed_hooks(&bed, &good_arn);
    assert_eq!(record[0]["status"], "SUCCEEDED");

    assert_eq!(
        bad.last.status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );
    assert_eq!(
        bad.last.lifecycle_hook_details()[0].status(),
        Some(&DeploymentLifecycleHookStatus::Failed)
    );
    let reason = bad.last.status_reason().unwrap();
    assert!(
        reason.contains("function:smoke") && reason.contains("POST_TEST_TRAFFIC_SHIFT"),
        "{reason}"
    );
}

#[tokio::test]
async fn slow_scale_up_takes_longer_with_tasks_pending() {
    let (bed, ecs) = ecs_bed(0.01).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    let cfg = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(0)
        .build();
    for name in ["fast", "slow"] {
        service(&ecs, name, &blue, cfg.clone()).await;
    }
    bed.scenario(r#"{"service": "slow", "scenario": "slow-scale-up"}"#)
        .unwrap();
    let fast = deploy(&ecs, "fast", &green).await;
    let slow = deploy(&ecs, "slow", &green).await;
    let pending = std::sync::atomic::AtomicBool::new(false);
    follow(&ecs, &slow, TIMEOUT, |d| {
        let target = d.target_service_revision().unwrap();
        if d.lifecycle_stage().map(|s| s.as_str()) == Some("SCALE_UP")
            && target.pending_task_count() > 0
        {
            pending.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        false
    })
    .await;
    follow(&ecs, &fast, TIMEOUT, |_| false).await;
    assert!(
        pending.into_inner(),
        "no pending tasks seen while scaling up"
    );

    let scale_up_ms = |arn: &str| {
        let dep = bed.deployment(arn).unwrap();
        let stages = dep["stages"].as_array().unwrap().clone();
        let i = stages
            .iter()
            .position(|s| s["stage"] == "SCALE_UP")
            .unwrap();
        stages[i + 1]["at"].as_i64().unwrap() - stages[i]["at"].as_i64().unwrap()
    };
    let (fast_ms, slow_ms) = (scale_up_ms(&fast), scale_up_ms(&slow));
    // 20 s and 120 s at scale 0.01.
    assert!((195..=205).contains(&fast_ms), "{fast_ms}");
    assert!((1195..=1205).contains(&slow_ms), "{slow_ms}");
}

#[test]
fn unknown_knobs_are_refused_with_the_known_ones() {
    let bed = deploy_kit_testbed::Bed::start(&[deploy_kit_testbed::Component::Aws]).unwrap();
    let (status, body) = bed
        .post("/_bed/scenario", r#"{"helth": "failing"}"#)
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("helth") && body.contains("health"), "{body}");
}
