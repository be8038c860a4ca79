//! [`TestArgs`]: the same inputs under the `test-` prefix, for actions that run these checks
//! themselves (ecs-blue-green, against its test listener). Flatten it into the action's `Args`
//! so the names, env vars and help stay in one place:
//!
//! ```text
//! #[command(flatten)]
//! pub test: deploy_kit_smoke_test::TestArgs,
//! ...
//! if let Some(args) = self.test.to_args() {
//!     let checks = Checks::from_args(&args, TEST_PREFIX)?;
//! }
//! ```

use crate::Args;

/// The prefix of [`TestArgs`] input names, for [`crate::Checks::from_args`].
pub const TEST_PREFIX: &str = "test-";

/// Smoke checks of the test listener, run before production traffic moves.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TestArgs {
    /// Test-listener URLs to check before production traffic moves, one per line. Empty: no checks.
    #[arg(long, env = "INPUT_TEST_URL")]
    pub test_url: Option<String>,
    /// HTTP method of the checks: GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
    #[arg(long, env = "INPUT_TEST_METHOD")]
    pub test_method: Option<String>,
    /// Request headers of the checks, one `Name: value` per line. Values are masked in logs.
    #[arg(long, env = "INPUT_TEST_HEADERS")]
    pub test_headers: Option<String>,
    /// Passing statuses: codes and classes, e.g. `200`, `2xx`, `200,204` (default 2xx).
    #[arg(long, env = "INPUT_TEST_EXPECT_STATUS")]
    pub test_expect_status: Option<String>,
    /// The body must contain this text, or match `/regex/`.
    #[arg(long, env = "INPUT_TEST_EXPECT_BODY")]
    pub test_expect_body: Option<String>,
    /// JSON assertions, one `/json/pointer=value` per line.
    #[arg(long, env = "INPUT_TEST_EXPECT_JSON")]
    pub test_expect_json: Option<String>,
    /// Timeout of each check request (default 10s).
    #[arg(long, env = "INPUT_TEST_TIMEOUT")]
    pub test_timeout: Option<String>,
    /// Deadline for a first passing response from the test listener (default 120s).
    #[arg(long, env = "INPUT_TEST_WAIT_FOR")]
    pub test_wait_for: Option<String>,
    /// Requests per URL after its first pass (default 20; 0 = the first pass is all).
    #[arg(long, env = "INPUT_TEST_REQUESTS")]
    pub test_requests: Option<String>,
    /// Check requests in flight at once, per URL (default 4).
    #[arg(long, env = "INPUT_TEST_CONCURRENCY")]
    pub test_concurrency: Option<String>,
    /// Highest error rate of the checks that lets the deployment continue (default 1%).
    #[arg(long, env = "INPUT_TEST_MAX_ERROR_RATE")]
    pub test_max_error_rate: Option<String>,
    /// Highest p95 latency of the checks that lets the deployment continue, e.g. `800ms`.
    #[arg(long, env = "INPUT_TEST_MAX_P95")]
    pub test_max_p95: Option<String>,
    /// Follow up to 10 redirects (default false).
    #[arg(long, env = "INPUT_TEST_FOLLOW_REDIRECTS")]
    pub test_follow_redirects: Option<String>,
}

/// [`TestArgs::set_checks`] from the field list, destructured exhaustively: a field added to
/// `TestArgs` does not compile until it is listed here, and each input's name is its field's
/// (clap's `long` is the field name in kebab case).
macro_rules! set_checks {
    ($($field:ident),* $(,)?) => {
        /// The inputs set besides `test-url`, by name (`test-method`, ...), in declaration order:
        /// without `test-url` each of them would do nothing.
        pub fn set_checks(&self) -> Vec<String> {
            let Self { test_url: _, $($field),* } = self;
            [$((stringify!($field), $field)),*]
                .into_iter()
                .filter(|(_, value)| deploy_kit_gha::input::set(value.as_deref()).is_some())
                .map(|(field, _)| field.replace('_', "-"))
                .collect()
        }
    };
}

