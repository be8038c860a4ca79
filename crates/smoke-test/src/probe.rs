//! One request and its judgement.

use std::time::{Duration, Instant};

use deploy_kit_gha::RunnerEnv;
use reqwest::{Client, Url};

use crate::checks::Checks;

/// Bodies are read up to this size for matching; more would only cost memory.
pub const BODY_LIMIT: usize = 1 << 20;
/// How much of a body a failure message quotes.
const BODY_QUOTE: usize = 300;

/// The outcome of one request.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// From sending the request to the end of the body (or the failure).
    pub latency: Duration,
    /// The response status; `None` when no response came (connection failed, timed out).
    pub status: Option<u16>,
    /// Why it failed, short and stable (`expected status 2xx, got 503`); `None` when it passed.
    pub failure: Option<String>,
    /// Timing and the start of the body, for messages.
    pub detail: String,
}

impl Attempt {
    pub(crate) fn failed(latency: Duration, failure: String) -> Self {
        Self {
            latency,
            status: None,
            failure: Some(failure),
            detail: format!("after {}", format_latency(latency)),
        }
    }

    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// The outcome with its detail: `expected status 2xx, got 500 (after 3ms; body: down)`.
    pub fn describe(&self) -> String {
        match &self.failure {
            Some(failure) => format!("{failure} ({})", self.detail),
            None => format!("passed ({})", self.detail),
        }
    }
}

/// The one HTTP client of a run: rustls, the User-Agent, the redirect policy. Proxies come from
/// `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`, as reqwest reads them by default.
pub fn client(checks: &Checks, env: &RunnerEnv) -> reqwest::Result<Client> {
    let redirects = if checks.follow_redirects {
        redirect_policy(!checks.headers.is_empty())
    } else {
        reqwest::redirect::Policy::none()
    };
    let builder = Client::builder()
        // A Referer would carry the previous URL, query tokens and all, to wherever we go next.
        .referer(false)
        .user_agent(concat!(
            "deploy-kit/",
            env!("CARGO_PKG_VERSION"),
            " smoke-test"
        ))
        .redirect(redirects)
        .connect_timeout(checks.timeout);
    // The system roots as every other step reads them (deploy_kit_aws::tls: the bundle once,
    // a private CA added to the system store included), and none at all for plain-http checks
    // that go nowhere else: loading them is most of a one-request check's own time.
    let roots = if needs_tls(checks, |name| env.var(name).map(str::to_owned)) {
        deploy_kit_aws::tls::reqwest_roots()
    } else {
        Vec::new()
    };
    let builder = builder.tls_certs_only(roots);
    builder.build()
}

/// The most redirects followed from one URL.
const MAX_REDIRECTS: usize = 10;

/// Why a redirect was not followed.
#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooMany,
    #[error(
        "redirect to another origin ({0}) not followed: the `headers` are sent only to the origin of the `url`; check that origin's URL directly"
    )]
    OtherOrigin(String),
}

/// Follows up to [`MAX_REDIRECTS`] redirects. With user headers (API keys, access secrets), only
/// within the first URL's origin (scheme, host and port): reqwest drops `Authorization` and
/// `Cookie` on a cross-origin hop but not `x-api-key` and the like, so the hop is refused instead.
fn redirect_policy(has_headers: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(Refused::TooMany);
        }
        let first = attempt.previous().first();
        let same_origin = first.is_some_and(|first| first.origin() == attempt.url().origin());
        if has_headers && !same_origin {
            let origin = attempt.url().origin().ascii_serialization();
            return attempt.error(Refused::OtherOrigin(origin));
        }
        attempt.follow()
    })
}

/// Whether any connection of these checks can need TLS: an https URL, a redirect (it may lead
/// to https), or an https proxy.
fn needs_tls(checks: &Checks, env: impl Fn(&str) -> Option<String>) -> bool {
    const PROXIES: &[&str] = &[
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ];
    checks.follow_redirects
        || checks.urls.iter().any(|url| url.scheme() != "http")
        || PROXIES.iter().any(|name| {
            env(name).is_some_and(|proxy| !proxy.trim().to_ascii_lowercase().starts_with("http://"))
        })
}

