//! The one way tests run the `deploy-kit` binary: an [`Invocation`] built like a command line
//! (subcommand, `INPUT_*` inputs, environment, the bed's settings, the runner's files), and the
//! [`Run`] it left (exit code, stdout, stderr, outputs, exports, summary, how long it took).
//!
//! The process environment is cleared (only `PATH` is kept), so a run sees what the test gave
//! it and nothing of the developer's shell. Output goes to files, not pipes: a chatty run never
//! blocks, and a test can watch the log while the run is going ([`Running::log`]).
//!
//! ```no_run
//! use deploy_kit_testbed::binary::Invocation;
//! # fn demo(bed: &deploy_kit_testbed::Bed) {
//! // `env!("CARGO_BIN_EXE_deploy-kit")` exists only in the deploy-kit crate's tests.
//! let run = Invocation::new("target/debug/deploy-kit")
//!     .action("ecs-blue-green")
//!     .bed(bed)
//!     .runner_files()
//!     .input("cluster", "prod")
//!     .run();
//! assert_eq!(run.code, Some(0), "{}", run.log());
//! # }
//! ```

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::Bed;

/// The name of an input's variable as the runner sets it: `INPUT_` and the name upper-cased,
/// `-` to `_` (`task-definition` -> `INPUT_TASK_DEFINITION`).
pub fn input_var(name: &str) -> String {
    format!("INPUT_{}", name.replace('-', "_").to_uppercase())
}

/// One run of the binary, built up like a command line. Cheap to clone: a fixture keeps one
/// with the settings every run of a test shares and adds each run's inputs to a clone.
#[derive(Clone, Debug)]
pub struct Invocation {
    bin: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    runner_files: bool,
    limit: Option<Duration>,
}

