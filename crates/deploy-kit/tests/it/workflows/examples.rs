//! The other example workflows. tests/lint-workflows (actionlint and zizmor over every workflow)
//! passes, and fails on the mistakes it is there for. Through act against the bed (python -m
//! bed.tools.demo creates the cluster): pull-request.yml's dry run shows the diff and writes nothing;
//! rollback.yml goes back to the previous revision, then to the one it is given.

use std::path::Path;
use std::process::{Command, Output};

use deploy_kit_testbed::act::WorkflowRun;
use deploy_kit_testbed::repo_root;
use serde_json::Value;

use crate::workflows::demo::{Demo, SCALE, demo};

fn lint(files: &[&Path]) -> (Output, String) {
    let out = Command::new(repo_root().join("tests/lint-workflows"))
        .args(files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[test]
fn every_workflow_passes_actionlint_and_zizmor() {
    let (out, text) = lint(&[]);
    assert!(out.status.success(), "tests/lint-workflows failed:\n{text}");
    for linted in [
        "examples/workflows/deploy.yml",
        "examples/workflows/gitflow.yml",
        "examples/workflows/pull-request.yml",
        "examples/workflows/rollback.yml",
        "examples/workflows/infrastructure.yml",
        "examples/workflows/deploy-services.yml",
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
    ] {
        assert!(
            text.contains(&format!(" {linted} ")),
            "{linted} was not linted:\n{text}"
        );
    }
}

/// Every job of every example that deploys to an environment holds a concurrency group for that
/// environment that never cancels a run in flight, and the group's name is the same in every
/// file (`deploy-<environment>`, per service in a monorepo's matrix), so deploy.yml, gitflow.yml and rollback.yml queue behind each
/// other. gitflow.yml deploys production only from `main` and only after its staging job.
#[test]
fn every_deploying_job_queues_per_environment_and_never_cancels() {
    let dir = repo_root().join("examples/workflows");
    let mut deploying = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (name, job) in doc["jobs"].as_mapping().unwrap() {
            let Some(environment) = job["environment"].as_str() else {
                continue;
            };
            deploying += 1;
            let at = format!("{} job {:?}", path.display(), name);
            let group = job["concurrency"]["group"].as_str().unwrap_or_default();
            // rollback.yml's is `deploy-${{ inputs.environment }}`; deploy-services.yml's is per
            // environment and service (`deploy-staging-${{ matrix.service }}`).
            let wanted = format!("deploy-{environment}");
            assert!(
                group == wanted || group.starts_with(&format!("{wanted}-")),
                "{at}: concurrency group {group:?}, wanted {wanted:?}"
            );
            assert_eq!(
                job["concurrency"]["cancel-in-progress"].as_bool(),
                Some(false),
                "{at}: a deploy in flight must never be cancelled"
            );
        }
    }
    assert!(deploying >= 7, "only {deploying} deploying jobs found");

    let gitflow: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join("gitflow.yml")).unwrap())
            .unwrap();
    let branches = &gitflow["on"]["push"]["branches"];
    assert_eq!(branches[0].as_str(), Some("develop"));
    assert_eq!(branches[1].as_str(), Some("main"));
    let production = &gitflow["jobs"]["production"];
    assert_eq!(
        production["if"].as_str(),
        Some("${{ github.ref == 'refs/heads/main' }}")
    );
    let needs: Vec<&str> = production["needs"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(needs.contains(&"staging"), "{needs:?}");
    assert!(
        gitflow["jobs"]["staging"]["if"].is_null(),
        "staging runs on both branches"
    );
}

