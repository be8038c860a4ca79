//! The ECR password stays in build-push-ecr's private docker config, even where docker would
//! hand a login to a credential store of its own: the bed's real docker CLI, with stand-in
//! `docker-credential-*` helpers on PATH that record every call made to them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Fixture, fixture, path, write_script};

/// Stand-ins for the stores docker picks by itself on Linux (`pass` when that is installed,
/// else the Secret Service): each call appends its verb and what came on stdin to `log`. They
/// keep nothing, so a login handed to one is lost and the push after it fails too.
fn stand_in_helpers(dir: &Path, log: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for store in ["pass", "secretservice"] {
        let helper = dir.join(format!("docker-credential-{store}"));
        let script = format!(
            "#!/bin/sh\nprintf '%s %s\\n' \"$1\" \"$(cat)\" >> '{}'\n\
             case \"$1\" in get) echo 'credentials not found in native keychain'; exit 1;; \
             list) echo '{{}}';; esac\n",
            log.display()
        );
        write_script(&helper, &script);
    }
}

/// The test's PATH with the stand-in helpers first.
fn search_path(helpers: &Path) -> String {
    // The harness hands its PATH down the same way (docker, git and sh are found on it).
    let inherited = std::env::var("PATH").unwrap_or_default();
    format!("{}:{inherited}", helpers.display())
}

/// `docker login` to the bed's registry with a config that holds no login: docker here picks a
/// stand-in store. Without that, the check that build-push-ecr never reaches one proves nothing.
fn assert_docker_picks_a_store(f: &Fixture, password: &str, search: &str, log: &Path) {
    let config = f.dir.path().join("control-config");
    std::fs::create_dir_all(&config).unwrap();
    let mut child = Command::new(f.docker.var("DOCKER"))
        .args([
            "login",
            "-u",
            "AWS",
            "--password-stdin",
            f.docker.registry(),
        ])
        .env("DOCKER_CONFIG", &config)
        .env("DOCKER_HOST", f.docker.var("DOCKER_HOST"))
        .env("PATH", search)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), password.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(log).unwrap_or_default();
    assert!(
        calls.lines().any(|line| line.starts_with("store ")),
        "docker did not hand the control login to a stand-in store: {calls:?}"
    );
    std::fs::remove_file(log).unwrap();
}

#[tokio::test]
async fn the_ecr_password_never_reaches_a_credential_store() {
    let f = fixture().await;
    let helpers = f.dir.path().join("helpers");
    let log = f.dir.path().join("helper-calls.log");
    stand_in_helpers(&helpers, &log);
    let search = search_path(&helpers);
    let (_, password) = crate::ecr_token(&f.bed).await;
    assert_docker_picks_a_store(&f, &password, &search, &log);

    let context = path(&f.context("app"));
    let run = |tags: &str, runner_config: (&str, PathBuf)| {
        let inputs = [
            ("repository", "team/stored"),
            ("context", context.as_str()),
            ("tags", tags),
            ("create-repository", "true"),
        ];
        let run = f
            .invocation(&inputs)
            .env("PATH", &search)
            .env(runner_config.0, runner_config.1)
            .run();
        assert_eq!(run.code, Some(0), "{}", run.log());
    };
    // A runner with no docker config at all: docker would pick a store for the first login.
    let home = f.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    run("no-config", ("HOME", home));
    // A runner whose config keeps its logins in that store (a desktop Linux's).
    let runner = f.dir.path().join("runner-docker");
    std::fs::create_dir_all(&runner).unwrap();
    std::fs::write(
        runner.join("config.json"),
        r#"{"credsStore":"secretservice","auths":{"ghcr.io":{}}}"#,
    )
    .unwrap();
    run("store-config", ("DOCKER_CONFIG", runner.clone()));

    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !calls.contains(&password),
        "a credential store saw the password: {calls:?}"
    );
    assert!(
        !calls.contains(f.docker.registry()),
        "a credential store was asked about the ECR registry: {calls:?}"
    );
    assert!(
        !calls.lines().any(|line| line.starts_with("store ")),
        "a credential store was handed a login: {calls:?}"
    );
    let kept = std::fs::read_to_string(runner.join("config.json")).unwrap();
    assert!(
        !kept.contains(f.docker.registry()),
        "the runner's own config changed: {kept}"
    );
}
