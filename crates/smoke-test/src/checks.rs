//! [`Checks`]: the typed check configuration, built once from [`Args`] at the edge. ecs-blue-green
//! builds it from its own `test-*` inputs, so every error names the input as the user spelled it.

use std::time::Duration;

use deploy_kit_gha::input;
use deploy_kit_gha::{InputError, Runner};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};

use crate::Args;
use crate::expect::{BodyRule, Expectations, JsonRule, StatusSet};
use crate::request::{parse_headers, parse_method, parse_urls, secrets_of};

/// Validated checks: what to request, what passes, and the gates.
#[derive(Debug, Clone)]
pub struct Checks {
    pub urls: Vec<Url>,
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub expect: Expectations,
    /// Per request, from sending it to the end of the body.
    pub timeout: Duration,
    /// One deadline for the first passing response of every URL, counted from the start.
    pub wait_for: Duration,
    /// Requests per URL after its first pass; 0 = the first pass is all.
    pub requests: u64,
    /// Requests in flight at once, per URL.
    pub concurrency: usize,
    /// A fraction (0.01 for `1%`); a URL fails when errors / requests is above it.
    pub max_error_rate: f64,
    /// A URL fails when its nearest-rank p95 latency is above it.
    pub max_p95: Option<Duration>,
    pub follow_redirects: bool,
    /// Header values, URL passwords and secret-looking query values: masked before anything prints.
    pub secrets: Vec<String>,
}

impl Checks {
    /// Validates `args`. `prefix` is prepended to input names in errors: `""` for smoke-test,
    /// `"test-"` when ecs-blue-green exposes the same inputs as `test-url`, `test-requests`, ...
    ///
    /// Errors never quote a header value or a URL password.
    pub fn from_args(args: &Args, prefix: &str) -> Result<Self, InputError> {
        let name = |input: &str| format!("{prefix}{input}");
        let url_input = name("url");
        let urls = parse_urls(
            &url_input,
            input::required(&url_input, args.url.as_deref())?,
        )?;
        let method = parse_method(&name("method"), input::set(args.method.as_deref()))?;
        let headers = parse_headers(&name("headers"), input::set(args.headers.as_deref()))?;
        let expect = parse_expectations(args, &name, &method)?;

        let duration = |input: &str, value: &Option<String>, default: Duration| {
            input::set(value.as_deref())
                .map_or(Ok(default), |text| input::duration(&name(input), text))
        };
        let positive = |input: &str, value: Duration| {
            if value.is_zero() {
                Err(InputError::new(
                    name(input),
                    "must be more than 0, e.g. `10s`",
                ))
            } else {
                Ok(value)
            }
        };
        let count = |input: &str, value: &Option<String>, default: u64, range| {
            input::set(value.as_deref())
                .map_or(Ok(default), |text| input::number(&name(input), text, range))
        };
        let timeout = positive(
            "timeout",
            duration("timeout", &args.timeout, Duration::from_secs(10))?,
        )?;
        let max_p95 = match input::set(args.max_p95.as_deref()) {
            Some(text) => Some(positive(
                "max-p95",
                input::duration(&name("max-p95"), text)?,
            )?),
            None => None,
        };
        let concurrency = count("concurrency", &args.concurrency, 4, 1..=256)?;
        let secrets = secrets_of(&urls, &headers);
        Ok(Self {
            urls,
            method,
            headers,
            expect,
            timeout,
            wait_for: duration("wait-for", &args.wait_for, Duration::from_secs(120))?,
            requests: count("requests", &args.requests, 20, 0..=100_000)?,
            concurrency: usize::try_from(concurrency).unwrap_or(1),
            max_error_rate: input::set(args.max_error_rate.as_deref())
                .map_or(Ok(0.01), |text| {
                    input::percent(&name("max-error-rate"), text)
                })?,
            max_p95,
            follow_redirects: input::flag(
                &name("follow-redirects"),
                args.follow_redirects.as_deref(),
                false,
            )?,
            secrets,
        })
    }

    /// Registers every secret with the runner. [`crate::run_checks`] does this first; call it
    /// yourself if you print anything about these checks before running them.
    pub fn mask(&self, runner: &Runner) {
        for secret in &self.secrets {
            runner.mask(secret);
        }
    }
}

