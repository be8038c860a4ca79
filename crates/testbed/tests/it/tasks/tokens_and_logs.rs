//! Client tokens and their conflicts, RunTask failures per call, late and missing logs, and
//! task definitions round-tripped.

use super::*;

#[tokio::test]
async fn a_client_token_returns_its_task_and_refuses_other_parameters() {
    let f = fixture(0.05).await;
    let td = register(&f.ecs, "migrate", &[], false).await;
    let first = f
        .run(&td)
        .client_token("run-42-attempt-1")
        .send()
        .await
        .unwrap();
    let again = f
        .run(&td)
        .client_token("run-42-attempt-1")
        .send()
        .await
        .unwrap();
    let arn = first.tasks()[0].task_arn().unwrap().to_owned();
    assert_eq!(again.tasks().len(), 1);
    assert_eq!(
        again.tasks()[0].task_arn(),
        Some(arn.as_str()),
        "same token, same task"
    );

    let changed = f
        .run(&td)
        .client_token("run-42-attempt-1")
        .overrides(app_env_override("MIGRATE_TARGET", "0042"))
        .send()
        .await
        .unwrap_err();
    let service = changed.as_service_error().unwrap();
    let RunTaskError::ConflictException(conflict) = service else {
        panic!("expected ConflictException, got {service:?}");
    };
    assert_eq!(conflict.resource_ids(), std::slice::from_ref(&arn));

    // Another cluster is another scope: the token starts a task there.
    f.ecs
        .create_cluster()
        .cluster_name("other")
        .send()
        .await
        .unwrap();
    let elsewhere = f
        .run(&td)
        .cluster("other")
        .client_token("run-42-attempt-1")
        .send()
        .await
        .unwrap();
    assert_ne!(elsewhere.tasks()[0].task_arn(), Some(arn.as_str()));
    let mut all = Vec::new();
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let listed = f
            .ecs
            .list_tasks()
            .cluster(CLUSTER)
            .desired_status(status)
            .send()
            .await
            .unwrap();
        all.extend(listed.task_arns().to_vec());
    }
    all.dedup();
    assert_eq!(all, [arn], "no second task in the first cluster");
}

/// The knob runTaskFailures: each RunTask of the family answers one reason in `failures[]` and
/// starts nothing; RESOURCE:* and AGENT name a container instance (ECS "API failure reasons").
#[tokio::test]
async fn run_task_failures_come_one_per_call_then_tasks_start() {
    let f = fixture(0.05).await;
    let td = register(&f.ecs, "migrate", &[], false).await;
    f.bed
        .scenario(
            r#"{"family": "migrate", "runTaskFailures": ["RESOURCE:MEMORY", "AGENT",
                "Capacity is unavailable at this time. Please try again later or in a different availability zone"]}"#,
        )
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let out = f.run(&td).client_token("same-token").send().await.unwrap();
        assert!(out.tasks().is_empty(), "{out:?}");
        let failure = &out.failures()[0];
        seen.push((
            failure.reason().unwrap().to_owned(),
            failure
                .arn()
                .is_some_and(|a| a.contains(":container-instance/bed/")),
        ));
    }
    assert_eq!(
        seen,
        [
            ("RESOURCE:MEMORY".to_owned(), true),
            ("AGENT".to_owned(), true),
            (
                "Capacity is unavailable at this time. Please try again later or in a different availability zone".to_owned(),
                false
            ),
        ]
    );
    // A call that started nothing did not bind the token.
    let out = f.run(&td).client_token("same-token").send().await.unwrap();
    assert!(out.failures().is_empty(), "{out:?}");
    let arn = out.tasks()[0].task_arn().unwrap().to_owned();
    let (_, stopped) = f.until_stopped(&arn).await;
    assert_eq!(stopped.containers()[0].exit_code(), Some(0));
}

/// The knob logLagSeconds: CloudWatch Logs returns each line that much after it was written,
/// so the last lines arrive after STOPPED; without it they are all there at STOPPED.
#[tokio::test]
async fn log_lines_can_arrive_after_the_task_stopped() {
    let f = fixture(0.2).await;
    let lines = "applying 001\napplying 002\nERROR: relation exists";
    for (family, lag) in [("nolag", None), ("lagged", Some(5))] {
        let td = register(
            &f.ecs,
            family,
            &[env("BED_LOG_LINES", lines), env("BED_RUN_SECONDS", "2")],
            false,
        )
        .await;
        if let Some(lag) = lag {
            f.bed
                .scenario(&format!(
                    r#"{{"family": "{family}", "logLagSeconds": {lag}}}"#
                ))
                .unwrap();
        }
        let arn = f.run(&td).send().await.unwrap().tasks()[0]
            .task_arn()
            .unwrap()
            .to_owned();
        let stream = format!("migrate/app/{}", arn.rsplit('/').next().unwrap());
        f.until_stopped(&arn).await;
        let at_stop = f.log_lines(&stream).await;
        if lag.is_none() {
            // When ECS worked on it (the benches' waiting): provisioning 1 s, the pull 2 s, the
            // run 2 s and deprovisioning 1 s, at time scale 0.2.
            let (_, body) = f.bed.get("/_bed/tasks").unwrap();
            let tasks: serde_json::Value = serde_json::from_str(&body).unwrap();
            let task = tasks["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|task| task["taskArn"] == arn.as_str())
                .unwrap();
            let span = task["busy"][1].as_f64().unwrap() - task["busy"][0].as_f64().unwrap();
            assert!((span - 1.2).abs() < 0.001, "{task}");
            assert_eq!(
                at_stop,
                ["applying 001", "applying 002", "ERROR: relation exists"]
            );
            continue;
        }
        assert!(
            !at_stop.contains(&"ERROR: relation exists".to_owned()),
            "the last line is not there yet at STOPPED: {at_stop:?}"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = f.log_lines(&stream).await;
            if lines.len() == 3 {
                assert_eq!(
                    lines,
                    ["applying 001", "applying 002", "ERROR: relation exists"]
                );
                break;
            }
            assert!(Instant::now() < deadline, "lines never arrived: {lines:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_missing_log_group_fails_the_task_like_ecs() {
    let f = fixture(0.1).await;
    f.logs
        .delete_log_group()
        .log_group_name("/ecs/migrate")
        .send()
        .await
        .unwrap();
    let td = register(&f.ecs, "migrate", &[], false).await;
    let arn = f.run(&td).send().await.unwrap().tasks()[0]
        .task_arn()
        .unwrap()
        .to_owned();
    let (_, stopped) = f.until_stopped(&arn).await;
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
    let reason = stopped.stopped_reason().unwrap();
    assert!(
        reason.starts_with("ResourceInitializationError:") && reason.contains("/ecs/migrate"),
        "{reason}"
    );
}

#[tokio::test]
async fn task_definitions_round_trip() {
    let f = fixture(1.0).await;
    let arn = register(&f.ecs, "roundtrip", &[], false).await;
    let out = f
        .ecs
        .describe_task_definition()
        .task_definition("roundtrip")
        .send()
        .await
        .unwrap();
    let td = out.task_definition().unwrap();
    assert_eq!(td.task_definition_arn(), Some(arn.as_str()));
    assert_eq!((td.cpu(), td.memory()), (Some("256"), Some("512")));
    let container = &td.container_definitions()[0];
    assert_eq!(
        (container.name(), container.cpu(), container.memory()),
        (Some("app"), 256, None)
    );
}
