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
// Each strategy to SUCCESSFUL; the rollbacks (circuit breaker, alarm, hook, smoke checks,
// timeout); `wait: false`.
mod deploys;
// SIGTERM mid-deployment, pre-flight refusals, the dry run, bad input, and the act path.
mod guards;

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
