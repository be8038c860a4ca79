//! The docker CLI: login with the password on stdin, the build (buildx when it is there, else
//! `DOCKER_BUILDKIT=1 docker build` and `docker push`), and the digest from what docker wrote.
//! The command lines are built by pure functions, so both paths are unit-tested.
//!
//! The login lives in a private `DOCKER_CONFIG`, so it never lands in the runner's own config.
//! What else lives in the runner's config is carried over ([`carry_config`]): its contexts, CLI
//! plug-ins, credential helpers and other registries' logins; and `BUILDX_CONFIG` points at the
//! runner's buildx directory, which buildx would otherwise look for under the private config
//! (`$BUILDX_CONFIG`, else `$DOCKER_CONFIG/buildx`: docker/buildx util/confutil/config.go,
//! https://docs.docker.com/build/building/variables/#buildx_config), so the builder that
//! docker/setup-buildx-action selected stays the current one.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader, Split};
use tokio::process::{Child, Command};

use crate::input::Input;

/// The tag the buildx registry cache lives under, in the image's own repository.
pub const CACHE_TAG: &str = "buildcache";

/// Which build path runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builder {
    /// `docker buildx build` on the named builder (`None`: buildx's current one), with the
    /// registry cache when `cache`.
    Buildx {
        name: Option<String>,
        cache: bool,
    },
    DockerBuild,
}

/// The docker CLI (`DOCKER`, else `docker` on PATH) with a private config directory, so the
/// registry login never lands in the user's ~/.docker.
#[derive(Debug, Clone)]
pub struct Docker {
    pub program: String,
    pub config_dir: PathBuf,
    /// The runner's buildx directory, given to buildx as `BUILDX_CONFIG`.
    pub buildx_config: Option<PathBuf>,
}

/// Why a short docker command ([`Docker::checked`]) gave no output to use.
#[derive(Debug)]
pub enum Unchecked {
    /// docker could not be started.
    NotStarted(std::io::Error),
    /// It ran and failed: what it printed.
    Failed(String),
}

/// What a docker command printed (stdout and stderr, line by line as they came).
#[derive(Debug, Clone)]
pub struct Ran {
    pub success: bool,
    pub output: String,
}

impl Docker {
    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .env("DOCKER_CONFIG", &self.config_dir)
            .env("DOCKER_BUILDKIT", "1")
            // Whatever way the step ends (an error, a cancel, a panic unwinding), docker does not
            // outlive the future that runs it.
            .kill_on_drop(true);
        if let Some(dir) = &self.buildx_config {
            command.env("BUILDX_CONFIG", dir);
        }
        command
    }

    /// Runs `docker args` (with `stdin` on its standard input), handing each line it prints to
    /// `line` as it comes, until it ends or `stop` resolves: then docker is killed and waited
    /// for, and the answer is `None` (a cancelled workflow must not leave a build running).
    /// The child is awaited, never waited on in a blocking call: the runtime runs one thread,
    /// and the signal listener on it.
    pub async fn stream(
        &self,
        args: &[String],
        stdin: Option<&str>,
        mut line: impl FnMut(&str),
        stop: impl Future<Output = ()>,
    ) -> std::io::Result<Option<Ran>> {
        let mut child = self
            .command(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // Dropped at the end of this block: docker reads to the end of its input.
            pipe.write_all(text.as_bytes()).await?;
        }
        tokio::pin!(stop);
        let mut output = String::new();
        let status = tokio::select! {
            status = async {
                read_lines(&mut child, |text| {
                    line(text);
                    output.push_str(text);
                    output.push('\n');
                })
                .await?;
                child.wait().await
            } => status?,
            () = &mut stop => {
                child.kill().await?;
                return Ok(None);
            }
        };
        Ok(Some(Ran {
            success: status.success(),
            output,
        }))
    }

    /// Runs `docker args` to its end, its output collected: for the short commands (login,
    /// `buildx inspect`, `buildx rm`), some of which also run after a cancel, to clean up.
    pub async fn run(&self, args: &[String], stdin: Option<&str>) -> std::io::Result<Ran> {
        let ran = self
            .stream(args, stdin, |_| {}, std::future::pending())
            .await?;
        // A pending stop never resolves: the command ran to its end.
        Ok(ran.unwrap_or(Ran {
            success: false,
            output: String::new(),
        }))
    }

    /// Runs a short command to its end: its output when it succeeded.
    pub async fn checked(&self, args: &[String], stdin: Option<&str>) -> Result<String, Unchecked> {
        let ran = self.run(args, stdin).await.map_err(Unchecked::NotStarted)?;
        if ran.success {
            Ok(ran.output)
        } else {
            Err(Unchecked::Failed(ran.output))
        }
    }

    /// Runs `docker args`; the output when it succeeded.
    pub async fn try_run(&self, args: &[&str]) -> Option<String> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        self.run(&args, None)
            .await
            .ok()
            .filter(|ran| ran.success)
            .map(|ran| ran.output)
    }
}

/// Reads the child's stdout and stderr to their ends, each line (without its line ending,
/// invalid UTF-8 replaced) handed to `line` in the order the lines arrive.
async fn read_lines(child: &mut Child, mut line: impl FnMut(&str)) -> std::io::Result<()> {
    let mut stdout = child
        .stdout
        .take()
        .map(|pipe| BufReader::new(pipe).split(b'\n'));
    let mut stderr = child
        .stderr
        .take()
        .map(|pipe| BufReader::new(pipe).split(b'\n'));
    while stdout.is_some() || stderr.is_some() {
        let (segment, from_stdout) = tokio::select! {
            segment = next(&mut stdout), if stdout.is_some() => (segment?, true),
            segment = next(&mut stderr), if stderr.is_some() => (segment?, false),
        };
        match segment {
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                line(text.strip_suffix('\r').unwrap_or(&text));
            }
            None if from_stdout => stdout = None,
            None => stderr = None,
        }
    }
    Ok(())
}

