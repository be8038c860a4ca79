//! smoke-test against real HTTP servers on loopback, each started and stopped by its test.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is a failed test

// A scriptable HTTP/1.1 server (healthy, failing, flaky, slow, hanging up, redirecting).
mod server;
// Runs the action as the binary does and reads back outputs, summary, report and log.
mod harness;

// Phase 1: waiting for a first passing response, backoff, the wait-for deadline (exit 3).
mod waiting;
// Phase 2: the error-rate and p95 gates, concurrency, per-URL verdicts.
mod gates;
// Status lists and classes, body substring/regex, JSON pointers, redirects, method.
mod expectations;
// Outputs, the JSON report, the summary table and the log lines.
mod outputs;
// Header values, URL passwords and echoed tokens never reach a log, summary or report.
mod secrets;
// Hostile response bodies, read as the runner reads the log: nothing acts, everything shows.
mod hostile;
// Bad inputs exit 2, name the input and send nothing.
mod inputs;
// The library API ecs-blue-green uses: prefixed inputs, verdicts, cancellation.
mod library;
