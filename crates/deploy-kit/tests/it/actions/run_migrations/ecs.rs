//! `deploy-kit run-migrations` against the bed where ECS is uneven: log lines that reach
//! CloudWatch after the task stopped (knob `logLagSeconds`), RunTask `failures[]` for capacity
//! (knob `runTaskFailures`), and a re-run of the same attempt with another command.

use crate::actions::run_migrations::{env, fixture};

/// The last lines, usually the migration's error, reach CloudWatch after STOPPED: they are
/// read and shown all the same, after the STOPPED line.
#[tokio::test]
async fn log_lines_that_arrive_after_stopped_are_shown() {
    let f = fixture().await;
    let lines = [
        "applying 001_users",
        "applying 002_orders",
        "ERROR: relation \"orders\" already exists",
    ];
    let td = f
        .task_definition(&[
            env("BED_LOG_LINES", &lines.join("\n")),
            env("BED_RUN_SECONDS", "2"),
            env("BED_EXIT_CODE", "1"),
        ])
        .await;
    f.service("api", &td, true).await;
    f.bed
        .scenario(r#"{"family": "migrate", "logLagSeconds": 4}"#)
        .unwrap();
    let run = f.run(&[("service", "api")]);
    run.assert_code(1);
    let log: Vec<&str> = run.stderr.lines().collect();
    let streamed: Vec<&str> = log.iter().filter_map(|l| l.strip_prefix("│ ")).collect();
    assert_eq!(streamed, lines, "every line, once, in order");
    let stopped = log.iter().position(|l| l.contains(": STOPPED (")).unwrap();
    let error = log
        .iter()
        .position(|l| l.contains("ERROR: relation"))
        .unwrap();
    assert!(
        error > stopped,
        "the error line came after STOPPED, and was still read: {}",
        run.stderr
    );
    assert!(run.summary.contains("already exists"), "{}", run.summary);
}

/// `RESOURCE:MEMORY` and `AGENT` pass as the cluster scales: retried with a warning, then the
/// task runs; one task in all.
#[tokio::test]
async fn capacity_failures_are_retried_until_a_task_starts() {
    let f = fixture().await;
    let td = f.task_definition(&[env("BED_RUN_SECONDS", "1")]).await;
    f.service("api", &td, true).await;
    f.bed
        .scenario(r#"{"family": "migrate", "runTaskFailures": ["RESOURCE:MEMORY", "AGENT"]}"#)
        .unwrap();
    let run = f.run(&[("service", "api")]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("RunTask: RESOURCE:MEMORY (arn:aws:ecs:")
            && run.stderr.contains("RunTask: AGENT (arn:aws:ecs:")
            && run.stderr.contains("no capacity yet, trying again in 4.0s"),
        "{}",
        run.stderr
    );
    assert_eq!(f.all_tasks().await, [run.output("task-arn")]);
}

/// Fargate capacity that does not come back within `start-timeout`: exit 3 with the reason, no
/// task. A reason that needs a change first (ATTRIBUTE) fails at once with exit 1.
#[tokio::test]
async fn capacity_that_does_not_come_exits_3_and_other_failures_exit_1_at_once() {
    let f = fixture().await;
    let td = f.task_definition(&[]).await;
    f.service("api", &td, true).await;
    let fargate = "Capacity is unavailable at this time. Please try again later or in a different availability zone";
    f.bed
        .scenario(&format!(
            r#"{{"family": "migrate", "runTaskFailures": {}}}"#,
            serde_json::to_string(&[fargate; 20]).unwrap()
        ))
        .unwrap();
    let run = f.run(&[("service", "api"), ("start-timeout", "2s")]);
    run.assert_code(3);
    assert!(
        run.stderr.contains(&format!(
            "started no task within start-timeout 2.0s: {fargate} (no resource)"
        )),
        "{}",
        run.stderr
    );
    assert!(f.all_tasks().await.is_empty());

    f.bed
        .scenario(r#"{"family": "migrate", "runTaskFailures": ["ATTRIBUTE"]}"#)
        .unwrap();
    let run = f.run(&[("service", "api")]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("in cluster `prod` started no task: ATTRIBUTE (arn:aws:ecs:"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("trying again"), "{}", run.stderr);
    assert!(f.all_tasks().await.is_empty());
}

/// The same attempt run again with another command runs that command in a task of its own;
/// run again unchanged, it gets its own task back.
#[tokio::test]
async fn a_rerun_with_another_command_gets_its_own_task() {
    let f = fixture().await;
    let td = f.task_definition(&[env("BED_RUN_SECONDS", "1")]).await;
    f.service("api", &td, true).await;
    let up = [("service", "api"), ("command", "bin/migrate up")];
    let first = f
        .invocation(&up)
        .run_identity("9002", "1", "staging", "migrate")
        .run();
    first.assert_code(0);
    let down = [("service", "api"), ("command", "bin/migrate down")];
    let changed = f
        .invocation(&down)
        .run_identity("9002", "1", "staging", "migrate")
        .run();
    changed.assert_code(0);
    assert_ne!(changed.output("task-arn"), first.output("task-arn"));
    let task = f.task(changed.output("task-arn")).await;
    let command = task
        .overrides()
        .and_then(|o| o.container_overrides().first())
        .map(|c| c.command().to_vec());
    assert_eq!(
        command,
        Some(vec!["bin/migrate".to_owned(), "down".to_owned()])
    );
    let again = f
        .invocation(&up)
        .run_identity("9002", "1", "staging", "migrate")
        .run();
    assert_eq!(again.output("task-arn"), first.output("task-arn"));
    assert_eq!(f.all_tasks().await.len(), 2);
}
