//! The verdict for people (the step-summary table) and for programs (the JSON report file).

use std::path::PathBuf;
use std::time::Duration;

use deploy_kit_gha::Runner;
use deploy_kit_gha::summary::{Table, code};
use serde_json::{Value, json};

use crate::Error;
use crate::probe::format_latency;
use crate::stats::{Figures, format_rate};
use crate::verdict::{UrlReport, Verdict};

impl Verdict {
    /// The step-summary Markdown: a heading with the result, the gates, one row per URL.
    pub fn summary(&self, title: &str) -> String {
        let mut table = Table::new([
            "URL",
            "requests",
            "errors",
            "error rate",
            "p50",
            "p95",
            "verdict",
        ]);
        for u in &self.urls {
            let figures = u.figures.as_ref();
            let verdict = if u.passed() {
                "✅ passed".to_owned()
            } else {
                let problems: Vec<String> = u.problems.iter().map(ToString::to_string).collect();
                format!("❌ {}", problems.join("; "))
            };
            table.row([
                code(&u.url),
                figures.map_or("-".into(), |f| f.requests.to_string()),
                figures.map_or("-".into(), |f| f.errors.to_string()),
                rate(figures.and_then(Figures::error_rate)),
                latency(figures.and_then(Figures::p50)),
                latency(figures.and_then(Figures::p95)),
                verdict,
            ]);
        }
        let result = if self.passed() { "passed" } else { "failed" };
        let gates = &self.gates;
        let p95 = gates.max_p95.map_or(String::new(), |max| {
            format!(", p95 ≤ {}", format_latency(max))
        });
        format!(
            "### {title}: {result}\n\n{} requests per URL, {} at a time; gates: error rate ≤ {}{p95}.\n\n{}\n",
            gates.requests,
            gates.concurrency,
            format_rate(gates.max_error_rate),
            table.render()
        )
    }

    /// The JSON report (`report` output): overall and per-URL figures, and the failures.
    pub fn to_json(&self) -> Value {
        let gates = &self.gates;
        json!({
            "passed": self.passed(),
            "exit_code": self.exit().code(),
            "requests": self.overall.requests,
            "errors": self.overall.errors,
            "error_rate": self.overall.error_rate(),
            "p50_ms": ms(self.overall.p50()),
            "p95_ms": ms(self.overall.p95()),
            "gates": {
                "requests": gates.requests,
                "concurrency": gates.concurrency,
                "max_error_rate": gates.max_error_rate,
                "max_p95_ms": ms(gates.max_p95),
                "wait_for_ms": ms(Some(gates.wait_for)),
            },
            "urls": self.urls.iter().map(url_json).collect::<Vec<_>>(),
        })
    }
}

