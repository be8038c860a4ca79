//! The runner's own cancel, replayed exactly: SIGINT; SIGTERM 7.5 s later if the step still runs;
//! the kill 2.5 s after that (actions/runner src/Runner.Sdk/ProcessInvoker.cs: `_sigintTimeout`
//! 7500 ms, `_sigtermTimeout` 2500 ms, `CancelAndKillProcessTree`). The delays are the runner's,
//! unscaled; the bed's time scale makes the deployments and tasks quick, and a rollback that ECS
//! would take minutes over (the `rollbackSeconds` knob) outlasts the whole sequence. At each
//! point: the rollback (StopServiceDeployment) or StopTask was sent, and whenever it was, the
//! outputs and the summary were written before the kill could come.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::DeploymentStrategy;

use super::{CLUSTER, LANES, Proc, Trigger};
use crate::actions::ecs_blue_green::{Spec, http_server};

const SIGINT_TO_SIGTERM: Duration = Duration::from_millis(7500);
const SIGTERM_TO_KILL: Duration = Duration::from_millis(2500);

/// What the runner had to send, and how the process ended.
struct Sequence {
    sent: Vec<&'static str>,
    status: ExitStatus,
}

/// Waits up to `limit` for the process to exit.
async fn exits_within(proc: &mut Proc, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = proc.running.child.try_wait().unwrap() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// The runner's cancel of a step that is still running.
async fn runner_cancel(proc: &mut Proc) -> Sequence {
    let mut sent = vec!["SIGINT"];
    proc.running.signal("INT");
    if let Some(status) = exits_within(proc, SIGINT_TO_SIGTERM).await {
        return Sequence { sent, status };
    }
    sent.push("SIGTERM");
    proc.running.signal("TERM");
    if let Some(status) = exits_within(proc, SIGTERM_TO_KILL).await {
        return Sequence { sent, status };
    }
    sent.push("SIGKILL");
    proc.running.signal("KILL");
    let status = proc.running.child.wait().unwrap();
    Sequence { sent, status }
}

/// The outputs written, as name -> value.
fn outputs(path: &Path) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    deploy_kit_gha::output_pairs(&text).into_iter().collect()
}

