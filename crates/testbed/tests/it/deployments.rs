//! Service deployments through the Rust SDK: each strategy's lifecycle stages in order, PAUSE
//! hooks with ContinueServiceDeployment, StopServiceDeployment, validation, and DescribeServices
//! staying consistent with the service deployment.

use std::time::Duration;

use aws_sdk_ecs::types::{
    CanaryConfiguration, DeploymentConfiguration, DeploymentLifecycleHook,
    DeploymentLifecycleHookAction, DeploymentLifecycleHookStage, DeploymentLifecycleHookStatus,
    DeploymentLifecycleHookTargetType, DeploymentLifecycleHookTimeoutConfiguration,
    DeploymentStrategy, LinearConfiguration, LoadBalancer, ServiceDeploymentStatus,
    StopServiceDeploymentStopType,
};

use super::support::{
    CLUSTER, bed_stages, deploy, describe, ecs_bed, follow, load_balancer, register, service,
};

const BLUE_GREEN_STAGES: [&str; 9] = [
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
];
const TIMEOUT: Duration = Duration::from_secs(30);

fn config(
    strategy: DeploymentStrategy,
) -> aws_sdk_ecs::types::builders::DeploymentConfigurationBuilder {
    DeploymentConfiguration::builder()
        .strategy(strategy)
        .bake_time_in_minutes(1)
}

fn pause_at(
    stage: DeploymentLifecycleHookStage,
    timeout: Option<(i32, DeploymentLifecycleHookAction)>,
) -> DeploymentLifecycleHook {
    let mut hook = DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(stage);
    if let Some((minutes, action)) = timeout {
        hook = hook.timeout_configuration(
            DeploymentLifecycleHookTimeoutConfiguration::builder()
                .timeout_in_minutes(minutes)
                .action(action)
                .build(),
        );
    }
    hook.build()
}

