//! The 5xx-rate gate (`max-5xx-rate`): one CloudWatch metric-math alarm per service over the
//! target groups of its load balancer (5xx over requests, both target groups together), attached
//! to the deployment's alarms with rollback, so ECS itself rolls back when green's errors pass the
//! threshold, even if the runner dies.
//!
//! Parse ([`Gate::from_args`]), then read ([`plan`]: the target groups' load balancer for the
//! metric dimensions, and whether an alarm of that name exists and is ours), then write
//! ([`ensure`]: PutMetricAlarm, which updates in place), then report ([`history`]).

use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, Tag,
};

use crate::Input;
pub use crate::alarm_history::{History, history, threshold_text};
pub use crate::gate::Gate;
use crate::preflight::Service;

/// The tag that marks an alarm as deploy-kit's; its value names the action.
pub const MANAGED_BY: (&str, &str) = ("deploy-kit:managed-by", "ecs-blue-green");
/// The tag naming the service the alarm guards (`cluster/service`).
pub const SERVICE_TAG: &str = "deploy-kit:service";
const NAMESPACE: &str = "AWS/ApplicationELB";

/// One target group and the load balancer it serves, as metric dimension values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `targetgroup/NAME/ID`.
    pub target_group: String,
    /// `app/NAME/ID`.
    pub load_balancer: String,
}

/// What [`plan`] read: the alarm to write and whether it exists already.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub gate: Gate,
    pub targets: Vec<Target>,
    pub exists: bool,
    pub cluster: String,
    pub service: String,
}

/// Why the gate cannot be set up; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(
        "`max-5xx-rate` needs a load balancer: service `{service}` in cluster `{cluster}` has no target group in `loadBalancers`"
    )]
    NoTargetGroup { cluster: String, service: String },
    #[error(
        "`max-5xx-rate`: target group {arn} of service `{service}` serves no load balancer (DescribeTargetGroups lists none), so it has no request metrics to alarm on"
    )]
    NoLoadBalancer { service: String, arn: String },
    #[error(
        "`max-5xx-rate`: CloudWatch alarm `{name}` exists and was not made by deploy-kit (no `{tag}` tag): rename or delete it; ecs-blue-green will not overwrite it"
    )]
    NotOurs { name: String, tag: &'static str },
    #[error("{call} for the 5xx-rate alarm of service `{service}` failed: {message}")]
    Aws {
        call: &'static str,
        service: String,
        message: String,
    },
}

impl GateError {
    /// Refusals are configuration (exit 2); a failed call is a failure (exit 1).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, GateError::Aws { .. })
    }
}

fn aws<E>(
    input: &Input,
    call: &'static str,
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> GateError
where
    E: aws_sdk_cloudwatch::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    GateError::Aws {
        call,
        service: input.service.name.clone(),
        message: deploy_kit_aws::describe_error(error),
    }
}

/// The deterministic alarm name of a service: one alarm per service, found again by every run.
pub fn alarm_name(cluster: &str, service: &str) -> String {
    let short = |name: &str| name.rsplit('/').next().unwrap_or(name).to_owned();
    let name = format!("deploy-kit-5xx-rate/{}/{}", short(cluster), short(service));
    if name.len() <= 255 {
        return name;
    }
    // CloudWatch names stop at 255 characters: keep a stable hash of the whole name.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{}-{hash:016x}", &name[..200])
}

/// The service's target groups: the production one and the alternate one of each load balancer.
pub fn target_group_arns(service: &Service) -> Vec<String> {
    let mut arns = Vec::new();
    for lb in &service.load_balancers {
        let alternate = lb
            .advanced_configuration()
            .and_then(|a| a.alternate_target_group_arn());
        for arn in lb.target_group_arn().into_iter().chain(alternate) {
            if !arns.iter().any(|a| a == arn) {
                arns.push(arn.to_owned());
            }
        }
    }
    arns
}

/// The dimension value of an ARN: what follows `marker` (`targetgroup/...`, `app/...`).
fn arn_suffix(arn: &str, marker: &str) -> Option<String> {
    arn.find(marker).map(|at| arn[at..].to_owned())
}

