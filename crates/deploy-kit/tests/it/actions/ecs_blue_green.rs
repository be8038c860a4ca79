//! `deploy-kit ecs-blue-green` against the test bed over HTTP: each strategy to SUCCESSFUL, the
//! rollbacks (circuit breaker, alarm, Lambda hook, failing smoke checks, timeout, SIGTERM), the
//! pre-flight refusals, and a dry run that writes nothing. ECS runs 20x faster here
//! (`time-scale` 0.05), and the binary's polls shrink with it (`DEPLOY_KIT_TIME_SCALE`).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AdvancedConfiguration, DeploymentConfiguration, DeploymentController, DeploymentControllerType,
    DeploymentLifecycleHook, DeploymentLifecycleHookStage, DeploymentLifecycleHookTargetType,
    DeploymentStrategy, LoadBalancer, ServiceDeploymentStatus,
};
pub(crate) use deploy_kit_testbed::binary::Run;
use deploy_kit_testbed::binary::{Invocation, Running};
use deploy_kit_testbed::{Bed, Component};
use serde_json::json;

// max-5xx-rate: the alarm over real target groups, the bed's metrics and alarm evaluation, ECS's own
// rollback.
pub mod five_xx;
// One service through a life of deployments by ecs-blue-green and by other means: nothing left
// behind, only its own hook answered.
mod service_life;

pub(crate) const SCALE: f64 = 0.05;

/// Action inputs as (name, value).
type Inputs = &'static [(&'static str, &'static str)];
pub(crate) const CLUSTER: &str = "prod";

pub(crate) struct Fixture {
    pub(crate) bed: Bed,
    pub(crate) ecs: Client,
    pub(crate) dir: tempfile::TempDir,
}

pub(crate) async fn fixture() -> Fixture {
    // OIDC too: the act test logs in through the bed's GitHub token endpoint.
    let bed = Bed::start(&[Component::Aws, Component::Oidc]).unwrap();
    bed.time_scale(SCALE).unwrap();
    let ecs = Client::new(&bed.sdk_config().await);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    Fixture {
        bed,
        ecs,
        dir: tempfile::tempdir().unwrap(),
    }
}

pub(crate) fn load_balancer(advanced: bool) -> LoadBalancer {
    let mut lb = LoadBalancer::builder()
        .target_group_arn("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1")
        .container_name("web")
        .container_port(8080);
    if advanced {
        lb = lb.advanced_configuration(
            AdvancedConfiguration::builder()
                .alternate_target_group_arn(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2",
                )
                .production_listener_rule(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/l/1/r/1",
                )
                .test_listener_rule(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/l/1/r/2",
                )
                .role_arn("arn:aws:iam::123456789012:role/ecs-infrastructure")
                .build(),
        );
    }
    lb.build()
}

/// How a service is created for a test.
pub(crate) struct Spec {
    pub(crate) strategy: DeploymentStrategy,
    pub(crate) hooks: Vec<DeploymentLifecycleHook>,
    pub(crate) advanced: bool,
    pub(crate) controller: DeploymentControllerType,
    /// Behind this load balancer instead of [`load_balancer`]'s made-up one.
    pub(crate) balancer: Option<LoadBalancer>,
}

impl Spec {
    pub(crate) fn new(strategy: DeploymentStrategy) -> Self {
        Self {
            strategy,
            hooks: Vec::new(),
            advanced: true,
            controller: DeploymentControllerType::Ecs,
            balancer: None,
        }
    }
}

