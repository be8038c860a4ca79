//! `deploy-kit run-migrations` against the test bed over HTTP: logs streamed in order and none
//! lost, the right container judged, start failures, the service's network configuration and
//! explicit overrides, idempotent re-runs, timeouts, SIGTERM, and bad input. Tasks live 5x
//! faster here (`time-scale` 0.2), and the binary's polls shrink with it.

use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, DesiredStatus, KeyValuePair,
    LaunchType, LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode, Task,
};
use deploy_kit_testbed::binary::Invocation;
pub(crate) use deploy_kit_testbed::binary::Run;
use deploy_kit_testbed::{Bed, Component};
// Timeouts, SIGTERM and bad input: the task stopped, or never started.
mod stops;

// run-migrations where ECS is uneven: late log lines, capacity failures, a token per request.
mod ecs;

const SCALE: f64 = 0.2;
pub(crate) const CLUSTER: &str = "prod";

pub(crate) struct Fixture {
    pub(crate) bed: Bed,
    pub(crate) ecs: Client,
    subnets: Vec<String>,
    dir: tempfile::TempDir,
}

/// Every subnet of moto's default VPC, through EC2's query API (no EC2 SDK crate needed).
pub async fn default_subnets(bed: &Bed) -> Vec<String> {
    let xml = reqwest::Client::new()
        .post(bed.endpoint_url())
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, \
             SignedHeaders=host, Signature=0",
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("Action=DescribeSubnets&Version=2016-11-15")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    xml.split("<subnetId>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_owned)
        .collect()
}

/// What a migration task needs around it: the `/ecs/migrate` log group (created) and moto's
/// default subnets.
pub(crate) async fn migration_ground(bed: &Bed) -> Vec<String> {
    aws_sdk_cloudwatchlogs::Client::new(&bed.sdk_config().await)
        .create_log_group()
        .log_group_name("/ecs/migrate")
        .send()
        .await
        .unwrap();
    default_subnets(bed).await
}

/// awslogs to `/ecs/migrate`, stream prefix `migrate`.
pub(crate) fn migrate_logs() -> LogConfiguration {
    LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", "/ecs/migrate")
        .options("awslogs-region", "us-east-1")
        .options("awslogs-stream-prefix", "migrate")
        .build()
        .unwrap()
}

pub(crate) fn env(name: &str, value: &str) -> KeyValuePair {
    KeyValuePair::builder().name(name).value(value).build()
}

pub(crate) async fn fixture() -> Fixture {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    bed.time_scale(SCALE).unwrap();
    let config = bed.sdk_config().await;
    let ecs = Client::new(&config);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    let subnets = migration_ground(&bed).await;
    assert!(
        subnets.len() >= 2,
        "moto's default VPC has subnets: {subnets:?}"
    );
    Fixture {
        bed,
        ecs,
        subnets,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Fixture {
    /// Registers family `migrate`: `app` (essential, awslogs, `app_env`) and a non-essential
    /// `sidecar` that exits 0 after a second.
    pub(crate) async fn task_definition(&self, app_env: &[KeyValuePair]) -> String {
        let logs = migrate_logs();
        let app = ContainerDefinition::builder()
            .name("app")
            .image("registry.local/app:1")
            .essential(true)
            .set_environment(Some(app_env.to_vec()))
            .log_configuration(logs)
            .build();
        let sidecar = ContainerDefinition::builder()
            .name("sidecar")
            .image("registry.local/proxy:1")
            .essential(false)
            .environment(env("BED_RUN_SECONDS", "1"))
            .environment(env("BED_EXIT_CODE", "0"))
            .build();
        let out = self
            .ecs
            .register_task_definition()
            .family("migrate")
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu("256")
            .memory("512")
            .container_definitions(app)
            .container_definitions(sidecar)
            .send()
            .await
            .unwrap();
        out.task_definition()
            .unwrap()
            .task_definition_arn()
            .unwrap()
            .to_owned()
    }

    /// Service `api` on FARGATE in the first default subnet, running `task_definition`.
    pub(crate) async fn service(&self, name: &str, task_definition: &str, network: bool) {
        let mut create = self
            .ecs
            .create_service()
            .cluster(CLUSTER)
            .service_name(name)
            .task_definition(task_definition)
            .desired_count(0)
            .launch_type(LaunchType::Fargate);
        if network {
            create = create.network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets(&self.subnets[0])
                            .build()
                            .unwrap(),
                    )
                    .build(),
            );
        }
        create.send().await.unwrap();
    }

    /// run-migrations on the bed, in cluster `CLUSTER`, as a job runs it, with `inputs`.
    pub(crate) fn invocation(&self, inputs: &[(&str, &str)]) -> Invocation {
        crate::deploy_kit()
            .action("run-migrations")
            .bed(&self.bed)
            .time_scale(SCALE)
            .runner_files()
            .input("cluster", CLUSTER)
            .inputs(inputs)
    }

    pub(crate) fn run(&self, inputs: &[(&str, &str)]) -> Run {
        self.invocation(inputs).run()
    }

    /// Every task in the cluster, running or stopped.
    pub(crate) async fn all_tasks(&self) -> Vec<String> {
        let mut all = Vec::new();
        for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
            let listed = self
                .ecs
                .list_tasks()
                .cluster(CLUSTER)
                .desired_status(status)
                .send()
                .await
                .unwrap();
            all.extend(listed.task_arns().to_vec());
        }
        all.sort();
        all.dedup();
        all
    }

    pub(crate) async fn task(&self, arn: &str) -> Task {
        let out = self
            .ecs
            .describe_tasks()
            .cluster(CLUSTER)
            .tasks(arn)
            .send()
            .await
            .unwrap();
        out.tasks()[0].clone()
    }
}

