use std::time::Duration;

use deploy_kit_gha::{Captured, Classify, Exit, OutputFormat, Runner, RunnerEnv, output_pairs};
use deploy_kit_smoke_test::{Args, run};

use crate::server::{Reply, Server};

struct Run {
    result: Result<(), deploy_kit_smoke_test::Error>,
    captured: Captured,
    outputs: Vec<(String, String)>,
    summary: String,
    _dir: tempfile::TempDir,
}

impl Run {
    fn output(&self, name: &str) -> &str {
        self.outputs
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn message(&self) -> String {
        self.result
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    fn exit(&self) -> Exit {
        self.result
            .as_ref()
            .err()
            .map_or(Exit::Success, Classify::exit)
    }
}

fn args(url: &str) -> Args {
    Args {
        url: Some(url.to_owned()),
        method: None,
        headers: None,
        expect_status: None,
        expect_body: None,
        expect_json: None,
        timeout: Some("2s".into()),
        wait_for: Some("3s".into()),
        requests: Some("10".into()),
        concurrency: Some("3".into()),
        max_error_rate: None,
        max_p95: None,
        follow_redirects: None,
    }
}

async fn smoke(args: Args) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let env = RunnerEnv {
        in_actions: true,
        output_file: Some(dir.path().join("output")),
        summary_file: Some(dir.path().join("summary")),
        temp_dir: dir.path().to_path_buf(),
        ..RunnerEnv::default()
    };
    let (runner, captured) = Runner::capture("smoke-test", env, OutputFormat::Lines);
    let result = run(args, &runner).await;
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    Run {
        result,
        captured,
        outputs: output_pairs(&read("output")),
        summary: read("summary"),
        _dir: dir,
    }
}

#[tokio::test]
async fn a_healthy_service_passes_with_figures_report_and_summary() {
    let server = Server::start(|_, _| Reply::new(200, r#"{"status":"ok"}"#)).await;
    let run = smoke(args(&format!("{}/health", server.url))).await;
    assert!(run.result.is_ok(), "{}", run.message());
    assert_eq!(run.output("passed"), "true");
    assert_eq!(run.output("error-rate"), "0.0000");
    assert!(
        run.output("p95-ms").parse::<u64>().is_ok(),
        "{:?}",
        run.outputs
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.output("report")).unwrap()).unwrap();
    assert_eq!(report["requests"], 10);
    assert_eq!(report["urls"][0]["tries"], 1);
    assert_eq!(
        server.requests().len(),
        11,
        "the first check plus 10 requests"
    );
    assert!(
        run.summary.contains("### Smoke test: passed") && run.summary.contains("/health"),
        "{}",
        run.summary
    );
}

#[tokio::test]
async fn a_500_fails_naming_the_url_and_what_came_back() {
    let server = Server::start(|_, _| Reply::new(500, "database unreachable")).await;
    let mut a = args(&format!("{}/health", server.url));
    a.wait_for = Some("500ms".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::Failed);
    let message = run.message();
    assert!(
        message.contains(&format!("`{}/health`", server.url)),
        "{message}"
    );
    assert!(
        message.contains("expected status 2xx, got 500"),
        "{message}"
    );
    assert!(message.contains("body: database unreachable"), "{message}");
    assert_eq!(run.output("passed"), "false");
    assert!(run.summary.contains("failed"));
}

#[tokio::test]
async fn a_flaky_service_passes_once_it_is_up_and_says_how_many_tries() {
    let server = Server::start(|n, _| {
        if n < 3 {
            Reply::new(503, "starting")
        } else {
            Reply::new(200, "ok")
        }
    })
    .await;
    let mut a = args(&server.url);
    a.wait_for = Some("20s".into());
    a.requests = Some("5".into());
    let run = smoke(a).await;
    assert!(run.result.is_ok(), "{}", run.message());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.output("report")).unwrap()).unwrap();
    assert_eq!(report["urls"][0]["tries"], 4);
    let stderr = run.captured.stderr();
    assert_eq!(
        stderr
            .matches("waiting: expected status 2xx, got 503")
            .count(),
        1,
        "one line per state change: {stderr}"
    );
}

#[tokio::test]
async fn a_slow_response_times_out_per_request() {
    let server = Server::start(|_, _| Reply {
        delay: Duration::from_secs(5),
        ..Reply::new(200, "ok")
    })
    .await;
    let mut a = args(&server.url);
    a.timeout = Some("200ms".into());
    a.wait_for = Some("300ms".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::Failed);
    assert!(
        run.message().contains("no response within 200ms"),
        "{}",
        run.message()
    );
}