async fn next<R: AsyncRead + Unpin>(
    pipe: &mut Option<Split<BufReader<R>>>,
) -> std::io::Result<Option<Vec<u8>>> {
    match pipe {
        Some(pipe) => pipe.next_segment().await,
        None => Ok(None),
    }
}

/// The runner's docker config made the private one's starting point: every setting but the
/// login store (`credsStore` would take the ECR password out of the private directory), plus
/// links to its `contexts` (the current context names the engine) and `cli-plugins` (buildx may
/// be installed there). Nothing is carried when the runner has no config.
pub fn carry_config(runner: Option<&Path>, private: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(private)?;
    let Some(runner) = runner else {
        return Ok(());
    };
    if let Ok(text) = std::fs::read_to_string(runner.join("config.json")) {
        let carried = carried_config(&text);
        write_private(&private.join("config.json"), &carried)?;
    }
    for dir in ["contexts", "cli-plugins"] {
        let from = runner.join(dir);
        if from.is_dir() {
            std::os::unix::fs::symlink(&from, private.join(dir))?;
        }
    }
    Ok(())
}

/// The runner's `config.json` without `credsStore`; text that is not a JSON object carries
/// nothing (docker would refuse it anyway). The registries the runner logged in to through that
/// store (each has an empty `auths` entry) keep it as their credential helper, so base images
/// and caches pulled from them still authenticate; only this step's login must stay in the file.
pub fn carried_config(text: &str) -> String {
    let Ok(serde_json::Value::Object(mut config)) = serde_json::from_str(text) else {
        return "{}".to_owned();
    };
    if let Some(serde_json::Value::String(store)) = config.remove("credsStore") {
        let stored: Vec<String> = match config.get("auths") {
            Some(serde_json::Value::Object(auths)) => auths.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let helpers = config
            .entry("credHelpers")
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let serde_json::Value::Object(helpers) = helpers {
            for host in stored {
                helpers
                    .entry(host)
                    .or_insert_with(|| serde_json::Value::String(store.clone()));
            }
        }
    }
    serde_json::Value::Object(config).to_string()
}

/// Readies the private config for `docker login` to `registry`: what the carried config said
/// about it (a login, a credential helper) goes, and an empty login stands in its place. A
/// config that holds no login at all makes docker pick a credential store of its own (the OS
/// keychain, `pass`, the Secret Service, when their helper is installed), which would keep the
/// password out of the private directory; with an entry, docker keeps it in the file.
pub fn prepare_login(private: &Path, registry: &str) -> std::io::Result<()> {
    edit_config(private, |config| {
        if let Some(serde_json::Value::Object(helpers)) = config.get_mut("credHelpers") {
            helpers.remove(registry);
        }
        let empty = || serde_json::Value::Object(serde_json::Map::new());
        let auths = config.entry("auths").or_insert_with(empty);
        match auths {
            serde_json::Value::Object(auths) => {
                auths.insert(registry.to_owned(), empty());
            }
            other => *other = serde_json::json!({ registry: {} }),
        }
    })
}

/// Takes this step's login out of the private config: [`prepare_login`] left no helper for the
/// registry, so the login is in the file and this is what `docker logout` would do there.
pub fn forget_registry(private: &Path, registry: &str) -> std::io::Result<()> {
    edit_config(private, |config| {
        if let Some(serde_json::Value::Object(auths)) = config.get_mut("auths") {
            auths.remove(registry);
        }
    })
}

/// Rewrites the private `config.json`, starting from an empty one when there is none yet or
/// its text is not a JSON object (`carry_config` never writes such a file; docker would refuse
/// it, and [`prepare_login`] must not be skipped).
fn edit_config(
    private: &Path,
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> std::io::Result<()> {
    let path = private.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => "{}".to_owned(),
        Err(error) => return Err(error),
    };
    let mut config = match serde_json::from_str(&text) {
        Ok(serde_json::Value::Object(config)) => config,
        _ => serde_json::Map::new(),
    };
    edit(&mut config);
    write_private(&path, &serde_json::Value::Object(config).to_string())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// The build command. `uri` is `registry/repository`; `secret_files` are `(id, path)`.
pub fn build_args(
    input: &Input,
    builder: &Builder,
    uri: &str,
    metadata_file: &Path,
    secret_files: &[(String, PathBuf)],
) -> Vec<String> {
    let mut args: Vec<String> = match builder {
        Builder::Buildx { name, cache } => {
            let mut args = vec!["buildx".to_owned(), "build".to_owned()];
            if let Some(name) = name {
                // By name: the builder chosen is the one used, whatever is current meanwhile.
                args.push("--builder".to_owned());
                args.push(name.clone());
            }
            args.push(if input.push { "--push" } else { "--load" }.to_owned());
            args.push("--metadata-file".to_owned());
            args.push(metadata_file.display().to_string());
            // Attestation manifests trip ECS and ECR scanning; off unless asked for.
            args.push(format!("--provenance={}", input.provenance));
            if !input.platforms.is_empty() {
                args.push("--platform".to_owned());
                args.push(input.platforms.join(","));
            }
            if *cache {
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
