use deploy_kit_gha::Exit;

use crate::harness::{args, smoke};
use crate::server::{Reply, Server};

#[tokio::test]
async fn a_healthy_service_passes_with_outputs_report_and_summary() {
    let server = Server::always(Reply::new(200, r#"{"status":"ok"}"#)).await;
    let run = smoke(args(&format!("{}/health", server.url))).await;
    assert!(run.result.is_ok(), "{}", run.message());
    assert_eq!(run.output("passed"), "true");
    assert_eq!(run.output("error-rate"), "0.0000");
    for name in ["p50-ms", "p95-ms"] {
        assert!(run.output(name).parse::<u64>().is_ok(), "{:?}", run.outputs);
    }
    assert_eq!(
        server.requests().len(),
        11,
        "the first check plus 10 requests"
    );

    let report = run.report();
    assert_eq!(report["passed"], true);
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["requests"], 10);
    assert_eq!(report["gates"]["max_error_rate"], 0.01);
    let url = &report["urls"][0];
    assert_eq!(url["url"], format!("{}/health", server.url));
    assert_eq!(
        (url["tries"].as_u64(), url["errors"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(url["statuses"]["200"], 10);
    assert!(url["p95_ms"].as_f64().unwrap() >= url["p50_ms"].as_f64().unwrap());

    assert!(
        run.summary.starts_with("### Smoke test: passed\n"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("| URL | requests | errors | error rate | p50 | p95 | verdict |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("| 10 | 0 | 0.00% |"),
        "{}",
        run.summary
    );
}

#[tokio::test]
async fn a_failing_service_still_writes_outputs_summary_and_report() {
    let server = Server::always(Reply::new(500, "database unreachable")).await;
    let mut a = args(&format!("{}/health", server.url));
    a.wait_for = Some("500ms".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::TimedOut);
    assert_eq!(run.output("passed"), "false");
    // Nothing was measured: empty, not a made-up 100% or 0.
    assert_eq!(run.output("error-rate"), "");
    assert_eq!(run.output("p95-ms"), "");
    let report = run.report();
    assert_eq!(report["exit_code"], 3);
    let problem = report["urls"][0]["problems"][0].as_str().unwrap();
    assert!(problem.contains("body: database unreachable"), "{problem}");
    assert!(
        run.summary.contains("### Smoke test: failed"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("❌ no passing response"),
        "{}",
        run.summary
    );
    assert!(
        run.log()
            .contains("::error title=smoke-test::smoke test timed out:%0A`"),
        "{}",
        run.log()
    );
}

#[tokio::test]
async fn long_bodies_are_cut_to_300_bytes_in_messages() {
    let body = format!("{}END", "x".repeat(5000));
    let server = Server::always(Reply::new(503, &body)).await;
    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    let message = smoke(a).await.message();
    let quoted = message.split("body: ").nth(1).unwrap();
    assert!(
        quoted.starts_with("xxx") && !quoted.contains("END"),
        "{message}"
    );
    assert!(quoted.len() < 320, "{}", quoted.len());
}

#[tokio::test]
async fn failures_are_counted_by_reason_in_a_log_group() {
    let server = Server::start(|n, _| {
        if n > 0 && n % 5 == 0 {
            Reply::new(502, "bad gateway")
        } else {
            Reply::new(200, "ok")
        }
    })
    .await;
    let run = smoke(args(&server.url)).await;
    let log = run.log();
    assert!(
        log.contains(&format!(
            "::group::2 of 10 requests to {}/ failed",
            server.url
        )),
        "{log}"
    );
    assert!(log.contains("2× expected status 2xx, got 502"), "{log}");
    let reasons = &run.report()["urls"][0]["failure_reasons"];
    assert_eq!(reasons[0]["count"], 2, "{reasons}");
}
