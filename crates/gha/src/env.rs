//! [`RunnerEnv`]: what the runner tells a step through its environment, read once at start-up.
//! Action crates read the environment only through it (clippy's `disallowed-methods` keeps
//! `std::env::var` out of them), so a test hands a command any environment it likes.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::time::Duration;

use crate::input::{self, InputError};

/// What the runner tells a step through its environment.
#[derive(Debug, Clone, Default)]
pub struct RunnerEnv {
    /// `GITHUB_ACTIONS=true`: workflow commands are understood.
    pub in_actions: bool,
    pub output_file: Option<PathBuf>,
    pub env_file: Option<PathBuf>,
    pub path_file: Option<PathBuf>,
    pub summary_file: Option<PathBuf>,
    /// `$RUNNER_TEMP`, or the system temp dir locally.
    pub temp_dir: PathBuf,
    /// stderr is a terminal: draw progress bars instead of log lines.
    pub terminal: bool,
    /// Run by act on its host-mode pseudo-terminal (`ACT` set, stdout a terminal).
    pub act_pty: bool,
    /// Run by act (`ACT` set), terminal or not.
    pub act: bool,
    /// `DEPLOY_KIT_DEBUG` set: debug lines show outside Actions too.
    pub debug: bool,
    /// `GITHUB_SHA`: the commit the workflow runs for.
    pub commit_sha: Option<String>,
    /// Which workflow run, attempt, job and step this is (empty outside Actions).
    pub run: RunIdentity,
    /// Where to ask for a GitHub OIDC token (`ACTIONS_ID_TOKEN_REQUEST_*`), when the job has
    /// `id-token: write`.
    pub id_token_request: Option<IdTokenRequest>,
    /// Every variable, for the few inputs that name one (`${VAR}` templates, docker's own
    /// settings, proxies). Empty values are kept: a template may ask for one.
    pub vars: BTreeMap<String, String>,
}

/// The workflow run a step belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunIdentity {
    /// `GITHUB_REPOSITORY`, `owner/name`.
    pub repository: String,
    pub run_id: String,
    pub attempt: String,
    pub job: String,
    /// `GITHUB_ACTION`: the step's id.
    pub step: String,
}

/// The runner's OIDC token endpoint and the bearer token that opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenRequest {
    pub url: String,
    pub bearer: String,
}

/// Test-bed settings: not action inputs, only tests and benchmarks set them.
const TIME_SCALE: &str = "DEPLOY_KIT_TIME_SCALE";
const RETRY_BUDGET: &str = "DEPLOY_KIT_RETRY_BUDGET";

impl RunnerEnv {
    // The one read of the process environment.
    #[allow(clippy::disallowed_methods)]
    pub fn from_process_env() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        let mut env = Self::from_vars(vars);
        // act runs steps on a pseudo-terminal, so stderr looks like one there: a runner's log
        // still wants plain lines, not spinner redraws.
        env.terminal = io::stderr().is_terminal() && !env.in_actions;
        env.act_pty = env.act && io::stdout().is_terminal();
        env
    }

    /// The environment as given, with no terminal: what tests build on.
    pub fn from_vars(vars: BTreeMap<String, String>) -> Self {
        let set = |name: &str| vars.get(name).filter(|value| !value.is_empty()).cloned();
        let path = |name: &str| set(name).map(PathBuf::from);
        let text = |name: &str| set(name).unwrap_or_default();
        let in_actions = vars.get("GITHUB_ACTIONS").is_some_and(|v| v == "true");
        let id_token_request = match (
            set("ACTIONS_ID_TOKEN_REQUEST_URL"),
            set("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ) {
            (Some(url), Some(bearer)) => Some(IdTokenRequest { url, bearer }),
            _ => None,
        };
        Self {
            in_actions,
            output_file: path("GITHUB_OUTPUT"),
            env_file: path("GITHUB_ENV"),
            path_file: path("GITHUB_PATH"),
            summary_file: path("GITHUB_STEP_SUMMARY"),
            temp_dir: path("RUNNER_TEMP").unwrap_or_else(std::env::temp_dir),
            terminal: false,
            act_pty: false,
            act: set("ACT").is_some(),
            debug: vars.contains_key("DEPLOY_KIT_DEBUG"),
            commit_sha: set("GITHUB_SHA"),
            run: RunIdentity {
                repository: text("GITHUB_REPOSITORY"),
                run_id: text("GITHUB_RUN_ID"),
                attempt: text("GITHUB_RUN_ATTEMPT"),
                job: text("GITHUB_JOB"),
                step: text("GITHUB_ACTION"),
            },
            id_token_request,
            vars,
        }
    }

    /// One variable, unset and empty alike `None`.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// One variable as set, empty included: what a `${VAR}` template sees.
    pub fn raw_var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// `DEPLOY_KIT_TIME_SCALE`: the test bed runs AWS faster by this factor, and the waits and
    /// polls of the actions shrink with it.
    pub fn time_scale(&self) -> Result<f64, InputError> {
        match self.var(TIME_SCALE) {
            Some(text) => text
                .parse::<f64>()
                .ok()
                .filter(|scale| *scale > 0.0 && *scale <= 1.0)
                .ok_or_else(|| {
                    InputError::new(
                        TIME_SCALE,
                        "must be a number above 0 and at most 1 (a test bed setting)",
                    )
                }),
            None => Ok(1.0),
        }
    }

    /// `DEPLOY_KIT_RETRY_BUDGET`: how long one AWS call may go on being throttled, instead of
    /// the default. A benchmark sets `0s` to compare with the SDK's own retries.
    pub fn retry_budget(&self) -> Result<Option<Duration>, InputError> {
        self.var(RETRY_BUDGET)
            .map(|text| input::duration(RETRY_BUDGET, text))
            .transpose()
    }
}
