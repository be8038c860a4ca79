//! `deploy-kit ecr-login` against the bed's ECR and its real registry: the runner's own docker
//! config is logged in (password masked, an output, never in the summary or argv), a plain
//! `docker pull` and `docker push` then work with that config, and the logout step removes the
//! login so the same pull is refused. `registry-type: public` asks ECR Public in us-east-1,
//! whatever the step's region, and logs in to public.ecr.aws. Bad input is refused before any
//! AWS call.

use std::path::{Path, PathBuf};
use std::process::Command;

use deploy_kit_testbed::binary::Run;
use deploy_kit_testbed::docker::Docker;
use deploy_kit_testbed::{Bed, Component};

/// Runs `deploy-kit ecr-login` as a step of a job whose docker config is `config`.
fn ecr_login(bed: &Bed, docker: &Docker, config: &Path, vars: &[(&str, &str)]) -> Run {
    crate::deploy_kit()
        .action("ecr-login")
        .in_actions()
        .runner_files()
        .env("DOCKER", docker.var("DOCKER"))
        .env("DOCKER_HOST", docker.var("DOCKER_HOST"))
        .env("DOCKER_CONFIG", config)
        .bed(bed)
        .envs(vars.iter().copied())
        .run()
}

/// The bed's call log since the last reset.
fn calls(bed: &Bed) -> serde_json::Value {
    let (_, body) = bed.get("/_bed/calls").unwrap();
    let log: serde_json::Value = serde_json::from_str(&body).unwrap();
    log["calls"].clone()
}