/// The configuration lets `org/deploy-kit/<action>@v1` through by tag, and nothing else: a
/// third-party action on a tag, or a pull request title in `run:`, fails the lint.
#[test]
fn the_lint_refuses_a_tag_pinned_third_party_action_and_a_template_injection() {
    let dir = tempfile::tempdir().unwrap();
    let step = |uses: &str| format!("      - uses: {uses}\n");
    let workflow = |steps: &str| {
        format!(
            "name: t\non: pull_request\npermissions:\n  contents: read\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"
        )
    };
    let ours = dir.path().join("ours.yml");
    std::fs::write(
        &ours,
        workflow(&(step("org/deploy-kit@v1") + &step("org/deploy-kit/smoke-test@v1"))),
    )
    .unwrap();
    let (out, text) = lint(&[&ours]);
    assert!(out.status.success(), "our own actions by tag:\n{text}");

    let theirs = dir.path().join("theirs.yml");
    std::fs::write(&theirs, workflow(&step("hashicorp/setup-terraform@v4"))).unwrap();
    let (out, text) = lint(&[&theirs]);
    assert!(!out.status.success(), "a third-party tag passed:\n{text}");
    assert!(text.contains("unpinned-uses"), "{text}");

    let injected = dir.path().join("injected.yml");
    std::fs::write(
        &injected,
        workflow("      - run: echo \"${{ github.event.pull_request.title }}\"\n"),
    )
    .unwrap();
    let (out, text) = lint(&[&injected]);
    assert!(
        !out.status.success(),
        "a template injection passed:\n{text}"
    );
    assert!(text.contains("template-injection"), "{text}");
}

/// What the other workflows' tests need of the demo bed, beside demo.rs's own.
impl Demo {
    async fn service_deployments(&self, service: &str) -> usize {
        let out = self
            .ecs
            .list_service_deployments()
            .cluster("demo")
            .service(service)
            .send()
            .await
            .unwrap();
        out.service_deployments().len()
    }

    async fn revisions(&self) -> Vec<String> {
        let out = self
            .ecs
            .list_task_definitions()
            .family_prefix("api")
            .send()
            .await
            .unwrap();
        out.task_definition_arns().to_vec()
    }

    /// Deploys a new revision of the demo's task definition with `image` to api-staging, with
    /// the binary itself, to the end; returns the service's task definition ARN afterwards.
    async fn deploy(&self, image: &str) -> String {
        let fixture = repo_root().join("crates/render-taskdef/tests/fixtures/two-containers.json");
        let mut task: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
        task["containerDefinitions"][0]["image"] = Value::from(image);
        let file = self
            .dir
            .path()
            .join(format!("{}.json", image.replace([':', '/'], "-")));
        std::fs::write(&file, task.to_string()).unwrap();
        let run = crate::deploy_kit()
            .args([
                "ecs-blue-green",
                "--cluster",
                "demo",
                "--service",
                "api-staging",
            ])
            .arg("--task-definition")
            .arg(&file)
            .env("DEPLOY_KIT_TIME_SCALE", SCALE)
            .bed(&self.bed)
            .run();
        assert_eq!(run.code, Some(0), "deploying {image}: {}", run.stderr);
        self.task_definition("api-staging").await
    }

    /// The AWS calls the bed received since the last call of this (it empties the log).
    fn take_calls(&self) -> Vec<String> {
        let calls = self.bed.calls().unwrap();
        self.bed.reset_calls().unwrap();
        calls
    }
}

