//! The typed input: every `Args` field parsed and checked before any AWS call.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_ecs::types::PropagateTags;
use deploy_kit_gha::input::{self, InputError};
use deploy_kit_smoke_test::{Checks, TEST_PREFIX};

use crate::Args;

/// What to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskDefinitionSource {
    /// A rendered JSON file to register.
    File(PathBuf),
    /// An existing task definition ARN, deployed as is.
    Arn(String),
    /// A revision of the family the service runs (a rollback); resolved after pre-flight.
    Revision(RevisionRef),
}

/// `previous`, or a revision number of the family the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionRef {
    /// The newest ACTIVE revision below the running one.
    Previous,
    Number(u32),
}

impl std::fmt::Display for RevisionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevisionRef::Previous => f.write_str("previous"),
            RevisionRef::Number(number) => write!(f, "{number}"),
        }
    }
}

/// The deployment strategy the inputs ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// The service's own deployment configuration.
    Keep,
    BlueGreen,
    /// `percent` is a fraction of 100 (10.0 for `10%`).
    Canary {
        percent: f64,
        bake: Duration,
    },
    Linear {
        step_percent: f64,
        interval: Duration,
    },
    Rolling,
}

/// Every input, parsed.
#[derive(Debug)]
pub struct Input {
    pub cluster: String,
    pub service: String,
    pub task_definition: TaskDefinitionSource,
    pub strategy: Strategy,
    pub bake_time: Option<Duration>,
    pub alarms: Vec<String>,
    /// `None` = unset: on for rolling, untouched otherwise.
    pub circuit_breaker: Option<bool>,
    /// The smoke checks against the test listener, when `test-url` is set.
    pub test_checks: Option<Checks>,
    pub desired_count: Option<i32>,
    pub force_new_deployment: bool,
    /// `None`: the service's setting is kept (UpdateService leaves it alone).
    pub enable_ecs_managed_tags: Option<bool>,
    pub propagate_tags: Option<PropagateTags>,
    pub timeout: Duration,
    pub rollback_on_timeout: bool,
    pub rollback_on_cancel: bool,
    pub wait: bool,
    pub dry_run: bool,
    /// `max-5xx-rate` and its companions: the 5xx-rate alarm to make and attach.
    pub rate_gate: Option<crate::gate::Gate>,
    /// Multiplies every poll delay: 1.0 in production; tests shrink it so a mocked deployment is
    /// followed in milliseconds.
    pub poll_scale: f64,
}

/// ECS takes bake times in whole minutes, up to 1440.
const MAX_MINUTES: u64 = 1440;

