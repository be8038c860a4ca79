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
        let (_, body) = self.bed.get("/_bed/calls").unwrap();
        let log: serde_json::Value = serde_json::from_str(&body).unwrap();
        log["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect()
    }

    pub fn reset_calls(&self) {
        super::super::iam::reset(&self.bed);
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
    let subnets = super::super::run_migrations::migration_ground(&bed).await;
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
    // Two services: each ecs-blue-green baseline starts a deployment on its own.
    for name in ["web", "web2"] {
        ecs.create_service()
            .cluster(CLUSTER)
            .service_name(name)
            .task_definition(&web_arn)
            .desired_count(1)
            .load_balancers(super::super::ecs_blue_green::load_balancer(true))
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
    // A third behind a load balancer in the bed's ELBv2, whose target groups `max-5xx-rate`
    // reads.
    ecs.create_service()
        .cluster(CLUSTER)
        .service_name("web3")
        .task_definition(&web_arn)
        .desired_count(1)
        .load_balancers(super::super::five_xx::real_load_balancer(&bed, "web3"))
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .bake_time_in_minutes(0)
                .build(),
        )
        .send()
        .await
        .unwrap();
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
    let logs = super::super::run_migrations::migrate_logs();
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

fn baselines(dir: &Path, api_arn: &str, migrate: &str, subnet: &str) -> Vec<Baseline> {
    let taskdef = |family: &str| {
        write(
            dir,
            &format!("{family}.json"),
            &format!(
                r#"{{"family": "{family}", "containerDefinitions": [{{"name": "web", "image": "app:1", "memory": 128, "essential": true, "logConfiguration": {{"logDriver": "awslogs", "options": {{"awslogs-group": "/ecs/{family}"}}}}}}]}}"#
            ),
        )
    };
    let api_file = taskdef("api");
    let web_file = taskdef("web");
    let context = dir.join("context");
    std::fs::create_dir_all(&context).unwrap();
    let dockerfile = write(&context, "Dockerfile", "FROM scratch AS app\nCOPY . /\n");
    let context = context.display().to_string();
    let smoke_url = super::super::ecs_blue_green::http_server(200);
    let site = dir.join("site");
    std::fs::create_dir_all(site.join("assets")).unwrap();
    write(
        &site,
        "index.html",
        "<script src=/assets/app-1a2b3c4d.js></script>",
    );
    write(&site.join("assets"), "app-1a2b3c4d.js", "console.log(1)");
    let site = site.display().to_string();
    let ecs_common = [
        ("cluster", CLUSTER),
        ("service", "web"),
        ("task-definition", web_file.as_str()),
        ("bake-time", "1m"),
        ("alarms", "web-5xx"),
        ("circuit-breaker", "true"),
        ("test-url", smoke_url.as_str()),
        ("test-method", "GET"),
        ("test-headers", "X-Check: yes"),
        ("test-expect-status", "2xx"),
        ("test-expect-body", "ok"),
        ("test-timeout", "2s"),
        ("test-wait-for", "5s"),
        ("test-requests", "2"),
        ("test-concurrency", "2"),
        ("test-max-error-rate", "1%"),
        ("test-max-p95", "800ms"),
        ("test-follow-redirects", "false"),
        ("desired-count", "1"),
        ("force-new-deployment", "false"),
        ("timeout", "5m"),
        ("rollback-on-timeout", "true"),
        ("rollback-on-cancel", "true"),
        // `wait: false` is refused with `test-url`: the baseline follows its deployment.
        ("wait", "true"),
        ("dry-run", "false"),
    ];
    let mut canary = owned(&ecs_common);
    canary.extend(owned(&[
        ("strategy", "canary"),
        ("canary-percent", "10%"),
        ("canary-bake-time", "1m"),
    ]));
    let mut linear = owned(&ecs_common);
    linear.retain(|(input, _)| *input != "service");
    linear.extend(owned(&[
        ("service", "web2"),
        ("strategy", "linear"),
        ("linear-step-percent", "50%"),
        ("linear-step-interval", "1m"),
    ]));
    let mut gate = owned(&ecs_common);
    gate.retain(|(input, _)| *input != "service");
    gate.extend(owned(&[
        ("service", "web3"),
        ("max-5xx-rate", "1%"),
        ("max-5xx-rate-period", "1m"),
        ("max-5xx-rate-datapoints", "2 of 3"),
    ]));
    let render_rest = [
        ("container-name", "web"),
        ("image", "app:2"),
        ("environment-variables", "RELEASE=1"),
        ("remove-environment-variables", "OLD_SETTING"),
        (
            "secrets",
            "DB_PASSWORD=arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
        ),
        ("command", r#"["bin/server", "--port", "8080"]"#),
        ("log-configuration-options", "awslogs-group=/ecs/api"),
        ("docker-labels", "team=core"),
        ("cpu", "256"),
        ("memory", "512"),
        ("task-role-arn", "arn:aws:iam::123456789012:role/api-task"),
        ("execution-role-arn", "ecsTaskExecutionRole"),
        ("family", "api"),
        ("allow-plaintext-secrets", "false"),
    ];
    let render = |source: (&'static str, &str)| {
        let mut inputs = owned(&[source]);
        inputs.extend(owned(&render_rest));
        inputs
    };
    vec![
        Baseline {
            action: "oidc-login",
            only: &[],
            inputs: owned(&[
                ("role-to-assume", ROLE),
                ("aws-region", "us-east-1"),
                ("audience", "sts.amazonaws.com"),
                ("role-session-name", "deploy-kit-bad-input"),
                ("role-duration-seconds", "3600"),
                (
                    "role-chain",
                    "arn:aws:iam::123456789012:role/staging-deploy",
                ),
                ("role-external-id", "ext-12345"),
                ("allowed-account-ids", "123456789012"),
                ("mask-account-id", "false"),
                ("output-credentials", "false"),
                ("retry-max-attempts", "2"),
                ("disable-retry", "false"),
                (
                    "inline-session-policy",
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                ),
                (
                    "managed-session-policies",
                    "arn:aws:iam::aws:policy/ReadOnlyAccess",
                ),
                ("role-skip-session-tagging", "false"),
                ("transitive-tag-keys", "Team"),
                ("custom-tags", r#"{"Team": "core"}"#),
                ("output-env-credentials", "true"),
                ("action-timeout-s", "600"),
                ("use-existing-credentials", "false"),
            ]),
        },
        Baseline {
            action: "build-push-ecr",
            only: &[],
            inputs: owned(&[
                ("repository", "bad-input"),
                ("context", &context),
                ("dockerfile", &dockerfile),
                ("tags", "t1\nt2"),
                ("build-args", "VERSION=1.0.0"),
                ("secrets", "token=s3cr3t-value"),
                ("target", "app"),
                ("platforms", "linux/amd64"),
                ("cache", "true"),
                ("skip-if-exists", "true"),
                ("create-repository", "true"),
                ("immutable-tags", "true"),
                ("scan", "wait"),
                ("fail-on-severity", "HIGH"),
                ("ignore-findings", "CVE-2026-0001"),
                ("scan-timeout", "1m"),
                ("provenance", "false"),
                ("push", "true"),
                ("registry", ""),
            ]),
        },
        Baseline {
            action: "render-taskdef",
            only: &[],
            inputs: render(("task-definition", &api_file)),
        },
        Baseline {
            action: "render-taskdef",
            only: &["task-definition-family"],
            inputs: render(("task-definition-family", "api")),
        },
        Baseline {
            action: "render-taskdef",
            only: &["task-definition-arn"],
            inputs: render(("task-definition-arn", api_arn)),
        },
        Baseline {
            action: "render-taskdef",
            only: &["images"],
            inputs: owned(&[("task-definition", &api_file), ("images", "web=app:3")]),
        },
        Baseline {
            action: "ecs-blue-green",
            only: &[],
            inputs: canary,
        },
        Baseline {
            action: "ecs-blue-green",
            only: &["linear-step-percent", "linear-step-interval"],
            inputs: linear,
        },
        Baseline {
            action: "ecs-blue-green",
            only: &[
                "max-5xx-rate",
                "max-5xx-rate-period",
                "max-5xx-rate-datapoints",
            ],
            inputs: gate,
        },
        Baseline {
            action: "run-migrations",
            only: &[],
            inputs: owned(&[
                ("cluster", CLUSTER),
                ("service", "mig"),
                ("task-definition", migrate),
                ("container-name", "app"),
                ("command", r#"["bin/migrate", "up"]"#),
                ("environment", "MODE=up"),
                ("subnets", subnet),
                ("security-groups", "sg-0123456789abcdef0"),
                ("assign-public-ip", "false"),
                ("launch-type", "FARGATE"),
                ("start-timeout", "1m"),
                ("timeout", "2m"),
                ("stream-logs", "true"),
                ("started-by", "deploy-kit-bad-input"),
            ]),
        },
        Baseline {
            action: "smoke-test",
            only: &[],
            inputs: owned(&[
                ("url", &smoke_url),
                ("method", "GET"),
                ("headers", "X-Check: yes"),
                ("expect-status", "2xx"),
                ("expect-body", "ok"),
                ("expect-json", ""),
                ("timeout", "2s"),
                ("wait-for", "5s"),
                ("requests", "2"),
                ("concurrency", "2"),
                ("max-error-rate", "1%"),
                ("max-p95", "800ms"),
                ("follow-redirects", "false"),
            ]),
        },
        Baseline {
            action: "ecr-login",
            only: &[],
            inputs: owned(&[
                ("registries", "123456789012"),
                ("registry-type", "private"),
                ("mask-password", "true"),
                ("logout", "false"),
            ]),
        },
        Baseline {
            action: "deploy-static",
            only: &[],
            inputs: owned(&[
                ("source", &site),
                ("bucket", SITE_BUCKET),
                ("prefix", "web/"),
                ("distribution-id", ""),
                ("cache-control", "*.json=public, max-age=60"),
                ("delete", "true"),
                ("keep-previous", "1"),
                ("invalidate", "changed"),
                ("wait", "true"),
                ("concurrency", "4"),
                ("dry-run", "false"),
            ]),
        },
    ]
}
