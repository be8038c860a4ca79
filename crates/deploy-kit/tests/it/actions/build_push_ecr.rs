//! `deploy-kit build-push-ecr` against the test bed's real docker engine and registry behind
//! ECR: build and push with the registry's digest, a re-run that skips, a tag added without a
//! build, repositories created or refused, build secrets kept out of logs and history, and the
//! scan gate.

use std::path::{Path, PathBuf};

use aws_sdk_ecr::types::ImageIdentifier;
use deploy_kit_testbed::binary::{Invocation, Run};
use deploy_kit_testbed::docker::{Docker, sample_app_context};
use deploy_kit_testbed::{Bed, Component};

mod buildx;
mod credential_store;

struct Fixture {
    bed: Bed,
    docker: Docker,
    ecr: aws_sdk_ecr::Client,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let docker = Docker::start(&bed).unwrap();
    let ecr = aws_sdk_ecr::Client::new(&bed.sdk_config().await);
    Fixture {
        bed,
        docker,
        ecr,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Fixture {
    fn context(&self, name: &str) -> PathBuf {
        sample_app_context(&self.dir.path().join(name)).unwrap()
    }

    /// `docker history` of an image: every layer's command, untruncated.
    fn history(&self, image: &str) -> String {
        self.docker
            .run(&["history", "--no-trunc", image], "", self.dir.path())
            .unwrap()
    }

    fn run(&self, inputs: &[(&str, &str)]) -> Run {
        self.invocation(inputs).run()
    }

    /// build-push-ecr on the bed and its docker engine, as a job runs it, with `inputs`.
    fn invocation(&self, inputs: &[(&str, &str)]) -> Invocation {
        crate::deploy_kit()
            .action("build-push-ecr")
            .in_actions()
            .runner_files()
            .time_scale(0.05)
            .env("DOCKER", self.docker.var("DOCKER"))
            .env("DOCKER_HOST", self.docker.var("DOCKER_HOST"))
            .bed(&self.bed)
            .inputs(inputs)
    }

    async fn registry_digest(&self, repository: &str, tag: &str) -> Option<String> {
        let out = self
            .ecr
            .batch_get_image()
            .repository_name(repository)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await
            .unwrap();
        out.images()
            .first()
            .and_then(|i| i.image_id())
            .and_then(|i| i.image_digest())
            .map(str::to_owned)
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// An executable script at `at` (a stand-in docker or credential helper).
fn write_script(at: &Path, text: &str) {
    std::fs::write(at, text).unwrap();
    let mut perms = std::fs::metadata(at).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(at, perms).unwrap();
}

#[tokio::test]
async fn builds_pushes_skips_on_rerun_and_adds_tags_without_a_build() {
    let f = fixture().await;
    let context = f.context("app");
    let inputs = [
        ("repository", "team/api"),
        ("context", &path(&context)),
        ("tags", "abc123"),
        ("create-repository", "true"),
        ("build-args", "VERSION=1.0.0"),
    ];
    crate::contract::iam::reset(&f.bed);
    let run = f.run(&inputs);
    assert_eq!(run.code, Some(0), "{}", run.log());
    crate::contract::iam::assert_allowed(&f.bed, "build-push-ecr");
    assert!(run.log().contains("created repository"), "{}", run.log());
    let described = f
        .ecr
        .describe_repositories()
        .repository_names("team/api")
        .send()
        .await
        .unwrap();
    let repository = &described.repositories()[0];
    assert_eq!(
        repository.image_tag_mutability().map(|m| m.as_str()),
        Some("IMMUTABLE_WITH_EXCLUSION"),
        "tags are immutable but for the registry cache's"
    );
    let exempt: Vec<&str> = repository
        .image_tag_mutability_exclusion_filters()
        .iter()
        .map(|f| f.filter())
        .collect();
    assert_eq!(exempt, ["buildcache"]);
    assert!(
        run.log().contains("DOCKER_BUILDKIT=1 docker build"),
        "the path used is said: {}",
        run.log()
    );
    let digest = run.outputs["digest"].clone();
    assert_eq!(
        f.registry_digest("team/api", "abc123").await.as_deref(),
        Some(digest.as_str())
    );
    let uri = format!("{}/team/api", f.docker.registry());
    assert_eq!(run.outputs["image"], format!("{uri}:abc123"));
    assert_eq!(run.outputs["image-digest-uri"], format!("{uri}@{digest}"));
    assert_eq!(run.outputs["skipped"], "false");

    // Again (an immutable repository): skipped, same digest, no build.
    let again = f.run(&inputs);
    assert_eq!(again.code, Some(0), "{}", again.log());
    assert_eq!(again.outputs["skipped"], "true");
    assert_eq!(again.outputs["digest"], digest);
    assert!(!again.log().contains("docker build"), "{}", again.log());

    // A new tag on the same commit: put on the manifest, still no build.
    let tagged = f.run(&[
        ("repository", "team/api"),
        ("context", &path(&context)),
        ("tags", "abc123\nrelease-7"),
    ]);
    assert_eq!(tagged.code, Some(0), "{}", tagged.log());
    assert!(
        tagged.log().contains("tags added: release-7"),
        "{}",
        tagged.log()
    );
    assert_eq!(
        f.registry_digest("team/api", "release-7").await.as_deref(),
        Some(digest.as_str())
    );
}

#[tokio::test]
async fn a_missing_repository_is_refused_and_secrets_stay_out_of_logs_and_history() {
    let f = fixture().await;
    let context = f.context("app");
    f.bed.reset_calls().unwrap();
    let run = f.run(&[
        ("repository", "nope"),
        ("context", &path(&context)),
        ("tags", "t1"),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.log());
    assert!(
        run.log()
            .contains("repository `nope` does not exist: create it"),
        "{}",
        run.log()
    );
    assert_eq!(
        f.bed.calls().unwrap(),
        ["ecr:DescribeRepositories"],
        "refused once the repository is known missing, before any login"
    );

    // Several platforms need buildx, which this engine does not have: refused before any AWS
    // call, even with a repository to create.
    f.bed.reset_calls().unwrap();
    let run = f.run(&[
        ("repository", "nope"),
        ("create-repository", "true"),
        ("context", &path(&context)),
        ("tags", "t1"),
        ("platforms", "linux/amd64,linux/arm64"),
    ]);
    assert_eq!(run.code, Some(2), "{}", run.log());
    assert!(
        run.log()
            .contains("input `platforms`: several platforms need docker buildx"),
        "{}",
        run.log()
    );
    assert_eq!(f.bed.calls().unwrap(), Vec::<String>::new());

    // A build given a secret: the value is masked and passed as a file, and no layer records
    // it (a RUN step reading it: a_run_step_reads_the_build_secret_with_network_none).
    let secret = "s3cr3t-registry-token-value";
    let run = f.run(&[
        ("repository", "secretive"),
        ("create-repository", "true"),
        ("context", &path(&context)),
        ("tags", "t1"),
        ("secrets", &format!("token={secret}")),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.log());
    assert_only_masked(&run.log(), secret);
    assert!(
        run.log().contains("--secret id=token,src="),
        "{}",
        run.log()
    );
    let history = f.history(&run.outputs["image"]);
    assert!(!history.contains(secret), "{history}");
    let leftovers: Vec<_> = std::fs::read_dir(run.files.runner_temp())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("deploy-kit-docker-")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "the secret files and login are removed: {leftovers:?}"
    );
}

/// For one platform, the registry lookups do not wait for docker's tooling probe. The stand-in
/// docker answers `buildx version` only once the bed has seen DescribeRepositories, and writes
/// down whether it did or gave up waiting (100 tries), as a probe run first would.
#[tokio::test]
async fn the_docker_probe_runs_beside_the_registry_lookups() {
    let bed = Bed::start(&[Component::Aws]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (docker, mark) = (dir.path().join("docker"), dir.path().join("probe"));
    let seen = "import os, sys, urllib.request; \
        sys.exit(b'DescribeRepositories' not in \
        urllib.request.urlopen(os.environ['AWS_ENDPOINT_URL'] + '/_bed/calls', timeout=2).read())";
    let script = format!(
        "#!/bin/sh\n[ \"$1 $2\" = 'buildx version' ] || exit 1\n\
         for _ in $(seq 100); do\n\
         python3 -c \"{seen}\" && {{ echo overlapped > '{mark}'; exit 1; }}\n\
         sleep 0.1\ndone\necho sequential > '{mark}'\nexit 1\n",
        mark = mark.display()
    );
    write_script(&docker, &script);
    let run = crate::deploy_kit()
        .action("build-push-ecr")
        .in_actions()
        .runner_files()
        .env("DOCKER", docker.display().to_string())
        .bed(&bed)
        .inputs(&[
            ("repository", "absent"),
            ("context", &path(dir.path())),
            ("tags", "t1"),
        ])
        .run();
    assert_eq!(run.code, Some(2), "{}", run.log());
    assert!(
        run.log().contains("repository `absent` does not exist"),
        "{}",
        run.log()
    );
    assert_eq!(
        std::fs::read_to_string(&mark).unwrap().trim(),
        "overlapped",
        "{}",
        run.log()
    );
}

/// The secret shows in the log only on its `::add-mask::` line.
fn assert_only_masked(log: &str, secret: &str) {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(secret)).collect();
    assert_eq!(lines, [format!("::add-mask::{secret}")], "only its mask");
}

/// A Dockerfile whose `RUN` step fails unless the `token` secret hashes to `TOKEN_SHA256`: the
/// step itself proves what it was handed, and the image and its history hold only the hash.
const SECRET_DOCKERFILE: &str = r#"FROM scratch
COPY busybox /bin/busybox
ARG TOKEN_SHA256
RUN --mount=type=secret,id=token ["/bin/busybox", "sh", "-c", "/bin/busybox sha256sum /run/secrets/token | /bin/busybox grep -q \"^$TOKEN_SHA256 \" && /bin/busybox echo checked > /secret-checked"]
"#;

fn sha256_hex(text: &str) -> String {
    let mut child = std::process::Command::new("/bin/busybox")
        .arg("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[tokio::test]
async fn a_run_step_reads_the_build_secret_with_network_none() {
    let f = fixture().await;
    let context = f.context("app");
    let dockerfile = context.join("Dockerfile.secret");
    std::fs::write(&dockerfile, SECRET_DOCKERFILE).unwrap();
    let secret = "s3cr3t-npm-token-for-run";
    let build = |tag: &str, expected: &str| {
        f.run(&[
            ("repository", "run-secret"),
            ("create-repository", "true"),
            ("context", &path(&context)),
            ("dockerfile", &path(&dockerfile)),
            ("tags", tag),
            // The bed's engine has no bridge: `RUN` steps need `network: none` here.
            ("network", "none"),
            (
                "build-args",
                &format!("TOKEN_SHA256={}", sha256_hex(expected)),
            ),
            ("secrets", &format!("token={secret}")),
        ])
    };
    let run = build("right", secret);
    assert_eq!(run.code, Some(0), "{}", run.log());
    assert!(run.log().contains("--network none"), "{}", run.log());
    assert_only_masked(&run.log(), secret);
    let history = f.history(&run.outputs["image"]);
    assert!(
        history.contains("/secret-checked"),
        "the RUN step ran: {history}"
    );
    assert!(!history.contains(secret), "{history}");

    // The RUN step fails when the secret is not what it expects: the check is real. (BuildKit's
    // cache ignores secret values, so the expectation changes, not the secret.)
    let run = build("wrong", "another-token");
    assert_eq!(run.code, Some(1), "{}", run.log());
    assert!(
        run.log().contains("/secret-checked"),
        "docker's failure is shown: {}",
        run.log()
    );
}

/// Sets the bed's scan knobs (`POST /_bed/ecr-scan`).
fn scan_knobs(f: &Fixture, json: &str) {
    let (status, body) = f.bed.post("/_bed/ecr-scan", json).unwrap();
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_scan_gate_fails_on_findings_unless_ignored_and_times_out() {
    let f = fixture().await;
    let context = f.context("app");
    scan_knobs(
        &f,
        r#"{"repository": "scanned", "seconds": 2, "findings": [{"name": "CVE-2026-0001", "severity": "HIGH"}, {"name": "CVE-2026-0002", "severity": "LOW"}]}"#,
    );
    let base = [
        ("repository", "scanned"),
        ("create-repository", "true"),
        ("context", &path(&context) as &str),
        ("tags", "t1"),
        ("scan", "wait"),
        ("fail-on-severity", "HIGH"),
    ];
    crate::contract::iam::reset(&f.bed);
    let run = f.run(&base);
    run.assert_code(1)
        .assert_logged("found 1 finding(s) at or above HIGH: CVE-2026-0001 (HIGH)");
    let calls = crate::contract::iam::assert_allowed(&f.bed, "build-push-ecr");
    assert!(
        calls.iter().any(|c| c == "ecr:DescribeImageScanFindings"),
        "{calls:?}"
    );
    assert!(
        !run.outputs["digest"].is_empty(),
        "the image is pushed; the gate fails the step"
    );

    let mut ignored = base.to_vec();
    ignored.push(("ignore-findings", "CVE-2026-0001"));
    f.run(&ignored).assert_code(0);

    scan_knobs(&f, r#"{"repository": "scanned", "status": "never"}"#);
    let mut slow = base.to_vec();
    slow[3] = ("tags", "t2");
    slow.push(("scan-timeout", "1s"));
    f.run(&slow)
        .assert_code(3)
        .assert_logged("did not finish within scan-timeout 1.0s");

    // Enhanced scanning (Inspector) answers ACTIVE with enhancedFindings: gated the same way.
    scan_knobs(
        &f,
        r#"{"repository": "scanned", "enhanced": true, "findings": [{"name": "CVE-2026-0009", "severity": "CRITICAL"}]}"#,
    );
    f.run(&base)
        .assert_code(1)
        .assert_logged("CVE-2026-0009 (CRITICAL)");

    // A repository without scan on push has no scan to wait for: the step starts one.
    f.ecr
        .create_repository()
        .repository_name("unscanned")
        .send()
        .await
        .unwrap();
    crate::contract::iam::reset(&f.bed);
    let run = f.run(&[
        ("repository", "unscanned"),
        ("context", &path(&context)),
        ("tags", "t1"),
        ("scan", "wait"),
        ("fail-on-severity", "HIGH"),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.log());
    let calls = crate::contract::iam::assert_allowed(&f.bed, "build-push-ecr");
    assert!(calls.iter().any(|c| c == "ecr:StartImageScan"), "{calls:?}");
}
