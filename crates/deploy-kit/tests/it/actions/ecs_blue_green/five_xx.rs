//! `max-5xx-rate` against the bed: the alarm deploy-kit makes over the service's real target
//! groups (moto's ELBv2), the ALB metrics the bed generates from the scenario knobs, the bed's
//! CloudWatch evaluating the metric-math alarm, and the emulated ECS rolling back on it with no
//! runner involved. ECS time runs 50x faster (a minute is 1.2 s).

use aws_sdk_ecs::types::{AdvancedConfiguration, DeploymentStrategy, LoadBalancer};
use deploy_kit_testbed::Bed;

use super::{Fixture, Spec, fixture};

const SCALE: f64 = 0.02;
const ALARM: &str = "deploy-kit-5xx-rate/prod/api";

/// The ecs-blue-green fixture with service `api` (blue) behind a real ALB, and CloudWatch.
struct Setup {
    f: Fixture,
    cloudwatch: aws_sdk_cloudwatch::Client,
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

/// A BLUE_GREEN service `api` behind a real (moto) ALB with a blue and a green target group,
/// ECS time 50x faster.
async fn setup() -> Setup {
    let f = fixture().await;
    f.bed.time_scale(SCALE).unwrap();
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&f.bed.sdk_config().await);
    let spec = Spec {
        balancer: Some(real_load_balancer(&f.bed, "api")),
        ..Spec::new(DeploymentStrategy::BlueGreen)
    };
    let blue = f.service("api", spec).await;
    Setup {
        f,
        cloudwatch,
        blue,
    }
}

impl Setup {
    /// A task definition whose revision's green returns `percent` 5xx (the bed's knob).
    fn task_file(&self, image: &str, percent: f64) -> String {
        let scenario = format!(r#"{{"green5xxPercent": {percent}}}"#);
        self.f.task_file("api", image, Some(&scenario))
    }

    /// Runs ecs-blue-green on service `api`; (exit code, stderr, summary).
    fn deploy(&self, inputs: &[(&str, &str)]) -> (Option<i32>, String, String) {
        let run = self
            .f
            .invocation(inputs)
            .time_scale(SCALE)
            .input("service", "api")
            .run();
        (run.code, run.stderr, run.summary)
    }

    async fn running(&self) -> String {
        self.f.running_task_definition("api").await
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
    crate::contract::iam::reset(&s.f.bed);
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
    let calls = crate::contract::iam::assert_allowed(&s.f.bed, "ecs-blue-green");
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
    crate::contract::iam::reset(&s.f.bed);
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
    let calls = crate::contract::iam::assert_allowed(&s.f.bed, "ecs-blue-green");
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
    let service = s.f.describe_service("api").await;
    let alarms = service
        .deployment_configuration()
        .and_then(|c| c.alarms())
        .unwrap();
    assert!(alarms.rollback() && alarms.enable());
    assert_eq!(alarms.alarm_names(), [ALARM]);
}
