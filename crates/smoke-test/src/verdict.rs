//! The verdict: per URL what happened and which gate it failed, and the exit code it means.

use std::fmt;
use std::time::Duration;

use deploy_kit_gha::{Exit, format_duration};

use crate::Error;
use crate::checks::Checks;
use crate::probe::format_latency;
use crate::stats::{Figures, format_rate};

/// Why a URL failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// No response passed the expectations before the `wait-for` deadline.
    NeverPassed {
        wait_for: Duration,
        tries: u32,
        /// The last try, with its status, timing and body.
        last: String,
    },
    /// errors / requests was above `max-error-rate`.
    ErrorRate {
        rate: f64,
        max: f64,
        errors: usize,
        requests: usize,
        /// The first failure, with its detail.
        first: String,
    },
    /// The nearest-rank p95 latency was above `max-p95`.
    SlowP95 { p95: Duration, max: Duration },
}

impl Problem {
    /// A deadline ran out (exit 3), as opposed to a check that answered and failed (exit 1).
    /// `wait-for: 0s` asks for one try and no waiting, so its failure is a plain failure.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Problem::NeverPassed { wait_for, .. } if !wait_for.is_zero())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NeverPassed {
                wait_for,
                tries,
                last,
            } => {
                write!(
                    f,
                    "no passing response within wait-for {} ({}); last: {last}",
                    format_duration(*wait_for),
                    count_tries(*tries)
                )
            }
            Problem::ErrorRate {
                rate,
                max,
                errors,
                requests,
                first,
            } => write!(
                f,
                "error rate {} is above max-error-rate {} ({errors} of {requests} failed; first: {first})",
                format_rate(*rate),
                format_rate(*max)
            ),
            Problem::SlowP95 { p95, max } => write!(
                f,
                "p95 latency {} is above max-p95 {}",
                format_latency(*p95),
                format_latency(*max)
            ),
        }
    }
}

/// `1 try`, `3 tries`.
pub(crate) fn count_tries(tries: u32) -> String {
    count(u64::from(tries), "try", "tries")
}

fn count(n: u64, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// What happened at one URL.
#[derive(Debug, Clone)]
pub struct UrlReport {
    pub url: String,
    /// Tries in the waiting phase, the passing one included.
    pub tries: u32,
    /// From the start of the checks to the first passing response (or to giving up).
    pub waited: Duration,
    /// The load requests (or the first pass alone with `requests: 0`); `None` when it never passed.
    pub figures: Option<Figures>,
    pub problems: Vec<Problem>,
}

impl UrlReport {
    pub(crate) fn never_passed(
        url: String,
        tries: u32,
        waited: Duration,
        problem: Problem,
    ) -> Self {
        Self {
            url,
            tries,
            waited,
            figures: None,
            problems: vec![problem],
        }
    }

    /// Gates the figures: error rate first, then p95. Every gate that fails is reported.
    pub(crate) fn gated(
        url: String,
        tries: u32,
        waited: Duration,
        figures: Figures,
        checks: &Checks,
    ) -> Self {
        let mut problems = Vec::new();
        if let Some(rate) = figures.error_rate()
            && rate > checks.max_error_rate
        {
            problems.push(Problem::ErrorRate {
                rate,
                max: checks.max_error_rate,
                errors: figures.errors,
                requests: figures.requests,
                first: figures.failures.first().cloned().unwrap_or_default(),
            });
        }
        if let (Some(max), Some(p95)) = (checks.max_p95, figures.p95())
            && p95 > max
        {
            problems.push(Problem::SlowP95 { p95, max });
        }
        Self {
            url,
            tries,
            waited,
            figures: Some(figures),
            problems,
        }
    }

    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// `passed: 20 requests, 0 errors (0.00%), p50 3.1ms, p95 9.0ms`.
    pub fn one_line(&self) -> String {
        let verdict = if self.passed() { "passed" } else { "failed" };
        match &self.figures {
            None => format!("{verdict}: never passed"),
            Some(figures) => format!(
                "{verdict}: {}, {} ({}), p50 {}, p95 {}",
                count(figures.requests as u64, "request", "requests"),
                count(figures.errors as u64, "error", "errors"),
                figures.error_rate().map_or("-".into(), format_rate),
                figures.p50().map_or("-".into(), format_latency),
                figures.p95().map_or("-".into(), format_latency),
            ),
        }
    }
}

/// The gates a verdict was reached with, for the summary and the report.
#[derive(Debug, Clone)]
pub struct Gates {
    pub requests: u64,
    pub concurrency: usize,
    pub max_error_rate: f64,
    pub max_p95: Option<Duration>,
    pub wait_for: Duration,
}

/// The result of all checks. Overall figures pool the load requests of every URL.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub urls: Vec<UrlReport>,
    pub overall: Figures,
    pub gates: Gates,
}

