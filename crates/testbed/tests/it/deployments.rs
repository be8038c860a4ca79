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
    CLUSTER, bed_hooks, bed_stages, deploy, describe, ecs_bed, follow, load_balancer, register,
    service,
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

mod hooks;
