//! The typed input: every `Args` field parsed and checked before any AWS call.

use std::time::Duration;

use aws_sdk_ecs::types::PropagateTags;
use deploy_kit_ecs::{ServiceRef, TaskDefinition};
use deploy_kit_gha::input::{self, InputError};
use deploy_kit_smoke_test::{Checks, TEST_PREFIX};

use crate::Args;

/// How long the deployment is followed when `timeout` is empty.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

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
    pub service: ServiceRef,
    /// What to deploy; a file is read and checked when parsed.
    pub task_definition: TaskDefinition,
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
}

/// ECS takes bake times in whole minutes, up to 1440.
const MAX_MINUTES: u64 = 1440;

impl Input {
    /// Every input checked, the task definition file last (read and checked against the ECS
    /// model), before any AWS call.
    pub fn from_args(args: &Args) -> Result<Self, InputError> {
        let service = ServiceRef::from_inputs(args.cluster.as_deref(), args.service.as_deref())?;
        let strategy = strategy(args)?;
        let bake_time = minutes("bake-time", args.bake_time.as_deref())?;
        if bake_time.is_some() && strategy == Strategy::Rolling {
            return Err(InputError::new(
                "bake-time",
                "applies to blue-green, canary and linear, not to `rolling`",
            ));
        }
        let test_checks = test_checks(args, &strategy)?;
        let timeout = timeout(args.timeout.as_deref())?;
        let wait = input::flag("wait", args.wait.as_deref(), true)?;
        if test_checks.is_some() && !wait {
            return Err(InputError::new(
                "wait",
                "`false` with `test-url` leaves the deployment paused with nobody to run the smoke checks and answer it: remove one of them",
            ));
        }
        Ok(Self {
            service,
            strategy,
            bake_time,
            alarms: input::set(args.alarms.as_deref())
                .map(|text| input::lines(text).into_iter().map(str::to_owned).collect())
                .unwrap_or_default(),
            circuit_breaker: optional_bool("circuit-breaker", args.circuit_breaker.as_deref())?,
            test_checks,
            desired_count: input::set(args.desired_count.as_deref())
                .map(|text| input::number("desired-count", text, 0..=5000))
                .transpose()?
                .and_then(|count| i32::try_from(count).ok()),
            force_new_deployment: input::flag(
                "force-new-deployment",
                args.force_new_deployment.as_deref(),
                false,
            )?,
            enable_ecs_managed_tags: optional_bool(
                "enable-ecs-managed-tags",
                args.enable_ecs_managed_tags.as_deref(),
            )?,
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
            task_definition: TaskDefinition::for_deploy(args.task_definition.as_deref())?,
        })
    }
}

/// The smoke checks of the test listener, with `test-url`; without it, any other `test-*` input
/// is an error (it would do nothing).
fn test_checks(args: &Args, strategy: &Strategy) -> Result<Option<Checks>, InputError> {
    let Some(smoke) = args.test.to_args() else {
        return match args.test.set_checks().first() {
            Some(name) => Err(InputError::new(
                name,
                "has no effect without `test-url`: set `test-url` to the test listener's URL",
            )),
            None => Ok(None),
        };
    };
    if *strategy == Strategy::Rolling {
        return Err(InputError::new(
            "test-url",
            "needs a test listener, which `rolling` does not have: use `blue-green`, `canary` or `linear`",
        ));
    }
    Ok(Some(Checks::from_args(&smoke, TEST_PREFIX)?))
}

/// `timeout`, [`DEFAULT_TIMEOUT`] when empty. With `test-url` it is also the PAUSE hook's
/// timeout, which ECS caps at 20160 minutes (14 days); the duration parser already refuses
/// anything over 10 days.
fn timeout(text: Option<&str>) -> Result<Duration, InputError> {
    let timeout = match input::set(text) {
        Some(text) => input::duration("timeout", text)?,
        None => DEFAULT_TIMEOUT,
    };
    if timeout.is_zero() {
        return Err(InputError::new("timeout", "must be longer than 0s"));
    }
    Ok(timeout)
}

/// `true`, `false`, or empty: `None` leaves the service's setting alone.
fn optional_bool(name: &str, text: Option<&str>) -> Result<Option<bool>, InputError> {
    input::set(text)
        .map(|text| input::boolean(name, text))
        .transpose()
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