fn parse_expectations(
    args: &Args,
    name: &dyn Fn(&str) -> String,
    method: &Method,
) -> Result<Expectations, InputError> {
    let status = StatusSet::parse(
        &name("expect-status"),
        input::set(args.expect_status.as_deref()).unwrap_or("2xx"),
    )?;
    let body = input::set(args.expect_body.as_deref())
        .map(|text| BodyRule::parse(&name("expect-body"), text))
        .transpose()?;
    let json = match input::set(args.expect_json.as_deref()) {
        Some(text) => JsonRule::parse_lines(&name("expect-json"), text)?,
        None => Vec::new(),
    };
    if *method == Method::HEAD {
        let conflict = if body.is_some() {
            Some("expect-body")
        } else if !json.is_empty() {
            Some("expect-json")
        } else {
            None
        };
        if let Some(conflict) = conflict {
            return Err(InputError::new(
                name(conflict),
                format!(
                    "cannot pass with `{}: HEAD`: a HEAD response has no body; use GET",
                    name("method")
                ),
            ));
        }
    }
    Ok(Expectations { status, body, json })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn args(url: &str) -> Args {
        Args {
            url: Some(url.to_owned()),
            ..Args::default()
        }
    }

    #[test]
    fn defaults() {
        let checks = Checks::from_args(&args("http://127.0.0.1:8080/health"), "").unwrap();
        assert_eq!(checks.method, Method::GET);
        assert!(checks.expect.status.matches(204) && !checks.expect.status.matches(301));
        assert_eq!(checks.timeout, Duration::from_secs(10));
        assert_eq!(checks.wait_for, Duration::from_secs(120));
        assert_eq!((checks.requests, checks.concurrency), (20, 4));
        assert!((checks.max_error_rate - 0.01).abs() < f64::EPSILON);
        assert_eq!(checks.max_p95, None);
        assert!(!checks.follow_redirects);
        assert!(checks.secrets.is_empty());
    }

    #[test]
    fn several_urls_one_per_line_with_comments() {
        let checks = Checks::from_args(
            &args("https://a.example/health\n# staging\nhttp://b.example:81/"),
            "",
        )
        .unwrap();
        assert_eq!(checks.urls.len(), 2);
    }

    #[test]
    fn head_cannot_expect_a_body() {
        let mut a = args("http://x/");
        a.method = Some("HEAD".into());
        a.expect_json = Some("/status=ok".into());
        let error = Checks::from_args(&a, "test-").unwrap_err();
        assert_eq!(error.input, "test-expect-json");
        assert!(error.message.contains("`test-method: HEAD`"), "{error}");
    }

    #[test]
    fn errors_name_the_prefixed_input() {
        type Change = fn(&mut Args);
        let cases: [(Change, &str); 10] = [
            (|a| a.url = None, "test-url"),
            (|a| a.url = Some("ftp://x/".into()), "test-url"),
            (|a| a.method = Some("FETCH".into()), "test-method"),
            (|a| a.headers = Some("X-Key".into()), "test-headers"),
            (
                |a| a.expect_status = Some("2xy".into()),
                "test-expect-status",
            ),
            (|a| a.expect_body = Some("/(/".into()), "test-expect-body"),
            (|a| a.requests = Some("lots".into()), "test-requests"),
            (
                |a| a.max_error_rate = Some("200%".into()),
                "test-max-error-rate",
            ),
            (|a| a.timeout = Some("0s".into()), "test-timeout"),
            (|a| a.max_p95 = Some("0ms".into()), "test-max-p95"),
        ];
        for (change, input) in cases {
            let mut a = args("http://x/");
            change(&mut a);
            assert_eq!(Checks::from_args(&a, "test-").unwrap_err().input, input);
        }
    }

    #[test]
    fn no_input_panics() {
        const PIECES: &[&str] = &[
            "",
            " ",
            "\n",
            "#",
            "/",
            "=",
            ":",
            ",",
            "%",
            "@",
            "|",
            "x",
            "2xx",
            "200",
            "http://",
            "https://",
            "u:p@",
            "[::1]",
            "0",
            "-1",
            "1e9",
            "9999999999999999999999",
            "ms",
            "h",
            "%",
            ".",
            "é",
            "\u{7}",
            "\u{0}",
            "\r",
            "true",
            "GET",
            "(",
            "[",
            "*",
            "~1",
            "\"",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        let text = |rng: &mut fastrand::Rng| -> Option<String> {
            let len = rng.usize(0..8);
            (len > 0).then(|| {
                (0..len)
                    .map(|_| PIECES[rng.usize(..PIECES.len())])
                    .collect()
            })
        };
        for _ in 0..5000 {
            let a = Args {
                url: Some(format!("http://h/{}", text(&mut rng).unwrap_or_default())),
                method: text(&mut rng),
                headers: text(&mut rng),
                expect_status: text(&mut rng),
                expect_body: text(&mut rng),
                expect_json: text(&mut rng),
                timeout: text(&mut rng),
                wait_for: text(&mut rng),
                requests: text(&mut rng),
                concurrency: text(&mut rng),
                max_error_rate: text(&mut rng),
                max_p95: text(&mut rng),
                follow_redirects: text(&mut rng),
            };
            if let Err(error) = Checks::from_args(&a, "test-") {
                assert!(error.input.starts_with("test-"), "{error}");
            }
            let mut url_only = args("");
            url_only.url = text(&mut rng);
            let _ = Checks::from_args(&url_only, "");
        }
    }
}
