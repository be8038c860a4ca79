use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::list_service_deployments::ListServiceDeploymentsOutput;
use aws_sdk_ecs::types::{
    AdvancedConfiguration, DeploymentConfiguration, DeploymentController, DeploymentControllerType,
    DeploymentStrategy, Failure, LoadBalancer, Service, ServiceDeploymentBrief,
    ServiceDeploymentStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_ecs_blue_green::{Args, Error, Input, Refusal, preflight};
use deploy_kit_gha::{Classify, Exit};
use deploy_kit_smoke_test::TestArgs;

use crate::input::args;

const TG_ALT: &str = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/green/2";

fn complete_advanced() -> AdvancedConfiguration {
    AdvancedConfiguration::builder()
        .alternate_target_group_arn(TG_ALT)
        .production_listener_rule(
            "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/prod/1",
        )
        .test_listener_rule("arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/test/2")
        .role_arn("arn:aws:iam::1:role/ecs-infra")
        .build()
}

fn service(
    strategy: DeploymentStrategy,
    controller: DeploymentControllerType,
    advanced: Option<AdvancedConfiguration>,
) -> Service {
    let mut lb = LoadBalancer::builder()
        .target_group_arn("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/1")
        .container_name("web")
        .container_port(8080);
    if let Some(advanced) = advanced {
        lb = lb.advanced_configuration(advanced);
    }
    Service::builder()
        .service_name("api")
        .service_arn("arn:aws:ecs:us-east-1:1:service/prod/api")
        .status("ACTIVE")
        .task_definition("arn:aws:ecs:us-east-1:1:task-definition/api:7")
        .deployment_controller(
            DeploymentController::builder()
                .r#type(controller)
                .build()
                .unwrap(),
        )
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .strategy(strategy)
                .bake_time_in_minutes(0)
                .build(),
        )
        .load_balancers(lb.build())
        .build()
}

fn input(args: Args) -> Input {
    Input::from_args(&Args {
        cluster: Some("prod".into()),
        ..args
    })
    .unwrap()
}

/// Runs the pre-flight against one DescribeServices answer and, when asked, one
/// ListServiceDeployments answer; returns the result and whether ListServiceDeployments ran.
async fn preflight_with(
    described: DescribeServicesOutput,
    deployments: Vec<ServiceDeploymentBrief>,
    input: &Input,
) -> (Result<preflight::Service, Error>, usize) {
    let describe = mock!(Client::describe_services)
        .match_requests(|r| r.cluster() == Some("prod") && r.services() == ["api"])
        .then_output(move || described.clone());
    let list = mock!(Client::list_service_deployments)
        .match_requests(|r| {
            r.cluster() == Some("prod")
                && r.service() == Some("api")
                && r.status().contains(&ServiceDeploymentStatus::InProgress)
        })
        .then_output(move || {
            ListServiceDeploymentsOutput::builder()
                .set_service_deployments(Some(deployments.clone()))
                .build()
        });
    let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe, &list]);
    let result = preflight::check(&client, input).await;
    assert_eq!(describe.num_calls(), 1);
    (result, list.num_calls())
}

fn described(service: Service) -> DescribeServicesOutput {
    DescribeServicesOutput::builder().services(service).build()
}

