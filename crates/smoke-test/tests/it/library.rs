//! The API ecs-blue-green calls against its test listener.

use std::time::{Duration, Instant};

use deploy_kit_gha::{Cancellation, Classify, Exit, OutputFormat, Runner, RunnerEnv, Signal};
use deploy_kit_smoke_test::{Args, Checks, Error, Problem, run_checks};

use crate::server::{Reply, Server};

fn test_args(url: &str) -> Args {
    Args {
        url: Some(url.to_owned()),
        wait_for: Some("0s".into()),
        requests: Some("5".into()),
        ..Args::default()
    }
}

fn runner() -> Runner {
    Runner::capture("ecs-blue-green", RunnerEnv::default(), OutputFormat::Lines).0
}

#[test]
fn errors_name_the_prefixed_input() {
    let error = Checks::from_args(&Args::default(), "test-").unwrap_err();
    assert_eq!(error.input, "test-url");
    assert!(
        error
            .to_string()
            .starts_with("input `test-url`: is required"),
        "{error}"
    );
    let mut args = test_args("http://x/");
    args.concurrency = Some("1000".into());
    let error = Checks::from_args(&args, "test-").unwrap_err();
    assert_eq!(
        error.to_string(),
        "input `test-concurrency`: `1000` is not a whole number from 1 to 256"
    );
}

#[tokio::test]
async fn a_failed_check_is_a_verdict_not_an_error() {
    let server = Server::always(Reply::new(500, "green is broken")).await;
    let checks = Checks::from_args(&test_args(&server.url), "test-").unwrap();
    let runner = runner();
    let verdict = run_checks(&checks, &runner, &Cancellation::never())
        .await
        .unwrap();
    assert!(!verdict.passed());
    assert_eq!(verdict.exit(), Exit::Failed);
    assert!(matches!(
        &verdict.urls[0].problems[..],
        [Problem::NeverPassed { tries: 1, .. }]
    ));
    let error = verdict.error().unwrap();
    assert_eq!(error.exit(), Exit::Failed);
    assert!(error.to_string().contains("green is broken"), "{error}");
}

#[tokio::test]
async fn the_verdict_figures_add_up_over_urls() {
    let a = Server::always(Reply::new(200, "ok")).await;
    let b = Server::always(Reply::new(200, "ok")).await;
    let mut args = test_args(&format!("{}\n{}", a.url, b.url));
    args.requests = Some("6".into());
    let checks = Checks::from_args(&args, "test-").unwrap();
    let verdict = run_checks(&checks, &runner(), &Cancellation::never())
        .await
        .unwrap();
    assert!(verdict.passed(), "{:?}", verdict.problems());
    assert!(verdict.error().is_none());
    assert_eq!(verdict.overall.requests, 12);
    assert_eq!(verdict.error_rate(), Some(0.0));
    for url in &verdict.urls {
        assert_eq!(url.figures.as_ref().unwrap().requests, 6);
    }
    assert!(verdict.p95() >= verdict.p50());
    assert!(
        verdict
            .summary("Smoke test of green")
            .starts_with("### Smoke test of green: passed")
    );
}

#[tokio::test]
async fn cancellation_stops_the_checks_at_once() {
    let server = Server::always(Reply::slow(200, "ok", Duration::from_secs(60))).await;
    let mut args = test_args(&server.url);
    args.wait_for = Some("5m".into());
    args.timeout = Some("2m".into());
    let checks = Checks::from_args(&args, "test-").unwrap();
    let (cancellation, trigger) = Cancellation::manual();
    let runner = runner();
    let started = Instant::now();
    let checking = run_checks(&checks, &runner, &cancellation);
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger(Signal::Terminate);
        std::future::pending::<()>().await;
    };
    let result = tokio::select! {
        result = checking => result,
        () = cancel => unreachable!(),
    };
    let Err(Error::Cancelled(cancelled)) = result else {
        panic!("expected a cancellation, got {result:?}");
    };
    assert_eq!(cancelled.signal, Signal::Terminate);
    assert_eq!(Error::Cancelled(cancelled).exit().code(), 143);
    // Deadline behaviour, generous margin: the request in flight (60 s) was not waited for.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
