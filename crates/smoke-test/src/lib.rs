//! smoke-test: HTTP checks that gate a deployment.
//!
//! 1. **Wait.** For each URL in turn, send requests until one passes the expectations (status,
//!    body, JSON), with exponential backoff (250 ms doubling to 5 s, ±20 % jitter) between tries.
//!    One `wait-for` deadline covers all URLs, counted from the start; each URL gets at least one
//!    try. Every kind of failure is retried (refused, reset, timeout, 404 from the old revision,
//!    5xx), because a service that is starting can fail in any of these ways.
//! 2. **Load.** For each URL that passed, send `requests` requests with `concurrency` in flight.
//! 3. **Gate**, per URL: it fails when errors / requests is *above* `max-error-rate`, or when the
//!    nearest-rank p95 latency is *above* `max-p95`.
//!
//! # Library API (ecs-blue-green runs the same checks against its test listener)
//!
//! ```no_run
//! # async fn example(runner: &deploy_kit_gha::Runner, test_url: String) -> Result<(), deploy_kit_smoke_test::Error> {
//! use deploy_kit_smoke_test::{Args, Checks, run_checks};
//!
//! // `Args` from the `test-*` inputs (all `Option<String>`, as given; `TestArgs::to_args` makes
//! // them) ...
//! let args = Args { url: Some(test_url), requests: Some("50".into()), ..Args::default() };
//! // ... parsed once, naming inputs with the prefix: errors say "input `test-url`: ...".
//! let checks = Checks::from_args(&args, "test-")?;
//! checks.mask(runner); // before printing anything else about them (run_checks does it too)
//! let verdict = run_checks(&checks, runner, runner.cancellation()).await?;
//! runner.summary(&verdict.summary("Smoke test of the test listener")).ok();
//! if let Some(error) = verdict.error() {
//!     // roll back; `error` says which URL failed which check and what came back
//! }
//! # Ok(()) }
//! ```
//!
//! - [`TestArgs`] declares the same inputs as `test-url`, `test-requests`, ... (`INPUT_TEST_*`):
//!   flatten it into the action's `Args`, and [`TestArgs::to_args`] gives these [`Args`] (or
//!   `None` without a `test-url`). Parse them with the [`TEST_PREFIX`].
//! - [`Checks::from_args`] validates; its [`InputError`] names the (prefixed) input. Header values
//!   and URL passwords are never quoted back.
//! - [`run_checks`] masks [`Checks::secrets`], builds one HTTP client and runs both phases,
//!   printing progress through the [`Runner`]. It returns [`Error::Cancelled`] at once when the
//!   cancellation fires, and otherwise a [`Verdict`]: a failed check is a verdict, not an error.
//! - [`Verdict`] holds per-URL [`UrlReport`]s ([`Problem`]s, [`Figures`]) and pooled figures;
//!   [`Verdict::exit`] and [`Verdict::error`] turn it into the exit code and message, and
//!   [`Verdict::summary`] / [`write_report`] into the step summary and the JSON report.
//!
//! # Definitions
//!
//! - A request **fails** when no response arrives within `timeout` (connect, headers and body
//!   together) or the response breaks an expectation. Its latency is counted either way.
//! - **Error rate** = failed / sent load requests of a URL. With 20 requests one failure is 5 %, so
//!   the default `1%` allows none.
//! - **Percentiles** are nearest-rank over all load requests, failed ones included: the p95 is the
//!   value at rank ⌈0.95·n⌉ of the sorted latencies, a latency that really happened. Below 20
//!   requests the p95 is the slowest request.
//! - `requests: 0` makes the first passing response the only sample.
//! - Overall outputs (`error-rate`, `p50-ms`, `p95-ms`) pool every URL's load requests; the gates
//!   apply per URL, so a healthy URL cannot hide a failing one.
//!
//! # Exit codes
//!
//! 0 passed; 1 a URL answered and failed (an expectation with `wait-for: 0s`, the error-rate or
//! p95 gate); 2 bad input, before any request; 3 a URL never passed before the `wait-for`
//! deadline (and no URL failed a gate); 130/143 cancelled.
//!
//! # Network
//!
//! One reqwest client with rustls (system roots through rustls-platform-verifier). Proxies come
//! from `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (curl's rules), as reqwest reads
//! them by default; loopback is proxied too unless `NO_PROXY` lists it. Redirects are not
//! followed unless `follow-redirects` (then up to 10). User-Agent: `deploy-kit/<version>
//! smoke-test`. Checks that cannot meet TLS (plain-http URLs, no redirects followed, no https
//! proxy) skip loading the system roots, about half the start-up time of a one-request check.

mod checks;
mod execute;
mod expect;
mod probe;
mod report;
mod request;
mod stats;
mod test_args;
mod verdict;

