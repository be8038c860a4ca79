//! The demo path: examples/workflows/deploy.yml, the file users copy, through act against the
//! test bed (python -m bed.tools.demo creates what it deploys to). Staging then production, with the
//! digest staging tested; and the failing flag, which ends in a rollback and a red run.

#![allow(clippy::print_stderr)] // the rollback's duration, shown with --nocapture

use std::process::Command;

use aws_sdk_ecs::Client;
use deploy_kit_testbed::act::{Workflow, WorkflowRun};
use deploy_kit_testbed::docker::Docker;
use deploy_kit_testbed::{Bed, Component, repo_root};

use crate::actions::ecs_blue_green::http_server;

/// A bed with python -m bed.tools.demo's cluster `demo` (api-staging and api-production on revision 1
/// of family `api`, blue/green), the repository variables it prints, and the URLs of a healthy
/// app. The other example workflows' tests (workflows.rs) use it too.
pub(crate) struct Demo {
    pub(crate) bed: Bed,
    _docker: Option<Docker>,
    pub(crate) ecs: Client,
    vars: Vec<(String, String)>,
    pub(crate) dir: tempfile::TempDir,
}

/// The bed's and the binary's time scale.
pub(crate) const SCALE: &str = "0.05";

/// `docker`: a docker engine and registry, for deploy.yml's build; `fail_staging`: new staging
/// tasks fail their health checks.
pub(crate) async fn demo(docker: bool, fail_staging: bool) -> Demo {
    let bed = Bed::start(&[Component::Aws, Component::Oidc]).unwrap();
    bed.time_scale(SCALE.parse().unwrap()).unwrap();
    let docker = docker.then(|| Docker::start(&bed).unwrap());
    let mut setup = Command::new(repo_root().join("tests/bed/.venv/bin/python"));
    setup
        .args([
            "-m",
            "bed.tools.demo",
            "--state-dir",
            bed.var("BED_STATE_DIR").unwrap(),
        ])
        .current_dir(repo_root().join("tests/bed"));
    if fail_staging {
        setup.arg("--fail-staging");
    }
    let out = setup.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut vars: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let url = http_server(200);
    for name in [
        "STAGING_TEST_URL",
        "PRODUCTION_TEST_URL",
        "STAGING_URL",
        "PRODUCTION_URL",
    ] {
        vars.push((name.to_owned(), url.clone()));
    }
    let ecs = Client::new(&bed.sdk_config().await);
    Demo {
        bed,
        _docker: docker,
        ecs,
        vars,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Demo {
    /// `path` through act, `uses: org/deploy-kit/...@v1` served from this checkout, with the
    /// repository variables.
    pub(crate) fn workflow(&self, path: &str) -> Workflow {
        let mut workflow = Workflow::new(path)
            .as_action("org/deploy-kit@v1")
            .bin(crate::BIN)
            .env("DEPLOY_KIT_TIME_SCALE", SCALE);
        for (key, value) in &self.vars {
            workflow = workflow.var(key, value);
        }
        workflow
    }

    fn run(&self) -> WorkflowRun {
        self.workflow("examples/workflows/deploy.yml")
            .event("workflow_dispatch")
            .run(&self.bed)
            .unwrap()
    }

    /// The task definition `service` runs.
    pub(crate) async fn task_definition(&self, service: &str) -> String {
        let out = self
            .ecs
            .describe_services()
            .cluster("demo")
            .services(service)
            .send()
            .await
            .unwrap();
        out.services()[0].task_definition().unwrap().to_owned()
    }

    /// The image of container `web` in the task definition `service` runs.
    async fn image(&self, service: &str) -> String {
        let task_definition = self.task_definition(service).await;
        let described = self
            .ecs
            .describe_task_definition()
            .task_definition(task_definition)
            .send()
            .await
            .unwrap();
        described
            .task_definition()
            .unwrap()
            .container_definitions()
            .iter()
            .find(|c| c.name() == Some("web"))
            .and_then(|c| c.image())
            .unwrap()
            .to_owned()
    }
}

/// Every value job `job` set for output `name`, in order (act prints `::set-output::` lines).
fn outputs(log: &str, job: &str, name: &str) -> Vec<String> {
    // act pads job names to the longest (`[deploy/staging         ]`).
    let prefix = format!("[deploy/{job}");
    let key = format!("::set-output:: {name}=");
    log.lines()
        .filter(|line| {
            line.strip_prefix(&prefix)
                .is_some_and(|rest| rest.trim_start().starts_with(']'))
        })
        .filter_map(|line| line.split_once(&key).map(|(_, value)| value.to_owned()))
        .collect()
}

/// The one value job `job` set for output `name` (all its steps agree).
fn output(log: &str, job: &str, name: &str) -> String {
    let values = outputs(log, job, name);
    assert!(!values.is_empty(), "{job} set no `{name}`:\n{log}");
    assert!(
        values.iter().all(|v| *v == values[0]),
        "{job}: `{name}` = {values:?}"
    );
    values[0].clone()
}

/// What an environment's steps output: the migration exited 0, the deployment succeeded, every
/// smoke check passed, and the service runs the revision the migration ran.
async fn assert_environment(demo: &Demo, log: &str, job: &str, service: &str) {
    assert_eq!(output(log, job, "exit-code"), "0");
    assert_eq!(output(log, job, "stop-code"), "EssentialContainerExited");
    assert_eq!(output(log, job, "status"), "SUCCESSFUL");
    assert_eq!(output(log, job, "passed"), "true");
    assert_eq!(output(log, job, "aws-account-id"), "123456789012");
    assert!(output(log, job, "service-deployment-arn").contains(":service-deployment/demo/"));
    // One revision: run-migrations registered it, ecs-blue-green deployed that same ARN.
    assert_eq!(
        output(log, job, "task-definition-arn"),
        demo.task_definition(service).await,
        "{job}: the service runs the revision the migration ran"
    );
}

#[tokio::test]
async fn the_example_pipeline_deploys_staging_then_production_with_the_same_digest() {
    let demo = demo(true, false).await;
    let run = demo.run();
    let log = &run.log;
    assert!(run.success, "act failed:\n{log}");
    for expected in [
        "through GitHub OIDC",
        "building with DOCKER_BUILDKIT=1 docker build",
        "STOPPED (EssentialContainerExited)",
        "smoke checks passed",
        "status SUCCESSFUL",
        "🏁  Job succeeded",
    ] {
        assert!(log.contains(expected), "wanted {expected:?} in\n{log}");
    }
    let staging = demo.image("api-staging").await;
    let production = demo.image("api-production").await;
    assert!(
        staging.contains("/demo/api@sha256:"),
        "pinned by digest: {staging}"
    );
    assert_eq!(
        production, staging,
        "production runs the digest staging tested"
    );
    let digest = output(log, "build", "digest");
    assert_eq!(output(log, "build", "skipped"), "false");
    assert!(
        staging.ends_with(&format!("@{digest}")),
        "{staging} is the digest built: {digest}"
    );
    assert_environment(&demo, log, "staging", "api-staging").await;
    assert_environment(&demo, log, "production", "api-production").await;
    // The frontend, after each environment's API: all four files the first time.
    for job in ["frontend-staging", "frontend-production"] {
        assert_eq!(output(log, job, "uploaded"), "4", "{job}");
        assert!(!output(log, job, "invalidation-id").is_empty(), "{job}");
    }

    // Again, as the demo does: the image exists, so the build is skipped; same digest deployed.
    let again = demo.run();
    assert!(again.success, "act failed:\n{}", again.log);
    assert_eq!(output(&again.log, "build", "skipped"), "true");
    assert_eq!(output(&again.log, "build", "digest"), digest);
    assert!(!again.log.contains("docker build"), "{}", again.log);
    assert_eq!(demo.image("api-production").await, staging);
    // A fresh build of the same frontend (new mtimes): nothing to upload, nothing to invalidate.
    for job in ["frontend-staging", "frontend-production"] {
        assert_eq!(output(&again.log, job, "uploaded"), "0", "{job}");
        assert_eq!(output(&again.log, job, "unchanged"), "4", "{job}");
    }

    // Production is on fire: rollback.yml, as the demo runs it after the gated deploys.
    assert_rollback_after_gated_deploys(&demo).await;
}

/// rollback.yml after gated deploys: no PAUSE hook is left in the service's configuration, so
/// the rollback waits on nothing and ends SUCCESSFUL in seconds of bed time.
async fn assert_rollback_after_gated_deploys(demo: &Demo) {
    let running = demo.task_definition("api-production").await;
    let service = demo
        .ecs
        .describe_services()
        .cluster("demo")
        .services("api-production")
        .send()
        .await
        .unwrap();
    let config = service.services()[0].deployment_configuration().unwrap();
    assert!(
        config.lifecycle_hooks().is_empty(),
        "the gated deploys left a hook: {:?}",
        config.lifecycle_hooks()
    );
    let run = demo
        .workflow("examples/workflows/rollback.yml")
        .event("workflow_dispatch")
        .input("environment", "production")
        .run(&demo.bed)
        .unwrap();
    let log = &run.log;
    assert!(run.success, "act failed:\n{log}");
    assert!(log.contains("status SUCCESSFUL"), "{log}");
    assert!(
        !log.contains("waiting for ContinueServiceDeployment"),
        "{log}"
    );
    let back = demo.task_definition("api-production").await;
    let revision = |arn: &str| arn.rsplit(':').next().unwrap().parse::<u32>().unwrap();
    assert!(revision(&back) < revision(&running), "{running} -> {back}");
    let all = demo.bed.deployments().unwrap();
    let rollback = all["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["service"] == "api-production")
        .max_by_key(|d| d["createdAt"].as_i64().unwrap())
        .unwrap()
        .clone();
    assert_eq!(rollback["status"], "SUCCESSFUL");
    assert_eq!(rollback["hooks"], serde_json::json!([]), "no hook ran");
    let lasted_ms =
        rollback["terminalAt"].as_i64().unwrap() - rollback["createdAt"].as_i64().unwrap();
    eprintln!(
        "rollback.yml's deployment: {:.1} s wall, {:.0} s of bed time",
        lasted_ms as f64 / 1000.0,
        lasted_ms as f64 / 1000.0 / SCALE.parse::<f64>().unwrap()
    );
}

#[tokio::test]
async fn a_failing_staging_deploy_rolls_back_and_stops_the_run() {
    let demo = demo(true, true).await;
    let before = demo.image("api-staging").await;
    let run = demo.run();
    let log = &run.log;
    assert!(!run.success, "the run is red:\n{log}");
    assert!(log.contains("circuit breaker tripped"), "{log}");
    assert!(log.contains("ROLLBACK_SUCCESSFUL"), "{log}");
    assert_eq!(
        demo.image("api-staging").await,
        before,
        "staging rolled back"
    );
    assert!(
        !demo.image("api-production").await.contains("@sha256:"),
        "production never deployed"
    );
    assert!(
        outputs(log, "frontend-staging", "uploaded").is_empty(),
        "no frontend without its API"
    );
}