#[tokio::test]
async fn the_runners_cancel_sequence_rolls_back_and_leaves_outputs_and_summary() {
    let f = crate::actions::ecs_blue_green::fixture().await;
    let scale = 0.025;
    f.bed.time_scale(scale).unwrap();
    let url = http_server(200);
    // (where the cancel lands, whether ECS's rollback outlasts the runner's sequence)
    let points = [
        (Trigger::Logged("stage SCALE_UP"), true),
        (Trigger::Logged("hook PAUSE AWAITING_ACTION"), true),
        (Trigger::Logged("running the smoke checks"), false),
        (Trigger::Logged("service deployment arn:"), false),
    ];
    assert_eq!(points.len(), LANES);
    let services: Vec<String> = (0..LANES).map(|k| format!("seq{k}")).collect();
    for (service, (_, slow)) in services.iter().zip(&points) {
        f.service(service, Spec::new(DeploymentStrategy::BlueGreen))
            .await;
        if *slow {
            // 600 s at this scale: 15 s, past the kill.
            let knobs = format!(r#"{{"service": "{service}", "rollbackSeconds": 600}}"#);
            f.bed.scenario(&knobs).unwrap();
        }
    }
    let point = async |k: usize| {
        let service = services[k].as_str();
        let (trigger, slow) = &points[k];
        let label = format!("{} ({service})", trigger.label());
        let file = f.task_file(service, "app:2", None);
        let inputs = [
            ("service", service),
            ("task-definition", file.as_str()),
            ("test-url", url.as_str()),
            ("test-requests", "20"),
        ];
        let invocation = f.invocation(&inputs).time_scale(scale).in_actions();
        let mut proc = Proc::spawn(&invocation);
        proc.reach(trigger, &f.bed).await;
        assert!(!proc.exited(), "{label}: ended before the cancel");
        let sequence = runner_cancel(&mut proc).await;
        let log = proc.log();
        assert!(
            !sequence.sent.contains(&"SIGKILL"),
            "{label}: killed\n{log}"
        );
        assert_eq!(sequence.status.code(), Some(130), "{label}: {log}");
        assert!(log.contains("cancelled by SIGINT"), "{label}: {log}");
        // The rollback was asked for: ECS shows it rolling back, or done.
        let listed = f
            .ecs
            .list_service_deployments()
            .cluster(CLUSTER)
            .service(service)
            .send()
            .await
            .unwrap();
        let status = listed.service_deployments()[0]
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap();
        assert!(status.starts_with("ROLLBACK_"), "{label}: {status}\n{log}");
        let written = outputs(&proc.running.files.output());
        let md = std::fs::read_to_string(proc.running.files.summary()).unwrap_or_default();
        assert!(
            md.contains(&format!("service `{service}`")),
            "{label}: summary {md:?}\n{log}"
        );
        if *slow {
            assert_eq!(
                sequence.sent,
                ["SIGINT", "SIGTERM"],
                "{label}: the rollback outlasts SIGINT's 7.5 s"
            );
            assert_eq!(written["status"], "ROLLBACK_REQUESTED", "{label}: {log}");
        } else {
            assert_eq!(sequence.sent, ["SIGINT"], "{label}: settled in time\n{log}");
            assert_eq!(written["status"], "ROLLBACK_SUCCESSFUL", "{label}: {log}");
        }
        assert!(written["service-deployment-arn"].starts_with("arn:"));
    };
    tokio::join!(point(0), point(1), point(2), point(3));
}

#[tokio::test]
async fn the_runners_cancel_sequence_stops_the_migration_and_leaves_outputs_and_summary() {
    use crate::actions::run_migrations::{env, fixture};
    let f = fixture().await;
    let scale = 0.05;
    f.bed.time_scale(scale).unwrap();
    let lines: Vec<String> = (1..=20).map(|n| format!("migration {n:03}")).collect();
    let td = f
        .task_definition(&[
            env("BED_LOG_LINES", &lines.join("\n")),
            env("BED_RUN_SECONDS", "40"),
            env("BED_EXIT_CODE", "0"),
        ])
        .await;
    f.service("api", &td, true).await;
    let points = [
        Trigger::Logged("started task"),
        Trigger::Logged(": RUNNING"),
        Trigger::Logged("│ migration 005"),
    ];
    let point = async |k: usize| {
        let trigger = &points[k];
        let label = trigger.label();
        let started_by = format!("seq-{k}");
        let inputs = [("service", "api"), ("started-by", started_by.as_str())];
        let invocation = f.invocation(&inputs).time_scale(scale).in_actions();
        let mut proc = Proc::spawn(&invocation);
        proc.reach(trigger, &f.bed).await;
        assert!(!proc.exited(), "{label}: ended before the cancel");
        let sequence = runner_cancel(&mut proc).await;
        let log = proc.log();
        assert!(
            !sequence.sent.contains(&"SIGKILL"),
            "{label}: killed\n{log}"
        );
        assert_eq!(sequence.status.code(), Some(130), "{label}: {log}");
        assert!(sequence.status.signal().is_none());
        // StopTask was sent: the task stopped at the user's request.
        let listed = f
            .ecs
            .list_tasks()
            .cluster(CLUSTER)
            .started_by(&started_by)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .send()
            .await
            .unwrap();
        let arn = listed.task_arns().first().cloned();
        let arn = arn.unwrap_or_else(|| panic!("{label}: no stopped task\n{log}"));
        let described = f
            .ecs
            .describe_tasks()
            .cluster(CLUSTER)
            .tasks(&arn)
            .send()
            .await
            .unwrap();
        let task = &described.tasks()[0];
        assert_eq!(
            task.stop_code().map(|c| c.as_str()),
            Some("UserInitiated"),
            "{label}: {log}"
        );
        let written = outputs(&proc.running.files.output());
        assert_eq!(written["task-arn"], arn, "{label}: {log}");
        let md = std::fs::read_to_string(proc.running.files.summary()).unwrap_or_default();
        assert!(md.contains("run-migrations"), "{label}: summary {md:?}");
    };
    tokio::join!(point(0), point(1), point(2));
}