fn refusal(result: Result<preflight::Service, Error>) -> Refusal {
    match result {
        Err(Error::Refused(refusal)) => {
            assert_eq!(Error::Refused(refusal.clone()).exit(), Exit::BadInput);
            refusal
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_ready_blue_green_service_passes_and_keep_uses_its_own_strategy() {
    let svc = service(
        DeploymentStrategy::BlueGreen,
        DeploymentControllerType::Ecs,
        Some(complete_advanced()),
    );
    let (result, listed) = preflight_with(described(svc), vec![], &input(args())).await;
    let service = result.unwrap();
    assert_eq!(listed, 1);
    assert_eq!(service.strategy, DeploymentStrategy::BlueGreen);
    assert_eq!(
        service.task_definition.as_deref(),
        Some("arn:aws:ecs:us-east-1:1:task-definition/api:7")
    );
}

#[tokio::test]
async fn code_deploy_is_refused_naming_the_controller_and_what_to_do() {
    let svc = service(
        DeploymentStrategy::Rolling,
        DeploymentControllerType::CodeDeploy,
        None,
    );
    let (result, listed) = preflight_with(described(svc), vec![], &input(args())).await;
    let message = refusal(result).to_string();
    assert_eq!(listed, 0, "nothing else is asked once refused");
    assert!(
        message.starts_with(
            "service `api` in cluster `prod` uses the CODE_DEPLOY deployment controller"
        ),
        "{message}"
    );
    assert!(
        message.contains("deploymentController: {type: ECS}"),
        "{message}"
    );
}

#[tokio::test]
async fn external_and_future_controllers_are_refused_by_name() {
    for (controller, name) in [
        (DeploymentControllerType::External, "EXTERNAL"),
        (DeploymentControllerType::from("QUANTUM"), "QUANTUM"),
    ] {
        let svc = service(DeploymentStrategy::Rolling, controller, None);
        let (result, _) = preflight_with(described(svc), vec![], &input(args())).await;
        let message = refusal(result).to_string();
        assert!(
            message.contains(&format!("uses the {name} deployment controller")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn an_in_flight_deployment_is_named_with_its_arn() {
    let arn = "arn:aws:ecs:us-east-1:1:service-deployment/prod/api/abc123";
    let svc = service(
        DeploymentStrategy::Rolling,
        DeploymentControllerType::Ecs,
        None,
    );
    let brief = ServiceDeploymentBrief::builder()
        .service_deployment_arn(arn)
        .status(ServiceDeploymentStatus::InProgress)
        .build();
    let (result, listed) = preflight_with(described(svc), vec![brief], &input(args())).await;
    assert_eq!(listed, 1);
    let refusal = refusal(result);
    assert_eq!(
        refusal,
        Refusal::InFlight {
            cluster: "prod".into(),
            service: "api".into(),
            arn: arn.into(),
            status: "IN_PROGRESS".into(),
        }
    );
    assert!(
        refusal
            .to_string()
            .contains("stop-service-deployment --service-deployment-arn")
    );
}

#[tokio::test]
async fn missing_advanced_configuration_fields_are_named_exactly() {
    let partial = AdvancedConfiguration::builder()
        .alternate_target_group_arn(TG_ALT)
        .build();
    let svc = service(
        DeploymentStrategy::Rolling,
        DeploymentControllerType::Ecs,
        Some(partial),
    );
    let asked = input(Args {
        strategy: Some("canary".into()),
        test: TestArgs {
            test_url: Some("http://127.0.0.1:9/".into()),
            ..TestArgs::default()
        },
        ..args()
    });
    let (result, listed) = preflight_with(described(svc), vec![], &asked).await;
    assert_eq!(listed, 0);
    let refusal = refusal(result);
    let Refusal::AdvancedConfiguration {
        missing, strategy, ..
    } = &refusal
    else {
        panic!("{refusal:?}");
    };
    assert_eq!(strategy, "CANARY");
    assert_eq!(
        missing,
        &[
            "`loadBalancers[0].advancedConfiguration.productionListenerRule`",
            "`loadBalancers[0].advancedConfiguration.roleArn`",
            "`loadBalancers[0].advancedConfiguration.testListenerRule`",
        ]
    );
}

#[tokio::test]
async fn blue_green_without_any_advanced_configuration_says_so() {
    let svc = service(
        DeploymentStrategy::Rolling,
        DeploymentControllerType::Ecs,
        None,
    );
    let asked = input(Args {
        strategy: Some("blue-green".into()),
        ..args()
    });
    let (result, _) = preflight_with(described(svc), vec![], &asked).await;
    let message = refusal(result).to_string();
    assert_eq!(
        message,
        "service `api` in cluster `prod`: BLUE_GREEN needs `loadBalancers[].advancedConfiguration`, which lacks `loadBalancers[0].advancedConfiguration`"
    );
}

#[tokio::test]
async fn rolling_needs_no_advanced_configuration() {
    let svc = service(
        DeploymentStrategy::BlueGreen,
        DeploymentControllerType::Ecs,
        None,
    );
    let asked = input(Args {
        strategy: Some("rolling".into()),
        ..args()
    });
    let (result, _) = preflight_with(described(svc), vec![], &asked).await;
    assert_eq!(result.unwrap().strategy, DeploymentStrategy::Rolling);
}

#[tokio::test]
async fn an_inactive_service_is_refused() {
    let svc = Service::builder()
        .service_name("api")
        .status("DRAINING")
        .build();
    let (result, _) = preflight_with(described(svc), vec![], &input(args())).await;
    assert_eq!(
        refusal(result).to_string(),
        "service `api` in cluster `prod` is DRAINING, not ACTIVE: deploy to an active service"
    );
}

#[tokio::test]
async fn a_missing_service_is_refused_with_the_reason_ecs_gave() {
    let out = DescribeServicesOutput::builder()
        .failures(
            Failure::builder()
                .arn("arn:aws:ecs:us-east-1:1:service/prod/api")
                .reason("MISSING")
                .build(),
        )
        .build();
    let (result, _) = preflight_with(out, vec![], &input(args())).await;
    assert_eq!(
        refusal(result).to_string(),
        "service `api` not found in cluster `prod` (MISSING): check `cluster` and `service`"
    );
}

#[tokio::test]
async fn a_future_strategy_kept_from_the_service_is_refused() {
    let svc = service(
        DeploymentStrategy::from("SPIRAL"),
        DeploymentControllerType::Ecs,
        Some(complete_advanced()),
    );
    let (result, _) = preflight_with(described(svc), vec![], &input(args())).await;
    let message = refusal(result).to_string();
    assert!(
        message.contains("(`SPIRAL`): set `strategy` explicitly"),
        "{message}"
    );
}

#[tokio::test]
async fn test_url_on_a_service_that_keeps_rolling_is_refused_before_any_write() {
    let svc = service(
        DeploymentStrategy::Rolling,
        DeploymentControllerType::Ecs,
        None,
    );
    let asked = input(Args {
        test: TestArgs {
            test_url: Some("http://127.0.0.1:9/".into()),
            ..TestArgs::default()
        },
        ..args()
    });
    let (result, listed) = preflight_with(described(svc), vec![], &asked).await;
    assert_eq!(
        listed, 0,
        "refused before looking for deployments in flight"
    );
    let refusal = refusal(result);
    assert_eq!(
        refusal,
        Refusal::TestUrlOnRolling {
            cluster: "prod".into(),
            service: "api".into(),
        }
    );
    assert!(refusal.to_string().contains("remove `test-url`"));
}

fn with_config(mut svc: Service, config: DeploymentConfiguration) -> Service {
    svc.deployment_configuration = Some(config);
    svc
}

/// ECS requires `bakeTimeInMinutes` for BLUE_GREEN (SDK model): neither the service nor the
/// input has one, so the input is named before anything is registered.
#[tokio::test]
async fn blue_green_without_any_bake_time_names_the_input() {
    let svc = with_config(
        service(
            DeploymentStrategy::Rolling,
            DeploymentControllerType::Ecs,
            Some(complete_advanced()),
        ),
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Rolling)
            .build(),
    );
    let asked = input(Args {
        strategy: Some("blue-green".into()),
        ..args()
    });
    let (result, listed) = preflight_with(described(svc.clone()), vec![], &asked).await;
    let message = refusal(result).to_string();
    assert_eq!(listed, 0);
    assert!(
        message.starts_with("input `bake-time`: service `api`"),
        "{message}"
    );
    let with_bake = input(Args {
        strategy: Some("blue-green".into()),
        bake_time: Some("0m".into()),
        ..args()
    });
    let (result, _) = preflight_with(described(svc), vec![], &with_bake).await;
    assert_eq!(result.unwrap().strategy, DeploymentStrategy::BlueGreen);
}

/// The service's own PAUSE hook where `test-url` puts ours: refused; the same hook without
/// `test-url`, or at another stage, passes (the action will only wait on it).
#[tokio::test]
async fn the_services_own_pause_at_post_test_traffic_shift_refuses_test_url() {
    use aws_sdk_ecs::types::{
        DeploymentLifecycleHook, DeploymentLifecycleHookStage, DeploymentLifecycleHookTargetType,
    };
    let pause = |stage| {
        DeploymentLifecycleHook::builder()
            .target_type(DeploymentLifecycleHookTargetType::Pause)
            .lifecycle_stages(stage)
            .build()
    };
    let svc = |stage| {
        with_config(
            service(
                DeploymentStrategy::BlueGreen,
                DeploymentControllerType::Ecs,
                Some(complete_advanced()),
            ),
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .bake_time_in_minutes(0)
                .lifecycle_hooks(deploy_kit_ecs_blue_green::update::pause_hook(
                    std::time::Duration::from_secs(60),
                ))
                .lifecycle_hooks(pause(stage))
                .build(),
        )
    };
    let gated = input(Args {
        test: TestArgs {
            test_url: Some("http://127.0.0.1:9/".into()),
            ..TestArgs::default()
        },
        ..args()
    });
    let post_test = DeploymentLifecycleHookStage::PostTestTrafficShift;
    let (result, _) = preflight_with(described(svc(post_test.clone())), vec![], &gated).await;
    let refused = refusal(result);
    assert_eq!(
        refused,
        Refusal::ForeignTestPause {
            cluster: "prod".into(),
            service: "api".into(),
            index: 1
        }
    );
    assert!(
        refused.to_string().contains("Remove `test-url`"),
        "{refused}"
    );
    let (result, _) = preflight_with(described(svc(post_test)), vec![], &input(args())).await;
    assert!(result.is_ok(), "without test-url: {result:?}");
    let post_scale_up = DeploymentLifecycleHookStage::PostScaleUp;
    let (result, _) = preflight_with(described(svc(post_scale_up)), vec![], &gated).await;
    assert!(result.is_ok(), "another stage: {result:?}");
}