impl Fixture {
    /// Creates service `name` (family `name`, 2 tasks, behind a load balancer) and waits for its
    /// first deployment.
    pub(crate) async fn service(&self, name: &str, spec: Spec) -> String {
        let blue = self
            .ecs
            .register_task_definition()
            .family(name)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("web")
                    .image("app:1")
                    .memory(128)
                    .essential(true)
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .task_definition()
            .unwrap()
            .task_definition_arn()
            .unwrap()
            .to_owned();
        let config = DeploymentConfiguration::builder()
            .strategy(spec.strategy)
            .bake_time_in_minutes(0)
            .set_lifecycle_hooks(Some(spec.hooks))
            .build();
        self.ecs
            .create_service()
            .cluster(CLUSTER)
            .service_name(name)
            .task_definition(&blue)
            .desired_count(2)
            .load_balancers(
                spec.balancer
                    .unwrap_or_else(|| load_balancer(spec.advanced)),
            )
            .deployment_configuration(config)
            .deployment_controller(
                DeploymentController::builder()
                    .r#type(spec.controller)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        self.settle(name).await;
        blue
    }

    /// Waits until no deployment of `name` is in flight.
    pub(crate) async fn settle(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.in_flight(name).await.is_empty() {
            assert!(Instant::now() < deadline, "{name} never settled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn in_flight(&self, name: &str) -> Vec<String> {
        let out = self
            .ecs
            .list_service_deployments()
            .cluster(CLUSTER)
            .service(name)
            .send()
            .await
            .unwrap();
        out.service_deployments()
            .iter()
            .filter(|d| {
                matches!(
                    d.status(),
                    Some(
                        ServiceDeploymentStatus::Pending
                            | ServiceDeploymentStatus::InProgress
                            | ServiceDeploymentStatus::RollbackRequested
                            | ServiceDeploymentStatus::RollbackInProgress
                            | ServiceDeploymentStatus::StopRequested
                    )
                )
            })
            .map(|d| d.service_deployment_arn().unwrap().to_owned())
            .collect()
    }

    pub(crate) async fn describe_service(&self, name: &str) -> aws_sdk_ecs::types::Service {
        let out = self
            .ecs
            .describe_services()
            .cluster(CLUSTER)
            .services(name)
            .send()
            .await
            .unwrap();
        out.services()[0].clone()
    }

    pub(crate) async fn running_task_definition(&self, name: &str) -> String {
        let service = self.describe_service(name).await;
        service.task_definition().unwrap().to_owned()
    }

    /// The tags on a resource, as (key, value).
    pub(crate) async fn tags(&self, arn: &str) -> Vec<(String, String)> {
        let out = self
            .ecs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        out.tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or("").to_owned(),
                    t.value().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }

    /// A rendered task definition file for `family`; `scenario` is the bed's BED_SCENARIO.
    pub(crate) fn task_file(&self, family: &str, image: &str, scenario: Option<&str>) -> String {
        let mut container =
            json!({"name": "web", "image": image, "memory": 128, "essential": true});
        if let Some(scenario) = scenario {
            container["environment"] = json!([{"name": "BED_SCENARIO", "value": scenario}]);
        }
        let path = self
            .dir
            .path()
            .join(format!("{family}-{image}.json").replace(':', "-"));
        // Tagged, as a team's cost-allocation tags would be: the registered revision keeps them.
        let task = json!({
            "family": family,
            "containerDefinitions": [container],
            "tags": [{"key": "team", "value": "payments"}]
        });
        std::fs::write(&path, serde_json::to_string_pretty(&task).unwrap()).unwrap();
        path.display().to_string()
    }

    /// ecs-blue-green on the bed, in cluster `CLUSTER`, as a job runs it, with `inputs`.
    pub(crate) fn invocation(&self, inputs: &[(&str, &str)]) -> Invocation {
        crate::deploy_kit()
            .action("ecs-blue-green")
            .bed(&self.bed)
            .time_scale(SCALE)
            .runner_files()
            .input("cluster", CLUSTER)
            .inputs(inputs)
    }

    pub(crate) fn run(&self, inputs: &[(&str, &str)]) -> Run {
        self.invocation(inputs).run()
    }

    /// Waits until a deployment of `service` is under way, then cancels `running` as the runner
    /// does (SIGTERM); what the run left.
    pub(crate) async fn sigterm_mid_deployment(&self, service: &str, running: Running) -> Run {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.in_flight(service).await.is_empty() {
            assert!(Instant::now() < deadline, "no deployment started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        running.signal("TERM");
        running.wait()
    }
}

/// An HTTP server on loopback answering every request with `status`; stops with the test.
pub fn http_server(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/health", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let body = if status == 200 { "ok" } else { "broken" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

fn stages_in_order(log: &str, expected: &[&str]) -> bool {
    let mut at = 0;
    for stage in expected {
        match log[at..].find(&format!("stage {stage},")) {
            Some(found) => at += found,
            None => return false,
        }
    }
    true
}

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
    assert_eq!(run.code, Some(0), "{}", run.stderr);
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
    assert_eq!(run.code, Some(1), "{}", run.stderr);
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
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr.contains("did not finish within 1.0s"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("rolled back: ROLLBACK_SUCCESSFUL"),
        "{}",
        run.stderr
    );
    assert_eq!(run.output("status"), "ROLLBACK_SUCCESSFUL");
    assert!(f.in_flight("api").await.is_empty());
    assert_eq!(f.running_task_definition("api").await, blue);
}

#[tokio::test]
async fn sigterm_mid_deployment_rolls_back_and_exits_143() {
    let f = fixture().await;
    let blue = f
        .service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let file = f.task_file("api", "app:2", Some("slow-scale-up"));
    let running = f
        .invocation(&[("service", "api"), ("task-definition", &file)])
        .spawn();
    let run = f.sigterm_mid_deployment("api", running).await;
    assert_eq!(run.code, Some(143), "{}", run.stderr);
    assert!(
        run.stderr.contains("cancelled by SIGTERM"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("rolled back: ROLLBACK_SUCCESSFUL"),
        "{}",
        run.stderr
    );
    assert!(
        f.in_flight("api").await.is_empty(),
        "nothing left in flight"
    );
    assert_eq!(f.running_task_definition("api").await, blue);
}

#[tokio::test]
async fn pre_flight_refuses_before_any_write() {
    let f = fixture().await;
    f.service("busy", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    f.service(
        "plain",
        Spec {
            advanced: false,
            ..Spec::new(DeploymentStrategy::Rolling)
        },
    )
    .await;
    f.service(
        "legacy",
        Spec {
            advanced: false,
            controller: DeploymentControllerType::CodeDeploy,
            ..Spec::new(DeploymentStrategy::Rolling)
        },
    )
    .await;
    // A deployment in flight on `busy`, started outside deploy-kit.
    f.bed
        .scenario(r#"{"service": "busy", "scaleUpSeconds": 600}"#)
        .unwrap();
    let td = f.task_file("busy", "app:9", None);
    let arn = {
        let running = f.running_task_definition("busy").await;
        f.ecs
            .update_service()
            .cluster(CLUSTER)
            .service("busy")
            .task_definition(&running)
            .force_new_deployment(true)
            .send()
            .await
            .unwrap();
        f.in_flight("busy").await[0].clone()
    };
    let cases = [
        (
            "busy",
            "blue-green",
            // PENDING or IN_PROGRESS, whichever the deployment is in when pre-flight looks.
            format!(": {arn}. Wait for it to finish, or stop it"),
        ),
        (
            "plain",
            "blue-green",
            "`loadBalancers[0].advancedConfiguration`".to_owned(),
        ),
        (
            "legacy",
            "keep",
            "uses the CODE_DEPLOY deployment controller".to_owned(),
        ),
    ];
    for (service, strategy, expected) in cases {
        let revisions_before = revisions(&f.ecs).await;
        let run = f.run(&[
            ("service", service),
            ("task-definition", &td),
            ("strategy", strategy),
        ]);
        assert_eq!(run.code, Some(2), "{service}: {}", run.stderr);
        assert!(
            run.stderr.contains(&expected),
            "{service}: wanted {expected:?} in {}",
            run.stderr
        );
        assert_eq!(
            revisions(&f.ecs).await,
            revisions_before,
            "{service}: nothing registered"
        );
    }
}

async fn revisions(ecs: &Client) -> usize {
    ecs.list_task_definitions()
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .len()
}

#[tokio::test]
async fn dry_run_shows_the_changes_and_writes_nothing() {
    let f = fixture().await;
    let blue = f
        .service("api", Spec::new(DeploymentStrategy::Rolling))
        .await;
    let file = f.task_file("api", "app:2", None);
    let before = revisions(&f.ecs).await;
    let deployments = f.bed.deployments().unwrap()["deployments"]
        .as_array()
        .unwrap()
        .len();
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("strategy", "blue-green"),
        ("bake-time", "5m"),
        ("dry-run", "true"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("task definition ~ containerDefinitions[web].image: \"app:1\" -> \"app:2\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("deploymentConfiguration.strategy"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("deploymentConfiguration.bakeTimeInMinutes"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("dry run: nothing was written"),
        "{}",
        run.stderr
    );
    assert_eq!(revisions(&f.ecs).await, before);
    assert_eq!(
        f.bed.deployments().unwrap()["deployments"]
            .as_array()
            .unwrap()
            .len(),
        deployments
    );
    assert_eq!(f.running_task_definition("api").await, blue);
    assert!(run.summary.contains("```diff"), "{}", run.summary);
}

#[tokio::test]
async fn bad_input_exits_2_naming_the_input() {
    let f = fixture().await;
    let missing = f.dir.path().join("nope.json").display().to_string();
    let run = f.run(&[("service", "api"), ("task-definition", &missing)]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("input `task-definition`: cannot read"),
        "{}",
        run.stderr
    );
    let file = f.task_file("api", "app:2", None);
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("strategy", "fast"),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("input `strategy`"), "{}", run.stderr);

    // ECS refuses a 2% linear step in UpdateService: refused here before anything is
    // registered, not after.
    f.service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let before = revisions(&f.ecs).await;
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("strategy", "linear"),
        ("linear-step-percent", "2%"),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("input `linear-step-percent`: ECS takes a multiple of 0.1% from 3% to 100%"),
        "{}",
        run.stderr
    );
    assert_eq!(revisions(&f.ecs).await, before, "nothing registered");
}

#[tokio::test]
async fn oidc_login_build_render_migrate_and_deploy_through_act() {
    let f = fixture().await;
    aws_sdk_cloudwatchlogs::Client::new(&f.bed.sdk_config().await)
        .create_log_group()
        .log_group_name("/ecs/api")
        .send()
        .await
        .unwrap();
    let subnet = crate::actions::run_migrations::default_subnets(&f.bed)
        .await
        .remove(0);
    // The job builds with the bed's docker (run-workflow passes its env to the job).
    let _docker = deploy_kit_testbed::docker::Docker::start(&f.bed).unwrap();
    f.service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let url = http_server(200);
    let run = deploy_kit_testbed::act::Workflow::new("tests/workflows/deploy-bed.yml")
        .event("workflow_dispatch")
        .as_action("org/deploy-kit@v1")
        .bin(crate::BIN)
        .env("TEST_URL", &url)
        .env("SUBNET", &subnet)
        .env("DEPLOY_KIT_TIME_SCALE", &SCALE.to_string())
        .run(&f.bed)
        .unwrap();
    assert!(run.success, "act failed:\n{}", run.log);
    assert!(run.log.contains("through GitHub OIDC"), "{}", run.log);
    assert!(run.log.contains("│ migration 001 applied"), "{}", run.log);
    assert!(run.log.contains("smoke checks passed"), "{}", run.log);
    assert!(run.log.contains("deploy-bed: SUCCESSFUL"), "{}", run.log);
    let running = f.running_task_definition("api").await;
    assert!(running.ends_with("task-definition/api:3"), "{running}");
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
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.output("status"), "IN_PROGRESS");
    let arn = run.output("service-deployment-arn");
    assert_eq!(
        f.in_flight("api").await,
        [arn],
        "still running after the step"
    );
    assert!(run.stderr.contains("not waiting for it"), "{}", run.stderr);
}
