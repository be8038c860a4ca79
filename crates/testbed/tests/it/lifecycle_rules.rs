//! Where the bed follows ECS's documented rules for service deployments: PENDING before
//! IN_PROGRESS, StopServiceDeployment in the states the developer guide lists, the first
//! deployment of a service running its hooks, the BLUE_GREEN bake time the model requires (and
//! the knob for an ECS that fills one in), and the canary/linear/hook ranges of the model.

use std::time::Duration;

use aws_sdk_ecs::types::{
    CanaryConfiguration, DeploymentConfiguration, DeploymentLifecycleHook,
    DeploymentLifecycleHookStage, DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType,
    DeploymentLifecycleHookTimeoutConfiguration, DeploymentStrategy, LinearConfiguration,
    ServiceDeploymentStatus, StopServiceDeploymentStopType,
};

use super::support::{CLUSTER, deploy, describe, ecs_bed, follow, latest, load_balancer, register};

const TIMEOUT: Duration = Duration::from_secs(30);

fn blue_green() -> aws_sdk_ecs::types::builders::DeploymentConfigurationBuilder {
    DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(0)
}

async fn create(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    td: &str,
    config: DeploymentConfiguration,
) -> Result<
    (),
    aws_sdk_ecs::error::SdkError<aws_sdk_ecs::operation::create_service::CreateServiceError>,
> {
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name(name)
        .task_definition(td)
        .desired_count(2)
        .load_balancers(load_balancer())
        .deployment_configuration(config)
        .send()
        .await
        .map(|_| ())
}

