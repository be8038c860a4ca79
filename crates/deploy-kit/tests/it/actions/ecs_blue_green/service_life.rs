//! One service through a life of deployments, by ecs-blue-green and by other means: a gated
//! deploy (`test-url`), `task-definition: previous` as rollback.yml runs it, a plain deploy, a
//! gated deploy cancelled mid-flight, a redeploy, a deploy beside the service's own Lambda hook
//! and its own POST_SCALE_UP pause (continued by the test, as a person would), and an
//! UpdateService made without deploy-kit. After every step: nothing in flight, no hook awaiting
//! action, and the service's deployment configuration what it was plus only what was asked.

#![allow(clippy::print_stderr)] // the rollback's duration, shown with --nocapture

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookStage,
    DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType, DeploymentStrategy,
    ServiceDeployment,
};

use crate::actions::ecs_blue_green::{CLUSTER, Fixture, SCALE, Spec, fixture, http_server};

const SERVICE: &str = "life";

impl Fixture {
    async fn configuration(&self) -> DeploymentConfiguration {
        let service = self.describe_service(SERVICE).await;
        service.deployment_configuration().unwrap().clone()
    }

    async fn latest(&self) -> ServiceDeployment {
        let listed = self
            .ecs
            .list_service_deployments()
            .cluster(CLUSTER)
            .service(SERVICE)
            .send()
            .await
            .unwrap();
        let arn = listed.service_deployments()[0]
            .service_deployment_arn()
            .unwrap()
            .to_owned();
        self.describe(&arn).await
    }

    async fn describe(&self, arn: &str) -> ServiceDeployment {
        let out = self
            .ecs
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .send()
            .await
            .unwrap();
        out.service_deployments()[0].clone()
    }

    /// The invariants after a step: nothing in flight, no hook awaiting action, and the
    /// service's deployment configuration exactly `expected`.
    async fn assert_left_clean(&self, step: &str, expected: &DeploymentConfiguration) {
        assert_eq!(
            self.in_flight(SERVICE).await,
            Vec::<String>::new(),
            "{step}"
        );
        let latest = self.latest().await;
        let awaiting: Vec<_> = latest
            .lifecycle_hook_details()
            .iter()
            .filter(|h| h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction))
            .collect();
        assert!(awaiting.is_empty(), "{step}: {awaiting:?}");
        assert_eq!(&self.configuration().await, expected, "{step}");
    }

    /// The hooks the bed ran for deployment `arn` (its own record, every stage), as
    /// `TYPE@STAGE STATUS`.
    fn hooks_run(&self, arn: &str) -> Vec<String> {
        let dep = self.bed.deployment(arn).unwrap();
        dep["hooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let field = |k: &str| h[k].as_str().unwrap_or("?").to_owned();
                format!(
                    "{}@{} {}",
                    field("targetType"),
                    field("stage"),
                    field("status")
                )
            })
            .collect()
    }

    /// Waits for a PAUSE hook awaiting action at `stage` in the deployment in flight, then,
    /// after `think` (a person reading the console), answers it CONTINUE. Returns its hook ID.
    async fn continue_like_a_person(
        &self,
        stage: &str,
        think: Duration,
        deadline: Duration,
    ) -> String {
        let until = Instant::now() + deadline;
        loop {
            assert!(Instant::now() < until, "no pause at {stage}");
            if let Some(arn) = self.in_flight(SERVICE).await.first() {
                let dep = self.describe(arn).await;
                let paused = dep.lifecycle_stage().map(|s| s.as_str()) == Some(stage);
                let hook = dep.lifecycle_hook_details().iter().find(|h| {
                    h.target_type() == Some(&DeploymentLifecycleHookTargetType::Pause)
                        && h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction)
                });
                if let (true, Some(hook)) = (paused, hook) {
                    let id = hook.hook_id().unwrap().to_owned();
                    tokio::time::sleep(think).await;
                    self.ecs
                        .continue_service_deployment()
                        .service_deployment_arn(arn)
                        .hook_id(&id)
                        .send()
                        .await
                        .expect("the person's hook still awaits them: nobody else answered it");
                    return id;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn pause_at(stage: DeploymentLifecycleHookStage) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(stage)
        .build()
}

fn lambda_at(stage: DeploymentLifecycleHookStage) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::AwsLambda)
        .hook_target_arn("arn:aws:lambda:us-east-1:123456789012:function:their-check")
        .role_arn("arn:aws:iam::123456789012:role/hooks")
        .lifecycle_stages(stage)
        .build()
}

