//! One test bed for the whole battery, and a valid baseline per action: every input set to a
//! value the action accepts, with what it depends on in place (a strategy for its knobs, a test
//! URL for the `test-*` checks, `scan: wait` for the severity), so a refusal can only come from
//! the one input a case changes. Mutually exclusive inputs get a baseline of their own.

use std::path::Path;

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, DeploymentConfiguration,
    DeploymentStrategy, LaunchType, LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode,
};
use deploy_kit_testbed::{Bed, Component};

mod baselines;

use baselines::baselines;

pub const ROLE: &str = "arn:aws:iam::123456789012:role/github-deploy";
const CLUSTER: &str = "prod";
const SITE_BUCKET: &str = "bad-input-site";

/// A valid input set for `action`; `only` lists the inputs it is the baseline of (empty: every
/// input no other baseline of the action claims).
pub struct Baseline {
    pub action: &'static str,
    pub only: &'static [&'static str],
    pub inputs: Vec<(&'static str, String)>,
}

pub struct World {
    pub bed: Bed,
    pub dir: tempfile::TempDir,
    pub baselines: Vec<Baseline>,
}

impl World {
    /// The environment every run of `action` gets (besides its inputs), as in a GitHub job.
    pub fn env(&self, action: &str) -> Vec<(String, String)> {
        let dir = self.dir.path();
        let file = |name: &str| dir.join(name).display().to_string();
        let mut env: Vec<(String, String)> = self.bed.env().to_vec();
        env.extend(
            [
                ("GITHUB_ACTIONS", "true".to_owned()),
                (
                    "GITHUB_SHA",
                    "0123456789abcdef0123456789abcdef01234567".to_owned(),
                ),
                ("DEPLOY_KIT_TIME_SCALE", "0.05".to_owned()),
                ("RUNNER_TEMP", dir.display().to_string()),
                // A runner always has a home: ecr-login's docker config is under it.
                ("HOME", dir.display().to_string()),
                ("GITHUB_OUTPUT", file(&format!("{action}.output"))),
                ("GITHUB_ENV", file(&format!("{action}.env"))),
                ("GITHUB_STEP_SUMMARY", file(&format!("{action}.summary"))),
                // No docker here: nothing may get as far as a build.
                (
                    "DOCKER",
                    "/nonexistent/deploy-kit-bad-input/docker".to_owned(),
                ),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        env
    }

    /// The bed's call log since the last [`World::reset_calls`].
    pub fn calls(&self) -> Vec<String> {
        self.bed.calls().unwrap()
    }

    pub fn reset_calls(&self) {
        crate::contract::iam::reset(&self.bed);
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn owned(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

pub async fn world() -> World {
    let bed = Bed::start(&[Component::Aws, Component::Oidc]).unwrap();
    bed.time_scale(0.05).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = bed.sdk_config().await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs.create_cluster()
        .cluster_name(CLUSTER)
        .send()
        .await
        .unwrap();
    let subnets = crate::actions::run_migrations::migration_ground(&bed).await;
    let web = ContainerDefinition::builder()
        .name("web")
        .image("app:1")
        .memory(128)
        .essential(true)
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", "/ecs/api")
                .build()
                .unwrap(),
        )
        .build();
    let api_arn = register(ecs.register_task_definition().family("api"), web.clone()).await;
    let web_arn = register(ecs.register_task_definition().family("web"), web).await;
    // Two services: each ecs-blue-green baseline starts a deployment on its own. A third behind
    // a load balancer in the bed's ELBv2, whose target groups `max-5xx-rate` reads.
    for name in ["web", "web2"] {
        let balancer = crate::actions::ecs_blue_green::load_balancer(true);
        blue_green_service(&ecs, name, &web_arn, balancer).await;
    }
    let balancer = crate::actions::ecs_blue_green::five_xx::real_load_balancer(&bed, "web3");
    blue_green_service(&ecs, "web3", &web_arn, balancer).await;
    let migrate = migrate_task(&ecs).await;
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("mig")
        .task_definition(&migrate)
        .desired_count(0)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets(&subnets[0])
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_s3::Client::new(&config)
        .create_bucket()
        .bucket(SITE_BUCKET)
        .send()
        .await
        .unwrap();
    // The services' first deployments run their whole lifecycle: let them end before a test
    // deploys (pre-flight refuses a service with one in flight).
    for name in ["web", "web2", "web3", "mig"] {
        settled(&ecs, name).await;
    }
    let baselines = baselines(dir.path(), &api_arn, &migrate, &subnets[0]);
    World {
        bed,
        dir,
        baselines,
    }
}

/// A blue/green service `name` of one task behind `balancer`, no bake.
async fn blue_green_service(
    ecs: &aws_sdk_ecs::Client,
    name: &str,
    task_definition: &str,
    balancer: aws_sdk_ecs::types::LoadBalancer,
) {
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name(name)
        .task_definition(task_definition)
        .desired_count(1)
        .load_balancers(balancer)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .bake_time_in_minutes(0)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Waits until no deployment of `service` is in flight.
async fn settled(ecs: &aws_sdk_ecs::Client, service: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let listed = ecs
            .list_service_deployments()
            .cluster(CLUSTER)
            .service(service)
            .status(aws_sdk_ecs::types::ServiceDeploymentStatus::Pending)
            .status(aws_sdk_ecs::types::ServiceDeploymentStatus::InProgress)
            .send()
            .await
            .unwrap();
        if listed.service_deployments().is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{service} never settled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn register(
    request: RegisterTaskDefinitionFluentBuilder,
    container: ContainerDefinition,
) -> String {
    request
        .container_definitions(container)
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_owned()
}

/// Family `migrate`: one essential FARGATE container logging to `/ecs/migrate`, exiting 0.
async fn migrate_task(ecs: &aws_sdk_ecs::Client) -> String {
    let logs = crate::actions::run_migrations::migrate_logs();
    let app = ContainerDefinition::builder()
        .name("app")
        .image("registry.local/app:1")
        .essential(true)
        .log_configuration(logs)
        .build();
    let request = ecs
        .register_task_definition()
        .family("migrate")
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512");
    register(request, app).await
}