#[tokio::test]
async fn the_pull_request_dry_run_shows_the_diff_and_changes_nothing() {
    let demo = demo(false, false).await;
    let task_definition = demo.task_definition("api-staging").await;
    let deployments = demo.service_deployments("api-staging").await;
    let revisions = demo.revisions().await;
    demo.take_calls();

    let run = demo
        .workflow("examples/workflows/pull-request.yml")
        .event("pull_request")
        .run(&demo.bed)
        .unwrap();
    let log = &run.log;
    assert!(run.success, "act failed:\n{log}");
    assert!(log.contains("dry run: nothing was written"), "{log}");
    assert!(log.contains("🏁  Job succeeded"), "{log}");
    // act prints each step's summary after `Summary - `: the diff is there, in a diff block.
    let summary = log
        .split_once("Summary - ### ecs-blue-green dry run: service `api-staging` in cluster `demo`")
        .map(|(_, rest)| rest.split("\n```\n").next().unwrap_or_default())
        .unwrap_or_else(|| panic!("no dry-run summary in\n{log}"));
    // act's github.sha is the checkout's HEAD: the RELEASE variable and the image tag carry it.
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let release = format!("+ containerDefinitions[web].environment[RELEASE].value: \"{head}\"");
    let tag = format!("/demo/api:{head}\"");
    for expected in [
        "```diff\n",
        &release,
        &tag,
        "task definition ~ containerDefinitions[web].image: \"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4.1\" -> \"123456789012.dkr.ecr.us-east-1.amazonaws.com/demo/api:",
        "deploymentConfiguration.lifecycleHooks: 0 hook(s) -> 1 hook(s)",
    ] {
        assert!(
            summary.contains(expected),
            "wanted {expected:?} in\n{summary}"
        );
    }

    assert_eq!(demo.task_definition("api-staging").await, task_definition);
    assert_eq!(
        demo.service_deployments("api-staging").await,
        deployments,
        "no service deployment started"
    );
    assert_eq!(demo.revisions().await, revisions, "nothing registered");
    let calls = demo.take_calls();
    assert!(
        calls.iter().any(|c| c == "ecs:DescribeServices"),
        "{calls:?}"
    );
    let writes: Vec<&String> = calls
        .iter()
        .filter(|c| {
            let action = c.split_once(':').map_or(c.as_str(), |(_, a)| a);
            !["Describe", "List", "Get", "AssumeRoleWithWebIdentity"]
                .iter()
                .any(|read| action.starts_with(read))
        })
        .collect();
    assert!(writes.is_empty(), "the dry run wrote: {writes:?}");
}

fn rollback(demo: &Demo, revision: &str) -> WorkflowRun {
    demo.workflow("examples/workflows/rollback.yml")
        .event("workflow_dispatch")
        .input("environment", "staging")
        .input("revision", revision)
        .run(&demo.bed)
        .unwrap()
}

#[tokio::test]
async fn rollback_goes_to_the_previous_revision_or_the_one_given() {
    let demo = demo(false, false).await;
    let first = demo.task_definition("api-staging").await;
    let second = demo.deploy("registry.example/api:2.0.0").await;
    let third = demo.deploy("registry.example/api:3.0.0").await;
    assert!(first.ends_with("api:1") && second.ends_with("api:2") && third.ends_with("api:3"));
    let production = demo.task_definition("api-production").await;

    // No revision: the one before the running one.
    let run = rollback(&demo, "");
    let log = &run.log;
    assert!(run.success, "act failed:\n{log}");
    assert!(
        log.contains(&format!("task-definition `previous` is {second}")),
        "{log}"
    );
    assert!(log.contains("status SUCCESSFUL"), "{log}");
    assert!(log.contains("passed: 20 requests, 0 errors"), "{log}");
    assert_eq!(demo.task_definition("api-staging").await, second);

    // A revision number: forward again, which "previous" would never pick.
    let run = rollback(&demo, "3");
    let log = &run.log;
    assert!(run.success, "act failed:\n{log}");
    assert!(
        log.contains(&format!("task-definition `3` is {third}")),
        "{log}"
    );
    assert_eq!(demo.task_definition("api-staging").await, third);

    // A revision that does not exist: refused before any deployment.
    let deployments = demo.service_deployments("api-staging").await;
    let run = rollback(&demo, "9");
    assert!(!run.success, "{}", run.log);
    assert!(
        run.log.contains("task definition `") && run.log.contains("api:9` cannot be deployed"),
        "{}",
        run.log
    );
    assert_eq!(demo.service_deployments("api-staging").await, deployments);
    assert_eq!(demo.task_definition("api-staging").await, third);
    assert_eq!(demo.task_definition("api-production").await, production);
}
