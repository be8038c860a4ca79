//! Shared helpers for the ECS tests: a cluster, task definitions, a load-balanced service, and
//! following a service deployment through `DescribeServiceDeployments` as a client would.

use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AdvancedConfiguration, ContainerDefinition, DeploymentConfiguration, KeyValuePair,
    LoadBalancer, ServiceDeployment, ServiceDeploymentStatus,
};
use deploy_kit_testbed::{Bed, Component};

pub const CLUSTER: &str = "bed";

/// A bed with moto only, its time scale set, and an ECS client.
pub async fn ecs_bed(time_scale: f64) -> (Bed, Client) {
    let bed = Bed::start(&[Component::Aws]).expect("bed");
    bed.time_scale(time_scale).unwrap();
    let ecs = Client::new(&bed.sdk_config().await);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    (bed, ecs)
}

/// Registers `family` with one essential container `web` running `image`, with `env`.
pub async fn register(ecs: &Client, family: &str, image: &str, env: &[(&str, &str)]) -> String {
    let mut container = ContainerDefinition::builder()
        .name("web")
        .image(image)
        .memory(128)
        .essential(true);
    for (name, value) in env {
        container =
            container.environment(KeyValuePair::builder().name(*name).value(*value).build());
    }
    let out = ecs
        .register_task_definition()
        .family(family)
        .container_definitions(container.build())
        .send()
        .await
        .unwrap();
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap()
        .to_owned()
}

/// A load balancer entry with the advancedConfiguration blue/green needs.
pub fn load_balancer() -> LoadBalancer {
    LoadBalancer::builder()
        .target_group_arn("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1")
        .container_name("web")
        .container_port(80)
        .advanced_configuration(
            AdvancedConfiguration::builder()
                .alternate_target_group_arn(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2",
                )
                .production_listener_rule(
                    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/l/1/r/1",
                )
                .role_arn("arn:aws:iam::123456789012:role/ecs-infrastructure")
                .build(),
        )
        .build()
}

/// Creates service `name` (2 tasks, behind [`load_balancer`]) on `task_definition` with `config`,
/// and waits until its first deployment is done.
pub async fn service(
    ecs: &Client,
    name: &str,
    task_definition: &str,
    config: DeploymentConfiguration,
) {
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name(name)
        .task_definition(task_definition)
        .desired_count(2)
        .load_balancers(load_balancer())
        .deployment_configuration(config)
        .send()
        .await
        .unwrap();
    let first = latest(ecs, name).await;
    follow(ecs, &first, Duration::from_secs(30), |_| false).await;
}

/// The newest service deployment of `service`.
pub async fn latest(ecs: &Client, service: &str) -> String {
    let out = ecs
        .list_service_deployments()
        .cluster(CLUSTER)
        .service(service)
        .send()
        .await
        .unwrap();
    out.service_deployments()[0]
        .service_deployment_arn()
        .unwrap()
        .to_owned()
}

/// Updates `service` to `task_definition`; the service deployment ARN it started.
pub async fn deploy(ecs: &Client, service: &str, task_definition: &str) -> String {
    ecs.update_service()
        .cluster(CLUSTER)
        .service(service)
        .task_definition(task_definition)
        .send()
        .await
        .unwrap();
    latest(ecs, service).await
}

pub async fn describe(ecs: &Client, arn: &str) -> ServiceDeployment {
    let out = ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .unwrap();
    out.service_deployments()[0].clone()
}

pub fn is_terminal(status: Option<&ServiceDeploymentStatus>) -> bool {
    matches!(
        status,
        Some(
            ServiceDeploymentStatus::Successful
                | ServiceDeploymentStatus::Stopped
                | ServiceDeploymentStatus::RollbackSuccessful
                | ServiceDeploymentStatus::RollbackFailed
        )
    )
}

/// What a client saw while polling a deployment every 10 ms.
pub struct Seen {
    /// Distinct lifecycle stages, in the order they were first seen.
    pub stages: Vec<String>,
    /// Distinct statuses, in order.
    pub statuses: Vec<String>,
    pub last: ServiceDeployment,
}

/// Polls `arn` until it is terminal or `stop` says so; panics after `timeout`.
pub async fn follow(
    ecs: &Client,
    arn: &str,
    timeout: Duration,
    stop: impl Fn(&ServiceDeployment) -> bool,
) -> Seen {
    let deadline = Instant::now() + timeout;
    let (mut stages, mut statuses) = (Vec::<String>::new(), Vec::<String>::new());
    loop {
        let last = describe(ecs, arn).await;
        if let Some(stage) = last.lifecycle_stage().map(|s| s.as_str().to_owned())
            && stages.last() != Some(&stage)
        {
            stages.push(stage);
        }
        if let Some(status) = last.status().map(|s| s.as_str().to_owned())
            && statuses.last() != Some(&status)
        {
            statuses.push(status);
        }
        if is_terminal(last.status()) || stop(&last) {
            return Seen {
                stages,
                statuses,
                last,
            };
        }
        assert!(
            Instant::now() < deadline,
            "deployment not done after {timeout:?}: {last:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The hooks the bed recorded for `arn` (`GET /_bed/deployments`), ended ones included.
pub fn bed_hooks(bed: &Bed, arn: &str) -> serde_json::Value {
    bed.deployment(arn).unwrap()["hooks"].clone()
}

/// The stages the bed recorded for `arn` (`GET /_bed/deployments`), in order.
pub fn bed_stages(bed: &Bed, arn: &str) -> Vec<String> {
    let dep = bed.deployment(arn).unwrap();
    dep["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap().to_owned())
        .collect()
}
