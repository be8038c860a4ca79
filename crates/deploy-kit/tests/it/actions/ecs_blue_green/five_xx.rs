//! `max-5xx-rate` against the bed: the alarm deploy-kit makes over the service's real target
//! groups (moto's ELBv2), the ALB metrics the bed generates from the scenario knobs, the bed's
//! CloudWatch evaluating the metric-math alarm, and the emulated ECS rolling back on it with no
//! runner involved. ECS time runs 50x faster (a minute is 1.2 s).

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    AdvancedConfiguration, ContainerDefinition, DeploymentConfiguration, DeploymentStrategy,
    LoadBalancer, ServiceDeploymentStatus,
};
use deploy_kit_testbed::{Bed, Component};

const SCALE: f64 = 0.02;
const CLUSTER: &str = "prod";
const ALARM: &str = "deploy-kit-5xx-rate/prod/api";

struct Setup {
    bed: Bed,
    ecs: aws_sdk_ecs::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    dir: tempfile::TempDir,
    blue: String,
}

/// A load balancer `name` in the bed's ELBv2 with a blue (production) and a green (alternate)
/// target group, as a service's `loadBalancers` entry.
pub(crate) fn real_load_balancer(bed: &Bed, name: &str) -> LoadBalancer {
    let (status, body) = bed
        .post("/_bed/alb", &format!(r#"{{"name": "{name}"}}"#))
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let alb: serde_json::Value = serde_json::from_str(&body).unwrap();
    let group = |i: usize| alb["targetGroupArns"][i].as_str().unwrap().to_owned();
    LoadBalancer::builder()
        .target_group_arn(group(0))
        .container_name("web")
        .container_port(8080)
        .advanced_configuration(
            AdvancedConfiguration::builder()
                .alternate_target_group_arn(group(1))
                .production_listener_rule(format!(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/{name}/1/r/1"
                ))
                .test_listener_rule(format!(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/{name}/1/r/2"
                ))
                .role_arn("arn:aws:iam::123456789012:role/ecs-infrastructure")
                .build(),
        )
        .build()
}

/// A BLUE_GREEN service `api` behind a real (moto) ALB with a blue and a green target group.
async fn setup() -> Setup {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    bed.time_scale(SCALE).unwrap();
    let config = bed.sdk_config().await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    let blue = ecs
        .register_task_definition()
        .family("api")
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image("app:1")
                .memory(128)
                .essential(true)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_owned();
    let lb = real_load_balancer(&bed, "api");
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("api")
        .task_definition(&blue)
        .desired_count(2)
        .load_balancers(lb)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .bake_time_in_minutes(0)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let setup = Setup {
        bed,
        ecs,
        cloudwatch,
        dir: tempfile::tempdir().unwrap(),
        blue,
    };
    setup.settle().await;
    setup
}

impl Setup {
    async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let listed = self
                .ecs
                .list_service_deployments()
                .cluster(CLUSTER)
                .service("api")
                .send()
                .await
                .unwrap();
            let busy = listed.service_deployments().iter().any(|d| {
                !matches!(
                    d.status(),
                    Some(
                        ServiceDeploymentStatus::Successful
                            | ServiceDeploymentStatus::RollbackSuccessful
                            | ServiceDeploymentStatus::Stopped
                            | ServiceDeploymentStatus::RollbackFailed
                    )
                )
            });
            if !busy {
                return;
            }
            assert!(Instant::now() < deadline, "api never settled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A task definition whose revision's green returns `percent` 5xx (the bed's knob).
    fn task_file(&self, image: &str, percent: f64) -> String {
        let scenario = format!(r#"{{"green5xxPercent": {percent}}}"#);
        let task = serde_json::json!({"family": "api", "containerDefinitions": [{
            "name": "web", "image": image, "memory": 128, "essential": true,
            "environment": [{"name": "BED_SCENARIO", "value": scenario}]}]});
        let path = self
            .dir
            .path()
            .join(format!("{image}.json").replace(':', "-"));
        std::fs::write(&path, task.to_string()).unwrap();
        path.display().to_string()
    }

    /// Runs ecs-blue-green on service `api`; (exit code, stderr, summary).
    fn deploy(&self, inputs: &[(&str, &str)]) -> (Option<i32>, String, String) {
        let run = crate::deploy_kit()
            .action("ecs-blue-green")
            .bed(&self.bed)
            .time_scale(SCALE)
            .runner_files()
            .input("cluster", CLUSTER)
            .input("service", "api")
            .inputs(inputs)
            .run();
        (run.code, run.stderr, run.summary)
    }

    async fn running(&self) -> String {
        let out = self
            .ecs
            .describe_services()
            .cluster(CLUSTER)
            .services("api")
            .send()
            .await
            .unwrap();
        out.services()[0].task_definition().unwrap().to_owned()
    }

    async fn our_alarms(&self) -> Vec<aws_sdk_cloudwatch::types::MetricAlarm> {
        let out = self
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix("deploy-kit-5xx-rate/")
            .send()
            .await
            .unwrap();
        out.metric_alarms().to_vec()
    }
}

#[tokio::test]
async fn green_at_3_percent_5xx_rolls_back_on_its_own_with_max_5xx_rate_1_percent() {
    let s = setup().await;
    let file = s.task_file("app:2", 3.0);
    crate::contract::iam::reset(&s.bed);
    let (code, log, summary) = s.deploy(&[
        ("task-definition", &file),
        ("bake-time", "10m"),
        ("max-5xx-rate", "1%"),
    ]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("ROLLBACK_SUCCESSFUL"), "{log}");
    assert!(
        log.contains(&format!("CloudWatch alarm {ALARM} went into ALARM")),
        "{log}"
    );
    assert_eq!(s.running().await, s.blue, "production is back on blue");
    let calls = crate::contract::iam::assert_allowed(&s.bed, "ecs-blue-green");
    for call in [
        "elasticloadbalancing:DescribeTargetGroups",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarmHistory",
    ] {
        assert!(calls.iter().any(|c| c == call), "{call} not in {calls:?}");
    }
    // The summary: the alarm, its threshold, its state through the deployment and why it fired.
    assert!(summary.contains("#### 5xx-rate alarm"), "{summary}");
    assert!(summary.contains(ALARM), "{summary}");
    assert!(
        summary.contains("5xx rate > 1% in 2 of 3 periods of 1m"),
        "{summary}"
    );
    assert!(summary.contains("to ALARM"), "{summary}");
    assert!(
        summary.contains("Threshold Crossed: 2 out of the last 3"),
        "{summary}"
    );
    let alarms = s.our_alarms().await;
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].threshold(), Some(1.0));
    assert_eq!(alarms[0].datapoints_to_alarm(), Some(2));
    assert_eq!(alarms[0].evaluation_periods(), Some(3));
    assert_eq!(alarms[0].treat_missing_data(), Some("notBreaching"));
}

#[tokio::test]
async fn green_at_half_a_percent_passes_and_a_rerun_updates_the_one_alarm_in_place() {
    let s = setup().await;
    let file = s.task_file("app:2", 0.5);
    let (code, log, summary) = s.deploy(&[
        ("task-definition", &file),
        ("bake-time", "5m"),
        ("max-5xx-rate", "1%"),
    ]);
    assert_eq!(code, Some(0), "{log}");
    let green = s.running().await;
    assert_ne!(green, s.blue);
    assert!(summary.contains(ALARM), "{summary}");
    assert!(!summary.contains("to ALARM"), "{summary}");
    let first = s.our_alarms().await;
    assert_eq!(first.len(), 1);
    let arn = first[0].alarm_arn().unwrap().to_owned();
    // Again, with a different threshold and window: the same alarm, changed.
    let file = s.task_file("app:3", 0.5);
    crate::contract::iam::reset(&s.bed);
    let (code, log, _) = s.deploy(&[
        ("task-definition", &file),
        ("bake-time", "3m"),
        ("max-5xx-rate", "2%"),
        ("max-5xx-rate-datapoints", "3 of 4"),
    ]);
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains(&format!("updated CloudWatch alarm `{ALARM}`")),
        "{log}"
    );
    let calls = crate::contract::iam::assert_allowed(&s.bed, "ecs-blue-green");
    assert!(
        calls.iter().any(|c| c == "cloudwatch:ListTagsForResource"),
        "{calls:?}"
    );
    let again = s.our_alarms().await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].alarm_arn(), Some(arn.as_str()));
    assert_eq!(again[0].threshold(), Some(2.0));
    assert_eq!(again[0].evaluation_periods(), Some(4));
    let tags = s
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags().iter().any(
            |t| t.key() == Some("deploy-kit:managed-by") && t.value() == Some("ecs-blue-green")
        ),
        "{tags:?}"
    );
    // The deployment carried our alarm with rollback, merged into the service's configuration.
    let service = s
        .ecs
        .describe_services()
        .cluster(CLUSTER)
        .services("api")
        .send()
        .await
        .unwrap();
    let alarms = service.services()[0]
        .deployment_configuration()
        .and_then(|c| c.alarms())
        .unwrap();
    assert!(alarms.rollback() && alarms.enable());
    assert_eq!(alarms.alarm_names(), [ALARM]);
}
