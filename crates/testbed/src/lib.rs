//! The local AWS test bed (`tests/bed`) for one test: [`Bed::start`] runs `tests/bed/up` in a
//! fresh state dir (its own ephemeral port, so tests run in parallel), and dropping the bed runs
//! `tests/bed/down`. The bed also stops by itself when the test process dies, so a crashed test
//! leaves nothing running. `tests/README.md` says what the bed emulates and how faithfully.
//!
//! ```no_run
//! # async fn demo() -> Result<(), deploy_kit_testbed::BedError> {
//! use deploy_kit_testbed::{Bed, Component};
//! let bed = Bed::start(&[Component::Aws])?;
//! bed.time_scale(0.05)?; // lifecycle durations x0.05: a 5-minute bake lasts 15 s
//! bed.scenario(r#"{"service": "api", "health": "failing"}"#)?;
//! let ecs = aws_sdk_ecs::Client::new(&bed.sdk_config().await);
//! # let _ = ecs; Ok(()) }
//! ```

pub mod act;
pub mod binary;
pub mod docker;
pub mod faults;
pub mod runner_commands;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_types::sdk_config::SharedCredentialsProvider;

/// What `tests/bed/up` starts besides moto (which always runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// moto, extended: ECS deployments and tasks, STS, ECR, CloudWatch Logs.
    Aws,
    /// The fake GitHub OIDC endpoint's `ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`.
    Oidc,
    /// A docker engine and registry behind the bed's ECR.
    Docker,
    /// act in the virtualenv (checked, nothing started).
    Act,
}

impl Component {
    fn arg(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Oidc => "oidc",
            Self::Docker => "docker",
            Self::Act => "act",
        }
    }
}

/// A running bed.
pub struct Bed {
    env: Vec<(String, String)>,
    state: PathBuf,
}

/// Why the bed could not start or answer.
#[derive(Debug)]
pub struct BedError(pub String);

impl std::fmt::Display for BedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BedError {}

/// The repository root (this crate lives in `crates/testbed`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Bed {
    /// Starts a bed with these components (moto always runs; `&[]` means the default,
    /// `aws oidc`) in a fresh state dir, stopped when the test process exits at the latest.
    pub fn start(components: &[Component]) -> Result<Self, BedError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let state =
            std::env::temp_dir().join(format!("deploy-kit-bed-{}-{nanos}", std::process::id()));
        let output = Command::new(repo_root().join("tests/bed/up"))
            .args(["--parent-pid", &std::process::id().to_string()])
            .args(components.iter().map(|c| c.arg()))
            .env("BED_STATE_DIR", &state)
            .env("BED_TTL", "900")
            .output()
            .map_err(|e| BedError(format!("cannot run tests/bed/up: {e}")))?;
        // Parsed before the status check, so a failed start still gets cleaned up by Drop.
        let bed = Self {
            env: parse_env(&String::from_utf8_lossy(&output.stdout)),
            state,
        };
        if !output.status.success() {
            return Err(BedError(format!(
                "tests/bed/up failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(bed)
    }

    /// The environment a process needs to use the bed, as `up` printed it: `AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_DEFAULT_REGION`, dummy `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
    /// `AWS_EC2_METADATA_DISABLED`, `BED_URL`, `BED_STATE_DIR`, `BED_COMPONENTS`, and what the
    /// components add (`ACTIONS_ID_TOKEN_REQUEST_URL`/`_TOKEN`, `DOCKER_HOST`, ...).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn endpoint_url(&self) -> &str {
        self.var("AWS_ENDPOINT_URL").unwrap_or_default()
    }

    /// The bed's state dir (logs: `server.log`).
    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    /// An SDK configuration pointed at the bed: its endpoint, us-east-1, static dummy credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        let credentials = aws_credential_types::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "deploy-kit test bed",
        );
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint_url())
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .load()
            .await
    }

    /// Sets scenario knobs (`POST /_bed/scenario`): a JSON object such as
    /// `{"service": "api", "scenario": "failing-health-check"}`; see `tests/README.md`.
    pub fn scenario(&self, json: &str) -> Result<(), BedError> {
        self.expect_ok("POST", "/_bed/scenario", json).map(drop)
    }

    /// Multiplies every lifecycle duration by `scale` from now on (`POST /_bed/time-scale`).
    pub fn time_scale(&self, scale: f64) -> Result<(), BedError> {
        self.expect_ok(
            "POST",
            "/_bed/time-scale",
            &format!(r#"{{"timeScale": {scale}}}"#),
        )
        .map(drop)
    }

    /// `GET /_bed/deployments`: each service deployment's status, stages with times,
    /// `terminalAt`/`terminalSeenAt` (epoch ms) and the describe calls it received.
    pub fn deployments(&self) -> Result<serde_json::Value, BedError> {
        let body = self.expect_ok("GET", "/_bed/deployments", "")?;
        serde_json::from_str(&body).map_err(|e| BedError(format!("/_bed/deployments: {e}")))
    }

    /// The bed's record of service deployment `arn` (one entry of [`Self::deployments`]).
    pub fn deployment(&self, arn: &str) -> Result<serde_json::Value, BedError> {
        let all = self.deployments()?;
        all["deployments"]
            .as_array()
            .and_then(|list| list.iter().find(|d| d["arn"] == arn))
            .cloned()
            .ok_or_else(|| BedError(format!("{arn} not in /_bed/deployments: {all}")))
    }

    /// The AWS operations the bed received since the last [`Self::reset_calls`] (`GET
    /// /_bed/calls`), as `service:Operation`, in order.
    pub fn calls(&self) -> Result<Vec<String>, BedError> {
        let body = self.expect_ok("GET", "/_bed/calls", "")?;
        let log: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| BedError(format!("/_bed/calls: {e}")))?;
        Ok(log["calls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect())
    }

    /// Empties the call log.
    pub fn reset_calls(&self) -> Result<(), BedError> {
        self.expect_ok("POST", "/_bed/calls", r#"{"reset": true}"#)
            .map(drop)
    }

    /// `GET path` on the bed: the response status and body.
    pub fn get(&self, path: &str) -> Result<(u16, String), BedError> {
        self.request("GET", path, "")
    }

    /// `POST path` with a JSON body: the response status and body.
    pub fn post(&self, path: &str, json: &str) -> Result<(u16, String), BedError> {
        self.request("POST", path, json)
    }

    fn expect_ok(&self, method: &str, path: &str, body: &str) -> Result<String, BedError> {
        match self.request(method, path, body)? {
            (200, body) => Ok(body),
            (status, body) => Err(BedError(format!("{method} {path}: {status} {body}"))),
        }
    }

    // Plain HTTP/1.1 over std: control calls need no HTTP client and no async runtime.
    fn request(&self, method: &str, path: &str, body: &str) -> Result<(u16, String), BedError> {
        let err = |e: std::io::Error| BedError(format!("{method} {path}: {e}"));
        let host = self
            .endpoint_url()
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let mut stream = std::net::TcpStream::connect(host).map_err(err)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(err)?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .map_err(err)?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(err)?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| BedError(format!("{method} {path}: bad response {head:?}")))?;
        Ok((status, body.to_owned()))
    }
}

fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("tests/bed/down"))
            .env("BED_STATE_DIR", &self.state)
            .status();
        let _ = std::fs::remove_dir_all(&self.state);
    }
}