/// The runner's files of one run (`$GITHUB_OUTPUT`, `$GITHUB_ENV`, `$GITHUB_STEP_SUMMARY`,
/// `$RUNNER_TEMP`) and its captured stdout and stderr, in a directory that lives as long as this.
#[derive(Debug)]
pub struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}")),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `$GITHUB_OUTPUT`, when the run had runner files.
    pub fn output(&self) -> PathBuf {
        self.dir.path().join("output")
    }

    /// `$GITHUB_ENV`, when the run had runner files.
    pub fn exports(&self) -> PathBuf {
        self.dir.path().join("env")
    }

    /// `$GITHUB_STEP_SUMMARY`, when the run had runner files.
    pub fn summary(&self) -> PathBuf {
        self.dir.path().join("summary.md")
    }

    /// `$RUNNER_TEMP`, when the run had runner files.
    pub fn runner_temp(&self) -> PathBuf {
        self.dir.path().join("temp")
    }

    pub fn stdout(&self) -> PathBuf {
        self.dir.path().join("stdout")
    }

    pub fn stderr(&self) -> PathBuf {
        self.dir.path().join("stderr")
    }

    /// What the run left, once it ended with `status`.
    pub fn read(self, status: ExitStatus, took: Duration, hung: bool) -> Run {
        let pairs = |path: PathBuf| -> HashMap<String, String> {
            deploy_kit_gha::output_pairs(&read(&path))
                .into_iter()
                .collect()
        };
        Run {
            code: status.code(),
            status,
            hung,
            took,
            stdout: read(&self.stdout()),
            stderr: read(&self.stderr()),
            outputs: pairs(self.output()),
            exported: pairs(self.exports()),
            summary: read(&self.summary()),
            files: self,
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// What one run left.
#[derive(Debug)]
pub struct Run {
    /// `None` when killed by a signal (a hang is killed).
    pub code: Option<i32>,
    pub status: ExitStatus,
    /// Killed after the invocation's [`Invocation::limit`].
    pub hung: bool,
    pub took: Duration,
    pub stdout: String,
    pub stderr: String,
    /// The step outputs (`$GITHUB_OUTPUT`).
    pub outputs: HashMap<String, String>,
    /// What the run exported for later steps (`$GITHUB_ENV`).
    pub exported: HashMap<String, String>,
    /// The job summary (`$GITHUB_STEP_SUMMARY`).
    pub summary: String,
    /// Where it all was written (`$RUNNER_TEMP` too), kept for the test's further looks.
    pub files: Files,
}

impl Run {
    /// A step output, `""` when the run did not set it.
    pub fn output(&self, name: &str) -> &str {
        self.outputs.get(name).map_or("", String::as_str)
    }

    /// A run that never was, for a test of a check that reads runs: exit `code` (none: killed by
    /// SIGKILL), these logs, no outputs.
    pub fn synthetic(code: Option<i32>, stdout: &str, stderr: &str) -> Self {
        use std::os::unix::process::ExitStatusExt;
        let status = code.map_or(ExitStatus::from_raw(9), |c| ExitStatus::from_raw(c << 8));
        Self {
            code,
            status,
            hung: false,
            took: Duration::ZERO,
            stdout: stdout.to_owned(),
            stderr: stderr.to_owned(),
            outputs: HashMap::new(),
            exported: HashMap::new(),
            summary: String::new(),
            files: Files::new(),
        }
    }

    /// Asserts the exit code, showing the log when it is another.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{}", self.log());
        self
    }

    /// Asserts the log (stdout or stderr) says `text`, showing it when it does not.
    #[track_caller]
    pub fn assert_logged(&self, text: &str) -> &Self {
        let log = self.log();
        assert!(log.contains(text), "wanted {text:?} in:\n{log}");
        self
    }

    /// The whole log as the runner shows it: stdout, then stderr.
    pub fn log(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A run under way: its process, its files, when it started.
pub struct Running {
    pub child: Child,
    pub files: Files,
    pub started: Instant,
    limit: Option<Duration>,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has ended (it is reaped then: no signal can reach it any more).
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_some()
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`) as the runner would, with kill(1); panics when it
    /// could not be sent.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    /// stdout and stderr so far.
    pub fn log(&self) -> String {
        format!(
            "{}{}",
            read(&self.files.stdout()),
            read(&self.files.stderr())
        )
    }

    /// Waits for the end (killing the run at the invocation's limit: `hung`).
    pub fn wait(mut self) -> Run {
        let mut hung = false;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap_or(None) {
                break status;
            }
            if self
                .limit
                .is_some_and(|limit| self.started.elapsed() > limit)
            {
                hung = true;
                let _ = self.child.kill();
                break self.child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
            }
            std::thread::sleep(Duration::from_millis(3));
        };
        self.files.read(status, self.started.elapsed(), hung)
    }
}

impl Invocation {
    /// The binary at `bin` (a test of the deploy-kit crate passes
    /// `env!("CARGO_BIN_EXE_deploy-kit")`), with only `PATH` from the test's environment.
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Self {
            bin: bin.into(),
            args: Vec::new(),
            // The one variable a test hands down: the binary finds docker, git, kill on it.
            #[allow(clippy::disallowed_methods)]
            env: vec![("PATH".into(), std::env::var_os("PATH").unwrap_or_default())],
            runner_files: false,
            limit: None,
        }
    }

    /// The subcommand (an action's name) or any other argument.
    pub fn action(self, action: &str) -> Self {
        self.arg(action)
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<S: AsRef<OsStr>>(self, args: impl IntoIterator<Item = S>) -> Self {
        args.into_iter().fold(self, Self::arg)
    }

    /// Sets `name=value`; a later setting of the same name wins.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        let name = name.as_ref().to_owned();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.as_ref().to_owned()));
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        vars.into_iter().fold(self, |me, (k, v)| me.env(k, v))
    }

    /// Unsets `name` (one the invocation set before, `PATH` included).
    pub fn env_remove(mut self, name: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self
    }

    /// An input as the runner passes it (`INPUT_<NAME>`).
    pub fn input(self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.env(input_var(name), value)
    }

    /// Inputs from a table: `&[("service", "api"), ("timeout", "5m")]`.
    pub fn inputs(self, inputs: &[(&str, &str)]) -> Self {
        inputs.iter().fold(self, |me, (n, v)| me.input(n, v))
    }

    /// The bed's environment: its endpoint, region, dummy credentials, OIDC variables...
    pub fn bed(self, bed: &Bed) -> Self {
        self.envs(bed.env().iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// `DEPLOY_KIT_TIME_SCALE`: the binary's waits and polls, scaled.
    pub fn time_scale(self, scale: f64) -> Self {
        self.env("DEPLOY_KIT_TIME_SCALE", scale.to_string())
    }

    /// `GITHUB_ACTIONS=true`: errors as `::error::` annotations, masks honoured.
    pub fn in_actions(self) -> Self {
        self.env("GITHUB_ACTIONS", "true")
    }

    /// The run's identity as the runner sets it: `GITHUB_RUN_ID`, `GITHUB_RUN_ATTEMPT`,
    /// `GITHUB_JOB` and `GITHUB_ACTION` (the step's id).
    pub fn run_identity(self, run_id: &str, attempt: &str, job: &str, step: &str) -> Self {
        self.env("GITHUB_RUN_ID", run_id)
            .env("GITHUB_RUN_ATTEMPT", attempt)
            .env("GITHUB_JOB", job)
            .env("GITHUB_ACTION", step)
    }

    /// The runner's files, as a job (and act) gives them: `GITHUB_OUTPUT`, `GITHUB_ENV`,
    /// `GITHUB_STEP_SUMMARY`, `RUNNER_TEMP`, fresh for each run.
    pub fn runner_files(mut self) -> Self {
        self.runner_files = true;
        self
    }

    /// Kills a run that takes longer ([`Run::hung`]).
    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The command, ready to spawn, and the files it writes to.
    pub fn command(&self) -> (Command, Files) {
        let files = Files::new();
        let mut command = Command::new(&self.bin);
        command
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(create(&files.stdout()))
            .stderr(create(&files.stderr()));
        if self.runner_files {
            std::fs::create_dir_all(files.runner_temp())
                .unwrap_or_else(|e| panic!("cannot make RUNNER_TEMP: {e}"));
            command
                .env("GITHUB_OUTPUT", files.output())
                .env("GITHUB_ENV", files.exports())
                .env("GITHUB_STEP_SUMMARY", files.summary())
                .env("RUNNER_TEMP", files.runner_temp());
        }
        (command, files)
    }

    /// Starts the run.
    pub fn spawn(&self) -> Running {
        let (mut command, files) = self.command();
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        Running {
            child,
            files,
            started: Instant::now(),
            limit: self.limit,
        }
    }

    /// Runs to the end.
    pub fn run(&self) -> Run {
        self.spawn().wait()
    }
}

fn create(path: &Path) -> File {
    File::create(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()))
}
