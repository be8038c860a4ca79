//! oidc-login, build-push-ecr, render-taskdef and smoke-test under faults, with what "the
//! same result" means for each: nothing of theirs stays behind in AWS.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair};
use deploy_kit_testbed::docker::{Docker, sample_app_context};
use deploy_kit_testbed::{Bed, Component};

use super::{Harness, Run, matrix, without};

const ROLE: &str = "arn:aws:iam::123456789012:role/github-deploy";

#[test]
fn oidc_login_under_faults() {
    let bed = Bed::start(&[Component::Aws, Component::Oidc]).unwrap();
    let mut h = Harness::on_bed("oidc-login", &bed, true, Duration::from_secs(90))
        .with_env("DEPLOY_KIT_TIME_SCALE", "0.05");
    let inputs = [("role-to-assume", ROLE), ("aws-region", "us-east-1")];
    // The credentials differ on every exchange: their presence is the result.
    let normalize = |run: &Run| {
        let mut result = run.outputs.clone();
        for (key, value) in &run.exported {
            let secret = key.starts_with("AWS_") && key.contains("KEY") || key.contains("TOKEN");
            let value = if secret { "(set)" } else { value.as_str() };
            result.insert(format!("env {key}"), value.to_owned());
        }
        result
    };
    let expected = normalize(&h.baseline(&inputs));
    for (rate, seed) in matrix(7) {
        h.faults(rate, seed);
        let run = h.run(&inputs);
        // A failed login exports nothing: later steps must not run half logged in.
        let left = match run.code {
            Some(0) => vec![],
            _ => run
                .exported
                .keys()
                .map(|k| format!("exported {k}"))
                .collect(),
        };
        h.judge(&run, &expected, normalize, &left, (rate, seed));
    }
    h.finish();
}

#[tokio::test]
async fn build_push_ecr_under_faults() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let docker = Docker::start(&bed).unwrap();
    let ecr = aws_sdk_ecr::Client::new(&bed.sdk_config().await);
    ecr.create_repository()
        .repository_name("team/api")
        .send()
        .await
        .unwrap();
    let mut h = Harness::on_bed("build-push-ecr", &bed, false, Duration::from_secs(120))
        .with_env("DEPLOY_KIT_TIME_SCALE", "0.05")
        .with_env("DOCKER", docker.var("DOCKER"))
        .with_env("DOCKER_HOST", docker.var("DOCKER_HOST"));
    let context = sample_app_context(&h.dir.path().join("app")).unwrap();
    let context = context.display().to_string();
    // A new tag each run, so each run builds and pushes; the tag is then the only difference.
    let mut tag = "t0".to_owned();
    let run = |h: &mut Harness, tag: &str| {
        h.run(&[
            ("repository", "team/api"),
            ("context", &context),
            ("tags", tag),
            ("build-args", "VERSION=1.0.0"),
        ])
    };
    let normalize = |tag: &str| {
        let tag = format!(":{tag}");
        move |run: &Run| -> HashMap<String, String> {
            let mut result = run.outputs.clone();
            for value in result.values_mut() {
                *value = value.replace(&tag, ":TAG");
            }
            if let Some(tags) = result.get_mut("tags") {
                *tags = "TAG".to_owned();
            }
            result
        }
    };
    h.faults(0.0, 0);
    let baseline = run(&mut h, &tag);
    baseline.assert_code(0);
    let expected = normalize(&tag)(&baseline);
    for (n, (rate, seed)) in matrix(7).into_iter().enumerate() {
        tag = format!("t{}", n + 1);
        h.faults(rate, seed);
        let faulted = run(&mut h, &tag);
        h.judge(&faulted, &expected, normalize(&tag), &[], (rate, seed));
    }
    h.finish();
}

#[tokio::test]
async fn render_taskdef_from_a_live_family_under_faults() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let ecs = Client::new(&bed.sdk_config().await);
    let web = ContainerDefinition::builder()
        .name("web")
        .image("app:1")
        .memory(128)
        .essential(true)
        .environment(env("MODE", "live"))
        .build();
    ecs.register_task_definition()
        .family("web")
        .container_definitions(web)
        .send()
        .await
        .unwrap();
    let mut h = Harness::on_bed("render-taskdef", &bed, false, Duration::from_secs(60));
    let inputs = [
        ("task-definition-family", "web"),
        ("container-name", "web"),
        ("image", "app:2"),
    ];
    // The result is the rendered file (its path is per run).
    let normalize = |run: &Run| {
        let path = run
            .outputs
            .get("task-definition")
            .cloned()
            .unwrap_or_default();
        HashMap::from([(
            "rendered".to_owned(),
            std::fs::read_to_string(path).unwrap_or_default(),
        )])
    };
    let expected = normalize(&h.baseline(&inputs));
    assert!(expected["rendered"].contains("app:2"), "{expected:?}");
    // Seed 3: two resets, then an answer, on the one DescribeTaskDefinition.
    for (rate, seed) in matrix(3) {
        h.faults(rate, seed);
        let run = h.run(&inputs);
        h.judge(&run, &expected, normalize, &[], (rate, seed));
    }
    h.finish();
}

#[test]
fn smoke_test_under_faults() {
    // Faults between smoke-test and the app: a failed request counts against the error rate,
    // so a run passes (the rate stays under 50%) or fails naming the rate.
    let app = crate::actions::ecs_blue_green::http_server(200);
    let (upstream, path) = app.split_at(app.rfind('/').unwrap());
    let mut h = Harness::new("smoke-test", upstream, Duration::from_secs(60));
    let url = format!("{}{path}", h.proxy.url());
    let inputs = [
        ("url", url.as_str()),
        ("requests", "20"),
        ("max-error-rate", "50%"),
        ("timeout", "1s"),
        ("wait-for", "20s"),
    ];
    let normalize =
        |run: &Run| without(&run.outputs, &["error-rate", "report", "p50-ms", "p95-ms"]);
    let expected = normalize(&h.baseline(&inputs));
    for (rate, seed) in matrix(7) {
        h.faults(rate, seed);
        let run = h.run(&inputs);
        // A failure is the verdict on the error rate, not something else.
        let failed = run.outputs.get("passed").map(String::as_str) == Some("false")
            && run.stderr.contains("error rate");
        let left = match run.code {
            Some(0) => vec![],
            _ if failed => vec![],
            _ => vec!["a failure that is not the error-rate verdict".to_owned()],
        };
        h.judge(&run, &expected, normalize, &left, (rate, seed));
    }
    h.finish();
}

pub fn env(name: &str, value: &str) -> KeyValuePair {
    KeyValuePair::builder().name(name).value(value).build()
}
