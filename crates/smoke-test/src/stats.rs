//! Figures and the verdict: error rate and latency percentiles per URL and overall.

use std::time::Duration;

use deploy_kit_gha::summary::{Table, code};
use serde_json::{Value, json};

use crate::checks::Checks;
use crate::probe::Attempt;

/// Failures quoted per URL in the report; the rest are counted.
const FAILURES_KEPT: usize = 10;

/// Nearest-rank percentile (`p` in 0..=1) of sorted values: the smallest value with at least
/// `p` of the samples at or below it. No interpolation, so it is always a latency that happened.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// What happened at one URL.
#[derive(Debug, Clone)]
pub struct UrlReport {
    pub url: String,
    /// Tries until the first passing response.
    pub tries: u32,
    pub requests: usize,
    pub errors: usize,
    pub latencies: Vec<Duration>,
    pub failures: Vec<String>,
    /// Why this URL failed its gates, if it did.
    pub problem: Option<String>,
}

impl UrlReport {
    pub(crate) fn never_passed(
        url: &reqwest::Url,
        tries: u32,
        failure: String,
        wait_for: Duration,
    ) -> Self {
        Self {
            url: url.to_string(),
            tries,
            requests: 0,
            errors: 0,
            latencies: Vec::new(),
            problem: Some(format!(
                "no passing response within wait-for {} ({tries} tries); last: {failure}",
                deploy_kit_gha::format_duration(wait_for)
            )),
            failures: vec![failure],
        }
    }

    pub(crate) fn from_attempts(
        url: &reqwest::Url,
        tries: u32,
        attempts: &[Attempt],
        checks: &Checks,
    ) -> Self {
        let mut latencies: Vec<Duration> = attempts.iter().map(|a| a.latency).collect();
        latencies.sort();
        let failures: Vec<String> = attempts
            .iter()
            .filter(|a| !a.passed())
            .map(Attempt::describe)
            .collect();
        let mut report = Self {
            url: url.to_string(),
            tries,
            requests: attempts.len(),
            errors: failures.len(),
            latencies,
            failures,
            problem: None,
        };
        report.problem = report.gate(checks);
        report.failures.truncate(FAILURES_KEPT);
        report
    }

    fn gate(&self, checks: &Checks) -> Option<String> {
        if self.error_rate() > checks.max_error_rate {
            let first = self.failures.first().map(String::as_str).unwrap_or("");
            return Some(format!(
                "error rate {} is above max-error-rate {} ({} of {} failed; first: {first})",
                format_rate(self.error_rate()),
                format_rate(checks.max_error_rate),
                self.errors,
                self.requests
            ));
        }
        match (checks.max_p95, self.p95()) {
            (Some(max), Some(p95)) if p95 > max => Some(format!(
                "p95 latency {} is above max-p95 {}",
                format_ms(p95),
                format_ms(max)
            )),
            _ => None,
        }
    }

    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            1.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    pub fn p50(&self) -> Option<Duration> {
        percentile(&self.latencies, 0.50)
    }

    pub fn p95(&self) -> Option<Duration> {
        percentile(&self.latencies, 0.95)
    }

    pub fn one_line(&self) -> String {
        let verdict = if self.problem.is_none() {
            "passed"
        } else {
            "failed"
        };
        format!(
            "{verdict}: {} requests, {} errors, p50 {}, p95 {}",
            self.requests,
            self.errors,
            self.p50().map_or("-".into(), format_ms),
            self.p95().map_or("-".into(), format_ms)
        )
    }
}

/// The result of all checks.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub urls: Vec<UrlReport>,
    pub requests: usize,
    pub errors: usize,
    pub p50: Option<Duration>,
    pub p95: Option<Duration>,
}

impl Verdict {
    pub(crate) fn new(urls: Vec<UrlReport>, _checks: &Checks) -> Self {
        let mut all: Vec<Duration> = urls
            .iter()
            .flat_map(|u| u.latencies.iter().copied())
            .collect();
        all.sort();
        Self {
            requests: urls.iter().map(|u| u.requests).sum(),
            errors: urls.iter().map(|u| u.errors).sum(),
            p50: percentile(&all, 0.50),
            p95: percentile(&all, 0.95),
            urls,
        }
    }

    pub fn passed(&self) -> bool {
        self.urls.iter().all(|u| u.problem.is_none())
    }

    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            1.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    /// Each failing URL with its reason, one per line.
    pub fn problems(&self) -> Vec<String> {
        self.urls
            .iter()
            .filter_map(|u| u.problem.as_ref().map(|p| format!("`{}`: {p}", u.url)))
            .collect()
    }

    /// The step-summary Markdown.
    pub fn summary(&self, title: &str) -> String {
        let mut table = Table::new([
            "URL",
            "tries",
            "requests",
            "errors",
            "error rate",
            "p50",
            "p95",
            "verdict",
        ]);
        for u in &self.urls {
            let verdict = match &u.problem {
                None => "✅ passed".to_owned(),
                Some(problem) => format!("❌ {problem}"),
            };
            table.row([
                code(&u.url),
                u.tries.to_string(),
                u.requests.to_string(),
                u.errors.to_string(),
                format_rate(u.error_rate()),
                u.p50().map_or("-".into(), format_ms),
                u.p95().map_or("-".into(), format_ms),
                verdict,
            ]);
        }
        let result = if self.passed() { "passed" } else { "failed" };
        format!("### {title}: {result}\n\n{}\n", table.render())
    }

    /// The JSON report written to a file (`report` output).
    pub fn to_json(&self) -> Value {
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
        json!({
            "passed": self.passed(),
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.error_rate(),
            "p50_ms": ms(self.p50),
            "p95_ms": ms(self.p95),
            "urls": self.urls.iter().map(|u| json!({
                "url": u.url,
                "tries": u.tries,
                "requests": u.requests,
                "errors": u.errors,
                "error_rate": u.error_rate(),
                "p50_ms": ms(u.p50()),
                "p95_ms": ms(u.p95()),
                "problem": u.problem,
                "failures": u.failures,
            })).collect::<Vec<_>>(),
        })
    }
}

pub fn format_ms(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

pub fn format_rate(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values = ms(&(1..=20).collect::<Vec<_>>());
        assert_eq!(percentile(&values, 0.95), Some(Duration::from_millis(19)));
        assert_eq!(percentile(&values, 0.50), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&ms(&[7]), 0.95), Some(Duration::from_millis(7)));
        assert_eq!(
            percentile(&ms(&[1, 100]), 0.95),
            Some(Duration::from_millis(100))
        );
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(
            percentile(&ms(&[3, 4]), 0.0),
            Some(Duration::from_millis(3))
        );
    }

    #[test]
    fn rates_format_as_percent() {
        assert_eq!(format_rate(0.0125), "1.25%");
        assert_eq!(format_ms(Duration::from_micros(12_700)), "12ms");
    }
}
