use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookAction,
    DeploymentLifecycleHookStage, DeploymentLifecycleHookTargetType, DeploymentStrategy,
};
use deploy_kit_ecs_blue_green::preflight::effective_strategy;
use deploy_kit_ecs_blue_green::update::{
    deployment_configuration, is_foreign_test_pause, is_ours, pause_hook, without_our_hook,
};
use deploy_kit_ecs_blue_green::{Args, Input};
use deploy_kit_smoke_test::TestArgs;

use crate::input::args;

fn configure(args: Args, own: Option<&DeploymentConfiguration>) -> DeploymentConfiguration {
    let input = Input::from_args(&args).unwrap();
    let own_strategy = own
        .and_then(DeploymentConfiguration::strategy)
        .cloned()
        .unwrap_or(DeploymentStrategy::Rolling);
    let strategy = effective_strategy(&input.strategy, own_strategy);
    deployment_configuration(&input, &input.alarms, own, &strategy)
}

fn lambda_hook() -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::AwsLambda)
        .hook_target_arn("arn:aws:lambda:us-east-1:1:function:check")
        .role_arn("arn:aws:iam::1:role/hooks")
        .lifecycle_stages(DeploymentLifecycleHookStage::PostScaleUp)
        .build()
}

#[test]
fn keep_sends_the_services_own_configuration_unchanged() {
    let own = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(7)
        .maximum_percent(200)
        .lifecycle_hooks(lambda_hook())
        .build();
    assert_eq!(configure(args(), Some(&own)), own);
}

#[test]
fn blue_green_with_a_test_url_adds_a_pause_hook_and_keeps_the_services_hooks() {
    let own = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::Rolling)
        .lifecycle_hooks(lambda_hook())
        .build();
    let config = configure(
        Args {
            strategy: Some("blue-green".into()),
            bake_time: Some("5m".into()),
            test: TestArgs {
                test_url: Some("http://127.0.0.1:9/".into()),
                ..TestArgs::default()
            },
            timeout: Some("10m30s".into()),
            ..args()
        },
        Some(&own),
    );
    assert_eq!(config.strategy(), Some(&DeploymentStrategy::BlueGreen));
    assert_eq!(config.bake_time_in_minutes(), Some(5));
    let hooks = config.lifecycle_hooks();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0], lambda_hook());
    assert_eq!(
        hooks[1].target_type(),
        Some(&DeploymentLifecycleHookTargetType::Pause)
    );
    assert_eq!(
        hooks[1].lifecycle_stages(),
        [DeploymentLifecycleHookStage::PostTestTrafficShift]
    );
    assert!(is_ours(&hooks[1]), "marked: {:?}", hooks[1].hook_details());
    let timeout = hooks[1].timeout_configuration().unwrap();
    assert_eq!(timeout.timeout_in_minutes(), Some(11));
    assert_eq!(
        timeout.action(),
        Some(&DeploymentLifecycleHookAction::Rollback)
    );
    // no circuit breaker unless asked, for blue/green
    assert!(config.deployment_circuit_breaker().is_none());
}

#[test]
fn canary_and_linear_send_their_configuration() {
    let config = configure(
        Args {
            strategy: Some("canary".into()),
            canary_percent: Some("5%".into()),
            canary_bake_time: Some("3m".into()),
            ..args()
        },
        None,
    );
    assert_eq!(config.strategy(), Some(&DeploymentStrategy::Canary));
    let canary = config.canary_configuration().unwrap();
    assert_eq!(canary.canary_percent(), Some(5.0));
    assert_eq!(canary.canary_bake_time_in_minutes(), Some(3));

    let config = configure(
        Args {
            strategy: Some("linear".into()),
            linear_step_percent: Some("25%".into()),
            linear_step_interval: Some("2m".into()),
            ..args()
        },
        None,
    );
    assert_eq!(config.strategy(), Some(&DeploymentStrategy::Linear));
    let linear = config.linear_configuration().unwrap();
    assert_eq!(linear.step_percent(), Some(25.0));
    assert_eq!(linear.step_bake_time_in_minutes(), Some(2));
}

