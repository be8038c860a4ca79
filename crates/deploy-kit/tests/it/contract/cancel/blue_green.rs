//! ecs-blue-green cancelled anywhere: the deployment it started is rolled back (or had
//! completed) when it exits, and the service runs the revision that status says.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::DeploymentStrategy;

use super::{
    CLUSTER, End, Kind, LANES, Rng, Trigger, all_points, cancel_at, measure, phase, report,
};
use crate::actions::ecs_blue_green::{Fixture, Spec, fixture, http_server};

const SCALE: f64 = 0.025;

/// Every service deployment of `service`: ARN and status.
async fn deployments(ecs: &Client, service: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let out = ecs
            .list_service_deployments()
            .cluster(CLUSTER)
            .service(service)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        all.extend(out.service_deployments().iter().map(|d| {
            let status = d.status().map_or("?", |s| s.as_str()).to_owned();
            (d.service_deployment_arn().unwrap().to_owned(), status)
        }));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return all;
        }
    }
}

/// One ecs-blue-green point: deploy `app:{n}` to `service`, cancel at `trigger`, and check
/// that no deployment is left in flight and the service runs what its final state says.
async fn blue_green_point(
    f: &Fixture,
    service: &str,
    n: usize,
    trigger: &Trigger,
    url: &str,
) -> End {
    let label = format!("#{n:02} {} ({service})", trigger.label());
    let before = f.running_task_definition(service).await;
    let known = deployments(&f.ecs, service).await;
    let file = f.task_file(service, &format!("app:{n}"), None);
    let inputs = [
        ("service", service),
        ("task-definition", file.as_str()),
        ("test-url", url),
        ("test-requests", "20"),
    ];
    let invocation = f.invocation(&inputs).time_scale(SCALE);
    let (kind, at, log) = cancel_at(&f.bed, &invocation, &label, trigger).await;
    let new: Vec<(String, String)> = deployments(&f.ecs, service)
        .await
        .into_iter()
        .filter(|(arn, _)| !known.iter().any(|(old, _)| old == arn))
        .collect();
    let running = f.running_task_definition(service).await;
    let state = match new.as_slice() {
        [] => {
            assert_eq!(
                running, before,
                "{label}: no deployment, yet the service changed"
            );
            assert_ne!(kind, Kind::FinishedFirst, "{label}: {log}");
            "no deployment".to_owned()
        }
        // deploy-kit follows its rollback to the end: nothing may be in flight once it exits.
        [(arn, status)] => {
            match status.as_str() {
                "ROLLBACK_SUCCESSFUL" => {
                    assert_eq!(kind, Kind::Cancelled, "{label}: {log}");
                    assert_eq!(running, before, "{label}: rolled back to the old revision");
                    assert!(
                        log.contains("rolled back: ROLLBACK_SUCCESSFUL"),
                        "{label}: {log}"
                    );
                }
                "SUCCESSFUL" => {
                    assert_ne!(running, before, "{label}: runs the new revision");
                    let done = "had already completed: SUCCESSFUL";
                    assert!(
                        kind != Kind::Cancelled || log.contains(done),
                        "{label}: {log}"
                    );
                }
                other => panic!("{label}: {arn} is {other} after deploy-kit exited: {log}"),
            }
            status.clone()
        }
        more => panic!("{label}: more than one deployment: {more:?}"),
    };
    let markers = [
        ("pre-flight passed", "pre-flight passed"),
        ("registered ", "registered"),
        ("service deployment arn:", "deployment started"),
        ("AWAITING_ACTION", "PAUSE hook awaiting"),
        ("running the smoke checks", "smoke checks (PAUSE)"),
        ("smoke checks passed", "smoke checks passed"),
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
async fn sigterm_anywhere_in_ecs_blue_green_leaves_no_deployment_in_flight() {
    let mut rng = Rng::from_env("ecs-blue-green");
    let f = fixture().await;
    f.bed.time_scale(SCALE).unwrap();
    let url = http_server(200);
    let services: Vec<String> = (0..LANES).map(|k| format!("lane{k}")).collect();
    let spec = || Spec::new(DeploymentStrategy::BlueGreen);
    tokio::join!(
        f.service(&services[0], spec()),
        f.service(&services[1], spec()),
        f.service(&services[2], spec()),
        f.service(&services[3], spec()),
    );
    let point = async |lane: usize, n: usize, trigger: &Trigger| {
        blue_green_point(&f, &services[lane], n, trigger, &url).await
    };
    // The uninterrupted run, for its length and its calls.
    let file = f.task_file("lane0", "app:0", None);
    let inputs = [
        ("service", "lane0"),
        ("task-definition", file.as_str()),
        ("test-url", url.as_str()),
        ("test-requests", "20"),
    ];
    let (length, seen) = measure(&f.bed, &f.invocation(&inputs).time_scale(SCALE)).await;
    let logged = [
        "stage SCALE_UP",
        "hook PAUSE AWAITING_ACTION",
        "running the smoke checks",
        "smoke checks passed",
        "stage CLEAN_UP",
    ];
    let ends = all_points(length, &seen, &logged, &mut rng, &point).await;
    report("ecs-blue-green", length, &ends);
    let cancelled = |state: &str| {
        ends.iter()
            .any(|e| e.kind == Kind::Cancelled && e.state == state)
    };
    assert!(cancelled("no deployment"), "a cancel before UpdateService");
    assert!(cancelled("ROLLBACK_SUCCESSFUL"), "a cancel mid-deployment");
}
