//! What keeps an ecs-blue-green deploy safe: SIGTERM mid-deployment rolls back, pre-flight
//! refuses before any write, a dry run writes nothing, bad input exits 2, and the whole path
//! through act.

use super::*;

#[tokio::test]
async fn sigterm_mid_deployment_rolls_back_and_exits_143() {
    let f = fixture().await;
    let blue = f
        .service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let file = f.task_file("api", "app:2", Some("slow-scale-up"));
    let running = f
        .invocation(&[("service", "api"), ("task-definition", &file)])
        .spawn();
    let run = f.sigterm_mid_deployment("api", running).await;
    run.assert_code(143);
    run.assert_logged("cancelled by SIGTERM");
    run.assert_logged("rolled back: ROLLBACK_SUCCESSFUL");
    assert!(
        f.in_flight("api").await.is_empty(),
        "nothing left in flight"
    );
    assert_eq!(f.running_task_definition("api").await, blue);
}

#[tokio::test]
async fn pre_flight_refuses_before_any_write() {
    let f = fixture().await;
    f.service("busy", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    f.service(
        "plain",
        Spec {
            advanced: false,
            ..Spec::new(DeploymentStrategy::Rolling)
        },
    )
    .await;
    f.service(
        "legacy",
        Spec {
            advanced: false,
            controller: DeploymentControllerType::CodeDeploy,
            ..Spec::new(DeploymentStrategy::Rolling)
        },
    )
    .await;
    // A deployment in flight on `busy`, started outside deploy-kit.
    f.bed
        .scenario(r#"{"service": "busy", "scaleUpSeconds": 600}"#)
        .unwrap();
    let td = f.task_file("busy", "app:9", None);
    let arn = {
        let running = f.running_task_definition("busy").await;
        f.ecs
            .update_service()
            .cluster(CLUSTER)
            .service("busy")
            .task_definition(&running)
            .force_new_deployment(true)
            .send()
            .await
            .unwrap();
        f.in_flight("busy").await[0].clone()
    };
    let cases = [
        (
            "busy",
            "blue-green",
            // PENDING or IN_PROGRESS, whichever the deployment is in when pre-flight looks.
            format!(": {arn}. Wait for it to finish, or stop it"),
        ),
        (
            "plain",
            "blue-green",
            "`loadBalancers[0].advancedConfiguration`".to_owned(),
        ),
        (
            "legacy",
            "keep",
            "uses the CODE_DEPLOY deployment controller".to_owned(),
        ),
    ];
    for (service, strategy, expected) in cases {
        let revisions_before = revisions(&f.ecs).await;
        let run = f.run(&[
            ("service", service),
            ("task-definition", &td),
            ("strategy", strategy),
        ]);
        assert_eq!(run.code, Some(2), "{service}: {}", run.stderr);
        assert!(
            run.stderr.contains(&expected),
            "{service}: wanted {expected:?} in {}",
            run.stderr
        );
        assert_eq!(
            revisions(&f.ecs).await,
            revisions_before,
            "{service}: nothing registered"
        );
    }
}

async fn revisions(ecs: &Client) -> usize {
    ecs.list_task_definitions()
        .send()
        .await
        .unwrap()
        .task_definition_arns()
        .len()
}

#[tokio::test]
async fn dry_run_shows_the_changes_and_writes_nothing() {
    let f = fixture().await;
    let blue = f
        .service("api", Spec::new(DeploymentStrategy::Rolling))
        .await;
    let file = f.task_file("api", "app:2", None);
    let before = revisions(&f.ecs).await;
    let deployments = f.bed.deployments().unwrap()["deployments"]
        .as_array()
        .unwrap()
        .len();
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("strategy", "blue-green"),
        ("bake-time", "5m"),
        ("dry-run", "true"),
    ]);
    run.assert_code(0);
    assert!(
        run.stderr
            .contains("task definition ~ containerDefinitions[web].image: \"app:1\" -> \"app:2\""),
        "{}",
        run.stderr
    );
    run.assert_logged("deploymentConfiguration.strategy");
    assert!(
        run.stderr
            .contains("deploymentConfiguration.bakeTimeInMinutes"),
        "{}",
        run.stderr
    );
    run.assert_logged("dry run: nothing was written");
    assert_eq!(revisions(&f.ecs).await, before);
    assert_eq!(
        f.bed.deployments().unwrap()["deployments"]
            .as_array()
            .unwrap()
            .len(),
        deployments
    );
    assert_eq!(f.running_task_definition("api").await, blue);
    assert!(run.summary.contains("```diff"), "{}", run.summary);
}

#[tokio::test]
async fn bad_input_exits_2_naming_the_input() {
    let f = fixture().await;
    let missing = f.dir.path().join("nope.json").display().to_string();
    let run = f.run(&[("service", "api"), ("task-definition", &missing)]);
    run.assert_code(2);
    run.assert_logged("input `task-definition`: cannot read");
    let file = f.task_file("api", "app:2", None);
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("strategy", "fast"),
    ]);
    run.assert_code(2);
    run.assert_logged("input `strategy`");

    // ECS refuses a 2% linear step in UpdateService: refused here before anything is
    // registered, not after.
    f.service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let before = revisions(&f.ecs).await;
    let run = f.run(&[
        ("service", "api"),
        ("task-definition", &file),
        ("strategy", "linear"),
        ("linear-step-percent", "2%"),
    ]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("input `linear-step-percent`: ECS takes a multiple of 0.1% from 3% to 100%"),
        "{}",
        run.stderr
    );
    assert_eq!(revisions(&f.ecs).await, before, "nothing registered");
}

#[tokio::test]
async fn oidc_login_build_render_migrate_and_deploy_through_act() {
    let f = fixture().await;
    aws_sdk_cloudwatchlogs::Client::new(&f.bed.sdk_config().await)
        .create_log_group()
        .log_group_name("/ecs/api")
        .send()
        .await
        .unwrap();
    let subnet = crate::actions::run_migrations::default_subnets(&f.bed)
        .await
        .remove(0);
    // The job builds with the bed's docker (run-workflow passes its env to the job).
    let _docker = deploy_kit_testbed::docker::Docker::start(&f.bed).unwrap();
    f.service("api", Spec::new(DeploymentStrategy::BlueGreen))
        .await;
    let url = http_server(200);
    let run = deploy_kit_testbed::act::Workflow::new("tests/workflows/deploy-bed.yml")
        .event("workflow_dispatch")
        .as_action("org/deploy-kit@v1")
        .bin(crate::BIN)
        .env("TEST_URL", &url)
        .env("SUBNET", &subnet)
        .env("DEPLOY_KIT_TIME_SCALE", &SCALE.to_string())
        .run(&f.bed)
        .unwrap();
    assert!(run.success, "act failed:\n{}", run.log);
    assert!(run.log.contains("through GitHub OIDC"), "{}", run.log);
    assert!(run.log.contains("│ migration 001 applied"), "{}", run.log);
    assert!(run.log.contains("smoke checks passed"), "{}", run.log);
    assert!(run.log.contains("deploy-bed: SUCCESSFUL"), "{}", run.log);
    let running = f.running_task_definition("api").await;
    assert!(running.ends_with("task-definition/api:3"), "{running}");
}