/// Sends one request and judges the response; never takes longer than `timeout`.
pub async fn probe(client: &Client, checks: &Checks, url: &Url, timeout: Duration) -> Attempt {
    let started = Instant::now();
    let mut request = client
        .request(checks.method.clone(), url.clone())
        .timeout(timeout);
    for (name, value) in &checks.headers {
        request = request.header(name, value);
    }
    let result = tokio::time::timeout(timeout, async {
        let mut response = request.send().await?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            let room = BODY_LIMIT.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room <= chunk.len() {
                break;
            }
        }
        Ok::<_, reqwest::Error>((status, body))
    })
    .await;
    let latency = started.elapsed();
    match result {
        Ok(Ok((status, body))) => {
            let text = String::from_utf8_lossy(&body);
            Attempt {
                latency,
                status: Some(status),
                failure: checks.expect.check(status, &text).err(),
                detail: format!("after {}{}", format_latency(latency), quote_body(&text)),
            }
        }
        Ok(Err(error)) => Attempt::failed(latency, describe_error(&error, timeout)),
        Err(_) => Attempt::failed(latency, no_response(timeout)),
    }
}

fn no_response(timeout: Duration) -> String {
    format!(
        "no response within {}",
        deploy_kit_gha::format_duration(timeout)
    )
}

/// Whole milliseconds, or tenths below 10 ms: loopback answers in well under one.
pub fn format_latency(latency: Duration) -> String {
    let ms = latency.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{}ms", latency.as_millis())
    }
}

fn quote_body(text: &str) -> String {
    // One line: a body quoted in a log should not look like more log lines.
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return "; empty body".into();
    }
    let mut end = text.len().min(BODY_QUOTE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < text.len() { "…" } else { "" };
    format!("; body: {}{more}", &text[..end])
}

/// reqwest's Display is a bare "error sending request"; say what happened, from the root cause.
fn describe_error(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return no_response(timeout);
    }
    let mut message = if error.is_connect() {
        "connection failed".to_owned()
    } else if error.is_redirect() {
        "redirect not followed".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the response broke off".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    let mut root = None;
    while let Some(cause) = source {
        root = Some(cause.to_string());
        source = cause.source();
    }
    if let Some(root) = root.filter(|root| !root.is_empty()) {
        message.push_str(": ");
        message.push_str(&root);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_quoted_short_on_one_line() {
        assert_eq!(quote_body(""), "; empty body");
        assert_eq!(quote_body("down"), "; body: down");
        assert_eq!(quote_body("<p>\n  down\n</p>"), "; body: <p> down </p>");
        let quoted = quote_body(&"é".repeat(400));
        assert!(quoted.ends_with('…'), "{quoted}");
        assert!(quoted.len() <= "; body: ".len() + BODY_QUOTE + '…'.len_utf8());
    }

    #[test]
    fn latencies_read_well() {
        assert_eq!(format_latency(Duration::from_micros(730)), "0.7ms");
        assert_eq!(format_latency(Duration::from_micros(12_700)), "12ms");
        assert_eq!(format_latency(Duration::from_secs(2)), "2000ms");
    }

    #[test]
    fn tls_is_set_up_only_when_a_connection_can_need_it() {
        let checks = |url: &str, follow: bool| {
            let mut args = crate::Args {
                url: Some(url.into()),
                ..crate::Args::default()
            };
            args.follow_redirects = Some(follow.to_string());
            Checks::from_args(&args, "").unwrap()
        };
        let none = |_: &str| None;
        assert!(!needs_tls(&checks("http://a/\nhttp://b/", false), none));
        assert!(needs_tls(&checks("http://a/\nhttps://b/", false), none));
        assert!(needs_tls(&checks("http://a/", true), none));
        let proxy =
            |value: &'static str| move |name: &str| (name == "ALL_PROXY").then(|| value.to_owned());
        assert!(!needs_tls(
            &checks("http://a/", false),
            proxy("http://proxy:3128")
        ));
        assert!(needs_tls(
            &checks("http://a/", false),
            proxy("https://proxy:3128")
        ));
        assert!(needs_tls(&checks("http://a/", false), proxy("proxy:3128")));
    }

    #[test]
    fn describe_names_failure_and_detail() {
        let attempt = Attempt::failed(Duration::from_millis(40), "connection failed".into());
        assert_eq!(attempt.describe(), "connection failed (after 40ms)");
        assert!(!attempt.passed());
    }
}
