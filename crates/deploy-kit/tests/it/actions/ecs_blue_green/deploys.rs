//! ecs-blue-green deploys on the bed: each strategy to SUCCESSFUL, the rollbacks (circuit
//! breaker, alarm, Lambda hook, failing smoke checks, timeout), and `wait: false`.

use super::*;

#[tokio::test]
async fn blue_green_with_passing_smoke_checks_succeeds_through_every_stage() {
    let f = fixture().await;
    let blue = f
        .service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let file = f.task_file("api", "app:2", None);
    let url = http_server(200);
    crate::contract::iam::reset(&f.bed);
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("test-url", &url),
        ("test-requests", "3"),
        ("enable-ecs-managed-tags", "true"),
        ("propagate-tags", "TASK_DEFINITION"),
    ]);
    run.assert_code(0);
    let calls = crate::contract::iam::assert_allowed(&f.bed, "ecs-blue-green");
    assert!(
        calls.iter().any(|c| c == "ecs:ContinueServiceDeployment"),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| c == "ecs:TagResource"),
        "registering the tagged file needs ecs:TagResource: {calls:?}"
    );
    assert_eq!(run.output("status"), "SUCCESSFUL");
    assert_eq!(run.output("previous-task-definition-arn"), blue);
    let green = run.output("task-definition-arn");
    assert!(green.ends_with("task-definition/api:2"), "{green}");
    assert_eq!(
        f.tags(green).await,
        [("team".to_owned(), "payments".to_owned())],
        "the file's tags are on the revision"
    );
    // aws-actions' tag options, sent with UpdateService and kept by the service.
    let service = f.describe_service("api").await;
    assert!(service.enable_ecs_managed_tags(), "{service:?}");
    assert_eq!(
        service.propagate_tags(),
        Some(&aws_sdk_ecs::types::PropagateTags::TaskDefinition)
    );
    assert_eq!(f.running_task_definition("api").await, green);
    assert!(
        stages_in_order(
            &run.stderr,
            &[
                "SCALE_UP",
                "TEST_TRAFFIC_SHIFT",
                "POST_TEST_TRAFFIC_SHIFT",
                "PRODUCTION_TRAFFIC_SHIFT",
                "CLEAN_UP"
            ]
        ),
        "{}",
        run.stderr
    );
    run.assert_logged("hook PAUSE AWAITING_ACTION")
        .assert_logged("smoke checks passed")
        .assert_logged("event: "); // service events are printed
    assert!(run.summary.contains("```mermaid\ngantt"), "{}", run.summary);
    assert!(
        run.summary.contains("DescribeServiceDeployments"),
        "{}",
        run.summary
    );
    assert!(
        run.output("console-url")
            .contains("/services/api/deployments")
    );
}

#[tokio::test]
async fn canary_linear_and_rolling_each_reach_successful() {
    let f = fixture().await;
    let cases: [(&str, DeploymentStrategy, Inputs, &[&str]); 3] = [
        (
            "canary",
            DeploymentStrategy::BlueGreen,
            &[
                ("strategy", "canary"),
                ("canary-percent", "20%"),
                ("canary-bake-time", "0m"),
            ],
            &["SCALE_UP", "PRODUCTION_TRAFFIC_SHIFT", "CLEAN_UP"],
        ),
        (
            "linear",
            DeploymentStrategy::BlueGreen,
            &[
                ("strategy", "linear"),
                ("linear-step-percent", "50%"),
                ("linear-step-interval", "0m"),
            ],
            &["SCALE_UP", "PRODUCTION_TRAFFIC_SHIFT", "CLEAN_UP"],
        ),
        (
            // ROLLING reports no lifecycle stage.
            "rolling",
            DeploymentStrategy::Rolling,
            &[("strategy", "rolling")],
            &["(none)"],
        ),
    ];
    for (name, own, inputs, stages) in cases {
        f.service(name, Spec::new(own)).await;
        let file = f.task_file(name, "app:2", None);
        let mut all = vec![("service", name), ("task-definition", file.as_str())];
        all.extend_from_slice(inputs);
        let run = f.run(&all);
        assert_eq!(run.code, Some(0), "{name}: {}", run.stderr);
        assert_eq!(run.output("status"), "SUCCESSFUL", "{name}");
        assert!(
            stages_in_order(&run.stderr, stages),
            "{name}: {}",
            run.stderr
        );
        let strategy = if name == "rolling" {
            "ROLLING"
        } else {
            &name.to_uppercase()
        };
        assert!(
            run.summary.contains(&format!("`{strategy}`")),
            "{name}: {}",
            run.summary
        );
    }
}

