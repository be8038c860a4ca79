//! run-migrations stopping: start and run timeouts and SIGTERM stop the task, bad input starts
//! none.

use super::*;

#[tokio::test]
async fn start_and_run_timeouts_stop_the_task_and_exit_3() {
    let f = fixture().await;
    let td = f.task_definition(&[env("BED_RUN_SECONDS", "60")]).await;
    f.service("api", &td, true).await;
    // PROVISIONING and PENDING take 0.6 s here: a 300 ms start timeout passes first.
    let run = f.run(&[("service", "api"), ("start-timeout", "300ms")]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("did not reach RUNNING within start-timeout 300ms"),
        "{}",
        run.stderr
    );
    assert_eq!(run.output("stop-code"), "UserInitiated", "{}", run.stderr);

    let run = f.run(&[("service", "api"), ("timeout", "2s")]);
    run.assert_code(3);
    run.assert_logged("did not finish within timeout 2.0s");
    let task = f.task(run.output("task-arn")).await;
    assert_eq!(task.last_status(), Some("STOPPED"));
    assert!(
        task.stopped_reason()
            .is_some_and(|r| r.contains("deploy-kit: did not finish")),
        "{task:?}"
    );
}

#[tokio::test]
async fn sigterm_stops_the_task_and_exits_143() {
    let f = fixture().await;
    let td = f.task_definition(&[env("BED_RUN_SECONDS", "60")]).await;
    f.service("api", &td, true).await;
    let running = f.invocation(&[("service", "api")]).spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = f.ecs.list_tasks().cluster(CLUSTER).send().await.unwrap();
        if !listed.task_arns().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no task started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.signal("TERM");
    let run = running.wait();
    run.assert_code(143);
    run.assert_logged("cancelled by SIGTERM");
    let task = f.task(run.output("task-arn")).await;
    assert_eq!(task.last_status(), Some("STOPPED"), "{task:?}");
}

#[tokio::test]
async fn bad_input_exits_2_before_any_task_starts() {
    let f = fixture().await;
    let td = f.task_definition(&[]).await;
    f.service("api", &td, true).await;
    f.service("bare", &td, false).await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("service", "api"), ("command", r#"["bin/migrate", up]"#)],
            "input `command`: is not a valid JSON array",
        ),
        (
            &[("service", "api"), ("container-name", "db")],
            "input `container-name`: the task definition has no container `db`: it has `app`, `sidecar`",
        ),
        (
            &[("service", "bare")],
            "input `subnets`: service `bare` in cluster `prod` has no network configuration",
        ),
        (
            &[("service", "api"), ("timeout", "soon")],
            "input `timeout`",
        ),
    ];
    for (inputs, expected) in cases {
        let run = f.run(inputs);
        assert_eq!(run.code, Some(2), "{inputs:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected),
            "{inputs:?}: wanted {expected:?} in {}",
            run.stderr
        );
    }
    let listed = f.ecs.list_tasks().cluster(CLUSTER).send().await.unwrap();
    assert!(listed.task_arns().is_empty(), "no task was started");
}