fn subnet_of(task: &Task) -> Option<String> {
    task.attachments()
        .iter()
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("subnetId"))
        .and_then(|d| d.value())
        .map(str::to_owned)
}

/// A rendered file with `tags` (render-taskdef keeps a live family's): the revision
/// run-migrations registers carries them, and registering with tags needs ecs:TagResource,
/// which its policy lists.
#[tokio::test]
async fn a_tagged_file_registers_a_tagged_revision() {
    let f = fixture().await;
    let td = f.task_definition(&[env("BED_EXIT_CODE", "0")]).await;
    f.service("api", &td, true).await;
    let file = f.dir.path().join("migrate.json");
    let task = serde_json::json!({
        "family": "migrate",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "app",
            "image": "registry.local/app:2",
            "essential": true,
            "environment": [{"name": "BED_RUN_SECONDS", "value": "1"}, {"name": "BED_EXIT_CODE", "value": "0"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/migrate", "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "migrate"}}
        }],
        "tags": [{"key": "team", "value": "payments"}]
    });
    std::fs::write(&file, task.to_string()).unwrap();
    crate::contract::iam::reset(&f.bed);
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file.display().to_string()),
    ]);
    run.assert_code(0);
    let calls = crate::contract::iam::assert_allowed(&f.bed, "run-migrations");
    assert!(calls.iter().any(|c| c == "ecs:TagResource"), "{calls:?}");
    let ran = f.task(run.output("task-arn")).await;
    let registered = ran.task_definition_arn().unwrap();
    let tags = f
        .ecs
        .list_tags_for_resource()
        .resource_arn(registered)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect();
    assert_eq!(tags, [("team", "payments")], "{registered}");
}

