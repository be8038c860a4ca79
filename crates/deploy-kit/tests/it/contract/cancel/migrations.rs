//! run-migrations cancelled anywhere: the task it started, if any, is stopped when it exits.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::DesiredStatus;

use super::{CLUSTER, End, Kind, Rng, Trigger, all_points, cancel_at, measure, phase, report};
use crate::actions::run_migrations::{Fixture, env, fixture};

const SCALE: f64 = 0.05;

/// The tasks started by `started_by`, both desired statuses unless one is given.
async fn tasks_started_by(
    ecs: &Client,
    started_by: &str,
    only: Option<DesiredStatus>,
) -> Vec<String> {
    let statuses = only.map_or_else(
        || vec![DesiredStatus::Running, DesiredStatus::Stopped],
        |s| vec![s],
    );
    let mut arns = Vec::new();
    for status in statuses {
        let listed = ecs
            .list_tasks()
            .cluster(CLUSTER)
            .started_by(started_by)
            .desired_status(status)
            .send()
            .await
            .unwrap();
        arns.extend(listed.task_arns().iter().cloned());
    }
    arns.sort();
    arns.dedup();
    arns
}

/// One run-migrations point: run the migration with `startedBy` `cancel-{n}`, cancel at
/// `trigger`, and check that its task, if it started one, is stopped.
async fn migrations_point(f: &Fixture, n: usize, trigger: &Trigger) -> End {
    let label = format!("#{n:02} {}", trigger.label());
    let started_by = format!("cancel-{n}");
    let inputs = [("service", "api"), ("started-by", started_by.as_str())];
    let invocation = f.invocation(&inputs).time_scale(SCALE);
    let (kind, at, log) = cancel_at(&f.bed, &invocation, &label, trigger).await;
    let tasks = tasks_started_by(&f.ecs, &started_by, None).await;
    let state = match tasks.as_slice() {
        [] => {
            assert_ne!(kind, Kind::FinishedFirst, "{label}: {log}");
            "no task".to_owned()
        }
        [arn] => {
            let described = f
                .ecs
                .describe_tasks()
                .cluster(CLUSTER)
                .tasks(arn)
                .send()
                .await
                .unwrap();
            let task = &described.tasks()[0];
            // deploy-kit waits for STOPPED: nothing may be running once it exits.
            assert_eq!(
                task.last_status(),
                Some("STOPPED"),
                "{label}: {task:?}\n{log}"
            );
            match kind {
                Kind::Cancelled => {
                    let running =
                        tasks_started_by(&f.ecs, &started_by, Some(DesiredStatus::Running)).await;
                    assert!(
                        running.is_empty(),
                        "{label}: {running:?} still desired RUNNING\n{log}"
                    );
                    assert!(
                        log.contains(&format!("task {arn} stopped (STOPPED)")),
                        "{label}: {log}"
                    );
                }
                Kind::FinishedFirst => {
                    let app = task.containers().iter().find(|c| c.name() == Some("app"));
                    assert_eq!(
                        app.and_then(|c| c.exit_code()),
                        Some(0),
                        "{label}: {task:?}"
                    );
                }
                Kind::KilledAtStart => panic!("{label}: killed at start, yet started {arn}"),
            }
            format!(
                "task STOPPED ({})",
                task.stop_code().map_or("?", |c| c.as_str())
            )
        }
        more => panic!("{label}: more than one task: {more:?}"),
    };
    let markers = [
        ("started task", "task started"),
        (": PROVISIONING", "PROVISIONING"),
        (": PENDING", "PENDING"),
        (": RUNNING", "RUNNING"),
        ("│ ", "RUNNING, logs streaming"),
    ];
    End {
        label,
        kind,
        at,
        phase: phase(&log, &markers),
        state,
    }
}

#[tokio::test]
async fn sigterm_anywhere_in_run_migrations_leaves_no_task_running() {
    let mut rng = Rng::from_env("run-migrations");
    let f = fixture().await;
    f.bed.time_scale(SCALE).unwrap();
    let lines: Vec<String> = (1..=20).map(|n| format!("migration {n:03}")).collect();
    let td = f
        .task_definition(&[
            env("BED_LOG_LINES", &lines.join("\n")),
            env("BED_RUN_SECONDS", "4"),
            env("BED_EXIT_CODE", "0"),
        ])
        .await;
    f.service("api", &td, true).await;
    let point =
        async |_lane: usize, n: usize, trigger: &Trigger| migrations_point(&f, n, trigger).await;
    let inputs = [("service", "api"), ("started-by", "measured")];
    let invocation = f.invocation(&inputs).time_scale(SCALE);
    let (length, seen) = measure(&f.bed, &invocation).await;
    let logged = [": PENDING", ": RUNNING", "│ migration 005"];
    let ends = all_points(length, &seen, &logged, &mut rng, &point).await;
    report("run-migrations", length, &ends);
    let cancelled = |state: &str| {
        ends.iter()
            .any(|e| e.kind == Kind::Cancelled && e.state.starts_with(state))
    };
    assert!(cancelled("no task"), "a cancel before RunTask");
    assert!(
        cancelled("task STOPPED (UserInitiated)"),
        "a cancel of a running task"
    );
}
