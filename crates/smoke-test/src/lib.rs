//! smoke-test: HTTP checks that gate a deployment.
//!
//! For each URL: wait (with jittered backoff, within `wait-for`) for a first response that passes
//! the expectations, then send `requests` requests with `concurrency` in flight and gate on the
//! error rate and the p95 latency.
//!
//! The checking logic is a library API so that ecs-blue-green runs the same checks against its
//! test listener, with the inputs under a `test-` prefix:
//! ```text
//! let checks = Checks::parse(&RawChecks { url: Some(test_url), ..raw }, "test-")?;
//! let verdict = deploy_kit_smoke_test::check(&checks, runner).await?;
//! if !verdict.passed() { /* roll back, with verdict.problems() */ }
//! ```

mod checks;
mod execute;
mod expect;
mod probe;
mod stats;

use std::path::PathBuf;

use deploy_kit_gha::{Classify, Exit, InputError, Runner};

pub use checks::{Checks, RawChecks};
pub use stats::{UrlReport, Verdict, percentile};

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// URLs to check, one per line.
    #[arg(long, env = "INPUT_URL")]
    pub url: Option<String>,
    /// HTTP method: GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
    #[arg(long, env = "INPUT_METHOD")]
    pub method: Option<String>,
    /// Request headers, one `Name: value` per line. Values are masked in logs.
    #[arg(long, env = "INPUT_HEADERS")]
    pub headers: Option<String>,
    /// Passing statuses: codes and classes, e.g. `200`, `2xx`, `200,204` (default 2xx).
    #[arg(long, env = "INPUT_EXPECT_STATUS")]
    pub expect_status: Option<String>,
    /// The body must contain this text, or match `/regex/`.
    #[arg(long, env = "INPUT_EXPECT_BODY")]
    pub expect_body: Option<String>,
    /// JSON assertions, one `/json/pointer=value` per line.
    #[arg(long, env = "INPUT_EXPECT_JSON")]
    pub expect_json: Option<String>,
    /// Timeout of each request (default 10s).
    #[arg(long, env = "INPUT_TIMEOUT")]
    pub timeout: Option<String>,
    /// Deadline for a first passing response per URL (default 120s).
    #[arg(long, env = "INPUT_WAIT_FOR")]
    pub wait_for: Option<String>,
    /// Requests per URL after the first pass (default 20; 0 = only the first check).
    #[arg(long, env = "INPUT_REQUESTS")]
    pub requests: Option<String>,
    /// Requests in flight at once (default 4).
    #[arg(long, env = "INPUT_CONCURRENCY")]
    pub concurrency: Option<String>,
    /// Highest error rate that still passes (default 1%).
    #[arg(long, env = "INPUT_MAX_ERROR_RATE")]
    pub max_error_rate: Option<String>,
    /// Highest p95 latency that still passes, e.g. `800ms` (default: no limit).
    #[arg(long, env = "INPUT_MAX_P95")]
    pub max_p95: Option<String>,
    /// Follow redirects (default false: a redirect is judged as it is).
    #[arg(long, env = "INPUT_FOLLOW_REDIRECTS")]
    pub follow_redirects: Option<String>,
}

/// The outputs `action.yml` declares.
pub const OUTPUTS: &[&str] = &["passed", "error-rate", "p50-ms", "p95-ms", "report"];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("smoke test failed:\n{}", .0.join("\n"))]
    Failed(Vec<String>),
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("cannot write {what}: {source}")]
    Write {
        what: String,
        source: std::io::Error,
    },
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) => Exit::BadInput,
            Error::Failed(_) | Error::Client(_) | Error::Write { .. } => Exit::Failed,
        }
    }
}

impl Args {
    fn raw(&self) -> RawChecks<'_> {
        RawChecks {
            url: self.url.as_deref(),
            method: self.method.as_deref(),
            headers: self.headers.as_deref(),
            expect_status: self.expect_status.as_deref(),
            expect_body: self.expect_body.as_deref(),
            expect_json: self.expect_json.as_deref(),
            timeout: self.timeout.as_deref(),
            wait_for: self.wait_for.as_deref(),
            requests: self.requests.as_deref(),
            concurrency: self.concurrency.as_deref(),
            max_error_rate: self.max_error_rate.as_deref(),
            max_p95: self.max_p95.as_deref(),
            follow_redirects: self.follow_redirects.as_deref(),
        }
    }
}

/// Masks the secrets of `checks`, runs them and returns the figures. Prints progress only.
pub async fn check(checks: &Checks, runner: &Runner) -> Result<Verdict, Error> {
    for secret in &checks.secrets {
        runner.mask(secret);
    }
    let client = probe::client(checks).map_err(Error::Client)?;
    Ok(execute::run_checks(checks, &client, runner).await)
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    // Header values may be malformed secrets: mask every raw header line before validation can
    // print anything about them.
    for line in args
        .headers
        .as_deref()
        .map(deploy_kit_gha::input::lines)
        .unwrap_or_default()
    {
        if let Some((_, value)) = line.split_once(':') {
            runner.mask(value.trim());
        }
    }
    let checks = Checks::parse(&args.raw(), "")?;
    let verdict = check(&checks, runner).await?;

    let report = write_report(&verdict, runner)?;
    let ms =
        |d: Option<std::time::Duration>| d.map_or(String::new(), |d| d.as_millis().to_string());
    let outputs = [
        ("passed", verdict.passed().to_string()),
        ("error-rate", format!("{:.4}", verdict.error_rate())),
        ("p50-ms", ms(verdict.p50)),
        ("p95-ms", ms(verdict.p95)),
        ("report", report.display().to_string()),
    ];
    for (name, value) in outputs {
        runner
            .set_output(name, &value)
            .map_err(|source| Error::Write {
                what: format!("output `{name}`"),
                source,
            })?;
    }
    runner
        .summary(&verdict.summary("Smoke test"))
        .map_err(|source| Error::Write {
            what: "the step summary".into(),
            source,
        })?;
    if verdict.passed() {
        Ok(())
    } else {
        Err(Error::Failed(verdict.problems()))
    }
}

fn write_report(verdict: &Verdict, runner: &Runner) -> Result<PathBuf, Error> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = runner
        .env()
        .temp_dir
        .join(format!("smoke-test-{}-{nanos}.json", std::process::id()));
    let mut text = serde_json::to_string_pretty(&verdict.to_json()).unwrap_or_default();
    text.push('\n');
    std::fs::write(&path, text).map_err(|source| Error::Write {
        what: format!("the report {}", path.display()),
        source,
    })?;
    Ok(path)
}
