//! Running the checks. Phase 1: for each URL in turn, try until a response passes, backing off
//! with jitter, all within one `wait-for` deadline. Phase 2: for each URL that passed, send
//! `requests` requests with `concurrency` in flight, then gate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deploy_kit_gha::{Cancellation, Runner, format_duration, shown_url};
use reqwest::{Client, Url};
use tokio::task::JoinSet;

use crate::Error;
use crate::checks::Checks;
use crate::probe::{self, Attempt, probe};
use crate::stats::Figures;
use crate::verdict::{Problem, UrlReport, Verdict, count_tries};

/// The first pause between tries; it doubles up to [`MAX_DELAY`].
pub const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest pause between tries: a service that comes up is noticed within seconds.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// Runs `checks` and returns the figures; [`Verdict::passed`] says whether the gates held.
///
/// Masks the secrets of `checks` first, builds one HTTP client, then prints one progress line
/// per change of outcome. Returns [`Error::Cancelled`] as soon as `cancellation` fires (requests
/// in flight are dropped), and [`Error::Client`] when no HTTP client can be built. A failed
/// check is not an error here: it is in the verdict.
pub async fn run_checks(
    checks: &Checks,
    runner: &Runner,
    cancellation: &Cancellation,
) -> Result<Verdict, Error> {
    checks.mask(runner);
    let client = probe::client(checks, runner.env()).map_err(Error::Client)?;
    cancellation
        .run(async { Ok(check_all(checks, &client, runner).await) })
        .await
}

async fn check_all(checks: &Checks, client: &Client, runner: &Runner) -> Verdict {
    let started = Instant::now();
    let deadline = started + checks.wait_for;
    let mut firsts = Vec::with_capacity(checks.urls.len());
    for url in &checks.urls {
        firsts.push(wait_for_first_pass(checks, client, url, deadline, runner).await);
    }
    let mut reports = Vec::with_capacity(checks.urls.len());
    for (url, first) in checks.urls.iter().zip(firsts) {
        let waited = first.at.saturating_duration_since(started);
        if !first.last.passed() {
            let problem = Problem::NeverPassed {
                wait_for: checks.wait_for,
                tries: first.tries,
                last: first.last.describe(),
            };
            reports.push(UrlReport::never_passed(
                shown_url(url.as_str()),
                first.tries,
                waited,
                problem,
            ));
            continue;
        }
        let progress = runner.progress(shown_url(url.as_str()));
        let figures = if checks.requests == 0 {
            Figures::from_attempts(&[first.last])
        } else {
            progress.state(format!(
                "sending {} requests, {} at a time",
                checks.requests, checks.concurrency
            ));
            Figures::from_attempts(&load(checks, client, url).await)
        };
        let report = UrlReport::gated(
            shown_url(url.as_str()),
            first.tries,
            waited,
            figures,
            checks,
        );
        progress.finish(report.one_line());
        log_failures(&report, runner);
        reports.push(report);
    }
    Verdict::new(reports, checks)
}

/// The outcome of phase 1 for one URL.
struct FirstPass {
    tries: u32,
    /// The passing attempt, or the last failing one.
    last: Attempt,
    /// When the passing response came, or when waiting stopped.
    at: Instant,
}

/// Tries until a response passes or the deadline passes. The first try always happens (with the
/// full `timeout`), even when the deadline already passed; later tries end at the deadline.
async fn wait_for_first_pass(
    checks: &Checks,
    client: &Client,
    url: &Url,
    deadline: Instant,
    runner: &Runner,
) -> FirstPass {
    let progress = runner.progress(shown_url(url.as_str()));
    let mut delay = FIRST_DELAY;
    let mut tries = 0;
    let mut timeout = checks.timeout;
    loop {
        tries += 1;
        let last = probe(client, checks, url, timeout).await;
        if last.passed() {
            let elapsed = format_duration(progress.elapsed());
            progress.finish(format!("first pass on try {tries} after {elapsed}"));
            return FirstPass {
                tries,
                last,
                at: Instant::now(),
            };
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if !remaining.is_zero() {
            // One log line per change of outcome, not per try.
            progress.state(format!(
                "waiting: {}",
                last.failure.as_deref().unwrap_or("failed")
            ));
            tokio::time::sleep(jitter(delay).min(remaining)).await;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            progress.finish(format!(
                "no passing response within wait-for {} ({}); last: {}",
                format_duration(checks.wait_for),
                count_tries(tries),
                last.describe()
            ));
            return FirstPass {
                tries,
                last,
                at: Instant::now(),
            };
        }
        timeout = checks.timeout.min(remaining);
        delay = next_delay(delay);
    }
}

/// Exponential backoff: doubles, capped at [`MAX_DELAY`].
pub(crate) fn next_delay(delay: Duration) -> Duration {
    delay.saturating_mul(2).min(MAX_DELAY)
}

/// ±20 %, so runners waiting on one service do not retry in lockstep.
pub(crate) fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(0.8 + fastrand::f64() * 0.4)
}

/// `requests` requests to `url` from `concurrency` workers that share one counter.
async fn load(checks: &Checks, client: &Client, url: &Url) -> Vec<Attempt> {
    let total = checks.requests;
    let shared = Arc::new((
        checks.clone(),
        client.clone(),
        url.clone(),
        AtomicU64::new(0),
    ));
    let workers = u64::try_from(checks.concurrency).map_or(total, |c| c.min(total));
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let shared = Arc::clone(&shared);
        tasks.spawn(async move {
            let (checks, client, url, next) = &*shared;
            let mut attempts = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < checks.requests {
                attempts.push(probe(client, checks, url, checks.timeout).await);
            }
            attempts
        });
    }
    let mut attempts = Vec::new();
    let mut lost = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(mut done) => attempts.append(&mut done),
            Err(error) => lost = Some(error.to_string()),
        }
    }
    // A worker that died took its requests' outcomes with it: count them as failed, not as
    // never sent, so the error rate cannot improve by losing a worker.
    let missing = usize::try_from(total)
        .unwrap_or(usize::MAX)
        .saturating_sub(attempts.len());
    if let Some(error) = lost {
        attempts.extend(
            (0..missing)
                .map(|_| Attempt::failed(Duration::ZERO, format!("worker failed: {error}"))),
        );
    }
    attempts
}

/// The failure reasons of a URL with their counts, and the first failures in full.
fn log_failures(report: &UrlReport, runner: &Runner) {
    let Some(figures) = report.figures.as_ref().filter(|f| f.errors > 0) else {
        return;
    };
    let _group = runner.group(format!(
        "{} of {} requests to {} failed",
        figures.errors, figures.requests, report.url
    ));
    // Reasons and failures quote response bodies: text the server chose, printed as such.
    let reasons = figures
        .reasons
        .iter()
        .map(|(reason, count)| format!("{count}× {reason}"));
    let failures = figures
        .failures
        .iter()
        .map(|failure| format!("  {failure}"));
    runner.untrusted_lines("", reasons.chain(failures));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_seconds() {
        let mut delay = FIRST_DELAY;
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

    #[test]
    fn jitter_spreads_tries() {
        let distinct: std::collections::BTreeSet<u128> = (0..50)
            .map(|_| jitter(Duration::from_secs(1)).as_micros())
            .collect();
        assert!(distinct.len() > 1, "jitter must vary between tries");
    }
}