#[tokio::test]
async fn failures_roll_back_and_say_why() {
    let f = fixture().await;
    let lambda = DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::AwsLambda)
        .hook_target_arn("arn:aws:lambda:us-east-1:123456789012:function:check")
        .role_arn("arn:aws:iam::123456789012:role/hooks")
        .lifecycle_stages(DeploymentLifecycleHookStage::PostScaleUp)
        .build();
    let cases: [(&str, Spec, Option<&str>, Inputs, &str); 3] = [
        (
            "breaker",
            Spec::new(DeploymentStrategy::Rolling),
            Some("failing-health-check"),
            &[("circuit-breaker", "true")],
            "circuit breaker tripped",
        ),
        (
            "alarmed",
            Spec::new(DeploymentStrategy::BlueGreen),
            Some(r#"{"alarm": "api-5xx"}"#),
            &[("alarms", "api-5xx"), ("bake-time", "1m")],
            "CloudWatch alarm api-5xx went into ALARM",
        ),
        (
            "hooked",
            Spec {
                hooks: vec![lambda],
                ..Spec::new(DeploymentStrategy::BlueGreen)
            },
            Some("hook-fails"),
            &[],
            "function:check (AWS_LAMBDA) FAILED",
        ),
    ];
    for (name, spec, scenario, inputs, why) in cases {
        let blue = f.service(name, spec).await;
        let file = f.task_file(name, "app:2", scenario);
        let mut all = vec![("service", name), ("task-definition", file.as_str())];
        all.extend_from_slice(inputs);
        let run = f.run(&all);
        assert_eq!(run.code, Some(1), "{name}: {}", run.stderr);
        assert_eq!(run.output("status"), "ROLLBACK_SUCCESSFUL", "{name}");
        assert!(
            run.stderr.contains(why),
            "{name}: wanted {why:?} in {}",
            run.stderr
        );
        assert!(run.summary.contains(why), "{name}: {}", run.summary);
        assert_eq!(f.running_task_definition(name).await, blue, "{name}");
    }
}

#[tokio::test]
async fn failing_smoke_checks_roll_back_before_production_traffic_moves() {
    let f = fixture().await;
    let blue = f
        .service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let file = f.task_file("api", "app:2", None);
    let url = http_server(500);
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("test-url", &url),
        ("test-wait-for", "1s"),
    ]);
    run.assert_code(1);
    assert_eq!(run.output("status"), "ROLLBACK_SUCCESSFUL");
    assert!(
        run.stderr
            .contains("smoke checks of the test listener failed"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("stage PRODUCTION_TRAFFIC_SHIFT"),
        "{}",
        run.stderr
    );
    assert_eq!(f.running_task_definition("api").await, blue);
    assert!(
        run.summary.contains("Smoke test of the test listener"),
        "{}",
        run.summary
    );
}

#[tokio::test]
async fn a_timeout_rolls_back_and_exits_3() {
    let f = fixture().await;
    let blue = f
        .service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let file = f.task_file("api", "app:2", Some("slow-scale-up"));
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("timeout", "1s"),
    ]);
    run.assert_code(3);
    run.assert_logged("did not finish within 1.0s");
    run.assert_logged("rolled back: ROLLBACK_SUCCESSFUL");
    assert_eq!(run.output("status"), "ROLLBACK_SUCCESSFUL");
    assert!(f.in_flight("api").await.is_empty());
    assert_eq!(f.running_task_definition("api").await, blue);
}

#[tokio::test]
async fn wait_false_returns_once_the_deployment_has_started() {
    let f = fixture().await;
    f.service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let file = f.task_file("api", "app:2", Some("slow-scale-up"));
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("wait", "false"),
    ]);
    run.assert_code(0);
    assert_eq!(run.output("status"), "IN_PROGRESS");
    let arn = run.output("service-deployment-arn");
    assert_eq!(
        f.in_flight("api").await,
        [arn],
        "still running after the step"
    );
    run.assert_logged("not waiting for it");
}

/// The deployments listed before the update are asked while the task definition is registered,
/// not after: with every RegisterTaskDefinition held 1 to 2 s by the fault proxy, both
/// ListServiceDeployments (the pre-flight's and the one before UpdateService) reach ECS first.
#[tokio::test]
async fn the_task_definition_is_registered_while_the_deployments_before_are_listed() {
    use deploy_kit_testbed::faults::{FaultConfig, FaultProxy};
    let f = fixture().await;
    f.service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let file = f.task_file("api", "app:2", None);
    let proxy = FaultProxy::start(f.bed.endpoint_url(), &FaultConfig::new(0.0, 1)).unwrap();
    proxy
        .configure(
            r#"{"rate": 1, "kinds": ["slow"], "slowSeconds": 2,
                "operations": ["RegisterTaskDefinition"]}"#,
        )
        .unwrap();
    f.bed.reset_calls().unwrap();
    let run = f
        .invocation(&[("service", "api"), ("task-definition", &file)])
        .envs(proxy.env_for(&f.bed, false))
        .run();
    run.assert_code(0);
    assert_eq!(
        proxy.stats().unwrap()["byOperation"]["RegisterTaskDefinition"]["faults"]["slow"],
        1,
        "the registration was held"
    );
    let calls = f.bed.calls().unwrap();
    let register = calls
        .iter()
        .position(|c| c == "ecs:RegisterTaskDefinition")
        .unwrap();
    let listed = calls[..register]
        .iter()
        .filter(|c| *c == "ecs:ListServiceDeployments")
        .count();
    assert_eq!(listed, 2, "{calls:?}");
    let update = calls.iter().position(|c| c == "ecs:UpdateService").unwrap();
    assert!(
        update > register,
        "the update waits for the registration: {calls:?}"
    );
    assert!(
        run.output("task-definition-arn")
            .ends_with("task-definition/api:2")
    );
}
