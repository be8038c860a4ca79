use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, Tag};
use aws_sdk_ecs::types::{AdvancedConfiguration, DeploymentStrategy, LoadBalancer};
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
use aws_sdk_elasticloadbalancingv2::types::TargetGroup;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_ecs_blue_green::alarm::{self, Gate, GateError};
use deploy_kit_ecs_blue_green::{Args, Input, Service};
use deploy_kit_gha::{Classify, Exit};

use crate::input::args;

const TG_BLUE: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/api-blue/aaa";
const TG_GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/api-green/bbb";
const LB: &str = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/api/ccc";
const NAME: &str = "deploy-kit-5xx-rate/default/api";

fn gate_args(rate: &str) -> Args {
    Args {
        max_5xx_rate: Some(rate.into()),
        ..args()
    }
}

fn refused(args: Args) -> String {
    let error = Input::from_args(&args).expect_err("should be refused");
    assert_eq!(error.exit(), Exit::BadInput);
    error.to_string()
}

#[test]
fn the_gate_is_off_unless_max_5xx_rate_is_set_and_defaults_to_one_minute_2_of_3() {
    assert_eq!(Input::from_args(&args()).unwrap().rate_gate, None);
    let gate = Input::from_args(&gate_args("1%"))
        .unwrap()
        .rate_gate
        .unwrap();
    assert_eq!(
        gate,
        Gate {
            max_percent: 1.0,
            period: Duration::from_secs(60),
            datapoints: 2,
            evaluation_periods: 3,
        }
    );
    let gate = Input::from_args(&Args {
        max_5xx_rate_period: Some("5m".into()),
        max_5xx_rate_datapoints: Some("3 of 5".into()),
        ..gate_args("0.5%")
    })
    .unwrap()
    .rate_gate
    .unwrap();
    assert_eq!(
        (
            gate.max_percent,
            gate.period,
            gate.datapoints,
            gate.evaluation_periods
        ),
        (0.5, Duration::from_secs(300), 3, 5)
    );
}

#[test]
fn bad_gate_inputs_exit_2_naming_the_input() {
    for (rate, period, datapoints, named) in [
        ("0%", None, None, "max-5xx-rate"),
        ("100%", None, None, "max-5xx-rate"),
        ("lots", None, None, "max-5xx-rate"),
        ("1%", Some("30s"), None, "max-5xx-rate-period"),
        ("1%", Some("90s"), None, "max-5xx-rate-period"),
        ("1%", None, Some("3 of 2"), "max-5xx-rate-datapoints"),
        ("1%", None, Some("0 of 3"), "max-5xx-rate-datapoints"),
        ("1%", None, Some("2/3"), "max-5xx-rate-datapoints"),
        (
            "1%",
            Some("60m"),
            Some("1 of 30"),
            "max-5xx-rate-datapoints",
        ),
    ] {
        let message = refused(Args {
            max_5xx_rate_period: period.map(Into::into),
            max_5xx_rate_datapoints: datapoints.map(Into::into),
            ..gate_args(rate)
        });
        assert!(message.contains(&format!("`{named}`")), "{message}");
    }
    let message = refused(Args {
        max_5xx_rate_period: Some("1m".into()),
        ..args()
    });
    assert!(
        message.contains("`max-5xx-rate-period`") && message.contains("without `max-5xx-rate`"),
        "{message}"
    );
}

fn service(alternate: bool) -> Service {
    let mut lb = LoadBalancer::builder().target_group_arn(TG_BLUE);
    if alternate {
        lb = lb.advanced_configuration(
            AdvancedConfiguration::builder()
                .alternate_target_group_arn(TG_GREEN)
                .build(),
        );
    }
    Service {
        arn: None,
        task_definition: None,
        strategy: DeploymentStrategy::BlueGreen,
        config: None,
        desired_count: 2,
        load_balancers: vec![lb.build()],
    }
}

fn groups() -> DescribeTargetGroupsOutput {
    let group = |arn: &str| {
        TargetGroup::builder()
            .target_group_arn(arn)
            .load_balancer_arns(LB)
            .build()
    };
    DescribeTargetGroupsOutput::builder()
        .target_groups(group(TG_BLUE))
        .target_groups(group(TG_GREEN))
        .build()
}

