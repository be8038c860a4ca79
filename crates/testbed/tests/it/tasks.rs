//! RunTask/DescribeTasks/StopTask through the Rust SDK: the task lifecycle, exit codes, start
//! failures, live CloudWatch logs and their lag, capacity failures, client tokens and their
//! conflicts, and moto's fixes (container cpu/memory as strings, FARGATE containers without
//! memory).

use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::run_task::RunTaskError;
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, ContainerOverride, DesiredStatus,
    KeyValuePair, LaunchType, LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode, Task,
    TaskOverride, TaskStopCode,
};
use deploy_kit_testbed::{Bed, Component};

const CLUSTER: &str = "bed";

fn env(name: &str, value: &str) -> KeyValuePair {
    KeyValuePair::builder().name(name).value(value).build()
}

fn awslogs(group: &str) -> LogConfiguration {
    LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", group)
        .options("awslogs-region", "us-east-1")
        .options("awslogs-stream-prefix", "migrate")
        .build()
        .unwrap()
}

/// A FARGATE task definition: `app` (essential, no container memory: legal on FARGATE) and an
/// optional non-essential `sidecar`.
async fn register(ecs: &Client, family: &str, app_env: &[KeyValuePair], sidecar: bool) -> String {
    let app = ContainerDefinition::builder()
        .name("app")
        .image("registry.local/app:1")
        .cpu(256)
        .essential(true)
        .set_environment(Some(app_env.to_vec()))
        .log_configuration(awslogs("/ecs/migrate"))
        .build();
    let mut req = ecs
        .register_task_definition()
        .family(family)
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(app);
    if sidecar {
        req = req.container_definitions(
            ContainerDefinition::builder()
                .name("sidecar")
                .image("registry.local/proxy:1")
                .memory(64)
                .essential(false)
                .environment(env("BED_RUN_SECONDS", "60"))
                .build(),
        );
    }
    let out = req.send().await.unwrap();
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap()
        .to_owned()
}

/// One of moto's default-VPC subnets, through EC2's query API (no EC2 SDK crate needed).
async fn default_subnet(bed: &Bed) -> String {
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
    let start = xml.find("<subnetId>").unwrap() + "<subnetId>".len();
    let end = start + xml[start..].find('<').unwrap();
    xml[start..end].to_owned()
}

struct Fixture {
    bed: Bed,
    ecs: Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    subnet: String,
}

async fn fixture(time_scale: f64) -> Fixture {
    let bed = Bed::start(&[Component::Aws]).expect("bed");
    bed.time_scale(time_scale).unwrap();
    let config = bed.sdk_config().await;
    let ecs = Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    logs.create_log_group()
        .log_group_name("/ecs/migrate")
        .send()
        .await
        .unwrap();
    let subnet = default_subnet(&bed).await;
    Fixture {
        bed,
        ecs,
        logs,
        subnet,
    }
}

impl Fixture {
    fn run(
        &self,
        task_definition: &str,
    ) -> aws_sdk_ecs::operation::run_task::builders::RunTaskFluentBuilder {
        self.ecs
            .run_task()
            .cluster(CLUSTER)
            .task_definition(task_definition)
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets(&self.subnet)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
    }

