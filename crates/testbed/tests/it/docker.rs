//! The docker engine and registry behind ECR: a `docker push` of the sample app is then reported
//! by ECR (BatchGetImage, DescribeImages) with the digest docker printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_ecr::types::ImageIdentifier;
use deploy_kit_testbed::{Bed, repo_root};

/// Starts `bed.docker` in the bed's state dir and stops it when dropped (declared after the bed,
/// so it is dropped first, before the state dir goes away).
struct Docker {
    state: PathBuf,
    env: Vec<(String, String)>,
}

fn python(args: &[&str]) -> Output {
    Command::new(repo_root().join("tests/bed/.venv/bin/python"))
        .args(["-m", "bed.docker"])
        .args(args)
        .current_dir(repo_root().join("tests/bed"))
        .output()
        .expect("run tests/bed/.venv/bin/python -m bed.docker (did tests/bed/up run?)")
}

impl Docker {
    fn start(bed: &Bed) -> Self {
        let state = PathBuf::from(bed.var("BED_STATE_DIR").expect("BED_STATE_DIR"));
        let pid = std::process::id().to_string();
        let out = python(&[
            "start",
            "--state-dir",
            state.to_str().unwrap(),
            "--parent-pid",
            &pid,
            "--ttl",
            "900",
        ]);
        assert!(
            out.status.success(),
            "docker engine/registry could not start here (dockerd needs root, cgroups and a \
             storage driver): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self { state, env }
    }

    fn var(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    /// Runs the docker client against the bed's engine, with its own config dir (no login leaks
    /// into ~/.docker).
    fn docker(&self, args: &[&str], stdin: Option<&str>, dir: &Path) -> String {
        use std::io::Write;
        let mut child = Command::new(self.var("DOCKER"))
            .args(args)
            .env("DOCKER_HOST", self.var("DOCKER_HOST"))
            .env("DOCKER_BUILDKIT", self.var("DOCKER_BUILDKIT"))
            .env("DOCKER_CONFIG", self.state.join("docker-config"))
            .current_dir(dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("docker client");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.unwrap_or_default().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        python(&["stop", "--state-dir", self.state.to_str().unwrap()]);
    }
}

fn b64decode(text: &str) -> Vec<u8> {
    // Tiny standard base64 decoder: avoids a dependency for one call.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// Logs in with what ECR hands out (as the deploy action does), builds the sample app and pushes
/// it as `image`; returns the image and the digest docker printed.
async fn push_sample(docker: &Docker, ecr: &aws_sdk_ecr::Client, image: &str) -> (String, String) {
    // Log in with what ECR hands out, as the deploy action does.
    let auth = ecr
        .get_authorization_token()
        .send()
        .await
        .expect("GetAuthorizationToken");
    let data = &auth.authorization_data()[0];
    let decoded = String::from_utf8(b64decode(data.authorization_token().unwrap())).unwrap();
    let (user, password) = decoded.split_once(':').unwrap();
    assert_eq!(user, "AWS");
    let endpoint = data.proxy_endpoint().unwrap();
    let registry = endpoint.trim_start_matches("http://");
    assert_eq!(registry, docker.var("BED_REGISTRY"));
    let app = repo_root().join("tests/bed/app");
    docker.docker(
        &["login", "-u", user, "--password-stdin", registry],
        Some(password),
        &app,
    );

    // The sample app: FROM scratch + Debian's static busybox (copied into a build context).
    let context = docker.state.join("app-context");
    std::fs::create_dir_all(context.join("www")).unwrap();
    std::fs::copy(app.join("Dockerfile"), context.join("Dockerfile")).unwrap();
    std::fs::copy(app.join("www/health"), context.join("www/health")).unwrap();
    std::fs::copy("/bin/busybox", context.join("busybox")).expect("busybox-static");
    docker.docker(&["build", "-t", image, "."], None, &context);
    let pushed = docker.docker(&["push", image], None, &context);
    let digest = pushed
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .unwrap_or_else(|| panic!("no digest in push output: {pushed}"))
        .to_owned();

    (image.to_owned(), digest)
}

#[tokio::test]
async fn docker_push_digest_is_reported_by_ecr() {
    let bed = Bed::start().expect("bed");
    let docker = Docker::start(&bed);
    let ecr = aws_sdk_ecr::Client::new(&bed.sdk_config().await);
    ecr.create_repository()
        .repository_name("app")
        .send()
        .await
        .expect("CreateRepository");

    let (image, digest) = push_sample(
        &docker,
        &ecr,
        &format!("{}/app:abc", docker.var("BED_REGISTRY")),
    )
    .await;
    assert!(image.ends_with("/app:abc"));

    let got = ecr
        .batch_get_image()
        .repository_name("app")
        .image_ids(ImageIdentifier::builder().image_tag("abc").build())
        .send()
        .await
        .expect("BatchGetImage");
    assert!(got.failures().is_empty(), "{:?}", got.failures());
    let image_got = &got.images()[0];
    assert_eq!(
        image_got.image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    assert!(image_got.image_manifest().unwrap().contains("layers"));

    let described = ecr
        .describe_images()
        .repository_name("app")
        .send()
        .await
        .expect("DescribeImages");
    let detail = &described.image_details()[0];
    assert_eq!(detail.image_digest(), Some(digest.as_str()));
    assert_eq!(detail.image_tags(), ["abc"]);

    // Retagging through PutImage, as a promote step does, keeps the digest.
    let put = ecr
        .put_image()
        .repository_name("app")
        .image_tag("staging")
        .image_manifest(image_got.image_manifest().unwrap())
        .send()
        .await
        .expect("PutImage");
    assert_eq!(
        put.image().unwrap().image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    let listed = ecr
        .list_images()
        .repository_name("app")
        .send()
        .await
        .expect("ListImages");
    assert_eq!(listed.image_ids().len(), 2);
}

#[tokio::test]
async fn immutable_tags_cannot_be_overwritten() {
    let bed = Bed::start().expect("bed");
    let docker = Docker::start(&bed);
    let ecr = aws_sdk_ecr::Client::new(&bed.sdk_config().await);
    ecr.create_repository()
        .repository_name("frozen")
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .send()
        .await
        .expect("CreateRepository");
    let registry = docker.var("BED_REGISTRY").to_owned();
    let (_, digest) = push_sample(&docker, &ecr, &format!("{registry}/frozen:v1")).await;

    // A second, different manifest: an OCI index over the pushed image (its blobs all exist).
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"{digest}","size":1,"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#
    );
    let err = ecr
        .put_image()
        .repository_name("frozen")
        .image_tag("v1")
        .image_manifest(&index)
        .send()
        .await
        .expect_err("immutable tag overwritten");
    let message = format!("{:?}", err.into_service_error());
    assert!(message.contains("ImageTagAlreadyExists"), "{message}");
    // A new tag is fine.
    ecr.put_image()
        .repository_name("frozen")
        .image_tag("v2")
        .image_manifest(&index)
        .send()
        .await
        .expect("PutImage under a new tag");
}
