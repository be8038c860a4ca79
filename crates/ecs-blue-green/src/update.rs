//! The deployment configuration the `UpdateService` call sends: the service's own, with what the
//! inputs ask for laid over it (strategy, bake times, alarms, circuit breaker, the PAUSE hook).
//! Pure: the request is built here and sent by the caller.

use std::time::Duration;

use aws_sdk_ecs::types::{
    CanaryConfiguration, DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentLifecycleHook, DeploymentLifecycleHookAction, DeploymentLifecycleHookStage,
    DeploymentLifecycleHookTargetType, DeploymentLifecycleHookTimeoutConfiguration,
    DeploymentStrategy, LinearConfiguration,
};

use crate::input::{Input, Strategy};

/// The service's configuration with the inputs applied. `strategy` is the one
/// [`crate::preflight::effective_strategy`] chose.
pub fn deployment_configuration(
    input: &Input,
    own: Option<&DeploymentConfiguration>,
    strategy: &DeploymentStrategy,
) -> DeploymentConfiguration {
    let mut config = own
        .cloned()
        .unwrap_or_else(|| DeploymentConfiguration::builder().build());
    config.strategy = Some(strategy.clone());
    if let Some(bake) = input.bake_time {
        config.bake_time_in_minutes = Some(minutes(bake));
    }
    match &input.strategy {
        Strategy::Canary { percent, bake } => {
            config.canary_configuration = Some(
                CanaryConfiguration::builder()
                    .canary_percent(*percent)
                    .canary_bake_time_in_minutes(minutes(*bake))
                    .build(),
            );
        }
        Strategy::Linear {
            step_percent,
            interval,
        } => {
            config.linear_configuration = Some(
                LinearConfiguration::builder()
                    .step_percent(*step_percent)
                    .step_bake_time_in_minutes(minutes(*interval))
                    .build(),
            );
        }
        Strategy::Keep | Strategy::BlueGreen | Strategy::Rolling => {}
    }
    if !input.alarms.is_empty() {
        config.alarms = alarms(&input.alarms);
    }
    let breaker = input
        .circuit_breaker
        .or((*strategy == DeploymentStrategy::Rolling).then_some(true));
    if let Some(enable) = breaker {
        config.deployment_circuit_breaker = Some(
            DeploymentCircuitBreaker::builder()
                .enable(enable)
                .rollback(enable)
                .build(),
        );
    }
    if input.test_checks.is_some() {
        let hooks = config.lifecycle_hooks.get_or_insert_with(Vec::new);
        if !hooks.iter().any(is_our_pause) {
            hooks.push(pause_hook(input.timeout));
        }
    }
    config
}

/// Alarms roll back when they fire. `build` fails only on a missing required field, and all
/// three are set, so `None` cannot happen with this SDK.
fn alarms(names: &[String]) -> Option<DeploymentAlarms> {
    DeploymentAlarms::builder()
        .enable(true)
        .rollback(true)
        .set_alarm_names(Some(names.to_vec()))
        .build()
        .ok()
}

/// The PAUSE hook the smoke checks answer. Its own timeout rolls back, so a runner that dies
/// while the deployment is paused still leaves the service on the old revision.
pub fn pause_hook(timeout: Duration) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(DeploymentLifecycleHookStage::PostTestTrafficShift)
        .timeout_configuration(
            DeploymentLifecycleHookTimeoutConfiguration::builder()
                .timeout_in_minutes(minutes_up(timeout).max(1))
                .action(DeploymentLifecycleHookAction::Rollback)
                .build(),
        )
        .build()
}

fn is_our_pause(hook: &DeploymentLifecycleHook) -> bool {
    hook.target_type() == Some(&DeploymentLifecycleHookTargetType::Pause)
        && hook
            .lifecycle_stages()
            .contains(&DeploymentLifecycleHookStage::PostTestTrafficShift)
}

/// Input durations given to ECS were validated as whole minutes up to 1440.
fn minutes(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs() / 60).unwrap_or(i32::MAX)
}

fn minutes_up(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs().div_ceil(60)).unwrap_or(i32::MAX)
}