/// Reads only: the target groups' load balancers and the alarm's current owner.
pub async fn plan(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    input: &Input,
    service: &Service,
    gate: &Gate,
) -> Result<Plan, GateError> {
    let arns = target_group_arns(service);
    if arns.is_empty() {
        return Err(GateError::NoTargetGroup {
            cluster: input.service.cluster.clone(),
            service: input.service.name.clone(),
        });
    }
    let described = elb
        .describe_target_groups()
        .set_target_group_arns(Some(arns.clone()))
        .send()
        .await
        .map_err(|e| aws(input, "DescribeTargetGroups", &e))?;
    let mut targets = Vec::new();
    for arn in &arns {
        let group = described
            .target_groups()
            .iter()
            .find(|g| g.target_group_arn() == Some(arn.as_str()));
        let lb = group
            .and_then(|g| g.load_balancer_arns().first())
            .and_then(|lb| arn_suffix(lb, "app/").or_else(|| arn_suffix(lb, "net/")));
        let (Some(load_balancer), Some(target_group)) = (lb, arn_suffix(arn, "targetgroup/"))
        else {
            return Err(GateError::NoLoadBalancer {
                service: input.service.name.clone(),
                arn: arn.clone(),
            });
        };
        targets.push(Target {
            target_group,
            load_balancer,
        });
    }
    let name = alarm_name(&input.service.cluster, &input.service.name);
    let existing = cloudwatch
        .describe_alarms()
        .alarm_names(&name)
        .alarm_types(AlarmType::MetricAlarm)
        .send()
        .await
        .map_err(|e| aws(input, "DescribeAlarms", &e))?;
    let found = existing.metric_alarms().iter().find_map(|a| {
        a.alarm_arn()
            .filter(|_| a.alarm_name() == Some(name.as_str()))
    });
    if let Some(arn) = found {
        let tags = cloudwatch
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| aws(input, "ListTagsForResource", &e))?;
        let ours = tags
            .tags()
            .iter()
            .any(|t| t.key() == Some(MANAGED_BY.0) && t.value() == Some(MANAGED_BY.1));
        if !ours {
            return Err(GateError::NotOurs {
                name,
                tag: MANAGED_BY.0,
            });
        }
    }
    Ok(Plan {
        exists: found.is_some(),
        name,
        gate: gate.clone(),
        targets,
        cluster: input.service.cluster.clone(),
        service: input.service.name.clone(),
    })
}

/// The PutMetricAlarm request: `100 * (5xx of every target group) / (requests of every target
/// group)`, each series FILLed with 0 so a target group without traffic (blue after the shift,
/// green before it) does not blank the sum. Missing data (no requests at all) is not breaching.
pub fn put_request(
    client: &aws_sdk_cloudwatch::Client,
    plan: &Plan,
) -> aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder {
    let seconds = i32::try_from(plan.gate.period.as_secs()).unwrap_or(60);
    let mut queries = Vec::new();
    let (mut errors, mut requests) = (Vec::new(), Vec::new());
    for (index, target) in plan.targets.iter().enumerate() {
        for (prefix, metric, sums) in [
            ("e", "HTTPCode_Target_5XX_Count", &mut errors),
            ("r", "RequestCount", &mut requests),
        ] {
            let id = format!("{prefix}{}", index + 1);
            sums.push(format!("FILL({id}, 0)"));
            let metric = Metric::builder()
                .namespace(NAMESPACE)
                .metric_name(metric)
                .dimensions(dimension("TargetGroup", &target.target_group))
                .dimensions(dimension("LoadBalancer", &target.load_balancer))
                .build();
            let stat = MetricStat::builder()
                .metric(metric)
                .period(seconds)
                .stat("Sum")
                .build();
            queries.push(
                MetricDataQuery::builder()
                    .id(id)
                    .metric_stat(stat)
                    .return_data(false)
                    .build(),
            );
        }
    }
    queries.push(
        MetricDataQuery::builder()
            .id("rate")
            .expression(format!(
                "100 * ({}) / ({})",
                errors.join(" + "),
                requests.join(" + ")
            ))
            .label("5xx rate (%)")
            .return_data(true)
            .build(),
    );
    let mut request = client
        .put_metric_alarm()
        .alarm_name(&plan.name)
        .alarm_description(format!(
            "Made by deploy-kit ecs-blue-green (max-5xx-rate) for service `{}` in cluster `{}`: target 5xx over requests across its target groups. ECS rolls a deployment back when it fires.",
            plan.service, plan.cluster
        ))
        .set_metrics(Some(queries))
        .threshold(plan.gate.max_percent)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .evaluation_periods(i32::try_from(plan.gate.evaluation_periods).unwrap_or(i32::MAX))
        .datapoints_to_alarm(i32::try_from(plan.gate.datapoints).unwrap_or(i32::MAX))
        .treat_missing_data("notBreaching");
    if !plan.exists {
        // CloudWatch ignores Tags when PutMetricAlarm updates an alarm: they go on at creation.
        request = request.tags(tag(MANAGED_BY.0, MANAGED_BY.1)).tags(tag(
            SERVICE_TAG,
            &format!("{}/{}", plan.cluster, plan.service),
        ));
    }
    request
}

fn dimension(name: &str, value: &str) -> Dimension {
    Dimension::builder().name(name).value(value).build()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// Creates the alarm, or updates it in place (same name): never a second one.
pub async fn ensure(
    client: &aws_sdk_cloudwatch::Client,
    input: &Input,
    plan: &Plan,
) -> Result<(), GateError> {
    put_request(client, plan)
        .send()
        .await
        .map_err(|e| aws(input, "PutMetricAlarm", &e))?;
    Ok(())
}

/// `alarms` for the deployment: the user's (the input's, else the service's own), and ours.
pub fn attach(input_alarms: &mut Vec<String>, service: &Service, name: &str) {
    if input_alarms.is_empty()
        && let Some(own) = service.config.as_ref().and_then(|c| c.alarms())
        && own.enable()
    {
        input_alarms.extend(own.alarm_names().iter().cloned());
    }
    if !input_alarms.iter().any(|a| a == name) {
        input_alarms.push(name.to_owned());
    }
}
