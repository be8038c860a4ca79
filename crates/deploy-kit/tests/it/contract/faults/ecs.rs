//! ecs-blue-green and run-migrations under faults: the same result, or a clear failure, and
//! either way no service deployment in flight and no task running afterwards.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AdvancedConfiguration, AwsVpcConfiguration, Compatibility, ContainerDefinition,
    DeploymentConfiguration, DeploymentStrategy, DesiredStatus, LaunchType, LoadBalancer,
    NetworkConfiguration, NetworkMode, ServiceDeploymentStatus,
};
use deploy_kit_testbed::{Bed, Component};
use serde_json::json;

use super::actions::env;
use super::{Harness, Run, matrix, without};

const CLUSTER: &str = "prod";

/// `arn:...:task-definition/bg3:7` -> `arn:...:task-definition/SVC:N`: a retried
/// RegisterTaskDefinition may register one more revision, as on AWS.
fn task_definition_free(value: &str, service: &str) -> String {
    let value = value.replace(service, "SVC");
    match value.rsplit_once(':') {
        Some((head, revision))
            if value.contains("task-definition/") && revision.parse::<u32>().is_ok() =>
        {
            format!("{head}:N")
        }
        _ => value,
    }
}

/// The service's deployments still in flight.
async fn in_flight(ecs: &Client, service: &str) -> Vec<String> {
    let out = ecs
        .list_service_deployments()
        .cluster(CLUSTER)
        .service(service)
        .send()
        .await
        .unwrap();
    out.service_deployments()
        .iter()
        .filter(|d| {
            !matches!(
                d.status(),
                Some(
                    ServiceDeploymentStatus::Successful
                        | ServiceDeploymentStatus::RollbackSuccessful
                        | ServiceDeploymentStatus::RollbackFailed
                        | ServiceDeploymentStatus::Stopped
                )
            )
        })
        .map(|d| format!("{:?} {:?}", d.service_deployment_arn(), d.status()))
        .collect()
}

