//! One request and its judgement.

use std::time::{Duration, Instant};

use reqwest::Client;

use crate::checks::Checks;

/// Bodies are read up to this size for matching; more would only cost memory.
const BODY_LIMIT: usize = 1 << 20;
/// How much of a body a failure message quotes.
const BODY_QUOTE: usize = 300;

/// The outcome of one request.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub latency: Duration,
    /// Why it failed, short (`expected status 2xx, got 503`); `None` when it passed.
    pub failure: Option<String>,
    /// Timing and the start of the body, for the failure message.
    pub detail: String,
}

impl Attempt {
    pub fn failed(latency: Duration, failure: String) -> Self {
        Self {
            latency,
            failure: Some(failure),
            detail: format!("after {}ms", latency.as_millis()),
        }
    }

    /// The failure with its detail, for messages.
    pub fn describe(&self) -> String {
        match &self.failure {
            Some(failure) => format!("{failure} ({})", self.detail),
            None => format!("passed ({})", self.detail),
        }
    }

    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

pub fn client(checks: &Checks) -> reqwest::Result<Client> {
    let redirects = if checks.follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    Client::builder()
        .user_agent(concat!(
            "deploy-kit/",
            env!("CARGO_PKG_VERSION"),
            " smoke-test"
        ))
        .redirect(redirects)
        .build()
}

/// Sends one request; never longer than `timeout`.
pub async fn probe(
    client: &Client,
    checks: &Checks,
    url: &reqwest::Url,
    timeout: Duration,
) -> Attempt {
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
            let failure = checks.expect.check(status, &text).err();
            let detail = format!("after {}ms{}", latency.as_millis(), quote_body(&text));
            Attempt {
                latency,
                failure,
                detail,
            }
        }
        Ok(Err(error)) => Attempt::failed(latency, describe_error(&error, timeout)),
        Err(_) => Attempt::failed(
            latency,
            format!("no response within {}ms", timeout.as_millis()),
        ),
    }
}

fn quote_body(text: &str) -> String {
    // One line: a body quoted in a log should not look like more log lines.
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = text.as_str();
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

/// reqwest's Display is a bare "error sending request"; say what happened.
fn describe_error(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no response within {}ms", timeout.as_millis());
    }
    let mut message = if error.is_connect() {
        "connection failed".to_owned()
    } else if error.is_redirect() {
        "too many redirects".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    let mut last = String::new();
    while let Some(cause) = source {
        last = cause.to_string();
        source = cause.source();
    }
    if !last.is_empty() {
        message.push_str(": ");
        message.push_str(&last);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_quoted_short() {
        assert_eq!(quote_body(""), "; empty body");
        assert_eq!(quote_body("down"), "; body: down");
        assert_eq!(quote_body("<p>\n  down\n</p>"), "; body: <p> down </p>");
        let long = "é".repeat(400);
        let quoted = quote_body(&long);
        assert!(
            quoted.ends_with('…') && quoted.len() < 320,
            "{}",
            quoted.len()
        );
    }
}