/// What every step of the life shares: the bed, the service's own configuration, the smoke URL.
struct Life {
    f: Fixture,
    own: DeploymentConfiguration,
    url: String,
}

#[tokio::test]
async fn one_service_through_deploys_rollbacks_cancels_and_other_tools() {
    let f = fixture().await;
    f.bed
        .scenario(&format!(
            r#"{{"service": "{SERVICE}", "scaleUpSeconds": 4}}"#
        ))
        .unwrap();
    let first = f
        .service(SERVICE, Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let own = f.configuration().await;
    let life = Life {
        f,
        own,
        url: http_server(200),
    };
    gated_deploy(&life).await;
    rollback_to_previous(&life, &first).await;
    let third = plain_deploy(&life).await;
    cancelled_gated_deploy(&life, &third).await;
    redeploy(&life, &third).await;
    let theirs = beside_their_hooks(&life).await;
    another_tools_deployment(&life, &theirs).await;
}

async fn gated_deploy(life: &Life) {
    let Life { f, own, url } = life;
    // 1. A gated deploy: our PAUSE hook holds it for the smoke checks, then leaves.
    let v2 = f.task_file(SERVICE, "app:2", None);
    f.bed.reset_calls().unwrap();
    let run = f.run(&[
        ("service", SERVICE),
        ("task-definition", &v2),
        ("test-url", url.as_str()),
    ]);
    run.assert_code(0);
    run.assert_logged("smoke checks passed");
    run.assert_logged("took ecs-blue-green's PAUSE hook out");
    // The hook comes out of the service as the watcher described it (for its events) in the
    // poll that saw the deployment end: no second DescribeServices before the UpdateService.
    let calls = f.bed.calls().unwrap();
    let take_out = calls
        .iter()
        .rposition(|call| call == "ecs:UpdateService")
        .unwrap();
    assert_eq!(
        calls[take_out - 2..take_out],
        ["ecs:DescribeServiceDeployments", "ecs:DescribeServices"],
        "{calls:?}"
    );
    let gated = run.output("service-deployment-arn").to_owned();
    assert_eq!(
        f.hooks_run(&gated),
        ["PAUSE@POST_TEST_TRAFFIC_SHIFT SUCCEEDED"]
    );
    f.assert_left_clean("gated deploy", own).await;
    let second = run.output("task-definition-arn").to_owned();
    assert_eq!(f.running_task_definition(SERVICE).await, second);
}

async fn rollback_to_previous(life: &Life, first: &str) {
    let Life { f, own, .. } = life;
    // 2. rollback.yml's step: `previous`, the service's own strategy, no test-url. It waits
    // on no pause (the bed ran no hook at all) and ends SUCCESSFUL.
    let started = Instant::now();
    let run = f.run(&[("service", SERVICE), ("task-definition", "previous")]);
    let took = started.elapsed();
    run.assert_code(0);
    assert_eq!(run.output("status"), "SUCCESSFUL");
    assert_eq!(run.output("task-definition-arn"), first);
    let rollback = run.output("service-deployment-arn").to_owned();
    assert_eq!(f.hooks_run(&rollback), Vec::<String>::new());
    eprintln!(
        "rollback after a gated deploy: {:.1} s wall, {:.0} s of bed time",
        took.as_secs_f64(),
        took.as_secs_f64() / SCALE
    );
    f.assert_left_clean("rollback (previous)", own).await;
}

async fn plain_deploy(life: &Life) -> String {
    let Life { f, own, .. } = life;
    // 3. A plain deploy.
    let v3 = f.task_file(SERVICE, "app:3", None);
    let run = f.run(&[("service", SERVICE), ("task-definition", &v3)]);
    run.assert_code(0);
    let third = run.output("task-definition-arn").to_owned();
    f.assert_left_clean("plain deploy", own).await;
    third
}

async fn cancelled_gated_deploy(life: &Life, third: &str) {
    let Life { f, own, url } = life;
    // 4. A gated deploy cancelled mid-flight: rolled back, and our hook taken out after.
    let v4 = f.task_file(SERVICE, "app:4", Some("slow-scale-up"));
    let running = f
        .invocation(&[
            ("service", SERVICE),
            ("task-definition", &v4),
            ("test-url", url.as_str()),
        ])
        .spawn();
    let run = f.sigterm_mid_deployment(SERVICE, running).await;
    run.assert_code(143);
    run.assert_logged("rolled back: ROLLBACK_SUCCESSFUL");
    assert_eq!(f.running_task_definition(SERVICE).await, third);
    f.assert_left_clean("cancelled gated deploy", own).await;
}

async fn redeploy(life: &Life, third: &str) {
    let Life { f, own, .. } = life;
    // 5. A redeploy of what runs.
    let run = f.run(&[
        ("service", SERVICE),
        ("task-definition", third),
        ("force-new-deployment", "true"),
    ]);
    run.assert_code(0);
    assert_eq!(f.running_task_definition(SERVICE).await, third);
    f.assert_left_clean("redeploy", own).await;
}

async fn beside_their_hooks(life: &Life) -> DeploymentConfiguration {
    let Life { f, own, url } = life;
    // 6. The team adds its own hooks (outside deploy-kit, no deployment): a Lambda check where
    // ours goes and a person's approval after scale-up. A gated deploy runs beside them: the
    // person's pause is waited on and named, the Lambda runs, ours is the only one answered.
    let mut theirs = own.clone();
    theirs.lifecycle_hooks = Some(vec![
        lambda_at(DeploymentLifecycleHookStage::PostTestTrafficShift),
        pause_at(DeploymentLifecycleHookStage::PostScaleUp),
    ]);
    f.ecs
        .update_service()
        .cluster(CLUSTER)
        .service(SERVICE)
        .deployment_configuration(theirs.clone())
        .send()
        .await
        .unwrap();
    let theirs = f.configuration().await;
    let v6 = f.task_file(SERVICE, "app:6", None);
    let running = f
        .invocation(&[
            ("service", SERVICE),
            ("task-definition", &v6),
            ("test-url", url.as_str()),
        ])
        .spawn();
    f.continue_like_a_person(
        "POST_SCALE_UP",
        Duration::from_secs(2),
        Duration::from_secs(30),
    )
    .await;
    let run = running.wait();
    run.assert_code(0);
    for expected in [
        "(PAUSE) at stage POST_SCALE_UP is not ecs-blue-green's: waiting for ContinueServiceDeployment",
        "/services/life/deployments",
        "smoke checks passed",
    ] {
        assert!(
            run.stderr.contains(expected),
            "wanted {expected:?} in {}",
            run.stderr
        );
    }
    assert!(run.summary.contains("**Waited on:**"), "{}", run.summary);
    let beside = run.output("service-deployment-arn").to_owned();
    assert_eq!(
        f.hooks_run(&beside),
        [
            "PAUSE@POST_SCALE_UP SUCCEEDED",
            "AWS_LAMBDA@POST_TEST_TRAFFIC_SHIFT SUCCEEDED",
            "PAUSE@POST_TEST_TRAFFIC_SHIFT SUCCEEDED"
        ]
    );
    f.assert_left_clean("gated deploy beside their hooks", &theirs)
        .await;
    theirs
}

async fn another_tools_deployment(life: &Life, theirs: &DeploymentConfiguration) {
    let Life { f, .. } = life;
    // 7. A deployment by another tool: it trips on nothing of ours; the person's own pause is
    // theirs to answer, as before.
    let registered = f
        .ecs
        .register_task_definition()
        .family(SERVICE)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("app:7")
                .memory(128)
                .essential(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let seventh = registered
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_owned();
    f.ecs
        .update_service()
        .cluster(CLUSTER)
        .service(SERVICE)
        .task_definition(&seventh)
        .send()
        .await
        .unwrap();
    f.continue_like_a_person(
        "POST_SCALE_UP",
        Duration::from_millis(200),
        Duration::from_secs(30),
    )
    .await;
    f.settle(SERVICE).await;
    let other = f.latest().await;
    assert_eq!(other.status().map(|s| s.as_str()), Some("SUCCESSFUL"));
    assert_eq!(
        f.hooks_run(other.service_deployment_arn().unwrap()),
        [
            "PAUSE@POST_SCALE_UP SUCCEEDED",
            "AWS_LAMBDA@POST_TEST_TRAFFIC_SHIFT SUCCEEDED"
        ]
    );
    assert_eq!(f.running_task_definition(SERVICE).await, seventh);
    f.assert_left_clean("UpdateService without deploy-kit", theirs)
        .await;
}
