//! A fault-injecting proxy in front of a bed (`tests/bed/bed/tools/faults.py`): throttling, 500/503,
//! connection resets, truncated bodies and slow answers at a configurable rate. The process
//! stops when this handle drops, when the test process exits, or after 15 minutes.
//!
//! ```no_run
//! # fn demo(bed: &deploy_kit_testbed::Bed) -> Result<(), deploy_kit_testbed::BedError> {
//! use deploy_kit_testbed::faults::{FaultConfig, FaultProxy};
//! let proxy = FaultProxy::start(bed.endpoint_url(), &FaultConfig::new(0.3, 7))?;
//! let env = proxy.env_for(bed, true); // the bed's env, AWS and OIDC through the proxy
//! let faulted = proxy.stats()?["faulted"].as_u64();
//! # let _ = (env, faulted); Ok(()) }
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::{Bed, BedError, repo_root};

/// Every kind the proxy knows.
pub const KINDS: &[&str] = &["throttle", "429", "500", "503", "reset", "truncate", "slow"];

/// How often, which kinds, and the seed of the proxy's generator.
#[derive(Debug, Clone)]
pub struct FaultConfig {
    pub rate: f64,
    pub seed: u64,
    pub kinds: Vec<String>,
    /// The longest pause of a `slow` answer.
    pub slow_seconds: f64,
}

impl FaultConfig {
    /// Every kind at `rate`, slow answers up to 2 s.
    pub fn new(rate: f64, seed: u64) -> Self {
        Self {
            rate,
            seed,
            kinds: KINDS.iter().map(|k| (*k).to_owned()).collect(),
            slow_seconds: 2.0,
        }
    }
}

/// A running proxy.
pub struct FaultProxy {
    child: Child,
    url: String,
    // Kept open: the proxy must never write into a closed pipe.
    _stdout: Option<BufReader<ChildStdout>>,
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, config: &FaultConfig) -> Result<Self, BedError> {
        let bed = repo_root().join("tests/bed");
        let venv = bed.join(".venv/bin/python");
        let python = if venv.exists() {
            venv
        } else {
            "python3".into()
        };
        let mut child = Command::new(python)
            .current_dir(&bed)
            .args(["-m", "bed.tools.faults", "--upstream", upstream])
            .args(["--rate", &config.rate.to_string()])
            .args(["--seed", &config.seed.to_string()])
            .args(["--kinds", &config.kinds.join(",")])
            .args(["--slow-seconds", &config.slow_seconds.to_string()])
            .args(["--parent-pid", &std::process::id().to_string()])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| BedError(format!("cannot start bed.tools.faults: {e}")))?;
        let mut line = String::new();
        let mut stdout = child.stdout.take().map(BufReader::new);
        if let Some(stdout) = stdout.as_mut() {
            let _ = stdout.read_line(&mut line);
        }
        let proxy = Self {
            _stdout: stdout,
            url: line
                .trim()
                .strip_prefix("FAULTS_URL=")
                .unwrap_or_default()
                .to_owned(),
            child,
        };
        if proxy.url.is_empty() {
            return Err(BedError(format!(
                "bed.tools.faults printed no URL: {line:?}"
            )));
        }
        Ok(proxy)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bed's env with `AWS_ENDPOINT_URL` through the proxy, and with `oidc` the GitHub
    /// token URL too.
    pub fn env_for(&self, bed: &Bed, oidc: bool) -> Vec<(String, String)> {
        let upstream = bed.endpoint_url().to_owned();
        bed.env()
            .iter()
            .map(|(key, value)| {
                let proxied =
                    key == "AWS_ENDPOINT_URL" || (oidc && key == "ACTIONS_ID_TOKEN_REQUEST_URL");
                let value = if proxied {
                    value.replacen(&upstream, &self.url, 1)
                } else {
                    value.clone()
                };
                (key.clone(), value)
            })
            .collect()
    }

    /// `GET /_faults/stats`: requests, faulted, byKind, byOperation.
    pub fn stats(&self) -> Result<serde_json::Value, BedError> {
        let body = self.request("GET", "/_faults/stats", "")?;
        serde_json::from_str(&body).map_err(|e| BedError(format!("/_faults/stats: {e}")))
    }

    /// `POST /_faults/config` with a JSON object (`rate`, `kinds`, `seed`, `slowSeconds`).
    pub fn configure(&self, json: &str) -> Result<(), BedError> {
        self.request("POST", "/_faults/config", json).map(drop)
    }

    /// Zeroes the counters.
    pub fn reset(&self) -> Result<(), BedError> {
        self.request("POST", "/_faults/reset", "").map(drop)
    }

    fn request(&self, method: &str, path: &str, body: &str) -> Result<String, BedError> {
        let err = |e: std::io::Error| BedError(format!("{method} {path}: {e}"));
        let host = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(host).map_err(err)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(err)?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .map_err(err)?;
        let mut response = String::new();
        stream.read_to_string(&mut response).map_err(err)?;
        match response.split_once("\r\n\r\n") {
            Some((head, body)) if head.split_whitespace().nth(1) == Some("200") => {
                Ok(body.to_owned())
            }
            _ => Err(BedError(format!("{method} {path}: {response}"))),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
