//! The typed check configuration, parsed once from the raw inputs. ecs-blue-green reuses it with
//! its inputs under a `test-` prefix, so every error names the input as the user spelled it.

use std::time::Duration;

use deploy_kit_gha::InputError;
use deploy_kit_gha::input::{self, truncate};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};

use crate::expect::{BodyRule, Expectations, JsonRule, StatusSet};

/// The check inputs as given (unset = `None` or empty), before validation.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawChecks<'a> {
    pub url: Option<&'a str>,
    pub method: Option<&'a str>,
    pub headers: Option<&'a str>,
    pub expect_status: Option<&'a str>,
    pub expect_body: Option<&'a str>,
    pub expect_json: Option<&'a str>,
    pub timeout: Option<&'a str>,
    pub wait_for: Option<&'a str>,
    pub requests: Option<&'a str>,
    pub concurrency: Option<&'a str>,
    pub max_error_rate: Option<&'a str>,
    pub max_p95: Option<&'a str>,
    pub follow_redirects: Option<&'a str>,
}

/// Validated checks: what to request, what passes, and the gates.
#[derive(Debug, Clone)]
pub struct Checks {
    pub urls: Vec<reqwest::Url>,
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Header values and URL passwords: the caller masks these before printing anything.
    pub secrets: Vec<String>,
    pub expect: Expectations,
    pub timeout: Duration,
    pub wait_for: Duration,
    pub requests: u64,
    pub concurrency: usize,
    pub max_error_rate: f64,
    pub max_p95: Option<Duration>,
    pub follow_redirects: bool,
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl Checks {
    /// Validates `raw`; `prefix` is prepended to input names in errors (`""` or `"test-"`).
    pub fn parse(raw: &RawChecks<'_>, prefix: &str) -> Result<Self, InputError> {
        let name = |input: &str| format!("{prefix}{input}");
        let urls = parse_urls(&name("url"), input::required(&name("url"), raw.url)?)?;
        let method = match input::set(raw.method).map(str::to_ascii_uppercase) {
            None => Method::GET,
            Some(method) if METHODS.contains(&method.as_str()) => {
                Method::from_bytes(method.as_bytes())
                    .map_err(|e| InputError::new(name("method"), e))?
            }
            Some(method) => {
                return Err(InputError::new(
                    name("method"),
                    format!(
                        "`{}` is not supported: use one of {}",
                        truncate(&method, 20),
                        METHODS.join(", ")
                    ),
                ));
            }
        };
        let headers = parse_headers(&name("headers"), input::set(raw.headers).unwrap_or(""))?;
        let mut secrets: Vec<String> = headers
            .iter()
            .filter_map(|(_, value)| value.to_str().ok().map(str::to_owned))
            .collect();
        secrets.extend(
            urls.iter()
                .filter_map(|url| url.password().map(str::to_owned)),
        );

        let status = match input::set(raw.expect_status) {
            Some(text) => StatusSet::parse(&name("expect-status"), text)?,
            None => StatusSet::parse(&name("expect-status"), "2xx")?,
        };
        let body = input::set(raw.expect_body)
            .map(|text| BodyRule::parse(&name("expect-body"), text))
            .transpose()?;
        let json = match input::set(raw.expect_json) {
            Some(text) => JsonRule::parse_lines(&name("expect-json"), text)?,
            None => Vec::new(),
        };
        let duration = |input: &str, value: Option<&str>, default: Duration| {
            input::set(value).map_or(Ok(default), |text| input::duration(&name(input), text))
        };
        let timeout = duration("timeout", raw.timeout, Duration::from_secs(10))?;
        if timeout.is_zero() {
            return Err(InputError::new(
                name("timeout"),
                "must be more than 0, e.g. `10s`",
            ));
        }
        let count = |input: &str, value: Option<&str>, default: u64, range| {
            input::set(value).map_or(Ok(default), |text| input::number(&name(input), text, range))
        };
        Ok(Self {
            urls,
            method,
            headers,
            secrets,
            expect: Expectations { status, body, json },
            timeout,
            wait_for: duration("wait-for", raw.wait_for, Duration::from_secs(120))?,
            requests: count("requests", raw.requests, 20, 0..=100_000)?,
            concurrency: usize::try_from(count("concurrency", raw.concurrency, 4, 1..=256)?)
                .unwrap_or(4),
            max_error_rate: input::set(raw.max_error_rate).map_or(Ok(0.01), |text| {
                input::percent(&name("max-error-rate"), text)
            })?,
            max_p95: input::set(raw.max_p95)
                .map(|text| input::duration(&name("max-p95"), text))
                .transpose()?,
            follow_redirects: input::flag(&name("follow-redirects"), raw.follow_redirects, false)?,
        })
    }
}

fn parse_urls(input: &str, text: &str) -> Result<Vec<reqwest::Url>, InputError> {
    let lines = input::lines(text);
    if lines.is_empty() {
        return Err(InputError::new(input, "is required: give one URL per line"));
    }
    lines
        .into_iter()
        .map(|line| {
            let invalid = |why: String| {
                InputError::new(
                    input,
                    format!("`{}` is not a valid URL: {why}", truncate(line, 100)),
                )
            };
            let url = reqwest::Url::parse(line).map_err(|e| invalid(e.to_string()))?;
            match url.scheme() {
                "http" | "https" if url.host().is_some() => Ok(url),
                "http" | "https" => Err(invalid("it has no host".into())),
                scheme => Err(invalid(format!("scheme `{scheme}` is not http or https"))),
            }
        })
        .collect()
}

/// `Name: value` lines. Errors never echo a value: header values are secrets until proven not.
fn parse_headers(input: &str, text: &str) -> Result<Vec<(HeaderName, HeaderValue)>, InputError> {
    input::lines(text)
        .into_iter()
        .enumerate()
        .map(|(index, line)| {
            let item = index + 1;
            let (name, value) = line.split_once(':').ok_or_else(|| {
                InputError::new(
                    input,
                    format!("item {item} is not of the form `Name: value`"),
                )
            })?;
            let header = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                InputError::new(
                    input,
                    format!(
                        "item {item}: `{}` is not a valid header name",
                        truncate(name.trim(), 60)
                    ),
                )
            })?;
            let value = HeaderValue::from_str(value.trim()).map_err(|_| {
                InputError::new(
                    input,
                    format!("item {item}: the value of `{header}` has invalid characters"),
                )
            })?;
            Ok((header, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(url: &str) -> RawChecks<'_> {
        RawChecks {
            url: Some(url),
            ..RawChecks::default()
        }
    }

    #[test]
    fn defaults() {
        let checks = Checks::parse(&raw("http://127.0.0.1:8080/health"), "").unwrap();
        assert_eq!(checks.method, Method::GET);
        assert!(checks.expect.status.matches(204) && !checks.expect.status.matches(301));
        assert_eq!(checks.timeout, Duration::from_secs(10));
        assert_eq!(checks.wait_for, Duration::from_secs(120));
        assert_eq!((checks.requests, checks.concurrency), (20, 4));
        assert!((checks.max_error_rate - 0.01).abs() < f64::EPSILON);
        assert_eq!(checks.max_p95, None);
        assert!(!checks.follow_redirects);
    }

    #[test]
    fn several_urls_one_per_line() {
        let checks = Checks::parse(
            &raw("https://a.example/health\n# staging\nhttp://b.example:81/"),
            "",
        )
        .unwrap();
        assert_eq!(checks.urls.len(), 2);
    }

    #[test]
    fn errors_name_the_prefixed_input() {
        let cases: [(RawChecks<'_>, &str); 6] = [
            (RawChecks::default(), "test-url"),
            (raw("ftp://x/"), "test-url"),
            (
                RawChecks {
                    method: Some("FETCH"),
                    ..raw("http://x/")
                },
                "test-method",
            ),
            (
                RawChecks {
                    requests: Some("lots"),
                    ..raw("http://x/")
                },
                "test-requests",
            ),
            (
                RawChecks {
                    max_error_rate: Some("200%"),
                    ..raw("http://x/")
                },
                "test-max-error-rate",
            ),
            (
                RawChecks {
                    timeout: Some("0s"),
                    ..raw("http://x/")
                },
                "test-timeout",
            ),
        ];
        for (raw, input) in cases {
            assert_eq!(Checks::parse(&raw, "test-").unwrap_err().input, input);
        }
    }

    #[test]
    fn header_values_are_secrets_and_never_echoed() {
        let checks = Checks::parse(
            &RawChecks {
                headers: Some("Authorization: Bearer abc\nX-Env: staging"),
                ..raw("https://u:pw@x/")
            },
            "",
        )
        .unwrap();
        assert_eq!(checks.secrets, ["Bearer abc", "staging", "pw"]);
        let error = Checks::parse(
            &RawChecks {
                headers: Some("Authorization Bearer abc"),
                ..raw("http://x/")
            },
            "",
        )
        .unwrap_err();
        assert!(!error.to_string().contains("abc"), "{error}");
        let error = Checks::parse(
            &RawChecks {
                headers: Some("X-Key: a\u{7}b"),
                ..raw("http://x/")
            },
            "",
        )
        .unwrap_err();
        assert!(!error.to_string().contains("a\u{7}b"), "{error}");
    }
}