impl TestArgs {
    set_checks!(
        test_method,
        test_headers,
        test_expect_status,
        test_expect_body,
        test_expect_json,
        test_timeout,
        test_wait_for,
        test_requests,
        test_concurrency,
        test_max_error_rate,
        test_max_p95,
        test_follow_redirects,
    );

    /// The inputs as smoke-test [`Args`], or `None` when `test-url` is unset (no checks asked for).
    pub fn to_args(&self) -> Option<Args> {
        deploy_kit_gha::input::set(self.test_url.as_deref())?;
        Some(Args {
            url: self.test_url.clone(),
            method: self.test_method.clone(),
            headers: self.test_headers.clone(),
            expect_status: self.test_expect_status.clone(),
            expect_body: self.test_expect_body.clone(),
            expect_json: self.test_expect_json.clone(),
            timeout: self.test_timeout.clone(),
            wait_for: self.test_wait_for.clone(),
            requests: self.test_requests.clone(),
            concurrency: self.test_concurrency.clone(),
            max_error_rate: self.test_max_error_rate.clone(),
            max_p95: self.test_max_p95.clone(),
            follow_redirects: self.test_follow_redirects.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, Command};

    use super::*;
    use crate::Checks;

    /// `set_checks` names every input but `test-url`, as clap names it, once set.
    #[test]
    fn set_checks_names_each_input_as_clap_does() {
        let command = TestArgs::augment_args(Command::new("t"));
        let mut longs: Vec<String> = command
            .get_arguments()
            .filter_map(|arg| arg.get_long().map(str::to_owned))
            .filter(|long| long != "test-url")
            .collect();
        let all = TestArgs {
            test_method: Some("GET".into()),
            test_headers: Some("a: b".into()),
            test_expect_status: Some("200".into()),
            test_expect_body: Some("ok".into()),
            test_expect_json: Some("/a=1".into()),
            test_timeout: Some("1s".into()),
            test_wait_for: Some("1s".into()),
            test_requests: Some("1".into()),
            test_concurrency: Some("1".into()),
            test_max_error_rate: Some("1%".into()),
            test_max_p95: Some("1s".into()),
            test_follow_redirects: Some("true".into()),
            test_url: None,
        };
        let mut set = all.set_checks();
        longs.sort();
        set.sort();
        assert_eq!(set, longs);
        let blank = TestArgs {
            test_method: Some("  ".into()),
            ..TestArgs::default()
        };
        assert!(blank.set_checks().is_empty());
    }

    /// Every smoke-test input exists here as `test-<name>` with `INPUT_TEST_<NAME>`, and nothing else.
    #[test]
    fn the_same_inputs_under_the_prefix() {
        let names = |command: Command| -> Vec<(String, String)> {
            command
                .get_arguments()
                .filter_map(|arg| {
                    let env = arg.get_env()?.to_string_lossy().into_owned();
                    Some((arg.get_long()?.to_owned(), env))
                })
                .collect()
        };
        let plain = names(Args::augment_args(Command::new("smoke-test")));
        let prefixed = names(TestArgs::augment_args(Command::new("ecs-blue-green")));
        let expected: Vec<(String, String)> = plain
            .iter()
            .map(|(long, env)| {
                (
                    format!("{TEST_PREFIX}{long}"),
                    env.replacen("INPUT_", "INPUT_TEST_", 1),
                )
            })
            .collect();
        assert_eq!(prefixed, expected);
    }

    #[test]
    fn no_test_url_no_checks_and_errors_name_the_prefixed_input() {
        assert!(TestArgs::default().to_args().is_none());
        let test = TestArgs {
            test_url: Some("http://green.internal:8080/health".into()),
            test_requests: Some("many".into()),
            ..TestArgs::default()
        };
        let error = Checks::from_args(&test.to_args().unwrap(), TEST_PREFIX).unwrap_err();
        assert_eq!(error.input, "test-requests");
    }
}
