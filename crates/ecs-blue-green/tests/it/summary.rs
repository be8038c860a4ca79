use std::time::Duration;

use deploy_kit_ecs_blue_green::summary::{Report, console_url};

/// A rolled-back blue/green deployment as the step summary shows it: facts, the reason, the
/// stage timeline as a table and as a Mermaid gantt chart.
#[test]
fn the_summary_of_a_rollback() {
    let report = Report {
        cluster: "prod".into(),
        service: "api".into(),
        strategy: "BLUE_GREEN".into(),
        previous_task_definition: Some("arn:aws:ecs:eu-west-1:1:task-definition/api:41".into()),
        task_definition: "arn:aws:ecs:eu-west-1:1:task-definition/api:42".into(),
        images: vec!["web=1.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:abc".into()],
        service_deployment_arn: Some("arn:aws:ecs:eu-west-1:1:service-deployment/prod/api/d1".into()),
        console_url: Some(console_url("eu-west-1", "prod", "api")),
        status: "ROLLBACK_SUCCESSFUL".into(),
        failure: Some("service deployment d1 of service `api` in cluster `prod` ended ROLLBACK_SUCCESSFUL: CloudWatch alarm api-5xx went into ALARM".into()),
        stages: vec![
            ("SCALE_UP".into(), Duration::from_secs(2)),
            ("TEST_TRAFFIC_SHIFT".into(), Duration::from_secs(41)),
            ("PRODUCTION_TRAFFIC_SHIFT".into(), Duration::from_secs(50)),
            ("BAKE_TIME".into(), Duration::from_secs(57)),
        ],
        followed_for: Duration::from_secs(120),
        duration: Duration::from_secs(124),
        describe_calls: 30,
        event_calls: 9,
        ..Report::default()
    };
    insta::assert_snapshot!(report.markdown());
}

/// A hook that is not ours, waited on, is in the summary with what the log said.
#[test]
fn a_hook_waited_on_is_named_in_the_summary() {
    let line = "lifecycle hook ecs-pause-1 (PAUSE) at stage POST_SCALE_UP is not ecs-blue-green's: waiting for ContinueServiceDeployment from whoever owns it (https://console)";
    let report = Report {
        cluster: "prod".into(),
        service: "api".into(),
        status: "SUCCESSFUL".into(),
        waited_on: vec![line.into()],
        ..Report::default()
    };
    let markdown = report.markdown();
    assert!(
        markdown.contains(&format!("**Waited on:** {line}")),
        "{markdown}"
    );
    assert!(!Report::default().markdown().contains("Waited on"));
}