/// A BLUE_GREEN service `name` (family `name`, 2 tasks, behind a load balancer), settled.
async fn blue_green_service(ecs: &Client, name: &str) {
    let container = ContainerDefinition::builder()
        .name("web")
        .image("app:1")
        .memory(128)
        .essential(true)
        .build();
    let registered = ecs
        .register_task_definition()
        .family(name)
        .container_definitions(container)
        .send()
        .await
        .unwrap();
    let arn = registered.task_definition().unwrap().task_definition_arn();
    let rule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/l/1/r";
    let advanced = AdvancedConfiguration::builder()
        .alternate_target_group_arn(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2",
        )
        .production_listener_rule(format!("{rule}/1"))
        .test_listener_rule(format!("{rule}/2"))
        .role_arn("arn:aws:iam::123456789012:role/ecs-infrastructure")
        .build();
    let load_balancer = LoadBalancer::builder()
        .target_group_arn("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1")
        .container_name("web")
        .container_port(8080)
        .advanced_configuration(advanced)
        .build();
    let config = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(0)
        .build();
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name(name)
        .set_task_definition(arn.map(str::to_owned))
        .desired_count(2)
        .load_balancers(load_balancer)
        .deployment_configuration(config)
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !in_flight(ecs, name).await.is_empty() {
        assert!(Instant::now() < deadline, "{name} never settled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn ecs_blue_green_under_faults() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    bed.time_scale(0.05).unwrap();
    let ecs = Client::new(&bed.sdk_config().await);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    let mut h = Harness::on_bed("ecs-blue-green", &bed, false, Duration::from_secs(150))
        .with_env("DEPLOY_KIT_TIME_SCALE", "0.05")
        .with_env("INPUT_CLUSTER", CLUSTER);
    let smoke = crate::actions::ecs_blue_green::http_server(200);
    let normalize = |service: String| {
        move |run: &Run| -> HashMap<String, String> {
            without(
                &run.outputs,
                &["service-deployment-arn", "duration-seconds"],
            )
            .into_iter()
            .map(|(k, v)| (k, task_definition_free(&v, &service)))
            .collect()
        }
    };
    // Each run deploys its own service from blue to green, checking green on the test listener.
    let runs = std::iter::once((0.0, 0)).chain(matrix(7));
    let mut expected = HashMap::new();
    for (n, (rate, seed)) in runs.enumerate() {
        let service = format!("bg{n}");
        blue_green_service(&ecs, &service).await;
        let file = h.dir.path().join(format!("{service}.json"));
        let task = json!({"family": service, "containerDefinitions": [
            {"name": "web", "image": "app:2", "memory": 128, "essential": true}]});
        std::fs::write(&file, task.to_string()).unwrap();
        h.faults(rate, seed);
        let run = h.run(&[
            ("service", &service),
            ("task-definition", &file.display().to_string()),
            ("test-url", &smoke),
            ("test-requests", "3"),
            ("timeout", "2m"),
        ]);
        if n == 0 {
            assert_eq!(run.code, Some(0), "without faults\n{}", run.stderr);
            expected = normalize(service.clone())(&run);
            continue;
        }
        let mut left = in_flight(&ecs, &service).await;
        let services = ecs
            .describe_services()
            .cluster(CLUSTER)
            .services(&service)
            .send()
            .await
            .unwrap();
        let running = services.services()[0].task_definition().unwrap_or_default();
        let deployed = run.outputs.get("task-definition-arn");
        if run.code == Some(0) && deployed.map(String::as_str) != Some(running) {
            left.push(format!("the service runs {running}, not {deployed:?}"));
        }
        h.judge(
            &run,
            &expected,
            normalize(service.clone()),
            &left,
            (rate, seed),
        );
    }
    h.finish();
}

/// Family `migrate` (app logs `lines` to CloudWatch and exits 0) and service `api` on FARGATE.
async fn migration_service(bed: &Bed, ecs: &Client, lines: &[String]) {
    let subnets = crate::actions::run_migrations::migration_ground(bed).await;
    let logs = crate::actions::run_migrations::migrate_logs();
    let app = ContainerDefinition::builder()
        .name("app")
        .image("registry.local/app:1")
        .essential(true)
        .environment(env("BED_LOG_LINES", &lines.join("\n")))
        .environment(env("BED_RUN_SECONDS", "3"))
        .environment(env("BED_EXIT_CODE", "0"))
        .log_configuration(logs)
        .build();
    let registered = ecs
        .register_task_definition()
        .family("migrate")
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(app)
        .send()
        .await
        .unwrap();
    let network = AwsVpcConfiguration::builder()
        .subnets(&subnets[0])
        .build()
        .unwrap();
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("api")
        .set_task_definition(
            registered
                .task_definition()
                .and_then(|t| t.task_definition_arn())
                .map(str::to_owned),
        )
        .desired_count(0)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(network)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Tasks of the cluster not STOPPED.
async fn not_stopped(ecs: &Client) -> Vec<String> {
    let mut arns = Vec::new();
    for desired in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let out = ecs
            .list_tasks()
            .cluster(CLUSTER)
            .desired_status(desired)
            .send()
            .await
            .unwrap();
        arns.extend(out.task_arns().iter().cloned());
    }
    if arns.is_empty() {
        return arns;
    }
    let out = ecs
        .describe_tasks()
        .cluster(CLUSTER)
        .set_tasks(Some(arns))
        .send()
        .await
        .unwrap();
    out.tasks()
        .iter()
        .filter(|t| t.last_status() != Some("STOPPED"))
        .map(|t| format!("{:?} {:?}", t.task_arn(), t.last_status()))
        .collect()
}

#[tokio::test]
async fn run_migrations_under_faults() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    bed.time_scale(0.2).unwrap();
    let ecs = Client::new(&bed.sdk_config().await);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    let lines: Vec<String> = (1..=12)
        .map(|n| format!("applying migration {n:03}"))
        .collect();
    migration_service(&bed, &ecs, &lines).await;
    let mut h = Harness::on_bed("run-migrations", &bed, false, Duration::from_secs(120))
        .with_env("DEPLOY_KIT_TIME_SCALE", "0.2")
        .with_env("INPUT_CLUSTER", CLUSTER);
    let inputs = [("service", "api"), ("timeout", "1m")];
    // The verdict and every log line once, in order (the task's ARN and log URL are per run).
    let normalize = |run: &Run| {
        let mut result = without(&run.outputs, &["task-arn", "log-url", "duration-seconds"]);
        let streamed: Vec<&str> = run
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix("│ "))
            .collect();
        result.insert("logs".to_owned(), streamed.join("\n"));
        result
    };
    let expected = normalize(&h.baseline(&inputs));
    assert_eq!(expected["logs"], lines.join("\n"));
    for (rate, seed) in matrix(7) {
        h.faults(rate, seed);
        let run = h.run(&inputs);
        let left = not_stopped(&ecs).await;
        h.judge(&run, &expected, normalize, &left, (rate, seed));
    }
    h.finish();
}