impl Input {
    pub fn from_args(args: &Args) -> Result<Self, InputError> {
        let service = input::required("service", args.service.as_deref())?.to_owned();
        let cluster = input::set(args.cluster.as_deref())
            .unwrap_or("default")
            .to_owned();
        input::resource_name("service", &service)?;
        input::resource_name("cluster", &cluster)?;
        let task_definition = task_definition(args)?;
        let strategy = strategy(args)?;
        let bake_time = minutes("bake-time", args.bake_time.as_deref())?;
        if bake_time.is_some() && strategy == Strategy::Rolling {
            return Err(InputError::new(
                "bake-time",
                "applies to blue-green, canary and linear, not to `rolling`",
            ));
        }
        let test_checks = match args.test.to_args() {
            Some(smoke) => {
                if strategy == Strategy::Rolling {
                    return Err(InputError::new(
                        "test-url",
                        "needs a test listener, which `rolling` does not have: use `blue-green`, `canary` or `linear`",
                    ));
                }
                Some(Checks::from_args(&smoke, TEST_PREFIX)?)
            }
            None => {
                reject_orphan_test_inputs(args)?;
                None
            }
        };
        let desired_count = input::set(args.desired_count.as_deref())
            .map(|text| input::number("desired-count", text, 0..=5000))
            .transpose()?
            .and_then(|count| i32::try_from(count).ok());
        let timeout = match input::set(args.timeout.as_deref()) {
            Some(text) => input::duration("timeout", text)?,
            None => Duration::from_secs(30 * 60),
        };
        if timeout.is_zero() {
            return Err(InputError::new("timeout", "must be longer than 0s"));
        }
        // With `test-url`, `timeout` is also the PAUSE hook's timeout, which ECS caps at 20160
        // minutes (14 days); the duration parser already refuses anything over 10 days.
        let wait = input::flag("wait", args.wait.as_deref(), true)?;
        if test_checks.is_some() && !wait {
            return Err(InputError::new(
                "wait",
                "`false` with `test-url` leaves the deployment paused with nobody to run the smoke checks and answer it: remove one of them",
            ));
        }
        Ok(Self {
            cluster,
            service,
            task_definition,
            strategy,
            bake_time,
            alarms: input::set(args.alarms.as_deref())
                .map(|text| input::lines(text).into_iter().map(str::to_owned).collect())
                .unwrap_or_default(),
            circuit_breaker: input::set(args.circuit_breaker.as_deref())
                .map(|text| input::boolean("circuit-breaker", text))
                .transpose()?,
            test_checks,
            desired_count,
            force_new_deployment: input::flag(
                "force-new-deployment",
                args.force_new_deployment.as_deref(),
                false,
            )?,
            enable_ecs_managed_tags: input::set(args.enable_ecs_managed_tags.as_deref())
                .map(|text| input::boolean("enable-ecs-managed-tags", text))
                .transpose()?,
            propagate_tags: propagate_tags(args)?,
            timeout,
            rollback_on_timeout: input::flag(
                "rollback-on-timeout",
                args.rollback_on_timeout.as_deref(),
                true,
            )?,
            rollback_on_cancel: input::flag(
                "rollback-on-cancel",
                args.rollback_on_cancel.as_deref(),
                true,
            )?,
            wait,
            dry_run: input::flag("dry-run", args.dry_run.as_deref(), false)?,
            rate_gate: crate::gate::Gate::from_args(args)?,
            poll_scale: 1.0,
        })
    }
}

/// `propagate-tags`, as aws-actions and the ECS API spell it.
fn propagate_tags(args: &Args) -> Result<Option<PropagateTags>, InputError> {
    let Some(text) = input::set(args.propagate_tags.as_deref()) else {
        return Ok(None);
    };
    let known = PropagateTags::values();
    if known.contains(&text) {
        return Ok(Some(PropagateTags::from(text)));
    }
    Err(InputError::new(
        "propagate-tags",
        format!(
            "`{}` is not one of {}",
            input::truncate(text, 40),
            known.join(", ")
        ),
    ))
}

fn task_definition(args: &Args) -> Result<TaskDefinitionSource, InputError> {
    let text = input::required("task-definition", args.task_definition.as_deref())?;
    if text.starts_with("arn:") {
        let valid = text.contains(":task-definition/") && text.rsplit_once(':').is_some();
        if !valid {
            return Err(InputError::new(
                "task-definition",
                format!(
                    "`{}` is not a task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)",
                    input::truncate(text, 120)
                ),
            ));
        }
        return Ok(TaskDefinitionSource::Arn(text.to_owned()));
    }
    if text == "previous" {
        return Ok(TaskDefinitionSource::Revision(RevisionRef::Previous));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(number) if number > 0 && !text.starts_with('0') => {
                Ok(TaskDefinitionSource::Revision(RevisionRef::Number(number)))
            }
            _ => Err(InputError::new(
                "task-definition",
                format!(
                    "`{}` is not a revision number (1, 2, ... without leading zeros)",
                    input::truncate(text, 40)
                ),
            )),
        };
    }
    Ok(TaskDefinitionSource::File(PathBuf::from(text)))
}

