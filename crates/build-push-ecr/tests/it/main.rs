//! build-push-ecr's pieces: inputs, both build command lines, the digest parsers, the gate
//! (here), docker as a child process that streams and stops (`docker_process`), and fuzz
//! regressions (`fuzz_regressions`). The docker-build path runs for real in
//! crates/deploy-kit/tests/it/build_push_ecr.rs.
#![allow(clippy::unwrap_used)] // a panic in a test is its failure

use std::path::{Path, PathBuf};

use deploy_kit_build_push_ecr::docker::{
    Builder, build_args, digest_from_metadata, digest_from_push,
};
use deploy_kit_build_push_ecr::ecr::{Finding, blocking};
use deploy_kit_build_push_ecr::{Args, Input};

fn args() -> Args {
    Args {
        repository: Some("team/api".into()),
        tags: Some("abc123\nrelease-7".into()),
        ..Args::default()
    }
}

const URI: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api";

#[test]
fn the_buildx_command_pushes_with_the_ecr_registry_cache_and_no_provenance() {
    let input = Input::from_args(
        &Args {
            build_args: Some("VERSION=7".into()),
            platforms: Some("linux/amd64,linux/arm64".into()),
            target: Some("runtime".into()),
            network: Some("host".into()),
            dockerfile: Some("deploy/Dockerfile".into()),
            ..args()
        },
        None,
    )
    .unwrap();
    let secrets = [("npm".to_owned(), PathBuf::from("/tmp/x/secret-npm"))];
    let argv = build_args(
        &input,
        &Builder::Buildx {
            name: Some("ci-builder".into()),
            cache: true,
        },
        URI,
        Path::new("/tmp/x/meta.json"),
        &secrets,
    );
    let expected = [
        "buildx",
        "build",
        "--builder",
        "ci-builder",
        "--push",
        "--metadata-file",
        "/tmp/x/meta.json",
        "--provenance=false",
        "--platform",
        "linux/amd64,linux/arm64",
        "--cache-from",
        &format!("type=registry,ref={URI}:buildcache"),
        "--cache-to",
        &format!(
            "type=registry,ref={URI}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true"
        ),
        "--tag",
        &format!("{URI}:abc123"),
        "--tag",
        &format!("{URI}:release-7"),
        "--build-arg",
        "VERSION=7",
        "--secret",
        "id=npm,src=/tmp/x/secret-npm",
        "--target",
        "runtime",
        "--network",
        "host",
        "--file",
        "deploy/Dockerfile",
        ".",
    ];
    assert_eq!(argv, expected);
}

#[test]
fn the_docker_build_command_has_no_buildx_flags() {
    let input = Input::from_args(
        &Args {
            cache: Some("true".into()),
            ..args()
        },
        None,
    )
    .unwrap();
    let argv = build_args(&input, &Builder::DockerBuild, URI, Path::new("/m"), &[]);
    assert_eq!(
        argv,
        [
            "build",
            "--tag",
            &format!("{URI}:abc123"),
            "--tag",
            &format!("{URI}:release-7"),
            "."
        ],
        "the default network passes no flag"
    );
    let isolated = Input::from_args(
        &Args {
            network: Some("none".into()),
            ..args()
        },
        None,
    )
    .unwrap();
    let argv = build_args(&isolated, &Builder::DockerBuild, URI, Path::new("/m"), &[]);
    assert_eq!(argv[argv.len() - 3..], ["--network", "none", "."]);
    assert_eq!(
        deploy_kit_aws::ecr::docker_login_args("r.example", "AWS")[3],
        "--password-stdin",
        "never the password on argv"
    );
}