/// Deploys `config` to a fresh service at time scale 0.05 (a 1-minute bake lasts 3 s) and
/// follows it to the end; what the SDK saw, the bed's stage record, and the weights of the
/// green revision's production traffic as seen.
async fn run_strategy(config: DeploymentConfiguration) -> (Vec<String>, Vec<String>, Vec<f64>) {
    run_strategy_with(config, r#"{"scaleUpSeconds": 4}"#).await
}

async fn run_strategy_with(
    config: DeploymentConfiguration,
    scenario: &str,
) -> (Vec<String>, Vec<String>, Vec<f64>) {
    let (bed, ecs) = ecs_bed(0.05).await;
    bed.scenario(scenario).unwrap();
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    service(&ecs, "api", &blue, config).await;
    let arn = deploy(&ecs, "api", &green).await;

    let weights = std::sync::Mutex::new(Vec::<f64>::new());
    let seen = follow(&ecs, &arn, TIMEOUT, |d| {
        let weight = d
            .target_service_revision()
            .and_then(|t| t.requested_production_traffic_weight())
            .unwrap_or(-1.0);
        let mut weights = weights.lock().unwrap();
        if weights.last() != Some(&weight) {
            weights.push(weight);
        }
        false
    })
    .await;
    assert_eq!(
        seen.last.status(),
        Some(&ServiceDeploymentStatus::Successful),
        "{:#?}",
        seen.last
    );
    // PENDING lasts 50 ms at this scale: a poll may or may not see it.
    let statuses: Vec<&str> = seen
        .statuses
        .iter()
        .map(String::as_str)
        .skip_while(|s| *s == "PENDING")
        .collect();
    assert_eq!(statuses, ["IN_PROGRESS", "SUCCESSFUL"]);
    let recorded = bed_stages(&bed, &arn);
    (seen.stages, recorded, weights.into_inner().unwrap())
}

/// ROLLING reports no `lifecycleStage` (the model describes the stages for blue/green); the
/// bed still runs SCALE_UP, BAKE_TIME and CLEAN_UP inside, and reports them with the
/// `rollingStages` knob.
#[tokio::test]
async fn rolling_goes_through_scale_up_bake_and_clean_up() {
    let (seen, recorded, _) = run_strategy(config(DeploymentStrategy::Rolling).build()).await;
    assert_eq!(recorded, ["SCALE_UP", "BAKE_TIME", "CLEAN_UP"]);
    assert!(seen.is_empty(), "no stage reported: {seen:?}");
    let (seen, recorded, _) = run_strategy_with(
        config(DeploymentStrategy::Rolling).build(),
        r#"{"scaleUpSeconds": 4, "rollingStages": true}"#,
    )
    .await;
    assert_eq!(seen, recorded);
}

#[tokio::test]
async fn blue_green_goes_through_every_stage_in_order() {
    let (seen, recorded, weights) =
        run_strategy(config(DeploymentStrategy::BlueGreen).build()).await;
    assert_eq!(recorded, BLUE_GREEN_STAGES);
    assert_eq!(seen, recorded);
    assert_eq!(
        weights,
        [0.0, 100.0],
        "production traffic moves in one step"
    );
}

#[tokio::test]
async fn canary_shifts_production_traffic_in_two_steps() {
    let canary = CanaryConfiguration::builder()
        .canary_percent(10.0)
        .canary_bake_time_in_minutes(1)
        .build();
    let (seen, recorded, weights) = run_strategy(
        config(DeploymentStrategy::Canary)
            .canary_configuration(canary)
            .build(),
    )
    .await;
    assert_eq!(recorded, BLUE_GREEN_STAGES);
    assert_eq!(seen, recorded);
    assert_eq!(weights, [0.0, 10.0, 100.0]);
}

#[tokio::test]
async fn linear_shifts_production_traffic_in_equal_steps() {
    let linear = LinearConfiguration::builder()
        .step_percent(25.0)
        .step_bake_time_in_minutes(0)
        .build();
    let (seen, recorded, weights) = run_strategy(
        config(DeploymentStrategy::Linear)
            .linear_configuration(linear)
            .build(),
    )
    .await;
    assert_eq!(recorded, BLUE_GREEN_STAGES);
    assert_eq!(seen, recorded);
    assert_eq!(weights, [0.0, 25.0, 50.0, 75.0, 100.0]);
}

async fn describe_api(ecs: &aws_sdk_ecs::Client) -> aws_sdk_ecs::types::Service {
    let out = ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("api")
        .send()
        .await
        .unwrap();
    out.services()[0].clone()
}

/// A service whose deployment of `green` completed: one deployment, steady, its events told.
fn assert_completed_on(after: &aws_sdk_ecs::types::Service, green: &str) {
    assert_eq!(after.task_definition(), Some(green));
    assert_eq!(after.deployments().len(), 1);
    let primary = &after.deployments()[0];
    assert_eq!(
        primary.rollout_state().map(|s| s.as_str()),
        Some("COMPLETED")
    );
    assert_eq!((primary.running_count(), after.running_count()), (2, 2));
    let events: Vec<_> = after.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        events[0].ends_with("has reached a steady state."),
        "{events:#?}"
    );
    assert!(
        events.iter().any(|m| m.contains("deployment completed")),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|m| m.contains("entered lifecycle stage BAKE_TIME")),
        "{events:#?}"
    );
}

