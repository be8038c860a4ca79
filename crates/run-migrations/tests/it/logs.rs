//! Reading the logs after STOPPED with scripted GetLogEvents answers: lines that come late are
//! shown, reading ends once the stream is quiet, and never later than the grace period.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::OutputLogEvent;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_gha::{OutputFormat, Runner, RunnerEnv};
use deploy_kit_run_migrations::logs::{Drained, LogStream};

const EVERY: Duration = Duration::from_millis(10);
const QUIET: Duration = Duration::from_millis(500);
const GRACE: Duration = Duration::from_secs(5);

/// An answer with `lines` and the forward token `token` (CloudWatch repeats the token when
/// there is nothing new).
fn page(lines: &[&str], token: &str) -> GetLogEventsOutput {
    let mut out = GetLogEventsOutput::builder().next_forward_token(token);
    for line in lines {
        out = out.events(OutputLogEvent::builder().message(*line).build());
    }
    out.build()
}

fn stream(client: Client) -> LogStream {
    LogStream::new(client, "/ecs/migrate".into(), "migrate/app/t1".into())
}

fn runner() -> (Runner, deploy_kit_gha::Captured) {
    Runner::capture(
        "run-migrations",
        RunnerEnv::default(),
        OutputFormat::default(),
    )
}

fn shown(captured: &deploy_kit_gha::Captured) -> Vec<String> {
    captured
        .stderr()
        .lines()
        .filter_map(|l| l.strip_prefix("│ "))
        .map(str::to_owned)
        .collect()
}

/// Nothing new at STOPPED; the error line comes a few reads later: it is shown, then reading
/// ends after a quiet period.
#[tokio::test]
async fn a_line_that_comes_after_stopped_is_shown() {
    let calls = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&calls);
    let rule = mock!(Client::get_log_events).then_output(move || {
        match count.fetch_add(1, Ordering::SeqCst) {
            0..=3 => page(&[], "t1"),
            4 => page(&["ERROR: relation \"orders\" already exists"], "t2"),
            _ => page(&[], "t2"),
        }
    });
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&rule]);
    let (runner, captured) = runner();
    let mut logs = stream(client);
    let drained = logs.flush(&runner, EVERY, QUIET, GRACE).await;
    assert_eq!(drained, Drained::Quiet);
    assert_eq!(
        shown(&captured),
        ["ERROR: relation \"orders\" already exists"]
    );
    assert_eq!(logs.lines, 1);
    assert!(
        calls.load(Ordering::SeqCst) >= 4 + 5,
        "read on for a quiet period after the late line"
    );
}

/// A stream already complete at STOPPED: read to the end, then a quiet period, and done.
#[tokio::test]
async fn a_complete_stream_ends_after_the_quiet_period() {
    let calls = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&calls);
    let rule = mock!(Client::get_log_events).then_output(move || {
        match count.fetch_add(1, Ordering::SeqCst) {
            0 => page(&["applying 001", "applying 002"], "t1"),
            _ => page(&[], "t1"),
        }
    });
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&rule]);
    let (runner, captured) = runner();
    let started = tokio::time::Instant::now();
    let drained = stream(client).flush(&runner, EVERY, QUIET, GRACE).await;
    assert_eq!(drained, Drained::Quiet);
    assert_eq!(shown(&captured), ["applying 001", "applying 002"]);
    assert!(started.elapsed() < GRACE, "ended on quiet, not on grace");
}

/// Lines that keep coming: reading stops at the grace period and says so.
#[tokio::test]
async fn lines_that_keep_coming_stop_at_the_grace_period() {
    let calls = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&calls);
    let rule = mock!(Client::get_log_events).then_output(move || {
        let n = count.fetch_add(1, Ordering::SeqCst);
        // One new line every other read: the stream is never quiet for long.
        if n.is_multiple_of(2) {
            page(&[&format!("line {n}")], &format!("t{n}"))
        } else {
            page(&[], &format!("t{}", n - 1))
        }
    });
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&rule]);
    let (runner, _captured) = runner();
    let grace = Duration::from_millis(300);
    let started = tokio::time::Instant::now();
    let drained = stream(client).flush(&runner, EVERY, QUIET, grace).await;
    assert_eq!(drained, Drained::StillArriving);
    assert!(started.elapsed() < Duration::from_secs(2), "bounded");
}
