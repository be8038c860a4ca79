//! The 5xx-rate gate (`max-5xx-rate`): one CloudWatch metric-math alarm per service over the
//! target groups of its load balancer (5xx over requests, both target groups together), attached
//! to the deployment's alarms with rollback, so ECS itself rolls back when green's errors pass the
//! threshold, even if the runner dies.
//!
//! Parse ([`Gate::from_args`]), then read ([`plan`]: the target groups' load balancer for the
//! metric dimensions, and whether an alarm of that name exists and is ours), then write
//! ([`ensure`]: PutMetricAlarm, which updates in place), then report ([`history`]).

use std::time::Duration;

use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, HistoryItemType, Metric, MetricDataQuery, MetricStat,
    Tag,
};
use aws_smithy_types::DateTime;
use deploy_kit_gha::input::{self, InputError};

use crate::preflight::Service;
use crate::{Args, Input};

/// The tag that marks an alarm as deploy-kit's; its value names the action.
pub const MANAGED_BY: (&str, &str) = ("deploy-kit:managed-by", "ecs-blue-green");
/// The tag naming the service the alarm guards (`cluster/service`).
pub const SERVICE_TAG: &str = "deploy-kit:service";
const NAMESPACE: &str = "AWS/ApplicationELB";
/// CloudWatch: evaluation periods times the period may not exceed one day.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The gate the inputs ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The threshold in percent (1.0 for `1%`).
    pub max_percent: f64,
    pub period: Duration,
    /// `datapoints` of the last `evaluation_periods` periods above the threshold fire it.
    pub datapoints: u32,
    pub evaluation_periods: u32,
}

impl Gate {
    /// Defaults: one-minute periods (ALB metrics' own resolution), `2 of 3`: two bad minutes
    /// fire, so one noisy minute does not, and the alarm still fires within about three minutes
    /// of green's errors starting (two periods plus the metric delay), inside a five-minute
    /// recovery objective with time left for ECS to move traffic back.
    pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);
    pub const DEFAULT_DATAPOINTS: (u32, u32) = (2, 3);

    /// `None` when `max-5xx-rate` is unset; its companions without it are an error.
    pub fn from_args(args: &Args) -> Result<Option<Self>, InputError> {
        let period_text = input::set(args.max_5xx_rate_period.as_deref());
        let datapoints_text = input::set(args.max_5xx_rate_datapoints.as_deref());
        let Some(rate) = input::set(args.max_5xx_rate.as_deref()) else {
            let orphan = [
                ("max-5xx-rate-period", period_text),
                ("max-5xx-rate-datapoints", datapoints_text),
            ];
            if let Some((name, _)) = orphan.iter().find(|(_, v)| v.is_some()) {
                return Err(InputError::new(
                    *name,
                    "has no effect without `max-5xx-rate`: set `max-5xx-rate`, e.g. `1%`",
                ));
            }
            return Ok(None);
        };
        let fraction = input::percent("max-5xx-rate", rate)?;
        if fraction <= 0.0 || fraction >= 1.0 {
            return Err(InputError::new(
                "max-5xx-rate",
                "must be more than 0% and less than 100%, e.g. `1%`",
            ));
        }
        let period = match period_text {
            Some(text) => period("max-5xx-rate-period", text)?,
            None => Self::DEFAULT_PERIOD,
        };
        let (datapoints, evaluation_periods) = match datapoints_text {
            Some(text) => m_of_n("max-5xx-rate-datapoints", text)?,
            None => Self::DEFAULT_DATAPOINTS,
        };
        if period * evaluation_periods > MAX_WINDOW {
            return Err(InputError::new(
                "max-5xx-rate-datapoints",
                format!(
                    "{evaluation_periods} periods of {} exceed one day, CloudWatch's limit: use fewer periods or a shorter `max-5xx-rate-period`",
                    deploy_kit_gha::format_duration(period)
                ),
            ));
        }
        Ok(Some(Self {
            max_percent: fraction * 100.0,
            period,
            datapoints,
            evaluation_periods,
        }))
    }
}

/// ALB metrics come once a minute: the period is whole minutes.
fn period(name: &str, text: &str) -> Result<Duration, InputError> {
    let duration = input::duration(name, text)?;
    let secs = duration.as_secs();
    if duration.subsec_nanos() != 0 || secs == 0 || secs % 60 != 0 || duration > MAX_WINDOW {
        return Err(InputError::new(
            name,
            "load balancer metrics come once a minute: use whole minutes from `1m` to `1440m`, e.g. `1m`",
        ));
    }
    Ok(duration)
}

