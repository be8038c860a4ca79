//! Running the checks: per URL, wait for a first passing response, then send the load requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deploy_kit_gha::Runner;
use reqwest::{Client, Url};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::checks::Checks;
use crate::probe::{Attempt, probe};
use crate::stats::{UrlReport, Verdict};

/// Runs every check and returns the figures; the verdict says whether the gates held.
pub async fn run_checks(checks: &Checks, client: &Client, runner: &Runner) -> Verdict {
    let mut reports = Vec::with_capacity(checks.urls.len());
    for url in &checks.urls {
        reports.push(check_url(checks, client, url, runner).await);
    }
    Verdict::new(reports, checks)
}

async fn check_url(checks: &Checks, client: &Client, url: &Url, runner: &Runner) -> UrlReport {
    let progress = runner.progress(url.as_str());
    let (first, tries) =
        wait_for_first_pass(checks, client, url, |state| progress.state(state)).await;
    let first = match first {
        Some(attempt) if attempt.passed() => attempt,
        other => {
            let failure = other.map_or_else(|| "no attempt was made".into(), |a| a.describe());
            progress.finish(format!("failed after {tries} tries: {failure}"));
            return UrlReport::never_passed(url, tries, failure, checks.wait_for);
        }
    };
    progress.state(format!(
        "passed on try {tries}; sending {} requests",
        checks.requests
    ));
    let attempts = if checks.requests == 0 {
        vec![first]
    } else {
        load(checks, client, url).await
    };
    let report = UrlReport::from_attempts(url, tries, &attempts, checks);
    progress.finish(report.one_line());
    report
}

/// Tries until a response passes or `wait-for` runs out, backing off with jitter between tries.
/// Returns the last attempt and how many were made.
async fn wait_for_first_pass(
    checks: &Checks,
    client: &Client,
    url: &Url,
    report: impl Fn(String),
) -> (Option<Attempt>, u32) {
    let deadline = Instant::now() + checks.wait_for;
    let mut delay = Duration::from_millis(250);
    let mut tries = 0;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        // The first try always happens, even with `wait-for: 0s`.
        let timeout = if tries == 0 {
            checks.timeout
        } else {
            checks.timeout.min(remaining)
        };
        tries += 1;
        let attempt = probe(client, checks, url, timeout).await;
        if attempt.passed() {
            return (Some(attempt), tries);
        }
        // One log line per change of reason, not per try.
        report(format!(
            "waiting: {}",
            attempt.failure.as_deref().unwrap_or("failed")
        ));
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return (Some(attempt), tries);
        }
        tokio::time::sleep(jitter(delay).min(remaining)).await;
        if Instant::now() >= deadline {
            return (Some(attempt), tries);
        }
        delay = next_delay(delay);
    }
}

/// Exponential backoff, capped so a service that comes up is noticed within seconds.
pub(crate) fn next_delay(delay: Duration) -> Duration {
    (delay * 2).min(Duration::from_secs(5))
}

/// ±20 %, so many runners waiting on one service do not retry in lockstep.
pub(crate) fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(0.8 + fastrand::f64() * 0.4)
}

/// `requests` requests with at most `concurrency` in flight.
async fn load(checks: &Checks, client: &Client, url: &Url) -> Vec<Attempt> {
    let permits = Arc::new(Semaphore::new(checks.concurrency));
    let shared = Arc::new(checks.clone());
    let mut tasks = JoinSet::new();
    for _ in 0..checks.requests {
        let (permits, checks, client, url) = (
            Arc::clone(&permits),
            Arc::clone(&shared),
            client.clone(),
            url.clone(),
        );
        tasks.spawn(async move {
            let _permit = permits.acquire().await.ok();
            probe(&client, &checks, &url, checks.timeout).await
        });
    }
    let mut attempts = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        attempts.push(joined.unwrap_or_else(|error| {
            Attempt::failed(Duration::ZERO, format!("request task failed: {error}"))
        }));
    }
    attempts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_seconds() {
        let mut delay = Duration::from_millis(250);
        let mut seen = Vec::new();
        for _ in 0..7 {
            seen.push(delay.as_millis());
            delay = next_delay(delay);
        }
        assert_eq!(seen, [250, 500, 1000, 2000, 4000, 5000, 5000]);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..1000 {
            let jittered = jitter(Duration::from_secs(1)).as_secs_f64();
            assert!((0.8..=1.2).contains(&jittered), "{jittered}");
        }
    }
}
