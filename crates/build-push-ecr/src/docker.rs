//! The docker CLI: login with the password on stdin, the build (buildx when it is there, else
//! `DOCKER_BUILDKIT=1 docker build` and `docker push`), and the digest from what docker wrote.
//! The command lines are built by pure functions, so both paths are unit-tested.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::input::Input;

/// The tag the buildx registry cache lives under, in the image's own repository.
pub const CACHE_TAG: &str = "buildcache";

/// Which build path runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    Buildx,
    DockerBuild,
}

/// The docker CLI (`DOCKER`, else `docker` on PATH) with a private config directory, so the
/// registry login never lands in the user's ~/.docker.
#[derive(Debug, Clone)]
pub struct Docker {
    pub program: String,
    pub config_dir: PathBuf,
}

/// What a docker command printed.
#[derive(Debug, Clone)]
pub struct Ran {
    pub success: bool,
    pub output: String,
}

impl Docker {
    pub fn run(&self, args: &[String], stdin: Option<&str>) -> std::io::Result<Ran> {
        let mut child = Command::new(&self.program)
            .args(args)
            .env("DOCKER_CONFIG", &self.config_dir)
            .env("DOCKER_BUILDKIT", "1")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        Ok(Ran {
            success: out.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }

    /// buildx is a CLI plug-in: `docker buildx version` succeeds only where it is installed.
    pub fn builder(&self) -> Builder {
        match self.run(&["buildx".to_owned(), "version".to_owned()], None) {
            Ok(ran) if ran.success => Builder::Buildx,
            _ => Builder::DockerBuild,
        }
    }
}

pub fn login_args(registry: &str) -> Vec<String> {
    ["login", "--username", "AWS", "--password-stdin", registry]
        .map(str::to_owned)
        .to_vec()
}

pub fn logout_args(registry: &str) -> Vec<String> {
    vec!["logout".to_owned(), registry.to_owned()]
}

/// The build command. `uri` is `registry/repository`; `secret_files` are `(id, path)`.
pub fn build_args(
    input: &Input,
    builder: Builder,
    uri: &str,
    metadata_file: &Path,
    secret_files: &[(String, PathBuf)],
) -> Vec<String> {
    let mut args: Vec<String> = match builder {
        Builder::Buildx => {
            let mut args = vec!["buildx".to_owned(), "build".to_owned()];
            args.push(if input.push { "--push" } else { "--load" }.to_owned());
            args.push("--metadata-file".to_owned());
            args.push(metadata_file.display().to_string());
            // Attestation manifests trip ECS and ECR scanning; off unless asked for.
            args.push(format!("--provenance={}", input.provenance));
            if !input.platforms.is_empty() {
                args.push("--platform".to_owned());
                args.push(input.platforms.join(","));
            }
            if input.cache {
                // The registry cache as ECR accepts it: an image manifest with OCI media types.
                args.push("--cache-from".to_owned());
                args.push(format!("type=registry,ref={uri}:{CACHE_TAG}"));
                args.push("--cache-to".to_owned());
                args.push(format!(
                    "type=registry,ref={uri}:{CACHE_TAG},mode=max,image-manifest=true,oci-mediatypes=true"
                ));
            }
            args
        }
        Builder::DockerBuild => vec!["build".to_owned()],
    };
    for tag in &input.tags {
        args.push("--tag".to_owned());
        args.push(format!("{uri}:{tag}"));
    }
    for (name, value) in &input.build_args {
        args.push("--build-arg".to_owned());
        args.push(format!("{name}={value}"));
    }
    for (id, path) in secret_files {
        args.push("--secret".to_owned());
        args.push(format!("id={id},src={}", path.display()));
    }
    if let Some(target) = &input.target {
        args.push("--target".to_owned());
        args.push(target.clone());
    }
    if let Some(network) = input.network.flag() {
        args.push("--network".to_owned());
        args.push(network.to_owned());
    }
    if let Some(dockerfile) = &input.dockerfile {
        args.push("--file".to_owned());
        args.push(dockerfile.display().to_string());
    }
    args.push(input.context.display().to_string());
    args
}

/// `sha256:<64 hex>` after `digest: ` in `docker push` output.
pub fn digest_from_push(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let rest = &line[line.find("digest: ")? + "digest: ".len()..];
        let digest = rest.split_whitespace().next()?;
        is_digest(digest).then(|| digest.to_owned())
    })
}

/// `containerimage.digest` of buildx's metadata file.
pub fn digest_from_metadata(text: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let digest = value["containerimage.digest"].as_str()?;
    is_digest(digest).then(|| digest.to_owned())
}

fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}
