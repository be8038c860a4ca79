//! Figures: error rate and nearest-rank latency percentiles over a set of requests.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::probe::Attempt;

/// Failures quoted in full per URL; the rest are counted by reason.
pub const FAILURES_KEPT: usize = 10;

/// Nearest-rank percentile (`p` in 0..=1) of sorted values: the smallest value with at least
/// `p` of the samples at or below it, i.e. the value at rank ⌈p·n⌉ (at least rank 1). No
/// interpolation, so it is always a latency that really happened. `None` for no samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    // p ≤ 1 and len ≥ 1, so the product is a small non-negative number: the cast cannot wrap.
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// What a set of requests to one URL (or all URLs) came to.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub requests: usize,
    pub errors: usize,
    /// Every request's latency, failed ones included, sorted.
    pub latencies: Vec<Duration>,
    /// Responses per status code; `none` counts requests that got no response.
    pub statuses: BTreeMap<String, usize>,
    /// Failure reasons with their counts, most frequent first.
    pub reasons: Vec<(String, usize)>,
    /// The first [`FAILURES_KEPT`] failures with their detail (status, timing, body).
    pub failures: Vec<String>,
}

impl Figures {
    pub fn from_attempts(attempts: &[Attempt]) -> Self {
        let mut latencies: Vec<Duration> = attempts.iter().map(|a| a.latency).collect();
        latencies.sort_unstable();
        let mut statuses = BTreeMap::new();
        let mut reasons: Vec<(String, usize)> = Vec::new();
        for attempt in attempts {
            let status = attempt
                .status
                .map_or_else(|| "none".to_owned(), |s| s.to_string());
            *statuses.entry(status).or_insert(0) += 1;
            if let Some(reason) = &attempt.failure {
                match reasons.iter_mut().find(|(known, _)| known == reason) {
                    Some((_, count)) => *count += 1,
                    None => reasons.push((reason.clone(), 1)),
                }
            }
        }
        // Stable: equally frequent reasons keep the order they were first seen in.
        reasons.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        let failed = attempts.iter().filter(|a| !a.passed());
        Self {
            requests: attempts.len(),
            errors: failed.clone().count(),
            latencies,
            statuses,
            reasons,
            failures: failed.take(FAILURES_KEPT).map(Attempt::describe).collect(),
        }
    }

    /// The figures of several sets together (the overall outputs).
    pub fn merge<'a>(all: impl IntoIterator<Item = &'a Figures>) -> Self {
        let mut merged = Figures::default();
        for figures in all {
            merged.requests += figures.requests;
            merged.errors += figures.errors;
            merged.latencies.extend_from_slice(&figures.latencies);
            for (status, count) in &figures.statuses {
                *merged.statuses.entry(status.clone()).or_insert(0) += count;
            }
        }
        merged.latencies.sort_unstable();
        merged
    }

    /// errors / requests; `None` when no request was sent.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    pub fn p50(&self) -> Option<Duration> {
        percentile(&self.latencies, 0.50)
    }

    pub fn p95(&self) -> Option<Duration> {
        percentile(&self.latencies, 0.95)
    }

    pub fn max(&self) -> Option<Duration> {
        self.latencies.last().copied()
    }
}

/// `1.25%`.
pub fn format_rate(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    fn attempt(ms: u64, status: Option<u16>, failure: Option<&str>) -> Attempt {
        Attempt {
            latency: Duration::from_millis(ms),
            status,
            failure: failure.map(str::to_owned),
            detail: format!("after {ms}ms"),
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let twenty = ms(&(1..=20).collect::<Vec<_>>());
        // rank ⌈0.95·20⌉ = 19, ⌈0.5·20⌉ = 10
        assert_eq!(percentile(&twenty, 0.95), Some(Duration::from_millis(19)));
        assert_eq!(percentile(&twenty, 0.50), Some(Duration::from_millis(10)));
        // With fewer than 20 samples the p95 is the maximum.
        assert_eq!(
            percentile(&ms(&[1, 2, 3, 100]), 0.95),
            Some(Duration::from_millis(100))
        );
        assert_eq!(percentile(&ms(&[7]), 0.95), Some(Duration::from_millis(7)));
        assert_eq!(
            percentile(&ms(&[3, 4]), 0.0),
            Some(Duration::from_millis(3))
        );
        assert_eq!(
            percentile(&ms(&[3, 4]), 1.0),
            Some(Duration::from_millis(4))
        );
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&ms(&[3]), f64::NAN), None);
    }

    #[test]
    fn the_p95_of_100_ignores_the_worst_five() {
        let mut values = ms(&[10; 95]);
        values.extend(ms(&[900; 5]));
        assert_eq!(percentile(&values, 0.95), Some(Duration::from_millis(10)));
        values.push(Duration::from_millis(900));
        // 101 samples: rank ⌈95.95⌉ = 96, one of the slow ones.
        assert_eq!(percentile(&values, 0.95), Some(Duration::from_millis(900)));
    }

    #[test]
    fn figures_count_statuses_and_reasons() {
        let figures = Figures::from_attempts(&[
            attempt(5, Some(200), None),
            attempt(7, Some(502), Some("expected status 2xx, got 502")),
            attempt(30, None, Some("no response within 30ms")),
            attempt(6, Some(502), Some("expected status 2xx, got 502")),
        ]);
        assert_eq!((figures.requests, figures.errors), (4, 3));
        assert_eq!(figures.error_rate(), Some(0.75));
        assert_eq!(figures.statuses["502"], 2);
        assert_eq!(figures.statuses["none"], 1);
        assert_eq!(
            figures.reasons,
            [
                ("expected status 2xx, got 502".to_owned(), 2),
                ("no response within 30ms".to_owned(), 1)
            ]
        );
        assert_eq!(figures.failures.len(), 3);
        assert_eq!(figures.max(), Some(Duration::from_millis(30)));
    }

    #[test]
    fn no_requests_no_rate() {
        assert_eq!(Figures::default().error_rate(), None);
        assert_eq!(Figures::default().p95(), None);
    }

    #[test]
    fn merged_figures_pool_latencies() {
        let a = Figures::from_attempts(&[attempt(1, Some(200), None)]);
        let b = Figures::from_attempts(&[attempt(9, Some(500), Some("x"))]);
        let all = Figures::merge([&a, &b]);
        assert_eq!((all.requests, all.errors), (2, 1));
        assert_eq!(all.latencies, ms(&[1, 9]));
    }

    #[test]
    fn rates_format_as_percent() {
        assert_eq!(format_rate(0.0125), "1.25%");
        assert_eq!(format_rate(0.0), "0.00%");
    }
}