#[tokio::test]
async fn a_new_alarm_is_metric_math_over_both_target_groups_tagged_as_ours() {
    let input = Input::from_args(&gate_args("1%")).unwrap();
    let describe_groups = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups)
        .match_requests(|r| r.target_group_arns() == [TG_BLUE, TG_GREEN])
        .then_output(groups);
    let elb = mock_client!(aws_sdk_elasticloadbalancingv2, [&describe_groups]);
    let describe = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.alarm_names() == [NAME])
        .then_output(|| DescribeAlarmsOutput::builder().build());
    let sent = Arc::new(Mutex::new(None));
    let seen = sent.clone();
    let put = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
        .match_requests(move |r| {
            *seen.lock().unwrap() = Some(format!("{r:#?}"));
            true
        })
        .then_output(|| PutMetricAlarmOutput::builder().build());
    let cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&describe, &put]);
    let gate = input.rate_gate.clone().unwrap();
    let plan = alarm::plan(&elb, &cloudwatch, &input, &service(true), &gate)
        .await
        .unwrap();
    assert!(!plan.exists);
    assert_eq!(plan.name, NAME);
    alarm::ensure(&cloudwatch, &input, &plan).await.unwrap();
    assert_eq!(put.num_calls(), 1);
    let request = sent.lock().unwrap().clone().unwrap();
    insta::assert_snapshot!(request);
}

#[tokio::test]
async fn an_alarm_of_that_name_not_tagged_by_deploy_kit_is_refused_before_any_write() {
    let input = Input::from_args(&gate_args("1%")).unwrap();
    let describe_groups =
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups).then_output(groups);
    let elb = mock_client!(aws_sdk_elasticloadbalancingv2, [&describe_groups]);
    let describe = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .metric_alarms(
                MetricAlarm::builder()
                    .alarm_name(NAME)
                    .alarm_arn("arn:aws:cloudwatch:us-east-1:1:alarm:x")
                    .build(),
            )
            .build()
    });
    let tags = mock!(aws_sdk_cloudwatch::Client::list_tags_for_resource).then_output(|| {
        ListTagsForResourceOutput::builder()
            .tags(Tag::builder().key("team").value("web").build())
            .build()
    });
    let cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&describe, &tags]);
    let gate = input.rate_gate.clone().unwrap();
    let error = alarm::plan(&elb, &cloudwatch, &input, &service(true), &gate)
        .await
        .unwrap_err();
    assert!(matches!(error, GateError::NotOurs { .. }), "{error}");
    assert!(error.is_refusal());
    let error = deploy_kit_ecs_blue_green::Error::from(error);
    assert_eq!(error.exit(), Exit::BadInput);
}

#[tokio::test]
async fn a_service_without_a_target_group_or_one_without_a_load_balancer_is_refused() {
    let input = Input::from_args(&gate_args("1%")).unwrap();
    let gate = input.rate_gate.clone().unwrap();
    let elb = mock_client!(aws_sdk_elasticloadbalancingv2, []);
    let cloudwatch = mock_client!(aws_sdk_cloudwatch, []);
    let mut bare = service(false);
    bare.load_balancers.clear();
    let error = alarm::plan(&elb, &cloudwatch, &input, &bare, &gate)
        .await
        .unwrap_err();
    assert!(matches!(error, GateError::NoTargetGroup { .. }), "{error}");
    let lonely =
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups).then_output(|| {
            DescribeTargetGroupsOutput::builder()
                .target_groups(TargetGroup::builder().target_group_arn(TG_BLUE).build())
                .build()
        });
    let elb = mock_client!(aws_sdk_elasticloadbalancingv2, [&lonely]);
    let error = alarm::plan(&elb, &cloudwatch, &input, &service(false), &gate)
        .await
        .unwrap_err();
    assert!(matches!(error, GateError::NoLoadBalancer { .. }), "{error}");
    assert!(error.to_string().contains(TG_BLUE), "{error}");
}

#[test]
fn the_alarm_name_is_deterministic_and_fits_cloudwatch() {
    assert_eq!(
        alarm::alarm_name("prod", "api"),
        "deploy-kit-5xx-rate/prod/api"
    );
    assert_eq!(
        alarm::alarm_name("arn:aws:ecs:us-east-1:1:cluster/prod", "api"),
        "deploy-kit-5xx-rate/prod/api"
    );
    let long = "s".repeat(255);
    let name = alarm::alarm_name("prod", &long);
    assert!(name.len() <= 255);
    assert_eq!(name, alarm::alarm_name("prod", &long));
    assert_ne!(name, alarm::alarm_name("prod2", &long));
}