    async fn describe(&self, arn: &str) -> Task {
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

    /// Polls the task until STOPPED; the distinct lastStatus values seen, and the last task.
    async fn until_stopped(&self, arn: &str) -> (Vec<String>, Task) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut statuses: Vec<String> = Vec::new();
        loop {
            let task = self.describe(arn).await;
            let status = task.last_status().unwrap_or_default().to_owned();
            if statuses.last() != Some(&status) {
                statuses.push(status.clone());
            }
            if status == "STOPPED" {
                return (statuses, task);
            }
            assert!(Instant::now() < deadline, "task not stopped: {task:#?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn log_lines(&self, stream: &str) -> Vec<String> {
        let out = self
            .logs
            .get_log_events()
            .log_group_name("/ecs/migrate")
            .log_stream_name(stream)
            .start_from_head(true)
            .send()
            .await;
        match out {
            Ok(out) => out
                .events()
                .iter()
                .filter_map(|e| e.message().map(str::to_owned))
                .collect(),
            Err(_) => Vec::new(), // the stream does not exist yet
        }
    }
}

#[tokio::test]
async fn a_task_runs_logs_live_and_exits_with_its_code() {
    let f = fixture(0.5).await;
    let td = register(
        &f.ecs,
        "migrate",
        &[
            env("BED_EXIT_CODE", "3"),
            env("BED_RUN_SECONDS", "3"),
            env(
                "BED_LOG_LINES",
                "applying 001\napplying 002\nfailed: duplicate key",
            ),
        ],
        true,
    )
    .await;
    let run = f.run(&td).send().await.unwrap();
    let task = &run.tasks()[0];
    let arn = task.task_arn().unwrap().to_owned();
    let task_id = arn.rsplit('/').next().unwrap().to_owned();
    // The container cpu is a string in the model: the SDK deserialised it.
    assert_eq!(task.containers()[0].cpu(), Some("256"));
    assert_eq!(task.last_status(), Some("PROVISIONING"));

    // While it runs, the first lines are there and the last is not yet.
    let stream = format!("migrate/app/{task_id}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let partial = loop {
        let lines = f.log_lines(&stream).await;
        if !lines.is_empty() {
            break lines;
        }
        assert!(Instant::now() < deadline, "no log lines while running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(f.describe(&arn).await.last_status(), Some("RUNNING"));
    assert!(partial.len() < 3, "{partial:?}");

    let (statuses, stopped) = f.until_stopped(&arn).await;
    // Followed from RUNNING on (PROVISIONING was seen at RunTask): the rest, in order.
    assert_eq!(statuses, ["RUNNING", "DEPROVISIONING", "STOPPED"]);
    assert_eq!(
        stopped.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(
        stopped.stopped_reason(),
        Some("Essential container in task exited")
    );
    let exit = |name: &str| {
        stopped
            .containers()
            .iter()
            .find(|c| c.name() == Some(name))
            .and_then(|c| c.exit_code())
    };
    assert_eq!(exit("app"), Some(3));
    assert_eq!(
        exit("sidecar"),
        Some(143),
        "the sidecar is stopped with the task"
    );
    assert!(stopped.started_at().is_some() && stopped.stopped_at().is_some());
    assert_eq!(
        f.log_lines(&stream).await,
        ["applying 001", "applying 002", "failed: duplicate key"]
    );
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_stops_without_exit_code() {
    let f = fixture(0.1).await;
    let td = register(
        &f.ecs,
        "migrate",
        &[env("BED_START_FAILURE", "CannotPullContainerError")],
        false,
    )
    .await;
    let arn = f.run(&td).send().await.unwrap().tasks()[0]
        .task_arn()
        .unwrap()
        .to_owned();
    let (statuses, stopped) = f.until_stopped(&arn).await;
    assert!(!statuses.contains(&"RUNNING".to_owned()), "{statuses:?}");
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
    let reason = stopped.stopped_reason().unwrap();
    assert!(
        reason.starts_with("CannotPullContainerError:") && reason.contains("registry.local/app:1"),
        "{reason}"
    );
    let app = &stopped.containers()[0];
    assert_eq!(app.exit_code(), None);
    assert_eq!(app.reason(), Some(reason));
}

#[tokio::test]
async fn stop_task_is_user_initiated() {
    let f = fixture(0.1).await;
    let td = register(&f.ecs, "migrate", &[env("BED_RUN_SECONDS", "600")], false).await;
    let arn = f.run(&td).send().await.unwrap().tasks()[0]
        .task_arn()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.describe(&arn).await.last_status() != Some("RUNNING") {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f.ecs
        .stop_task()
        .cluster(CLUSTER)
        .task(&arn)
        .reason("cancelled by the workflow")
        .send()
        .await
        .unwrap();
    let (_, stopped) = f.until_stopped(&arn).await;
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::UserInitiated));
    assert_eq!(stopped.stopped_reason(), Some("cancelled by the workflow"));
    assert_eq!(stopped.containers()[0].exit_code(), Some(143));
}

#[tokio::test]
async fn overrides_and_scenario_knobs_set_the_exit_code() {
    let f = fixture(0.05).await;
    let td = register(&f.ecs, "migrate", &[], false).await;
    f.bed
        .scenario(r#"{"family": "migrate", "exitCode": 2}"#)
        .unwrap();
    let first = f.run(&td).send().await.unwrap();
    let arn = first.tasks()[0].task_arn().unwrap().to_owned();
    let (_, stopped) = f.until_stopped(&arn).await;
    assert_eq!(stopped.containers()[0].exit_code(), Some(2));

    // A containerOverrides environment beats the scenario knob.
    let other = f
        .run(&td)
        .overrides(app_env_override("BED_EXIT_CODE", "0"))
        .send()
        .await
        .unwrap();
    let other_arn = other.tasks()[0].task_arn().unwrap().to_owned();
    assert_ne!(other_arn, arn);
    let (_, stopped) = f.until_stopped(&other_arn).await;
    assert_eq!(stopped.containers()[0].exit_code(), Some(0));
}

fn app_env_override(name: &str, value: &str) -> TaskOverride {
    TaskOverride::builder()
        .container_overrides(
            ContainerOverride::builder()
                .name("app")
                .environment(env(name, value))
                .build(),
        )
        .build()
}

/// ECS_Idempotency and the model's ConflictException: the same token and parameters give the
/// same tasks; the same token with other parameters is refused, naming the tasks it started.
mod tokens_and_logs;
