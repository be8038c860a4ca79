//! The bed's docker engine and registry (`tests/bed/bed/tools/docker.py`) for one test: dockerd on its
//! own socket in the bed's state dir, `docker-registry` on a loopback port, both stopped when
//! dropped (and by themselves when the test process dies). While it runs, the bed's ECR answers
//! image calls from that registry.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::{Bed, BedError, repo_root};

/// A running engine and registry. Drop it before the [`Bed`] whose state dir it lives in.
pub struct Docker {
    state: PathBuf,
    env: Vec<(String, String)>,
}

fn bed_docker(args: &[&str]) -> Result<Output, BedError> {
    Command::new(repo_root().join("tests/bed/.venv/bin/python"))
        .args(["-m", "bed.tools.docker"])
        .args(args)
        .current_dir(repo_root().join("tests/bed"))
        .output()
        .map_err(|e| {
            BedError(format!(
                "cannot run python -m bed.tools.docker (did tests/bed/up run?): {e}"
            ))
        })
}

impl Docker {
    /// Starts dockerd and the registry in `bed`'s state dir (installing the Debian packages when
    /// missing). An error means docker cannot run on this machine; its message says why.
    pub fn start(bed: &Bed) -> Result<Self, BedError> {
        let state = PathBuf::from(
            bed.var("BED_STATE_DIR")
                .ok_or_else(|| BedError("the bed printed no BED_STATE_DIR".into()))?,
        );
        let state_arg = state.to_string_lossy().into_owned();
        let pid = std::process::id().to_string();
        let out = bed_docker(&[
            "start",
            "--state-dir",
            &state_arg,
            "--parent-pid",
            &pid,
            "--ttl",
            "900",
        ])?;
        if !out.status.success() {
            return Err(BedError(format!(
                "the bed's docker engine/registry did not start (dockerd needs root, cgroups and \
                 a storage driver; see the logs in {state_arg}): {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Self { state, env })
    }

    /// `DOCKER_HOST`, `BED_REGISTRY` (`127.0.0.1:PORT`), `DOCKER_BUILDKIT`, `DOCKER` (the client).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    pub fn var(&self, name: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The registry's `host:port`, which ECR's `proxyEndpoint` and `repositoryUri` also name.
    pub fn registry(&self) -> &str {
        self.var("BED_REGISTRY")
    }

    /// The docker client (`/usr/bin/docker`, Debian's, which builds with BuildKit) set up for
    /// this engine, with its own config dir so `docker login` never touches `~/.docker`.
    pub fn command(&self) -> Command {
        let mut command = Command::new(self.var("DOCKER"));
        command
            .env("DOCKER_HOST", self.var("DOCKER_HOST"))
            .env("DOCKER_BUILDKIT", self.var("DOCKER_BUILDKIT"))
            .env("DOCKER_CONFIG", self.state.join("docker-config"));
        command
    }

    /// Runs `docker args` in `dir`, feeding `stdin`; stdout and stderr together, or an error
    /// that carries them.
    pub fn run(&self, args: &[&str], stdin: &str, dir: &Path) -> Result<String, BedError> {
        let err = |e: std::io::Error| BedError(format!("docker {args:?}: {e}"));
        let mut child = self
            .command()
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(err)?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes()).map_err(err)?;
        }
        let out = child.wait_with_output().map_err(err)?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(BedError(format!("docker {args:?} failed: {text}")))
        }
    }

    /// `docker login` to the bed's registry with what ECR's GetAuthorizationToken handed out.
    pub fn login(&self, user: &str, password: &str) -> Result<(), BedError> {
        let registry = self.registry();
        self.run(
            &["login", "-u", user, "--password-stdin", registry],
            password,
            &self.state,
        )
        .map(drop)
    }

    /// Builds the sample app (`tests/bed/app`) as `image` with `--build-arg VERSION=version`.
    pub fn build_sample_app(&self, image: &str, version: &str) -> Result<(), BedError> {
        let context = sample_app_context(&self.state.join(format!("app-{version}")))?;
        let arg = format!("VERSION={version}");
        self.run(
            &["build", "-q", "--build-arg", &arg, "-t", image, "."],
            "",
            &context,
        )
        .map(drop)
    }

    /// `docker push image`; the manifest digest the push printed.
    pub fn push(&self, image: &str) -> Result<String, BedError> {
        let out = self.run(&["push", image], "", &self.state)?;
        out.split_whitespace()
            .find(|w| w.starts_with("sha256:"))
            .map(str::to_owned)
            .ok_or_else(|| BedError(format!("no digest in the push output: {out}")))
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let _ = bed_docker(&["stop", "--state-dir", &self.state.to_string_lossy()]);
    }
}

/// A build context for the sample app in `dest`: `tests/bed/app` plus Debian's static busybox
/// (`busybox-static`, `/bin/busybox`), which is not committed.
pub fn sample_app_context(dest: &Path) -> Result<PathBuf, BedError> {
    let app = repo_root().join("tests/bed/app");
    let copy = |from: &Path, to: PathBuf| {
        std::fs::copy(from, &to)
            .map(drop)
            .map_err(|e| BedError(format!("copy {} to {}: {e}", from.display(), to.display())))
    };
    std::fs::create_dir_all(dest.join("www"))
        .map_err(|e| BedError(format!("create {}: {e}", dest.display())))?;
    copy(&app.join("Dockerfile"), dest.join("Dockerfile"))?;
    for page in ["health", "index.html"] {
        copy(&app.join("www").join(page), dest.join("www").join(page))?;
    }
    copy(Path::new("/bin/busybox"), dest.join("busybox"))?;
    Ok(dest.to_path_buf())
}