#[tokio::test]
async fn describe_services_follows_the_deployment() {
    let (bed, ecs) = ecs_bed(0.02).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    service(
        &ecs,
        "api",
        &blue,
        config(DeploymentStrategy::BlueGreen).build(),
    )
    .await;
    let arn = deploy(&ecs, "api", &green).await;

    let during = describe_api(&ecs).await;
    // The 2025 configuration fields moto does not know come back as they were sent.
    let cfg = during.deployment_configuration().unwrap();
    assert_eq!(cfg.strategy(), Some(&DeploymentStrategy::BlueGreen));
    assert_eq!(cfg.bake_time_in_minutes(), Some(1));
    let lb = &during.load_balancers()[0];
    assert!(lb.advanced_configuration().is_some(), "{lb:?}");
    let ids: Vec<_> = during
        .deployments()
        .iter()
        .map(|d| {
            (
                d.status().unwrap(),
                d.task_definition().unwrap(),
                d.rollout_state().unwrap().as_str(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("PRIMARY", green.as_str(), "IN_PROGRESS"),
            ("ACTIVE", blue.as_str(), "COMPLETED")
        ]
    );

    follow(&ecs, &arn, TIMEOUT, |_| false).await;
    assert_completed_on(&describe_api(&ecs).await, &green);
    // The target revision is a service revision ECS can describe.
    let target = describe(&ecs, &arn).await;
    let revision_arn = target
        .target_service_revision()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let revisions = ecs
        .describe_service_revisions()
        .service_revision_arns(&revision_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        revisions.service_revisions()[0].task_definition(),
        Some(green.as_str())
    );
    drop(bed);
}

#[tokio::test]
async fn blue_green_without_advanced_configuration_is_refused_like_ecs() {
    let (_bed, ecs) = ecs_bed(1.0).await;
    let td = register(&ecs, "app", "app:1", &[]).await;
    let plain = LoadBalancer::builder()
        .target_group_arn("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1")
        .container_name("web")
        .container_port(80)
        .build();
    let err = ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name("api")
        .task_definition(&td)
        .desired_count(1)
        .load_balancers(plain)
        .deployment_configuration(config(DeploymentStrategy::Linear).build())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_client_exception(), "{err:?}");
    assert_eq!(
        err.meta().message(),
        Some(
            "advancedConfiguration field is required for all loadBalancers when using the linear deployment strategy"
        )
    );

    // A PAUSE hook where ECS allows only Lambda hooks.
    let err = ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name("api")
        .task_definition(&td)
        .desired_count(1)
        .load_balancers(load_balancer())
        .deployment_configuration(
            config(DeploymentStrategy::BlueGreen)
                .lifecycle_hooks(pause_at(
                    DeploymentLifecycleHookStage::TestTrafficShift,
                    None,
                ))
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");
}

/// UpdateService with only a deployment configuration: no deployment starts.
async fn configure(ecs: &aws_sdk_ecs::Client, name: &str, config: DeploymentConfiguration) {
    let before = ecs
        .list_service_deployments()
        .cluster(CLUSTER)
        .service(name)
        .send()
        .await
        .unwrap()
        .service_deployments()
        .len();
    ecs.update_service()
        .cluster(CLUSTER)
        .service(name)
        .deployment_configuration(config)
        .send()
        .await
        .unwrap();
    let after = ecs
        .list_service_deployments()
        .cluster(CLUSTER)
        .service(name)
        .send()
        .await
        .unwrap()
        .service_deployments()
        .len();
    assert_eq!(
        after, before,
        "a configuration change alone starts no deployment"
    );
}

/// A blue/green service with a PAUSE hook after the test traffic shift; returns the deployment
/// once it is paused there, with its hook id.
async fn paused(
    time_scale: f64,
    timeout: Option<(i32, DeploymentLifecycleHookAction)>,
) -> (
    deploy_kit_testbed::Bed,
    aws_sdk_ecs::Client,
    String,
    String,
    String,
) {
    let (bed, ecs) = ecs_bed(time_scale).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    // The first deployment would run the hook too: it is added after, without a deployment.
    service(
        &ecs,
        "api",
        &blue,
        config(DeploymentStrategy::BlueGreen).build(),
    )
    .await;
    let cfg = config(DeploymentStrategy::BlueGreen)
        .lifecycle_hooks(pause_at(
            DeploymentLifecycleHookStage::PostTestTrafficShift,
            timeout,
        ))
        .build();
    configure(&ecs, "api", cfg).await;
    let arn = deploy(&ecs, "api", &green).await;
    let seen = follow(&ecs, &arn, TIMEOUT, |d| {
        !d.lifecycle_hook_details().is_empty()
    })
    .await;
    let hook = seen.last.lifecycle_hook_details()[0].clone();
    assert_eq!(
        hook.status(),
        Some(&DeploymentLifecycleHookStatus::AwaitingAction)
    );
    assert_eq!(
        hook.target_type(),
        Some(&DeploymentLifecycleHookTargetType::Pause)
    );
    assert!(hook.expires_at().is_some());
    assert_eq!(
        seen.last.lifecycle_stage().map(|s| s.as_str()),
        Some("POST_TEST_TRAFFIC_SHIFT")
    );
    (bed, ecs, arn, hook.hook_id().unwrap().to_owned(), blue)
}

#[tokio::test]
async fn pause_hook_waits_for_continue() {
    let (bed, ecs, arn, hook_id, _) = paused(0.02, None).await;
    // Still paused a while later: nothing moves without ContinueServiceDeployment.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let still = describe(&ecs, &arn).await;
    assert_eq!(still.status(), Some(&ServiceDeploymentStatus::InProgress));
    assert_eq!(
        still.lifecycle_stage().map(|s| s.as_str()),
        Some("POST_TEST_TRAFFIC_SHIFT")
    );

    ecs.continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id(&hook_id)
        .action(DeploymentLifecycleHookAction::Continue)
        .send()
        .await
        .unwrap();
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;
    assert_eq!(
        seen.last.status(),
        Some(&ServiceDeploymentStatus::Successful)
    );
    // Only the current stage's hooks are listed: the pause is gone once the stage moved on.
    assert!(
        seen.last.lifecycle_hook_details().is_empty(),
        "{:?}",
        seen.last.lifecycle_hook_details()
    );
    // Continue releases the pause at once: nothing before it is seen again, and the rest runs.
    assert!(
        !seen
            .stages
            .iter()
            .any(|s| s.as_str() == "TEST_TRAFFIC_SHIFT"),
        "{:?}",
        seen.stages
    );
    assert_eq!(seen.stages.last().map(String::as_str), Some("CLEAN_UP"));
    assert_eq!(bed_stages(&bed, &arn), BLUE_GREEN_STAGES);

    // The hook is done: a second Continue is refused.
    let err = ecs
        .continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id(&hook_id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");
}

#[tokio::test]
async fn pause_hook_continue_with_rollback_rolls_back() {
    let (_bed, ecs, arn, hook_id, blue) = paused(0.02, None).await;
    ecs.continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id(&hook_id)
        .action(DeploymentLifecycleHookAction::Rollback)
        .send()
        .await
        .unwrap();
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;
    // The rollback is requested by the Continue call itself, before the first poll after it.
    assert_eq!(
        seen.statuses,
        [
            "ROLLBACK_REQUESTED",
            "ROLLBACK_IN_PROGRESS",
            "ROLLBACK_SUCCESSFUL"
        ]
    );
    let reason = seen.last.status_reason().unwrap();
    assert!(
        reason.contains("ContinueServiceDeployment") && reason.contains(&hook_id),
        "{reason}"
    );
    let rollback = seen.last.rollback().unwrap();
    assert_eq!(rollback.reason(), Some(reason));
    let services = ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("api")
        .send()
        .await
        .unwrap();
    assert_eq!(
        services.services()[0].task_definition(),
        Some(blue.as_str())
    );
}

#[tokio::test]
async fn pause_hook_times_out_with_its_timeout_action() {
    // 1 minute at scale 0.01: the hook expires after 0.6 s; the default action is ROLLBACK.
    let (_bed, ecs, arn, _, _) =
        paused(0.01, Some((1, DeploymentLifecycleHookAction::Rollback))).await;
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;
    assert_eq!(
        seen.last.status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );
    let hook = &seen.last.lifecycle_hook_details()[0];
    assert_eq!(
        hook.status(),
        Some(&DeploymentLifecycleHookStatus::TimedOut)
    );
    assert_eq!(
        hook.timeout_action(),
        Some(&DeploymentLifecycleHookAction::Rollback)
    );
    assert!(
        seen.last.status_reason().unwrap().contains("timed out"),
        "{:?}",
        seen.last.status_reason()
    );
}

#[tokio::test]
async fn pause_hook_timeout_can_continue() {
    let (bed, ecs, arn, hook_id, _) =
        paused(0.01, Some((1, DeploymentLifecycleHookAction::Continue))).await;
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;
    assert_eq!(
        seen.last.status(),
        Some(&ServiceDeploymentStatus::Successful)
    );
    // The next stage starts the moment the hook times out, so the answers list it no more:
    // the bed's own record shows how it ended.
    assert!(seen.last.lifecycle_hook_details().is_empty());
    let all = bed.deployments().unwrap();
    let hooks = all["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["arn"] == arn.as_str())
        .unwrap()["hooks"]
        .clone();
    assert_eq!(hooks[0]["hookId"], hook_id.as_str());
    assert_eq!(hooks[0]["status"], "TIMED_OUT");
}

#[tokio::test]
async fn stop_service_deployment_rolls_back_or_aborts() {
    let (_bed, ecs) = ecs_bed(0.05).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    let third = register(&ecs, "app", "app:3", &[]).await;
    service(
        &ecs,
        "api",
        &blue,
        config(DeploymentStrategy::BlueGreen).build(),
    )
    .await;
    // A 10-minute bake from now on (the first deployment would have baked it too).
    configure(
        &ecs,
        "api",
        config(DeploymentStrategy::BlueGreen)
            .bake_time_in_minutes(10)
            .build(),
    )
    .await;

    // ROLLBACK during the (30 s) bake.
    let arn = deploy(&ecs, "api", &green).await;
    follow(&ecs, &arn, TIMEOUT, |d| {
        d.lifecycle_stage().map(|s| s.as_str()) == Some("BAKE_TIME")
    })
    .await;
    ecs.stop_service_deployment()
        .service_deployment_arn(&arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .unwrap();
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;
    assert_eq!(
        seen.last.status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );
    assert!(
        seen.last
            .status_reason()
            .unwrap()
            .contains("StopServiceDeployment")
    );
    let services = ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("api")
        .send()
        .await
        .unwrap();
    assert_eq!(
        services.services()[0].task_definition(),
        Some(blue.as_str())
    );
    // A finished deployment cannot be stopped.
    let err = ecs
        .stop_service_deployment()
        .service_deployment_arn(&arn)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");

    // ABORT leaves what runs in place.
    let arn = deploy(&ecs, "api", &third).await;
    ecs.stop_service_deployment()
        .service_deployment_arn(&arn)
        .stop_type(StopServiceDeploymentStopType::Abort)
        .send()
        .await
        .unwrap();
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;
    assert_eq!(seen.statuses, ["STOP_REQUESTED", "STOPPED"]);
}

#[tokio::test]
async fn a_new_deployment_supersedes_one_in_flight() {
    let (bed, ecs) = ecs_bed(0.05).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    let third = register(&ecs, "app", "app:3", &[]).await;
    service(
        &ecs,
        "api",
        &blue,
        config(DeploymentStrategy::BlueGreen).build(),
    )
    .await;
    let first = deploy(&ecs, "api", &green).await;
    // 2 s of PENDING for the second: looked at right after, on a busy machine too.
    bed.scenario(r#"{"service": "api", "pendingSeconds": 40}"#)
        .unwrap();
    let second = deploy(&ecs, "api", &third).await;
    assert_ne!(first, second);
    let old = describe(&ecs, &first).await;
    assert_eq!(old.status(), Some(&ServiceDeploymentStatus::Stopped));
    let new = describe(&ecs, &second).await;
    assert_eq!(new.status(), Some(&ServiceDeploymentStatus::Pending));
    assert_eq!(new.lifecycle_stage(), None, "no stage while PENDING");
    let started = follow(&ecs, &second, TIMEOUT, |d| d.lifecycle_stage().is_some()).await;
    assert_eq!(
        started.last.lifecycle_stage().map(|s| s.as_str()),
        Some("RECONCILE_SERVICE")
    );
    let new = started.last;
    assert_eq!(new.source_service_revisions().len(), 2);

    let listed = ecs
        .list_service_deployments()
        .cluster(CLUSTER)
        .service("api")
        .status(ServiceDeploymentStatus::Stopped)
        .send()
        .await
        .unwrap();
    let arns: Vec<_> = listed
        .service_deployments()
        .iter()
        .filter_map(|d| d.service_deployment_arn())
        .collect();
    assert_eq!(arns, [first.as_str()]);
}
