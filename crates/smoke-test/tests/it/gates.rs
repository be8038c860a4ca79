use std::time::Duration;

use deploy_kit_gha::Exit;

use crate::harness::{args, smoke};
use crate::server::{Reply, Server};

/// Answers the first check, then fails every `every`-th load request with a 502.
async fn failing_every(every: usize) -> Server {
    Server::start(move |n, _| {
        if n > 0 && n % every == 0 {
            Reply::new(502, "bad gateway")
        } else {
            Reply::new(200, "ok")
        }
    })
    .await
}

#[tokio::test]
async fn the_error_rate_gate_fails_above_the_limit() {
    let server = failing_every(5).await; // 2 of the 10 load requests
    let run = smoke(args(&server.url)).await;
    assert_eq!(run.exit(), Exit::Failed);
    assert!(
        run.message().contains(
            "error rate 20.00% is above max-error-rate 1.00% (2 of 10 failed; first: expected status 2xx, got 502"
        ),
        "{}",
        run.message()
    );
    assert_eq!(run.output("error-rate"), "0.2000");
    assert_eq!(run.output("passed"), "false");
}

#[tokio::test]
async fn the_error_rate_gate_is_strict_at_the_limit() {
    // One of 10 load requests fails: 10%.
    let server = Server::start(|n, _| {
        if n == 5 {
            Reply::new(500, "oops")
        } else {
            Reply::new(200, "ok")
        }
    })
    .await;
    let mut a = args(&server.url);
    a.max_error_rate = Some("10%".into());
    let run = smoke(a).await;
    assert!(
        run.result.is_ok(),
        "10% is not above 10%: {}",
        run.message()
    );
    assert_eq!(run.output("error-rate"), "0.1000");

    let server = Server::start(|n, _| {
        if n == 5 {
            Reply::new(500, "oops")
        } else {
            Reply::new(200, "ok")
        }
    })
    .await;
    let mut a = args(&server.url);
    a.max_error_rate = Some("9.9%".into());
    assert_eq!(smoke(a).await.exit(), Exit::Failed);
}

#[tokio::test]
async fn the_p95_gate() {
    let server = Server::always(Reply::slow(200, "ok", Duration::from_millis(150))).await;
    let mut a = args(&server.url);
    a.requests = Some("4".into());
    a.max_p95 = Some("20ms".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::Failed);
    assert!(
        run.message().contains("is above max-p95 20ms"),
        "{}",
        run.message()
    );
    assert!(run.output("p95-ms").parse::<u64>().unwrap() >= 150);
}

#[tokio::test]
async fn both_gates_are_reported_when_both_fail() {
    let server = Server::start(|n, _| {
        if n % 2 == 1 {
            Reply::slow(503, "busy", Duration::from_millis(120))
        } else {
            Reply::slow(200, "ok", Duration::from_millis(120))
        }
    })
    .await;
    let mut a = args(&server.url);
    a.requests = Some("4".into());
    a.max_p95 = Some("10ms".into());
    let message = smoke(a).await.message();
    assert!(message.contains("error rate 50.00%"), "{message}");
    assert!(message.contains("above max-p95 10ms"), "{message}");
}

#[tokio::test]
async fn requests_run_with_the_given_concurrency() {
    let server = Server::always(Reply::slow(200, "ok", Duration::from_millis(200))).await;
    let mut a = args(&server.url);
    a.requests = Some("12".into());
    a.concurrency = Some("3".into());
    let run = smoke(a).await;
    assert!(run.result.is_ok(), "{}", run.message());
    assert_eq!(server.requests().len(), 13, "the first check plus 12");
    assert_eq!(server.max_in_flight(), 3);
}

#[tokio::test]
async fn requests_zero_checks_once() {
    let server = Server::always(Reply::new(200, "ok")).await;
    let mut a = args(&server.url);
    a.requests = Some("0".into());
    let run = smoke(a).await;
    assert!(run.result.is_ok(), "{}", run.message());
    assert_eq!(server.requests().len(), 1);
    assert_eq!(run.report()["urls"][0]["requests"], 1);
    assert!(!run.output("p95-ms").is_empty());
}

#[tokio::test]
async fn each_url_is_gated_on_its_own() {
    let healthy = Server::always(Reply::new(200, "ok")).await;
    let flaky = failing_every(5).await;
    let run = smoke(args(&format!("{}/a\n{}/b", healthy.url, flaky.url))).await;
    assert_eq!(run.exit(), Exit::Failed);
    let message = run.message();
    assert!(
        message.contains(&format!("`{}/b`: error rate 20.00%", flaky.url)),
        "{message}"
    );
    assert!(
        !message.contains(&format!("{}/a", healthy.url)),
        "{message}"
    );
    // Pooled, the error rate would be 10%: the overall output says so, the gate does not care.
    assert_eq!(run.output("error-rate"), "0.1000");
    let report = run.report();
    assert_eq!(report["urls"][0]["passed"], true);
    assert_eq!(report["urls"][1]["passed"], false);
}
