//! The demo path: examples/workflows/deploy.yml, the file users copy, through act against the
//! test bed (python -m bed.demo creates what it deploys to). Staging then production, with the
//! digest staging tested; and the failing flag, which ends in a rollback and a red run.

use std::process::Command;

use aws_sdk_ecs::Client;
use deploy_kit_testbed::act::{Run, Workflow};
use deploy_kit_testbed::docker::Docker;
use deploy_kit_testbed::{Bed, Component, repo_root};

use super::ecs_blue_green::http_server;

struct Demo {
    bed: Bed,
    _docker: Docker,
    ecs: Client,
    vars: Vec<(String, String)>,
}

async fn demo(fail_staging: bool) -> Demo {
    let bed = Bed::start(&[Component::Aws, Component::Oidc]).unwrap();
    bed.time_scale(0.05).unwrap();
    let docker = Docker::start(&bed).unwrap();
    let mut setup = Command::new(repo_root().join("tests/bed/.venv/bin/python"));
    setup
        .args([
            "-m",
            "bed.demo",
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
    }
}

impl Demo {
    fn run(&self) -> Run {
        let mut workflow = Workflow::new("examples/workflows/deploy.yml")
            .event("workflow_dispatch")
            .as_action("org/deploy-kit@v1")
            .bin(env!("CARGO_BIN_EXE_deploy-kit"))
            .env("DEPLOY_KIT_TIME_SCALE", "0.05");
        for (key, value) in &self.vars {
            workflow = workflow.var(key, value);
        }
        workflow.run(&self.bed).unwrap()
    }

    /// The image of container `web` in the task definition `service` runs.
    async fn image(&self, service: &str) -> String {
        let out = self
            .ecs
            .describe_services()
            .cluster("demo")
            .services(service)
            .send()
            .await
            .unwrap();
        let task_definition = out.services()[0].task_definition().unwrap().to_owned();
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

#[tokio::test]
async fn the_example_pipeline_deploys_staging_then_production_with_the_same_digest() {
    let demo = demo(false).await;
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
}

#[tokio::test]
async fn a_failing_staging_deploy_rolls_back_and_stops_the_run() {
    let demo = demo(true).await;
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
}