/// The strategy and its own knobs; knobs of another strategy are an error, not ignored.
fn strategy(args: &Args) -> Result<Strategy, InputError> {
    let name = input::set(args.strategy.as_deref()).unwrap_or("keep");
    let canary_percent = input::set(args.canary_percent.as_deref());
    let canary_bake = minutes("canary-bake-time", args.canary_bake_time.as_deref())?;
    let step = input::set(args.linear_step_percent.as_deref());
    let interval = minutes("linear-step-interval", args.linear_step_interval.as_deref())?;
    let strategy = match name.to_ascii_lowercase().as_str() {
        "keep" => Strategy::Keep,
        "blue-green" | "blue_green" => Strategy::BlueGreen,
        "canary" => Strategy::Canary {
            percent: step_percent("canary-percent", canary_percent.unwrap_or("10"), 0.1)?,
            bake: canary_bake.unwrap_or(Duration::from_secs(5 * 60)),
        },
        "linear" => Strategy::Linear {
            step_percent: step_percent("linear-step-percent", step.unwrap_or("20"), 3.0)?,
            interval: interval.unwrap_or(Duration::from_secs(5 * 60)),
        },
        "rolling" => Strategy::Rolling,
        _ => {
            return Err(InputError::new(
                "strategy",
                format!(
                    "`{}` is not a strategy: use `keep`, `blue-green`, `canary`, `linear` or `rolling`",
                    input::truncate(name, 40)
                ),
            ));
        }
    };
    let canary = matches!(strategy, Strategy::Canary { .. });
    let linear = matches!(strategy, Strategy::Linear { .. });
    for (given, name, wanted) in [
        (canary_percent.is_some(), "canary-percent", canary),
        (canary_bake.is_some(), "canary-bake-time", canary),
        (step.is_some(), "linear-step-percent", linear),
        (interval.is_some(), "linear-step-interval", linear),
    ] {
        if given && !wanted {
            let needs = if name.starts_with("canary") {
                "canary"
            } else {
                "linear"
            };
            return Err(InputError::new(
                name,
                format!("applies only with `strategy: {needs}`"),
            ));
        }
    }
    Ok(strategy)
}

/// A traffic-shift step as ECS takes it (the SDK model's CanaryConfiguration and
/// LinearConfiguration): a multiple of 0.1 from `min` to 100 percent; returns the percent (10.0).
fn step_percent(name: &str, text: &str, min: f64) -> Result<f64, InputError> {
    let percent = input::percent(name, text)? * 100.0;
    let tenths = (percent * 10.0).round();
    let whole_tenths = (percent * 10.0 - tenths).abs() < 1e-6;
    if !whole_tenths || tenths < (min * 10.0).round() || tenths > 1000.0 {
        return Err(InputError::new(
            name,
            format!("ECS takes a multiple of 0.1% from {min}% to 100%, e.g. `10%`"),
        ));
    }
    Ok(tenths / 10.0)
}

/// A duration that ECS takes in whole minutes.
fn minutes(name: &str, value: Option<&str>) -> Result<Option<Duration>, InputError> {
    let Some(text) = input::set(value) else {
        return Ok(None);
    };
    let duration = input::duration(name, text)?;
    let secs = duration.as_secs();
    if duration.subsec_nanos() != 0 || secs % 60 != 0 || secs / 60 > MAX_MINUTES {
        return Err(InputError::new(
            name,
            format!("ECS counts this in whole minutes: use `0m` to `{MAX_MINUTES}m`, e.g. `5m`"),
        ));
    }
    Ok(Some(duration))
}

/// A `test-*` check without `test-url` would silently do nothing: say so instead.
fn reject_orphan_test_inputs(args: &Args) -> Result<(), InputError> {
    let test = &args.test;
    let given = [
        ("test-method", &test.test_method),
        ("test-headers", &test.test_headers),
        ("test-expect-status", &test.test_expect_status),
        ("test-expect-body", &test.test_expect_body),
        ("test-expect-json", &test.test_expect_json),
        ("test-timeout", &test.test_timeout),
        ("test-wait-for", &test.test_wait_for),
        ("test-requests", &test.test_requests),
        ("test-concurrency", &test.test_concurrency),
        ("test-max-error-rate", &test.test_max_error_rate),
        ("test-max-p95", &test.test_max_p95),
        ("test-follow-redirects", &test.test_follow_redirects),
    ];
    match given
        .iter()
        .find(|(_, value)| input::set(value.as_deref()).is_some())
    {
        Some((name, _)) => Err(InputError::new(
            *name,
            "has no effect without `test-url`: set `test-url` to the test listener's URL",
        )),
        None => Ok(()),
    }
}