/// `M of N`: M breaching datapoints among the last N periods.
fn m_of_n(name: &str, text: &str) -> Result<(u32, u32), InputError> {
    let invalid = || {
        InputError::new(
            name,
            format!(
                "`{}` is not `M of N` (M bad periods among the last N, 1 <= M <= N), e.g. `2 of 3`",
                input::truncate(text, 40)
            ),
        )
    };
    let lower = text.trim().to_ascii_lowercase();
    let (m, n) = lower.split_once(" of ").ok_or_else(invalid)?;
    let m: u32 = m.trim().parse().map_err(|_| invalid())?;
    let n: u32 = n.trim().parse().map_err(|_| invalid())?;
    if m == 0 || m > n || n > 1440 {
        return Err(invalid());
    }
    Ok((m, n))
}

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
        service: input.service.clone(),
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
            cluster: input.cluster.clone(),
            service: input.service.clone(),
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
                service: input.service.clone(),
                arn: arn.clone(),
            });
        };
        targets.push(Target {
            target_group,
            load_balancer,
        });
    }
    let name = alarm_name(&input.cluster, &input.service);
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
        cluster: input.cluster.clone(),
        service: input.service.clone(),
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

/// The alarm through the deployment, for the summary.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub name: String,
    pub threshold: String,
    /// (when, from, to, reason) of each state change since the deployment started.
    pub changes: Vec<(String, String)>,
    /// The state when the deployment ended, and its reason.
    pub state: Option<(String, String)>,
}

/// Reads the alarm's state changes since `since` and its state now. A failed read is reported
/// in the summary, not an error: the deployment's result stands.
pub async fn history(
    client: &aws_sdk_cloudwatch::Client,
    plan: &Plan,
    since: std::time::SystemTime,
) -> History {
    let mut out = History {
        name: plan.name.clone(),
        threshold: threshold_text(&plan.gate),
        ..History::default()
    };
    let items = client
        .describe_alarm_history()
        .alarm_name(&plan.name)
        .history_item_type(HistoryItemType::StateUpdate)
        .start_date(DateTime::from(since))
        .send()
        .await;
    match items {
        Ok(items) => {
            let mut changes: Vec<_> = items
                .alarm_history_items()
                .iter()
                .map(|item| {
                    let at = item.timestamp().map_or(0, DateTime::secs);
                    let when = item
                        .timestamp()
                        .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                        .unwrap_or_default();
                    let mut text = item.history_summary().unwrap_or("").to_owned();
                    if let Some(reason) = item.history_data().and_then(new_state_reason) {
                        text = format!("{text}: {reason}");
                    }
                    (at, when, text)
                })
                .collect();
            changes.sort_by_key(|(at, _, _)| *at);
            out.changes = changes.into_iter().map(|(_, w, s)| (w, s)).collect();
        }
        Err(error) => out.changes.push((
            String::new(),
            format!(
                "DescribeAlarmHistory failed: {}",
                deploy_kit_aws::describe_error(&error)
            ),
        )),
    }
    if let Ok(now) = client
        .describe_alarms()
        .alarm_names(&plan.name)
        .send()
        .await
        && let Some(alarm) = now.metric_alarms().first()
    {
        out.state = Some((
            alarm.state_value().map_or("?", |s| s.as_str()).to_owned(),
            alarm.state_reason().unwrap_or("").to_owned(),
        ));
    }
    out
}

/// CloudWatch's reason for a state change, from a history item's `HistoryData` JSON
/// (`newState.stateReason`).
fn new_state_reason(data: &str) -> Option<String> {
    let json: serde_json::Value = serde_json::from_str(data).ok()?;
    json.pointer("/newState/stateReason")?
        .as_str()
        .map(str::to_owned)
}

/// `5xx rate > 1% in 2 of 3 periods of 1m`.
pub fn threshold_text(gate: &Gate) -> String {
    format!(
        "5xx rate > {}% in {} of {} periods of {}",
        gate.max_percent,
        gate.datapoints,
        gate.evaluation_periods,
        deploy_kit_gha::format_duration(gate.period)
    )
}

impl History {
    /// The summary's section.
    pub fn markdown(&self) -> String {
        use deploy_kit_gha::summary::{Table, code, escape_cell};
        let mut out = String::from("\n#### 5xx-rate alarm\n\n");
        let mut table = Table::new(["", ""]);
        table.row(["alarm", &code(&self.name)]);
        table.row(["fires on", &escape_cell(&self.threshold)]);
        for (when, summary) in &self.changes {
            table.row([escape_cell(when), escape_cell(summary)]);
        }
        if let Some((state, reason)) = &self.state {
            table.row([
                format!("state at the end: {}", code(state)),
                escape_cell(reason),
            ]);
        }
        out.push_str(&table.render());
        out
    }
}