#[tokio::test]
async fn logs_stream_in_order_and_exit_zero_passes() {
    let f = fixture().await;
    let lines: Vec<String> = (1..=40)
        .map(|n| format!("applying migration {n:03}"))
        .collect();
    let td = f
        .task_definition(&[
            env("BED_LOG_LINES", &lines.join("\n")),
            env("BED_RUN_SECONDS", "3"),
            env("BED_EXIT_CODE", "0"),
        ])
        .await;
    f.service("api", &td, true).await;
    crate::contract::iam::reset(&f.bed);
    let run = f.run(&[("service", "api")]);
    run.assert_code(0);
    crate::contract::iam::assert_allowed(&f.bed, "run-migrations");
    let streamed: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("│ "))
        .collect();
    assert_eq!(streamed, lines, "every line, once, in order");
    assert_eq!(run.output("exit-code"), "0");
    assert_eq!(run.output("stop-code"), "EssentialContainerExited");
    assert!(
        run.output("log-url").contains("$252Fecs$252Fmigrate"),
        "{:?}",
        run.outputs
    );
    let task = f.task(run.output("task-arn")).await;
    assert_eq!(
        subnet_of(&task).as_deref(),
        Some(f.subnets[0].as_str()),
        "the service's subnet"
    );
    assert!(
        task.started_by()
            .is_some_and(|s| s.starts_with("deploy-kit"))
    );
    assert!(
        run.summary.contains("applying migration 040"),
        "{}",
        run.summary
    );
}

#[tokio::test]
async fn the_named_container_is_judged_not_the_sidecar() {
    let f = fixture().await;
    let td = f
        .task_definition(&[
            env("BED_LOG_LINES", "applying 001\nERROR duplicate key"),
            env("BED_EXIT_CODE", "3"),
            env("BED_RUN_SECONDS", "2"),
        ])
        .await;
    f.service("api", &td, true).await;
    let run = f.run(&[("service", "api"), ("environment", "RAILS_ENV=production")]);
    run.assert_code(1);
    run.assert_logged("container `app` of task");
    run.assert_logged("exited with code 3");
    assert_eq!(run.output("exit-code"), "3");
    assert!(
        run.summary.contains("ERROR duplicate key"),
        "{}",
        run.summary
    );
    let task = f.task(run.output("task-arn")).await;
    let sidecar = task
        .containers()
        .iter()
        .find(|c| c.name() == Some("sidecar"))
        .unwrap();
    assert_eq!(
        sidecar.exit_code(),
        Some(0),
        "the sidecar exited 0, and did not count"
    );
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_with_the_reason() {
    let f = fixture().await;
    let td = f
        .task_definition(&[env("BED_START_FAILURE", "CannotPullContainerError")])
        .await;
    f.service("api", &td, true).await;
    let run = f.run(&[("service", "api")]);
    run.assert_code(1);
    run.assert_logged("never ran: stopCode TaskFailedToStart");
    run.assert_logged("CannotPullContainerError");
    assert_eq!(run.output("exit-code"), "");
}

#[tokio::test]
async fn explicit_overrides_win_and_a_rerun_does_not_start_a_second_task() {
    let f = fixture().await;
    let td = f.task_definition(&[env("BED_RUN_SECONDS", "1")]).await;
    f.service("api", &td, true).await;
    let inputs = [("service", "api"), ("subnets", f.subnets[1].as_str())];
    let first = f
        .invocation(&inputs)
        .run_identity("9001", "1", "staging", "migrate")
        .run();
    first.assert_code(0);
    let task = f.task(first.output("task-arn")).await;
    assert_eq!(
        subnet_of(&task).as_deref(),
        Some(f.subnets[1].as_str()),
        "the input's subnet"
    );
    assert_eq!(task.started_by(), Some("deploy-kit/9001/1"));

    let again = f
        .invocation(&inputs)
        .run_identity("9001", "1", "staging", "migrate")
        .run();
    again.assert_code(0);
    assert_eq!(
        again.output("task-arn"),
        first.output("task-arn"),
        "the same task"
    );
    let all = f.all_tasks().await;
    assert_eq!(all.len(), 1, "one task in all: {all:?}");
}
