use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookAction,
    DeploymentLifecycleHookStage, DeploymentLifecycleHookTargetType, DeploymentStrategy,
};
use deploy_kit_ecs_blue_green::preflight::effective_strategy;
use deploy_kit_ecs_blue_green::update::deployment_configuration;
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
    deployment_configuration(&input, own, &strategy)
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