/// The bed's docker CLI on the runner's config, as a later `run:` step uses it.
fn plain_docker(docker: &Docker, config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(docker.var("DOCKER"))
        .args(args)
        .env("DOCKER_HOST", docker.var("DOCKER_HOST"))
        .env("DOCKER_CONFIG", config)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn auths(config: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(config.join("config.json")).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    value["auths"].clone()
}

/// The password the bed's ECR hands out, and an image pushed with the test's own login.
async fn seed(bed: &Bed, docker: &Docker) -> (String, String) {
    let ecr = aws_sdk_ecr::Client::new(&bed.sdk_config().await);
    ecr.create_repository()
        .repository_name("team/app")
        .send()
        .await
        .unwrap();
    let (_, password) = crate::ecr_token(bed).await;
    docker.login("AWS", &password).unwrap();
    let image = format!("{}/team/app:v1", docker.registry());
    docker.build_sample_app(&image, "1").unwrap();
    docker.push(&image).unwrap();
    (password, image)
}

/// A later step's plain docker, with nothing but the runner's config: the image pulled anew, and
/// pushed under a second tag. The second image's name.
fn pull_and_push(docker: &Docker, config: &Path, image: &str, registry: &str) -> String {
    let (removed, out) = plain_docker(docker, config, &["rmi", image]);
    assert!(removed, "{out}");
    let (pulled, out) = plain_docker(docker, config, &["pull", image]);
    assert!(pulled, "pull after login: {out}");
    let second = format!("{registry}/team/app:second");
    let (tagged, out) = plain_docker(docker, config, &["tag", image, &second]);
    assert!(tagged, "{out}");
    let (pushed, out) = plain_docker(docker, config, &["push", &second]);
    assert!(pushed, "push after login: {out}");
    second
}

#[tokio::test]
async fn the_runners_docker_pulls_and_pushes_after_login_and_not_after_logout() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let docker = Docker::start(&bed).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (password, image) = seed(&bed, &docker).await;
    let registry = docker.registry().to_owned();
    let config: PathBuf = dir.path().join("runner-docker");

    crate::contract::iam::reset(&bed);
    let login = ecr_login(&bed, &docker, &config, &[]);
    assert_eq!(login.code, Some(0), "{}", login.stderr);
    let called = crate::contract::iam::assert_allowed(&bed, "ecr-login");
    assert_eq!(called, ["ecr:GetAuthorizationToken"]);
    assert_eq!(login.outputs["registry"], registry);
    assert_eq!(login.outputs["docker-username"], "AWS");
    assert_eq!(login.outputs["docker-password"], password);
    assert_eq!(login.exported["DEPLOY_KIT_ECR_LOGIN_REGISTRIES"], registry);
    // Masked before anything else, and in no other line nor the summary.
    let first_line = login.stderr.lines().next().unwrap_or_default();
    assert_eq!(
        first_line,
        format!("::add-mask::{password}"),
        "{}",
        login.stderr
    );
    assert!(
        login
            .stderr
            .lines()
            .filter(|l| l.contains(&password))
            .all(|l| l.starts_with("::add-mask::")),
        "{}",
        login.stderr
    );
    assert!(!login.summary.contains(&password), "{}", login.summary);
    assert!(
        !login.exported.values().any(|v| v.contains(&password)),
        "{:?}",
        login.exported
    );
    assert!(login.summary.contains(&registry), "{}", login.summary);
    assert!(
        login.stderr.contains("ECR tokens last 12 hours"),
        "{}",
        login.stderr
    );
    assert!(
        auths(&config).get(&registry).is_some(),
        "{}",
        auths(&config)
    );

    let second = pull_and_push(&docker, &config, &image, &registry);

    // The final `logout: true` step: no AWS call, the login gone, the list cleared.
    crate::contract::iam::reset(&bed);
    let logout = ecr_login(
        &bed,
        &docker,
        &config,
        &[
            ("INPUT_LOGOUT", "true"),
            ("DEPLOY_KIT_ECR_LOGIN_REGISTRIES", &registry),
        ],
    );
    assert_eq!(logout.code, Some(0), "{}", logout.stderr);
    assert!(logout.stderr.contains(&format!("logged out of {registry}")));
    assert_eq!(logout.exported["DEPLOY_KIT_ECR_LOGIN_REGISTRIES"], "");
    assert!(
        auths(&config).get(&registry).is_none(),
        "{}",
        auths(&config)
    );
    assert_eq!(calls(&bed), serde_json::json!([]), "logout called AWS");
    let (removed, out) = plain_docker(&docker, &config, &["rmi", &image, &second]);
    assert!(removed, "{out}");
    let (pulled, out) = plain_docker(&docker, &config, &["pull", &image]);
    assert!(!pulled, "the pull still worked after logout: {out}");
    assert!(
        out.to_lowercase().contains("auth"),
        "refused for want of a login: {out}"
    );
    drop(docker);
}

/// `mask-password: false`: no mask, a warning that says why it matters, the password still an
/// output (for a job output to carry) and still never in a log line.
#[tokio::test]
async fn unmasked_only_when_asked_with_a_warning() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let docker = Docker::start(&bed).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (password, _) = seed(&bed, &docker).await;
    let config = dir.path().join("runner-docker");
    let vars = [("INPUT_MASK_PASSWORD", "false")];
    let login = ecr_login(&bed, &docker, &config, &vars);
    assert_eq!(login.code, Some(0), "{}", login.stderr);
    assert_eq!(login.outputs["docker-password"], password);
    assert!(!login.stderr.contains(&password), "{}", login.stderr);
    assert!(
        login.stderr.contains("::warning") && login.stderr.contains("not masked"),
        "{}",
        login.stderr
    );
    drop(docker);
}

#[tokio::test]
async fn bad_inputs_exit_2_naming_the_input_before_any_aws_call() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("runner-docker");
    for (input, value) in [
        ("INPUT_REGISTRY_TYPE", "ecr-public"),
        ("INPUT_REGISTRIES", "123456789012,not-an-account"),
        ("INPUT_MASK_PASSWORD", "sometimes"),
    ] {
        crate::contract::iam::reset(&bed);
        let out = crate::deploy_kit()
            .action("ecr-login")
            .env("DOCKER_CONFIG", &config)
            .bed(&bed)
            .env(input, value)
            .run();
        let stderr = &out.stderr;
        let name = input["INPUT_".len()..].to_lowercase().replace('_', "-");
        assert_eq!(out.code, Some(2), "{input}={value}: {stderr}");
        assert!(stderr.contains(&format!("input `{name}`")), "{stderr}");
        assert_eq!(calls(&bed), serde_json::json!([]), "{input}={value}");
        assert!(!config.exists(), "docker ran for {input}={value}");
    }
}