#[test]
fn digests_come_from_what_docker_wrote() {
    let hex = "a".repeat(64);
    let push = format!("abc123: digest: sha256:{hex} size: 739\n");
    assert_eq!(digest_from_push(&push), Some(format!("sha256:{hex}")));
    assert_eq!(
        digest_from_push("The push refers to repository [x]\n"),
        None
    );
    let metadata = format!(r#"{{"containerimage.digest": "sha256:{hex}", "image.name": "x"}}"#);
    assert_eq!(
        digest_from_metadata(&metadata),
        Some(format!("sha256:{hex}"))
    );
    assert_eq!(
        digest_from_metadata(r#"{"containerimage.digest": "sha256:short"}"#),
        None
    );
}

#[test]
fn inputs_default_to_the_commit_and_bad_ones_name_themselves() {
    let input = Input::from_args(
        &Args {
            tags: None,
            ..args()
        },
        Some("0f1e2d"),
    )
    .unwrap();
    assert_eq!(input.tags, ["0f1e2d"]);
    assert!(input.skip_if_exists && input.cache && input.push && !input.provenance);
    let full = Input::from_args(
        &Args {
            repository: Some(URI.to_owned()),
            ..args()
        },
        None,
    )
    .unwrap();
    assert_eq!(full.repository, "team/api");
    assert_eq!(
        full.registry.as_deref(),
        Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    );
    let cases: [(Args, &str); 7] = [
        (
            Args {
                tags: None,
                ..args()
            },
            "input `tags`: is empty and there is no GITHUB_SHA",
        ),
        (
            Args {
                repository: Some("Team/API".into()),
                ..args()
            },
            "input `repository`",
        ),
        (
            Args {
                tags: Some("-bad".into()),
                ..args()
            },
            "input `tags`: `-bad` is not an image tag",
        ),
        (
            Args {
                scan: Some("later".into()),
                ..args()
            },
            "input `scan`",
        ),
        (
            Args {
                fail_on_severity: Some("HIGH".into()),
                ..args()
            },
            "input `fail-on-severity`: has no effect without `scan: wait`",
        ),
        (
            Args {
                secrets: Some("npm token".into()),
                ..args()
            },
            "input `secrets`",
        ),
        (
            Args {
                network: Some("my-compose-net".into()),
                ..args()
            },
            "input `network`: `my-compose-net` is not a build network: use `default`, `none` or `host`",
        ),
    ];
    for (args, expected) in cases {
        let error = Input::from_args(&args, None).unwrap_err().to_string();
        assert!(error.starts_with(expected), "{error:?} vs {expected:?}");
    }
}

#[test]
fn the_gate_blocks_findings_at_or_above_the_threshold_unless_ignored() {
    let input = Input::from_args(
        &Args {
            scan: Some("wait".into()),
            fail_on_severity: Some("high".into()),
            ignore_findings: Some("CVE-3".into()),
            ..args()
        },
        None,
    )
    .unwrap();
    let finding = |id: &str, severity: &str| Finding {
        id: id.into(),
        severity: severity.into(),
    };
    let findings = [
        finding("CVE-1", "CRITICAL"),
        finding("CVE-2", "MEDIUM"),
        finding("CVE-3", "HIGH"),
        finding("CVE-4", "HIGH"),
    ];
    let ids: Vec<&str> = blocking(&input, &findings)
        .iter()
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(ids, ["CVE-1", "CVE-4"]);
}

// Inputs the fuzzer found (fuzz/): refused as bad input naming it.
mod docker_process;
mod fuzz_regressions;

#[test]
fn a_builder_that_cannot_export_the_cache_gets_no_cache_flags() {
    let input = Input::from_args(&args(), None).unwrap();
    let argv = build_args(
        &input,
        &Builder::Buildx {
            name: None,
            cache: false,
        },
        URI,
        Path::new("/m"),
        &[],
    );
    assert!(!argv.iter().any(|a| a.starts_with("--cache")), "{argv:?}");
    assert!(
        !argv.contains(&"--builder".to_owned()),
        "no name: buildx's current builder"
    );
}

#[test]
fn the_private_config_keeps_the_runners_settings_but_not_its_login_store() {
    use deploy_kit_build_push_ecr::docker::{
        carried_config, carry_config, forget_registry, prepare_login,
    };
    let runner = r#"{"auths": {"ghcr.io": {"auth": "eDp5"}, "r.example": {"auth": "b2xk"}},
        "credsStore": "desktop", "credHelpers": {"r.example": "ecr-login", "gcr.io": "gcloud"},
        "currentContext": "rootless", "proxies": {"default": {"httpProxy": "http://p:3128"}}}"#;
    let carried: serde_json::Value = serde_json::from_str(&carried_config(runner)).unwrap();
    assert!(
        carried.get("credsStore").is_none(),
        "the store would take the ECR password out of the private directory"
    );
    assert_eq!(
        carried["credHelpers"],
        serde_json::json!({"ghcr.io": "desktop", "r.example": "ecr-login", "gcr.io": "gcloud"}),
        "the registries logged in through the store keep it as their helper"
    );
    assert_eq!(carried["currentContext"], "rootless");
    assert_eq!(carried["proxies"]["default"]["httpProxy"], "http://p:3128");
    assert_eq!(carried_config("not json"), "{}");

    let dir = tempfile::tempdir().unwrap();
    let (home, private) = (dir.path().join("home"), dir.path().join("private"));
    std::fs::create_dir_all(home.join("contexts/meta")).unwrap();
    std::fs::create_dir_all(home.join("cli-plugins")).unwrap();
    std::fs::write(home.join("config.json"), runner).unwrap();
    carry_config(Some(&home), &private).unwrap();
    assert!(
        private.join("contexts/meta").is_dir(),
        "contexts are linked"
    );
    assert!(private.join("cli-plugins").is_dir(), "plug-ins are linked");
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(private.join("config.json")).unwrap())
            .unwrap()
    };
    prepare_login(&private, "r.example").unwrap();
    let config = read();
    assert_eq!(
        config["auths"]["r.example"],
        serde_json::json!({}),
        "the runner's login gives way to an empty one: {config}"
    );
    assert!(config["credHelpers"].get("r.example").is_none(), "{config}");
    assert_eq!(
        config["auths"]["ghcr.io"]["auth"], "eDp5",
        "other logins stay"
    );
    assert_eq!(config["credHelpers"]["gcr.io"], "gcloud");
    forget_registry(&private, "r.example").unwrap();
    let config = read();
    assert!(config["auths"].get("r.example").is_none(), "{config}");
    assert_eq!(config["auths"]["ghcr.io"]["auth"], "eDp5");
    std::fs::remove_dir_all(&private).unwrap();
    assert!(
        home.join("contexts/meta").is_dir(),
        "removing links keeps targets"
    );
}

