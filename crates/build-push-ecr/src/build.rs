//! The build itself: log in, build (and push), log out, and the digest docker reported. Docker
//! runs as a child process that a cancel kills; its output streams to the log line by line as
//! untrusted text, masked like every line.

use std::path::{Path, PathBuf};

use deploy_kit_aws::ecr::Login;
use deploy_kit_gha::{Cancelled, Runner, Signal};

use crate::docker::{self, Builder, Docker, Ran};
use crate::{Error, Input};

/// How many of a failed build's last lines the error repeats (all of them are in the log).
const FAILED_TAIL: usize = 20;

/// One build: what to build, with which docker and builder, into which repository.
pub(crate) struct Job<'a> {
    pub(crate) input: &'a Input,
    pub(crate) docker: &'a Docker,
    pub(crate) builder: &'a Builder,
    /// `registry/repository`.
    pub(crate) uri: &'a str,
    /// The registry part of `uri`, which docker is logged in to ([`log_in`]).
    pub(crate) registry: &'a str,
    pub(crate) runner: &'a Runner,
}

/// The private docker config directory, removed with everything in it (the login, the secret
/// files) however the step ends; the links to the runner's directories go, not their targets.
pub(crate) struct PrivateConfig(pub(crate) PathBuf);

impl Drop for PrivateConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Readies the private config for `docker login` to `registry` now, before any other docker
/// command of the step starts and reads it; returns the login to run, which a cancel stops. The
/// password stays in the private config (see [`docker::prepare_login`]).
pub(crate) fn log_in<'a>(
    docker: &'a Docker,
    registry: &'a str,
    login: &'a Login,
    runner: &'a Runner,
) -> Result<impl Future<Output = Result<(), Error>> + 'a, Error> {
    docker::prepare_login(&docker.config_dir, registry)?;
    Ok(async move {
        let args = deploy_kit_aws::ecr::docker_login_args(registry, &login.username);
        let password = Some(login.password.as_str());
        stoppable(
            docker,
            runner,
            &args,
            password,
            |_| {},
            "the login was stopped",
        )
        .await
        .map(drop)
    })
}

impl Job<'_> {
    /// Builds (and pushes) once logged in, then logs out; the digest docker reported.
    pub(crate) async fn run(&self) -> Result<Option<String>, Error> {
        let result = self.build_and_push().await;
        // Logged out whatever happened; the directory goes when the step ends.
        let _ = docker::forget_registry(&self.docker.config_dir, self.registry);
        result
    }

    async fn build_and_push(&self) -> Result<Option<String>, Error> {
        let secret_files = write_secrets(&self.docker.config_dir, &self.input.secrets)?;
        let metadata = self.docker.config_dir.join("metadata.json");
        let args = docker::build_args(self.input, self.builder, self.uri, &metadata, &secret_files);
        self.runner.info(match self.builder {
            Builder::Buildx { cache: true, .. } => {
                "building with docker buildx (registry cache, pushed by the build)"
            }
            Builder::Buildx { cache: false, .. } => {
                "building with docker buildx (no registry cache, pushed by the build)"
            }
            Builder::DockerBuild => {
                "building with DOCKER_BUILDKIT=1 docker build, then docker push (buildx is not installed: no registry cache)"
            }
        });
        {
            let _group = self.runner.group(format!("docker {}", args.join(" ")));
            self.streamed(&args).await?;
        }
        if !self.input.push {
            return Ok(None);
        }
        match self.builder {
            Builder::Buildx { .. } => {
                let text = std::fs::read_to_string(&metadata).unwrap_or_default();
                docker::digest_from_metadata(&text)
                    .map(Some)
                    .ok_or_else(|| Error::NoDigest(metadata.display().to_string()))
            }
            Builder::DockerBuild => self.push().await.map(Some),
        }
    }

    /// `docker push` of every tag (the docker-build path); the digest of the first that said.
    async fn push(&self) -> Result<String, Error> {
        let mut digest = None;
        for tag in &self.input.tags {
            let args = ["push".to_owned(), format!("{}:{tag}", self.uri)];
            let pushed = self.stoppable(&args, |_| {}).await?;
            self.runner.info(format!("pushed {}:{tag}", self.uri));
            digest = digest.or_else(|| docker::digest_from_push(&pushed));
        }
        digest.ok_or_else(|| Error::NoDigest("the output of docker push".to_owned()))
    }

    /// The build, its output printed as it comes: it quotes the Dockerfile and whatever its RUN
    /// steps print, so it is untrusted text. A failure repeats the last lines in the error.
    async fn streamed(&self, args: &[String]) -> Result<String, Error> {
        let runner = self.runner;
        self.stoppable(args, |line| runner.untrusted("", line))
            .await
            .map_err(|error| match error {
                Error::Docker { command, output } => Error::Docker {
                    command,
                    output: tail(&output, FAILED_TAIL),
                },
                other => other,
            })
    }

    /// `docker args`, killed when the workflow is cancelled; the builder made for the build and
    /// the login are removed on the way out as after any failure.
    async fn stoppable(&self, args: &[String], line: impl FnMut(&str)) -> Result<String, Error> {
        let stopped = "the build was stopped";
        stoppable(self.docker, self.runner, args, None, line, stopped).await
    }
}

/// `docker args` (`stdin` on its standard input), each line it prints handed to `line`, killed
/// when the workflow is cancelled (`stopped` says so in the cancel's report); its output when it
/// succeeded.
async fn stoppable(
    docker: &Docker,
    runner: &Runner,
    args: &[String],
    stdin: Option<&str>,
    line: impl FnMut(&str),
    stopped: &str,
) -> Result<String, Error> {
    let cancellation = runner.cancellation();
    let ran = docker
        .stream(args, stdin, line, async {
            cancellation.cancelled().await;
        })
        .await
        .map_err(|source| no_docker(docker, source))?;
    match ran {
        Some(ran) => succeeded(args, ran),
        None => Err(Error::Cancelled(Cancelled {
            signal: cancellation.signal().unwrap_or(Signal::Terminate),
            cleanup: Some(stopped.to_owned()),
        })),
    }
}

fn no_docker(docker: &Docker, source: std::io::Error) -> Error {
    Error::NoDocker {
        program: docker.program.clone(),
        source,
    }
}

fn succeeded(args: &[String], ran: Ran) -> Result<String, Error> {
    if ran.success {
        Ok(ran.output)
    } else {
        Err(Error::Docker {
            command: args.first().cloned().unwrap_or_default(),
            output: ran.output,
        })
    }
}

/// The last `n` lines of `text`, after a line saying how many came before.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= n {
        return text.trim_end().to_owned();
    }
    let skipped = lines.len() - n;
    format!(
        "(the last {n} lines; {skipped} more above, in the log)\n{}",
        lines[skipped..].join("\n")
    )
}

/// Each secret in its own 0600 file, for `--secret id=..,src=..` (never on argv).
fn write_secrets(
    dir: &Path,
    secrets: &[(String, String)],
) -> Result<Vec<(String, PathBuf)>, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut files = Vec::new();
    for (id, value) in secrets {
        let path = dir.join(format!("secret-{id}"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        std::io::Write::write_all(&mut file, value.as_bytes())?;
        files.push((id.clone(), path));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_builds_error_keeps_its_last_lines() {
        assert_eq!(tail("a\nb\n", 3), "a\nb");
        let text: String = (1..=5).map(|n| format!("line {n}\n")).collect();
        assert_eq!(
            tail(&text, 2),
            "(the last 2 lines; 3 more above, in the log)\nline 4\nline 5"
        );
    }
}
