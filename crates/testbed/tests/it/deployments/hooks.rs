//! PAUSE hooks (continue, rollback, their timeouts), StopServiceDeployment, and a deployment
//! superseding one in flight.

use super::*;

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
    // When ECS worked on it (the benches' waiting): up to the pause, then from the Continue to
    // the end; the 400 ms the pause awaited a caller are not ECS's.
    let busy = busy_around_the_pause(&bed, &arn);
    assert!(busy[1].0 - busy[0].1 >= 0.4, "{busy:?}");

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

/// The bed's `busy` spans of an ended deployment paused once: from its creation to the pause,
/// and from the Continue to its end (the benches count them as ECS's time).
fn busy_around_the_pause(bed: &deploy_kit_testbed::Bed, arn: &str) -> Vec<(f64, f64)> {
    let dep = bed.deployment(arn).unwrap();
    let busy: Vec<(f64, f64)> = dep["busy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|span| (span[0].as_f64().unwrap(), span[1].as_f64().unwrap()))
        .collect();
    assert_eq!(busy.len(), 2, "{busy:?}");
    assert!(busy[0].0 < busy[0].1 && busy[0].1 < busy[1].0, "{busy:?}");
    let (created, terminal) = (
        dep["createdAt"].as_f64().unwrap() / 1000.0,
        dep["terminalAt"].as_f64().unwrap() / 1000.0,
    );
    assert!(
        (busy[0].0 - created).abs() < 0.001,
        "{busy:?} from {created}"
    );
    assert!(
        (busy[1].1 - terminal).abs() < 0.001,
        "{busy:?} to {terminal}"
    );
    busy
}

#[tokio::test]
async fn pause_hook_continue_with_rollback_rolls_back() {
    let (bed, ecs, arn, hook_id, blue) = paused(0.02, None).await;
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
    // The rollback after the Continue is ECS's work too.
    busy_around_the_pause(&bed, &arn);
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
    let hooks = bed_hooks(&bed, &arn);
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