/// A docker stand-in that appends its argv to `calls` and reads its stdin (the password): ECR
/// Public's registry is on the internet, which the tests never reach.
fn recording_docker(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("docker");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncat >/dev/null\necho \"$*\" >> '{}'\necho 'Login Succeeded'\n",
            dir.join("calls").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[tokio::test]
async fn public_logs_in_to_public_ecr_aws_with_a_token_from_us_east_1_and_out_again() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let docker = recording_docker(dir.path());
    let config = dir.path().join("runner-docker");
    let step = |vars: &[(&str, &str)]| {
        crate::deploy_kit()
            .action("ecr-login")
            .in_actions()
            .runner_files()
            .env("DOCKER", &docker)
            .env("DOCKER_CONFIG", &config)
            .bed(&bed)
            // The step's region is not ECR Public's: the bed refuses its token anywhere else.
            .env("AWS_REGION", "eu-west-1")
            .envs(vars.iter().copied())
            .run()
    };

    crate::contract::iam::reset(&bed);
    let login = step(&[("INPUT_REGISTRY_TYPE", "public")]);
    assert_eq!(login.code, Some(0), "{}", login.stderr);
    let called = crate::contract::iam::assert_allowed(&bed, "ecr-login");
    assert_eq!(called, ["ecr-public:GetAuthorizationToken"]);
    assert_eq!(login.outputs["registry"], "public.ecr.aws");
    assert_eq!(login.outputs["docker-username"], "AWS");
    let password = &login.outputs["docker-password"];
    assert!(
        login.stderr.contains(&format!("::add-mask::{password}")),
        "{}",
        login.stderr
    );
    assert_eq!(
        login.exported["DEPLOY_KIT_ECR_LOGIN_REGISTRIES"],
        "public.ecr.aws"
    );
    let calls = || std::fs::read_to_string(dir.path().join("calls")).unwrap_or_default();
    assert_eq!(
        calls(),
        "login --username AWS --password-stdin public.ecr.aws\n"
    );

    crate::contract::iam::reset(&bed);
    let logout = step(&[
        ("INPUT_LOGOUT", "true"),
        ("DEPLOY_KIT_ECR_LOGIN_REGISTRIES", "public.ecr.aws"),
    ]);
    assert_eq!(logout.code, Some(0), "{}", logout.stderr);
    assert!(calls().ends_with("logout public.ecr.aws\n"), "{}", calls());
    assert_eq!(
        bed.calls().unwrap(),
        Vec::<String>::new(),
        "logout called AWS"
    );
}

/// `registries` names private registries: with `public` it is checked, then left out with a
/// warning, as amazon-ecr-login leaves it out.
#[tokio::test]
async fn public_with_registries_warns_that_they_are_ignored() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let docker = recording_docker(dir.path());
    let login = crate::deploy_kit()
        .action("ecr-login")
        .in_actions()
        .runner_files()
        .env("DOCKER", &docker)
        .env("DOCKER_CONFIG", dir.path().join("runner-docker"))
        .bed(&bed)
        .env("INPUT_REGISTRY_TYPE", "public")
        .env("INPUT_REGISTRIES", "210987654321")
        .run();
    assert_eq!(login.code, Some(0), "{}", login.stderr);
    assert!(
        login.stderr.contains("::warning")
            && login
                .stderr
                .contains("registries (210987654321) is ignored"),
        "{}",
        login.stderr
    );
    assert_eq!(login.outputs["registry"], "public.ecr.aws");
}