fn url_json(u: &UrlReport) -> Value {
    let figures = u.figures.as_ref();
    json!({
        "url": u.url,
        "passed": u.passed(),
        "tries": u.tries,
        "waited_ms": ms(Some(u.waited)),
        "requests": figures.map_or(0, |f| f.requests),
        "errors": figures.map_or(0, |f| f.errors),
        "error_rate": figures.and_then(Figures::error_rate),
        "p50_ms": ms(figures.and_then(Figures::p50)),
        "p95_ms": ms(figures.and_then(Figures::p95)),
        "max_ms": ms(figures.and_then(Figures::max)),
        "statuses": figures.map(|f| &f.statuses),
        "failure_reasons": figures.map_or_else(Vec::new, |f| {
            f.reasons.iter().map(|(reason, count)| json!({"reason": reason, "count": count})).collect()
        }),
        "failures": figures.map_or(&[][..], |f| &f.failures[..]),
        "problems": u.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// Milliseconds with microsecond precision, as a JSON number.
fn ms(duration: Option<Duration>) -> Option<f64> {
    duration.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3)
}

fn rate(rate: Option<f64>) -> String {
    rate.map_or("-".into(), format_rate)
}

fn latency(latency: Option<Duration>) -> String {
    latency.map_or("-".into(), format_latency)
}

/// Writes the JSON report under `$RUNNER_TEMP` (the system temp dir locally), secrets redacted:
/// a body quoted in a failure may echo a header back.
pub fn write_report(verdict: &Verdict, runner: &Runner) -> Result<PathBuf, Error> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = runner
        .env()
        .temp_dir
        .join(format!("smoke-test-{}-{nanos}.json", std::process::id()));
    let text = serde_json::to_string_pretty(&verdict.to_json()).map_err(|error| Error::Write {
        what: "the report".into(),
        source: error.into(),
    })?;
    std::fs::write(&path, format!("{}\n", runner.redact(&text))).map_err(|source| {
        Error::Write {
            what: format!("the report {}", path.display()),
            source,
        }
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Attempt;
    use crate::verdict::{Gates, Problem};

    fn attempt(ms: u64, status: u16, failure: Option<&str>) -> Attempt {
        Attempt {
            latency: Duration::from_millis(ms),
            status: Some(status),
            failure: failure.map(str::to_owned),
            detail: format!("after {ms}ms; body: x"),
        }
    }

    fn verdict() -> Verdict {
        let mut attempts: Vec<Attempt> = (1..=9).map(|ms| attempt(ms, 200, None)).collect();
        attempts.push(attempt(40, 502, Some("expected status 2xx, got 502")));
        let figures = Figures::from_attempts(&attempts);
        let slow = UrlReport {
            url: "https://a.example/health".into(),
            tries: 3,
            waited: Duration::from_millis(1750),
            problems: vec![Problem::ErrorRate {
                rate: 0.1,
                max: 0.01,
                errors: 1,
                requests: 10,
                first: figures.failures[0].clone(),
            }],
            figures: Some(figures),
        };
        let down = UrlReport {
            url: "https://b.example/|x".into(),
            tries: 24,
            waited: Duration::from_secs(120),
            figures: None,
            problems: vec![Problem::NeverPassed {
                wait_for: Duration::from_secs(120),
                tries: 24,
                last: "connection failed (after 1ms)".into(),
            }],
        };
        let overall = Figures::merge(slow.figures.as_ref());
        Verdict {
            urls: vec![slow, down],
            overall,
            gates: Gates {
                requests: 10,
                concurrency: 4,
                max_error_rate: 0.01,
                max_p95: Some(Duration::from_millis(800)),
                wait_for: Duration::from_secs(120),
            },
        }
    }

    #[test]
    fn the_summary_has_one_row_per_url_and_the_gates() {
        insta::assert_snapshot!(verdict().summary("Smoke test"), @r"
        ### Smoke test: failed

        10 requests per URL, 4 at a time; gates: error rate ≤ 1.00%, p95 ≤ 800ms.

        | URL | requests | errors | error rate | p50 | p95 | verdict |
        | --- | --- | --- | --- | --- | --- | --- |
        | `https://a.example/health` | 10 | 1 | 10.00% | 5.0ms | 40ms | ❌ error rate 10.00% is above max-error-rate 1.00% (1 of 10 failed; first: expected status 2xx, got 502 (after 40ms; body: x)) |
        | `https://b.example/\|x` | - | - | - | - | - | ❌ no passing response within wait-for 2m (24 tries); last: connection failed (after 1ms) |
        ");
    }

    #[test]
    fn the_report_has_overall_and_per_url_figures() {
        let report = verdict().to_json();
        assert_eq!(report["exit_code"], 1);
        assert_eq!(report["error_rate"], 0.1);
        assert_eq!(report["p95_ms"], 40.0);
        let [slow, down] = [&report["urls"][0], &report["urls"][1]];
        assert_eq!(slow["statuses"], serde_json::json!({"200": 9, "502": 1}));
        assert_eq!(slow["failure_reasons"][0]["count"], 1);
        assert_eq!(slow["waited_ms"], 1750.0);
        assert_eq!(down["requests"], 0);
        assert_eq!(down["error_rate"], Value::Null);
        assert_eq!(down["statuses"], Value::Null);
        assert!(
            down["problems"][0]
                .as_str()
                .unwrap()
                .starts_with("no passing response")
        );
    }
}
