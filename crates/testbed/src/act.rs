//! Runs a workflow through act in host mode against a bed (`tests/bed/run-workflow`): the job gets
//! the bed's env, a tool cache seeded with a deploy-kit binary, and `--as-action` maps a
//! `uses: owner/repo@ref` to this work tree, all without network.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Bed, BedError, repo_root};

/// One `run-workflow` invocation, built up like a command line.
pub struct Workflow {
    path: PathBuf,
    args: Vec<String>,
    bin: Option<PathBuf>,
    timeout: Duration,
}

/// How a workflow run ended: act's exit status and its whole log (stdout and stderr, in that
/// order). A run of the binary itself is [`crate::binary::Run`].
pub struct WorkflowRun {
    pub success: bool,
    pub code: Option<i32>,
    pub log: String,
}

// Pipes are drained on threads, so a chatty job never blocks on a full pipe.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

impl Workflow {
    /// `path` is relative to the repository root (e.g. `tests/workflows/bed-smoke.yml`).
    pub fn new(path: &str) -> Self {
        Self {
            path: repo_root().join(path),
            args: Vec::new(),
            bin: None,
            timeout: Duration::from_secs(300),
        }
    }

    fn arg(mut self, flag: &str, value: String) -> Self {
        self.args.push(flag.to_owned());
        self.args.push(value);
        self
    }

    pub fn job(self, job: &str) -> Self {
        self.arg("--job", job.to_owned())
    }

    /// The event to trigger (default: `workflow_dispatch` with inputs, else `push`).
    pub fn event(self, event: &str) -> Self {
        self.arg("--event", event.to_owned())
    }

    pub fn input(self, key: &str, value: &str) -> Self {
        self.arg("--input", format!("{key}={value}"))
    }

    pub fn secret(self, key: &str, value: &str) -> Self {
        self.arg("--secret", format!("{key}={value}"))
    }

    pub fn env(self, key: &str, value: &str) -> Self {
        self.arg("--env", format!("{key}={value}"))
    }

    /// A configuration variable, `vars.KEY` in the workflow.
    pub fn var(self, key: &str, value: &str) -> Self {
        self.arg("--var", format!("{key}={value}"))
    }

    /// Serves `uses: owner/repo/...@ref` from a copy of this work tree (e.g. `org/deploy-kit@v1`).
    pub fn as_action(self, name: &str) -> Self {
        self.arg("--as-action", name.to_owned())
    }

    /// The deploy-kit binary to seed the tool cache with (default: `$DEPLOY_KIT_BIN`, else
    /// `target/debug/deploy-kit`); a test of the binary passes `env!("CARGO_BIN_EXE_deploy-kit")`.
    pub fn bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.bin = Some(path.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs the workflow on `bed`. An error only when act could not be run or did not finish in
    /// time; a failed job is `WorkflowRun { success: false, .. }`.
    pub fn run(self, bed: &Bed) -> Result<WorkflowRun, BedError> {
        let state = bed
            .var("BED_STATE_DIR")
            .ok_or_else(|| BedError("the bed printed no BED_STATE_DIR".into()))?;
        let mut command = Command::new(repo_root().join("tests/bed/run-workflow"));
        command
            .arg(&self.path)
            .args(&self.args)
            .args(["--timeout", &self.timeout.as_secs().to_string()])
            .env("BED_STATE_DIR", state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(bin) = &self.bin {
            command.arg("--bin").arg(bin);
        }
        let mut child = command
            .spawn()
            .map_err(|e| BedError(format!("cannot run tests/bed/run-workflow: {e}")))?;
        let out = drain(child.stdout.take());
        let err = drain(child.stderr.take());
        // run-workflow stops act itself at the timeout; this is the backstop.
        let deadline = Instant::now() + self.timeout + Duration::from_secs(30);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    return Err(BedError(format!(
                        "act did not finish within {:?}",
                        self.timeout
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(BedError(format!("waiting for act: {e}"))),
            }
        };
        let log = format!(
            "{}{}",
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default()
        );
        Ok(WorkflowRun {
            success: status.success(),
            code: status.code(),
            log,
        })
    }
}