impl Verdict {
    pub(crate) fn new(urls: Vec<UrlReport>, checks: &Checks) -> Self {
        let overall = Figures::merge(urls.iter().filter_map(|u| u.figures.as_ref()));
        Self {
            urls,
            overall,
            gates: Gates {
                requests: checks.requests,
                concurrency: checks.concurrency,
                max_error_rate: checks.max_error_rate,
                max_p95: checks.max_p95,
                wait_for: checks.wait_for,
            },
        }
    }

    /// Every URL passed its expectations and gates.
    pub fn passed(&self) -> bool {
        self.urls.iter().all(UrlReport::passed)
    }

    pub fn error_rate(&self) -> Option<f64> {
        self.overall.error_rate()
    }

    pub fn p50(&self) -> Option<Duration> {
        self.overall.p50()
    }

    pub fn p95(&self) -> Option<Duration> {
        self.overall.p95()
    }

    /// 0 passed; 3 when every problem is a `wait-for` deadline that ran out; else 1 (a URL that
    /// answered and failed a gate is the stronger verdict).
    pub fn exit(&self) -> Exit {
        let mut problems = self.urls.iter().flat_map(|u| &u.problems).peekable();
        if problems.peek().is_none() {
            Exit::Success
        } else if problems.all(Problem::is_timeout) {
            Exit::TimedOut
        } else {
            Exit::Failed
        }
    }

    /// One line per problem, naming its URL.
    pub fn problems(&self) -> Vec<String> {
        self.urls
            .iter()
            .flat_map(|u| u.problems.iter().map(move |p| format!("`{}`: {p}", u.url)))
            .collect()
    }

    /// The error this verdict fails with, or `None` when it passed.
    pub fn error(&self) -> Option<Error> {
        let problems = self.problems();
        match self.exit() {
            Exit::Success => None,
            Exit::TimedOut => Some(Error::TimedOut { problems }),
            _ => Some(Error::Failed { problems }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(problems: Vec<Problem>) -> UrlReport {
        UrlReport {
            url: "http://x/".into(),
            tries: 1,
            waited: Duration::ZERO,
            figures: None,
            problems,
        }
    }

    fn verdict(urls: Vec<UrlReport>) -> Verdict {
        Verdict {
            urls,
            overall: Figures::default(),
            gates: Gates {
                requests: 20,
                concurrency: 4,
                max_error_rate: 0.01,
                max_p95: None,
                wait_for: Duration::from_secs(120),
            },
        }
    }

    fn never(wait_for: u64) -> Problem {
        Problem::NeverPassed {
            wait_for: Duration::from_secs(wait_for),
            tries: 3,
            last: "expected status 2xx, got 503 (after 2ms; body: starting)".into(),
        }
    }

    #[test]
    fn exit_codes_by_problem() {
        assert_eq!(verdict(vec![report(vec![])]).exit(), Exit::Success);
        assert_eq!(
            verdict(vec![report(vec![never(120)])]).exit(),
            Exit::TimedOut
        );
        // wait-for 0s: one try, no waiting: a failure, not a timeout.
        assert_eq!(verdict(vec![report(vec![never(0)])]).exit(), Exit::Failed);
        let slow = Problem::SlowP95 {
            p95: Duration::from_millis(900),
            max: Duration::from_millis(800),
        };
        let mixed = verdict(vec![report(vec![never(120)]), report(vec![slow])]);
        assert_eq!(mixed.exit(), Exit::Failed);
        assert!(matches!(mixed.error(), Some(Error::Failed { problems }) if problems.len() == 2));
    }

    #[test]
    fn problems_read_as_sentences() {
        assert_eq!(
            never(120).to_string(),
            "no passing response within wait-for 2m (3 tries); last: expected status 2xx, got 503 (after 2ms; body: starting)"
        );
        let rate = Problem::ErrorRate {
            rate: 0.2,
            max: 0.01,
            errors: 2,
            requests: 10,
            first: "expected status 2xx, got 502 (after 1ms; body: bad gateway)".into(),
        };
        assert_eq!(
            rate.to_string(),
            "error rate 20.00% is above max-error-rate 1.00% (2 of 10 failed; first: expected status 2xx, got 502 (after 1ms; body: bad gateway))"
        );
    }
}