use deploy_kit_gha::{Cancelled, Classify, Exit, InputError, Runner};

pub use checks::Checks;
pub use execute::{FIRST_DELAY, MAX_DELAY, run_checks};
pub use expect::{BodyRule, Expectations, JsonRule, StatusSet};
pub use probe::{Attempt, BODY_LIMIT};
pub use report::write_report;
pub use request::{METHODS, MIN_SECRET_LEN, mask_raw_headers};
pub use stats::{FAILURES_KEPT, Figures, percentile};
pub use test_args::{TEST_PREFIX, TestArgs};
pub use verdict::{Gates, Problem, UrlReport, Verdict};

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag. Every field is
/// the raw text; [`Checks::from_args`] parses them.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// URLs to check, one per line (http or https). Required.
    #[arg(long, env = "INPUT_URL")]
    pub url: Option<String>,
    /// HTTP method: GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
    #[arg(long, env = "INPUT_METHOD")]
    pub method: Option<String>,
    /// Request headers, one `Name: value` per line. Values are masked in logs.
    #[arg(long, env = "INPUT_HEADERS")]
    pub headers: Option<String>,
    /// Passing statuses: codes and classes, e.g. `200`, `2xx`, `200,204`, `2xx,301` (default 2xx).
    #[arg(long, env = "INPUT_EXPECT_STATUS")]
    pub expect_status: Option<String>,
    /// The body must contain this text, or match `/regex/`.
    #[arg(long, env = "INPUT_EXPECT_BODY")]
    pub expect_body: Option<String>,
    /// JSON assertions, one `/json/pointer=value` per line; the value is compared as JSON when
    /// it parses as JSON, else as a string.
    #[arg(long, env = "INPUT_EXPECT_JSON")]
    pub expect_json: Option<String>,
    /// Timeout of each request, e.g. `10s` (default 10s).
    #[arg(long, env = "INPUT_TIMEOUT")]
    pub timeout: Option<String>,
    /// Deadline for a first passing response from every URL (default 120s).
    #[arg(long, env = "INPUT_WAIT_FOR")]
    pub wait_for: Option<String>,
    /// Requests per URL after its first pass (default 20; 0 = the first pass is all).
    #[arg(long, env = "INPUT_REQUESTS")]
    pub requests: Option<String>,
    /// Requests in flight at once, per URL (default 4).
    #[arg(long, env = "INPUT_CONCURRENCY")]
    pub concurrency: Option<String>,
    /// Highest error rate that still passes, per URL (default 1%).
    #[arg(long, env = "INPUT_MAX_ERROR_RATE")]
    pub max_error_rate: Option<String>,
    /// Highest p95 latency that still passes, per URL, e.g. `800ms` (default: no limit).
    #[arg(long, env = "INPUT_MAX_P95")]
    pub max_p95: Option<String>,
    /// Follow up to 10 redirects (default false: a redirect is judged by its own status).
    #[arg(long, env = "INPUT_FOLLOW_REDIRECTS")]
    pub follow_redirects: Option<String>,
}

/// The outputs `action.yml` declares.
pub const OUTPUTS: &[&str] = &["passed", "error-rate", "p50-ms", "p95-ms", "report"];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    /// A URL answered and failed an expectation or a gate.
    #[error("smoke test failed:\n{}", .problems.join("\n"))]
    Failed { problems: Vec<String> },
    /// Some URL never passed before the `wait-for` deadline (and none failed a gate).
    #[error("smoke test timed out:\n{}", .problems.join("\n"))]
    TimedOut { problems: Vec<String> },
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
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
            Error::TimedOut { .. } => Exit::TimedOut,
            Error::Cancelled(cancelled) => cancelled.exit(),
            Error::Failed { .. } | Error::Client(_) | Error::Write { .. } => Exit::Failed,
        }
    }
}

/// The action: parse, run the checks, then outputs, the summary table and the report file.
pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    mask_raw_headers(&args, runner);
    let checks = Checks::from_args(&args, "")?;
    let verdict = run_checks(&checks, runner, runner.cancellation()).await?;

    let report = write_report(&verdict, runner)?;
    // Whole milliseconds, rounded: easy to compare in a shell (`test "$P95" -lt 500`).
    let ms = |d: Option<std::time::Duration>| {
        d.map_or(String::new(), |d| {
            format!("{:.0}", d.as_secs_f64() * 1000.0)
        })
    };
    let outputs = [
        ("passed", verdict.passed().to_string()),
        (
            "error-rate",
            verdict
                .error_rate()
                .map_or(String::new(), |rate| format!("{rate:.4}")),
        ),
        ("p50-ms", ms(verdict.p50())),
        ("p95-ms", ms(verdict.p95())),
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
    verdict.error().map_or(Ok(()), Err)
}