#[tokio::test]
async fn body_and_json_expectations() {
    let server =
        Server::start(|_, _| Reply::new(200, r#"{"status":"degraded","version":"1.4.2"}"#)).await;
    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    a.expect_body = Some(r"/version.:.1\.4\.\d+/".into());
    a.expect_json = Some("/version=1.4.2".into());
    assert!(smoke(a).await.result.is_ok());

    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    a.expect_json = Some("/status=ok".into());
    let run = smoke(a).await;
    assert!(
        run.message()
            .contains(r#"JSON /status is "degraded", expected "ok""#),
        "{}",
        run.message()
    );

    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    a.expect_body = Some("healthy".into());
    assert!(
        smoke(a)
            .await
            .message()
            .contains("body does not contain `healthy`")
    );
}

#[tokio::test]
async fn the_error_rate_gate() {
    // Every fifth request after the first fails: 2 of 10 = 20%.
    let server = Server::start(|n, _| {
        if n > 0 && n % 5 == 0 {
            Reply::new(502, "bad gateway")
        } else {
            Reply::new(200, "ok")
        }
    })
    .await;
    let run = smoke(args(&server.url)).await;
    assert_eq!(run.exit(), Exit::Failed);
    assert!(
        run.message()
            .contains("error rate 20.00% is above max-error-rate 1.00% (2 of 10 failed"),
        "{}",
        run.message()
    );
    assert_eq!(run.output("error-rate"), "0.2000");

    let server = Server::start(|n, _| {
        if n > 0 && n % 5 == 0 {
            Reply::new(502, "bad gateway")
        } else {
            Reply::new(200, "ok")
        }
    })
    .await;
    let mut a = args(&server.url);
    a.max_error_rate = Some("25%".into());
    assert!(smoke(a).await.result.is_ok());
}

#[tokio::test]
async fn the_p95_gate() {
    let server = Server::start(|_, _| Reply {
        delay: Duration::from_millis(150),
        ..Reply::new(200, "ok")
    })
    .await;
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
}

#[tokio::test]
async fn redirects_are_judged_unless_followed() {
    let script = |_: usize, path: &str| {
        if path == "/old" {
            Reply {
                headers: vec![("Location".into(), "/new".into())],
                ..Reply::new(302, "")
            }
        } else {
            Reply::new(200, "new")
        }
    };
    let server = Server::start(script).await;
    let mut a = args(&format!("{}/old", server.url));
    a.wait_for = Some("0s".into());
    assert!(
        smoke(a)
            .await
            .message()
            .contains("expected status 2xx, got 302")
    );
    let mut a = args(&format!("{}/old", server.url));
    a.follow_redirects = Some("true".into());
    assert!(smoke(a).await.result.is_ok());
}

#[tokio::test]
async fn headers_are_sent_and_their_values_never_printed() {
    let server = Server::start(|_, _| Reply::new(401, "who are you")).await;
    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    a.headers = Some("Authorization: Bearer sup3r-s3cret-value\nX-Trace: t-123".into());
    let run = smoke(a).await;
    assert!(
        server.requests()[0].contains("authorization: Bearer sup3r-s3cret-value"),
        "{:?}",
        server.requests()
    );
    let stderr = run.captured.stderr();
    assert!(
        stderr.starts_with("::add-mask::Bearer sup3r-s3cret-value\n"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("sup3r-s3cret-value").count(),
        1,
        "only in its add-mask line: {stderr}"
    );
    assert!(!run.summary.contains("sup3r"));
}

#[tokio::test]
async fn bad_inputs_exit_2_naming_the_input_and_send_nothing() {
    let server = Server::start(|_, _| Reply::new(200, "ok")).await;
    type Change = fn(&mut Args);
    let cases: [(Change, &str); 5] = [
        (|a| a.url = Some(String::new()), "url"),
        (
            |a| a.expect_status = Some("2xx,abc".into()),
            "expect-status",
        ),
        (|a| a.timeout = Some("soon".into()), "timeout"),
        (|a| a.concurrency = Some("0".into()), "concurrency"),
        (|a| a.headers = Some("no colon here".into()), "headers"),
    ];
    for (change, input) in cases {
        let mut a = args(&server.url);
        change(&mut a);
        let run = smoke(a).await;
        assert_eq!(run.exit(), Exit::BadInput, "{input}");
        assert!(
            run.message().starts_with(&format!("input `{input}`")),
            "{}",
            run.message()
        );
    }
    assert!(server.requests().is_empty());
}