/// docker picks a credential store of its own (the OS keychain, `pass`) for a config holding no
/// login at all, and would keep the ECR password there, outside the private directory: every
/// private config about to be logged in to holds a login entry for the registry.
#[test]
fn a_private_config_about_to_be_logged_in_to_always_holds_a_login_entry() {
    use deploy_kit_build_push_ecr::docker::{carry_config, prepare_login};
    let runners = [
        None,
        Some(r#"{"credsStore": "osxkeychain"}"#),
        Some(r#"{"auths": {"r.example": {}, "docker.io": {}}, "credsStore": "desktop"}"#),
        Some(r#"{"credHelpers": {"r.example": "ecr-login"}}"#),
        Some(r#"{"auths": "not an object"}"#),
    ];
    for runner in runners {
        let dir = tempfile::tempdir().unwrap();
        let (home, private) = (dir.path().join("home"), dir.path().join("private"));
        std::fs::create_dir_all(&home).unwrap();
        if let Some(text) = runner {
            std::fs::write(home.join("config.json"), text).unwrap();
        }
        carry_config(Some(&home), &private).unwrap();
        prepare_login(&private, "r.example").unwrap();
        let text = std::fs::read_to_string(private.join("config.json")).unwrap();
        let config: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            config["auths"]["r.example"],
            serde_json::json!({}),
            "{runner:?}: {text}"
        );
        assert!(config.get("credsStore").is_none(), "{runner:?}: {text}");
        assert!(
            config["credHelpers"].get("r.example").is_none(),
            "{runner:?}: {text}"
        );
    }
    // A private file that is not a JSON object (nothing writes one) is replaced, not skipped.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "[]").unwrap();
    prepare_login(dir.path(), "r.example").unwrap();
    let text = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    assert_eq!(text, r#"{"auths":{"r.example":{}}}"#);
}

#[test]
fn a_malformed_secrets_line_is_masked_before_parsing_and_never_quoted() {
    use deploy_kit_gha::{OutputFormat, Runner, RunnerEnv};
    // A token pasted without its `id=`, and one whose id is not valid.
    for (secrets, leaked) in [
        ("npm=ok-value\nghp_paste3dW1thoutId", "ghp_paste3dW1thoutId"),
        ("npm token=s3cr3t-behind-a-bad-id", "s3cr3t-behind-a-bad-id"),
    ] {
        let env = RunnerEnv {
            in_actions: true,
            ..RunnerEnv::default()
        };
        let (runner, captured) = Runner::capture("build-push-ecr", env, OutputFormat::Lines);
        let args = Args {
            secrets: Some(secrets.into()),
            ..args()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let error = runtime
            .block_on(deploy_kit_build_push_ecr::run(args, &runner))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("input `secrets`: item "), "{error}");
        assert!(!error.contains(leaked), "quoted: {error}");
        // Masked before anything was parsed: the runner hides it even where we did not.
        let log = captured.stderr();
        assert!(log.contains(&format!("::add-mask::{leaked}")), "{log}");
        assert_eq!(runner.redact(secrets).matches(leaked).count(), 0);
    }
}
