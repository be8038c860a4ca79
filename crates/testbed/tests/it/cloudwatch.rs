//! The bed's CloudWatch: aws-sdk-cloudwatch's rpc-v2-cbor bridged onto moto, an update that keeps
//! the alarm's state and creation tags as CloudWatch does, and ALB metrics from the scenario
//! knobs driving a metric-math alarm (a minute of ECS time is 1.2 s here).

use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat, StateValue,
    Tag,
};
use aws_sdk_ecs::types::{AdvancedConfiguration, DeploymentConfiguration, LoadBalancer};

use crate::support::{CLUSTER, ecs_bed, register};

const SCALE: f64 = 0.02;

/// The metric-math rate alarm deploy-kit writes, over `groups` (`targetgroup/...`).
fn rate_alarm(
    client: &Client,
    name: &str,
    groups: &[String],
    threshold: f64,
) -> aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder {
    let mut request = client
        .put_metric_alarm()
        .alarm_name(name)
        .threshold(threshold)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .evaluation_periods(1)
        .datapoints_to_alarm(1)
        .treat_missing_data("notBreaching");
    let (mut errors, mut requests) = (Vec::new(), Vec::new());
    for (index, group) in groups.iter().enumerate() {
        for (prefix, metric, sums) in [
            ("e", "HTTPCode_Target_5XX_Count", &mut errors),
            ("r", "RequestCount", &mut requests),
        ] {
            let id = format!("{prefix}{index}");
            sums.push(format!("FILL({id}, 0)"));
            request = request.metrics(
                MetricDataQuery::builder()
                    .id(id)
                    .return_data(false)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(
                                Metric::builder()
                                    .namespace("AWS/ApplicationELB")
                                    .metric_name(metric)
                                    .dimensions(
                                        Dimension::builder()
                                            .name("TargetGroup")
                                            .value(group)
                                            .build(),
                                    )
                                    .build(),
                            )
                            .period(60)
                            .stat("Sum")
                            .build(),
                    )
                    .build(),
            );
        }
    }
    request.metrics(
        MetricDataQuery::builder()
            .id("rate")
            .expression(format!(
                "100 * ({}) / ({})",
                errors.join(" + "),
                requests.join(" + ")
            ))
            .return_data(true)
            .build(),
    )
}

async fn alarm(client: &Client, name: &str) -> MetricAlarm {
    let out = client
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .unwrap();
    assert_eq!(out.metric_alarms().len(), 1, "{out:?}");
    out.metric_alarms()[0].clone()
}

async fn wait_for(client: &Client, name: &str, state: StateValue) -> MetricAlarm {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = alarm(client, name).await;
        if found.state_value() == Some(&state) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never reached {state:?}: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_update_keeps_the_alarm_its_state_and_its_creation_tags() {
    let (bed, _ecs) = ecs_bed(SCALE).await;
    let client = Client::new(&bed.sdk_config().await);
    let groups = ["targetgroup/nobody/1".to_owned()];
    rate_alarm(&client, "a", &groups, 1.0)
        .tags(Tag::builder().key("made-by").value("first").build())
        .send()
        .await
        .unwrap();
    // No requests reach that target group: missing data, not breaching, so OK.
    let first = wait_for(&client, "a", StateValue::Ok).await;
    rate_alarm(&client, "a", &groups, 5.0)
        .tags(Tag::builder().key("made-by").value("second").build())
        .send()
        .await
        .unwrap();
    let again = alarm(&client, "a").await;
    assert_eq!(again.threshold(), Some(5.0));
    assert_eq!(
        again.state_value(),
        Some(&StateValue::Ok),
        "the state is kept"
    );
    assert_eq!(
        again.state_updated_timestamp(),
        first.state_updated_timestamp()
    );
    let tags = client
        .list_tags_for_resource()
        .resource_arn(again.alarm_arn().unwrap())
        .send()
        .await
        .unwrap();
    let tags: Vec<_> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [(Some("made-by"), Some("first"))]);
    let all = client.describe_alarms().send().await.unwrap();
    assert_eq!(all.metric_alarms().len(), 1);
}

#[tokio::test]
async fn a_services_5xx_rate_on_its_target_groups_drives_the_alarm() {
    let (bed, ecs) = ecs_bed(SCALE).await;
    let client = Client::new(&bed.sdk_config().await);
    let (status, body) = bed.post("/_bed/alb", r#"{"name": "web"}"#).unwrap();
    assert_eq!(status, 200, "{body}");
    let alb: serde_json::Value = serde_json::from_str(&body).unwrap();
    let arns: Vec<String> = (0..2)
        .map(|i| alb["targetGroupArns"][i].as_str().unwrap().to_owned())
        .collect();
    // Knobs are resolved when a deployment starts: set before the service's first one, whose
    // revision is "green" and serves everything once it has scaled up.
    bed.scenario(r#"{"service": "web", "green5xxPercent": 4, "requestsPerMinute": 1000}"#)
        .unwrap();
    let task = register(&ecs, "web", "app:1", &[]).await;
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("web")
        .task_definition(task)
        .desired_count(1)
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&arns[0])
                .container_name("web")
                .container_port(8080)
                .advanced_configuration(
                    AdvancedConfiguration::builder()
                        .alternate_target_group_arn(&arns[1])
                        .build(),
                )
                .build(),
        )
        .deployment_configuration(DeploymentConfiguration::builder().build())
        .send()
        .await
        .unwrap();
    let groups: Vec<String> = arns
        .iter()
        .map(|a| a[a.find("targetgroup/").unwrap()..].to_owned())
        .collect();
    rate_alarm(&client, "over-1", &groups, 1.0)
        .send()
        .await
        .unwrap();
    rate_alarm(&client, "over-10", &groups, 10.0)
        .send()
        .await
        .unwrap();
    let fired = wait_for(&client, "over-1", StateValue::Alarm).await;
    let reason = fired.state_reason().unwrap();
    assert!(
        reason.contains("Threshold Crossed: 1 out of the last 1 datapoints [4.00]"),
        "{reason}"
    );
    // The same datapoints, under the other alarm's threshold.
    let calm = alarm(&client, "over-10").await;
    assert_eq!(calm.state_value(), Some(&StateValue::Ok), "{calm:?}");
    let history = client
        .describe_alarm_history()
        .alarm_name("over-1")
        .send()
        .await
        .unwrap();
    let summaries: Vec<_> = history
        .alarm_history_items()
        .iter()
        .filter_map(|i| i.history_summary())
        .collect();
    assert!(
        summaries.iter().any(|s| s.ends_with("to ALARM")),
        "{summaries:?}"
    );
}
