//! The deployment configuration the `UpdateService` call sends: the service's own, with what the
//! inputs ask for laid over it (strategy, bake times, alarms, circuit breaker, the PAUSE hook).
//! Pure: the request is built here and sent by the caller.
//!
//! Ownership (the rule in ecs-blue-green/README.md): our PAUSE hook is the one whose
//! `hookDetails` carry [`MARKER`]. It is sent only on a deployment with `test-url` and taken out
//! again when that deployment ends; any other deployment by this action takes out one left
//! behind (a runner that died). Every other hook of the service is sent back as it was.

use std::time::Duration;

use aws_sdk_ecs::types::{
    CanaryConfiguration, DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentLifecycleHook, DeploymentLifecycleHookAction, DeploymentLifecycleHookStage,
    DeploymentLifecycleHookTargetType, DeploymentLifecycleHookTimeoutConfiguration,
    DeploymentStrategy, LinearConfiguration,
};

use aws_smithy_types::Document;

use crate::input::{Input, Strategy};

/// The `hookDetails` key (and value) that marks the PAUSE hook this action added. ECS stores a
/// hook's `hookDetails` with the service and does not use it for PAUSE hooks.
pub const MARKER: (&str, &str) = ("managedBy", "deploy-kit/ecs-blue-green");

/// The service's configuration with the inputs applied. `strategy` is the one
/// [`crate::preflight::effective_strategy`] chose.
pub fn deployment_configuration(
    input: &Input,
    alarms_sent: &[String],
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
    if !alarms_sent.is_empty() {
        config.alarms = alarms(alarms_sent);
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
    config.lifecycle_hooks = hooks(own, input);
    config
}

/// The service's own hooks, without ours; ours added back when `test-url` asks for it. `None`
/// when the service had none and none is needed (the request then leaves the field out).
fn hooks(
    own: Option<&DeploymentConfiguration>,
    input: &Input,
) -> Option<Vec<DeploymentLifecycleHook>> {
    let had_list = own.is_some_and(|c| c.lifecycle_hooks.is_some());
    let mut hooks: Vec<DeploymentLifecycleHook> = own
        .map(DeploymentConfiguration::lifecycle_hooks)
        .unwrap_or_default()
        .iter()
        .filter(|hook| !is_ours(hook))
        .cloned()
        .collect();
    if input.test_checks.is_some() {
        hooks.push(pause_hook(input.timeout));
    }
    // An empty list clears what the service has (ours, left behind); no list keeps it.
    (had_list || !hooks.is_empty()).then_some(hooks)
}

/// The service's configuration with our PAUSE hook taken out, or `None` when it has none of
/// ours (nothing to send).
pub fn without_our_hook(own: &DeploymentConfiguration) -> Option<DeploymentConfiguration> {
    if !own.lifecycle_hooks().iter().any(is_ours) {
        return None;
    }
    let mut config = own.clone();
    config.lifecycle_hooks = Some(
        own.lifecycle_hooks()
            .iter()
            .filter(|hook| !is_ours(hook))
            .cloned()
            .collect(),
    );
    Some(config)
}

/// Whether `hook` is the PAUSE hook this action added: it carries [`MARKER`].
pub fn is_ours(hook: &DeploymentLifecycleHook) -> bool {
    let Some(Document::Object(details)) = hook.hook_details() else {
        return false;
    };
    matches!(details.get(MARKER.0), Some(Document::String(value)) if value == MARKER.1)
}

/// A hook of the service's own that would stand where ours does: PAUSE at
/// POST_TEST_TRAFFIC_SHIFT without our marker. With `test-url` it is refused at pre-flight:
/// the deployment would wait on both, and which one a paused deployment waits on is not told.
pub fn is_foreign_test_pause(hook: &DeploymentLifecycleHook) -> bool {
    hook.target_type() == Some(&DeploymentLifecycleHookTargetType::Pause)
        && hook
            .lifecycle_stages()
            .contains(&DeploymentLifecycleHookStage::PostTestTrafficShift)
        && !is_ours(hook)
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
        .hook_details(Document::Object(
            [(MARKER.0.to_owned(), Document::String(MARKER.1.to_owned()))].into(),
        ))
        .timeout_configuration(
            DeploymentLifecycleHookTimeoutConfiguration::builder()
                .timeout_in_minutes(minutes_up(timeout).max(1))
                .action(DeploymentLifecycleHookAction::Rollback)
                .build(),
        )
        .build()
}

/// Input durations given to ECS were validated as whole minutes up to 1440 (the PAUSE hook's
/// timeout up to 20160).
fn minutes(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs() / 60).unwrap_or(i32::MAX)
}

fn minutes_up(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs().div_ceil(60)).unwrap_or(i32::MAX)
}