/// A deployment is PENDING (no stage, not started) and then IN_PROGRESS; a stop while PENDING
/// is taken (the developer guide lists PENDING) and rolls back.
#[tokio::test]
async fn a_deployment_starts_pending_and_can_be_stopped_then() {
    let (bed, ecs) = ecs_bed(0.05).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let green = register(&ecs, "app", "app:2", &[]).await;
    let third = register(&ecs, "app", "app:3", &[]).await;
    create(&ecs, "api", &blue, blue_green().build())
        .await
        .unwrap();
    follow(&ecs, &latest(&ecs, "api").await, TIMEOUT, |_| false).await;
    // 40 s of PENDING at this scale is 2 s: long enough to look at.
    bed.scenario(r#"{"service": "api", "pendingSeconds": 40}"#)
        .unwrap();
    let arn = deploy(&ecs, "api", &green).await;
    let pending = describe(&ecs, &arn).await;
    assert_eq!(pending.status(), Some(&ServiceDeploymentStatus::Pending));
    assert_eq!(pending.lifecycle_stage(), None);
    assert!(pending.started_at().is_none());
    ecs.stop_service_deployment()
        .service_deployment_arn(&arn)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .unwrap();
    // Asked again while the rollback runs: taken, the rollback goes on.
    let rolling_back = describe(&ecs, &arn).await;
    assert_eq!(
        rolling_back.status(),
        Some(&ServiceDeploymentStatus::RollbackRequested)
    );
    ecs.stop_service_deployment()
        .service_deployment_arn(&arn)
        .send()
        .await
        .unwrap();
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;
    assert_eq!(
        seen.last.status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );

    // 1 s of PENDING: long enough for a poll every 10 ms to see, on a busy machine too.
    bed.scenario(r#"{"service": "api", "pendingSeconds": 20}"#)
        .unwrap();
    let arn = deploy(&ecs, "api", &third).await;
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;
    assert_eq!(
        seen.statuses.first().map(String::as_str),
        Some("PENDING"),
        "{:?}",
        seen.statuses
    );
    assert_eq!(&seen.statuses[1..], ["IN_PROGRESS", "SUCCESSFUL"]);
    assert!(seen.last.started_at().is_some());
}

/// CreateService's deployment runs the service's hooks like any other deployment: a PAUSE hook
/// at POST_SCALE_UP holds the very first one.
#[tokio::test]
async fn the_first_deployment_of_a_new_service_runs_its_hooks() {
    let (_bed, ecs) = ecs_bed(0.05).await;
    let blue = register(&ecs, "app", "app:1", &[]).await;
    let pause = DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(DeploymentLifecycleHookStage::PostScaleUp)
        .build();
    create(
        &ecs,
        "api",
        &blue,
        blue_green().lifecycle_hooks(pause).build(),
    )
    .await
    .unwrap();
    let arn = latest(&ecs, "api").await;
    let seen = follow(&ecs, &arn, TIMEOUT, |d| {
        !d.lifecycle_hook_details().is_empty()
    })
    .await;
    let hook = &seen.last.lifecycle_hook_details()[0];
    assert_eq!(
        hook.status(),
        Some(&DeploymentLifecycleHookStatus::AwaitingAction)
    );
    assert_eq!(
        seen.last.lifecycle_stage().map(|s| s.as_str()),
        Some("POST_SCALE_UP")
    );
    ecs.continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id(hook.hook_id().unwrap())
        .send()
        .await
        .unwrap();
    let seen = follow(&ecs, &arn, TIMEOUT, |_| false).await;
    assert_eq!(
        seen.last.status(),
        Some(&ServiceDeploymentStatus::Successful)
    );
}

/// The model: bakeTimeInMinutes "must" be given for BLUE_GREEN. The bed refuses without one;
/// the `blueGreenBakeDefault` knob stands for an ECS that fills one in.
#[tokio::test]
async fn blue_green_without_a_bake_time_is_refused_unless_the_knob_fills_one_in() {
    let (bed, ecs) = ecs_bed(0.05).await;
    let td = register(&ecs, "app", "app:1", &[]).await;
    let no_bake = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .build();
    let err = create(&ecs, "api", &td, no_bake.clone())
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");
    assert!(
        err.meta().message().unwrap().contains("bakeTimeInMinutes"),
        "{err:?}"
    );

    bed.scenario(r#"{"service": "lenient", "blueGreenBakeDefault": 0}"#)
        .unwrap();
    create(&ecs, "lenient", &td, no_bake).await.unwrap();
    let out = ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("lenient")
        .send()
        .await
        .unwrap();
    let config = out.services()[0].deployment_configuration().unwrap();
    assert_eq!(config.bake_time_in_minutes(), Some(0));
}

/// The ranges of the model: canary 0.1-100 and linear 3-100 in steps of 0.1, bake times
/// 0-1440, a hook's timeout 1-20160. In range is taken; out of range is InvalidParameterException.
#[tokio::test]
async fn canary_linear_and_hook_ranges_are_enforced_as_the_model_states() {
    let (_bed, ecs) = ecs_bed(0.05).await;
    let td = register(&ecs, "app", "app:1", &[]).await;
    let canary = |percent: f64, bake: i32| {
        blue_green()
            .strategy(DeploymentStrategy::Canary)
            .canary_configuration(
                CanaryConfiguration::builder()
                    .canary_percent(percent)
                    .canary_bake_time_in_minutes(bake)
                    .build(),
            )
            .build()
    };
    let linear = |percent: f64, bake: i32| {
        blue_green()
            .strategy(DeploymentStrategy::Linear)
            .linear_configuration(
                LinearConfiguration::builder()
                    .step_percent(percent)
                    .step_bake_time_in_minutes(bake)
                    .build(),
            )
            .build()
    };
    let pause = |minutes: i32| {
        blue_green()
            .lifecycle_hooks(
                DeploymentLifecycleHook::builder()
                    .target_type(DeploymentLifecycleHookTargetType::Pause)
                    .lifecycle_stages(DeploymentLifecycleHookStage::PostScaleUp)
                    .timeout_configuration(
                        DeploymentLifecycleHookTimeoutConfiguration::builder()
                            .timeout_in_minutes(minutes)
                            .build(),
                    )
                    .build(),
            )
            .build()
    };
    let refused = [
        ("canary 0.05%", canary(0.05, 0), "canaryPercent"),
        ("canary 10.05%", canary(10.05, 0), "canaryPercent"),
        (
            "canary bake 1441",
            canary(10.0, 1441),
            "canaryBakeTimeInMinutes",
        ),
        ("linear 2%", linear(2.0, 0), "stepPercent"),
        ("linear 100.1%", linear(100.1, 0), "stepPercent"),
        ("linear bake -1", linear(10.0, -1), "stepBakeTimeInMinutes"),
        ("pause 20161 min", pause(20161), "timeoutInMinutes"),
        (
            "bake 1441",
            blue_green().bake_time_in_minutes(1441).build(),
            "bakeTimeInMinutes",
        ),
    ];
    for (i, (case, config, field)) in refused.into_iter().enumerate() {
        let err = create(&ecs, &format!("bad{i}"), &td, config)
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_invalid_parameter_exception(), "{case}: {err:?}");
        assert!(
            err.meta().message().unwrap().contains(field),
            "{case}: {err:?}"
        );
    }
    let taken = [
        canary(0.1, 1440),
        canary(100.0, 0),
        linear(3.0, 0),
        linear(33.3, 1440),
        pause(20160),
    ];
    for (i, config) in taken.into_iter().enumerate() {
        create(&ecs, &format!("good{i}"), &td, config)
            .await
            .unwrap();
    }
}