#[test]
fn rolling_turns_the_circuit_breaker_on_unless_told_not_to_and_sends_alarms() {
    let config = configure(
        Args {
            strategy: Some("rolling".into()),
            alarms: Some("api-5xx\n\napi-latency\n".into()),
            ..args()
        },
        None,
    );
    let breaker = config.deployment_circuit_breaker().unwrap();
    assert!(breaker.enable() && breaker.rollback());
    let alarms = config.alarms().unwrap();
    assert_eq!(alarms.alarm_names(), ["api-5xx", "api-latency"]);
    assert!(alarms.enable() && alarms.rollback());

    let config = configure(
        Args {
            strategy: Some("rolling".into()),
            circuit_breaker: Some("false".into()),
            ..args()
        },
        None,
    );
    assert!(!config.deployment_circuit_breaker().unwrap().enable());
}

fn user_pause(stage: DeploymentLifecycleHookStage) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(stage)
        .build()
}

fn gated() -> Args {
    Args {
        test: TestArgs {
            test_url: Some("http://127.0.0.1:9/".into()),
            ..TestArgs::default()
        },
        ..args()
    }
}

/// Our hook is recognised by its marker only: the service's own PAUSE hooks, even one shaped
/// like ours, are not ours.
#[test]
fn only_the_marked_hook_is_ours() {
    let ours = pause_hook(std::time::Duration::from_secs(600));
    assert!(is_ours(&ours));
    assert!(!is_foreign_test_pause(&ours));
    let theirs = user_pause(DeploymentLifecycleHookStage::PostTestTrafficShift);
    assert!(!is_ours(&theirs));
    assert!(is_foreign_test_pause(&theirs));
    assert!(!is_ours(&lambda_hook()));
    assert!(!is_foreign_test_pause(&user_pause(
        DeploymentLifecycleHookStage::PostScaleUp
    )));
}

/// A deployment without `test-url` takes out a hook of ours left behind (a runner that died)
/// and sends the service's own hooks back unchanged, in their order.
#[test]
fn a_deployment_without_test_url_takes_a_leftover_hook_of_ours_out() {
    let own = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(0)
        .lifecycle_hooks(lambda_hook())
        .lifecycle_hooks(pause_hook(std::time::Duration::from_secs(600)))
        .lifecycle_hooks(user_pause(DeploymentLifecycleHookStage::PostScaleUp))
        .build();
    let config = configure(args(), Some(&own));
    assert_eq!(
        config.lifecycle_hooks(),
        [
            lambda_hook(),
            user_pause(DeploymentLifecycleHookStage::PostScaleUp)
        ]
    );
    // Only ours there: an empty list is sent, which clears it (a missing one would keep it).
    let only_ours = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .lifecycle_hooks(pause_hook(std::time::Duration::from_secs(600)))
        .build();
    assert_eq!(
        configure(args(), Some(&only_ours)).lifecycle_hooks,
        Some(Vec::new())
    );
    // None at all: the field stays out of the request.
    let none = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .build();
    assert_eq!(configure(args(), Some(&none)).lifecycle_hooks, None);
}

/// A gated deployment after one that left its hook behind sends ours once, not twice.
#[test]
fn a_gated_deployment_sends_exactly_one_hook_of_ours() {
    let own = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .lifecycle_hooks(pause_hook(std::time::Duration::from_secs(60)))
        .lifecycle_hooks(user_pause(DeploymentLifecycleHookStage::PostScaleUp))
        .build();
    let config = configure(gated(), Some(&own));
    let ours: Vec<_> = config
        .lifecycle_hooks()
        .iter()
        .filter(|h| is_ours(h))
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(config.lifecycle_hooks().len(), 2);
    assert_eq!(
        config.lifecycle_hooks()[0],
        user_pause(DeploymentLifecycleHookStage::PostScaleUp)
    );
}

#[test]
fn the_clean_up_takes_out_only_our_hook() {
    let own = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(3)
        .lifecycle_hooks(lambda_hook())
        .lifecycle_hooks(pause_hook(std::time::Duration::from_secs(60)))
        .build();
    let cleaned = without_our_hook(&own).unwrap();
    assert_eq!(cleaned.lifecycle_hooks(), [lambda_hook()]);
    assert_eq!(cleaned.bake_time_in_minutes(), Some(3));
    assert_eq!(
        without_our_hook(&cleaned),
        None,
        "nothing of ours: nothing to send"
    );
}
