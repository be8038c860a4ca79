use crate::harness::{args, smoke};
use crate::server::{Reply, Server};

const TOKEN: &str = "sup3r-s3cret-value";

#[tokio::test]
async fn header_values_are_sent_and_masked_before_anything_prints() {
    let server = Server::always(Reply::new(200, "ok")).await;
    let mut a = args(&server.url);
    a.headers = Some(format!("Authorization: Bearer {TOKEN}\nX-Trace: t-123"));
    let run = smoke(a).await;
    assert!(run.result.is_ok(), "{}", run.message());
    let first = &server.requests()[0];
    assert!(
        first.contains(&format!("authorization: Bearer {TOKEN}")),
        "{first}"
    );
    assert!(first.contains("x-trace: t-123"), "{first}");
    let log = run.log();
    assert!(
        log.starts_with(&format!("::add-mask::Bearer {TOKEN}\n")),
        "masked first:\n{log}"
    );
    assert_eq!(
        log.matches(TOKEN).count(),
        1,
        "only in its add-mask line:\n{log}"
    );
}

#[tokio::test]
async fn a_token_echoed_in_a_body_is_redacted_in_log_summary_and_report() {
    // Some servers quote the credential they rejected.
    let server = Server::always(Reply::new(401, &format!("invalid token Bearer {TOKEN}"))).await;
    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    a.headers = Some(format!("Authorization: Bearer {TOKEN}"));
    let run = smoke(a).await;
    assert!(run.message().contains("got 401"), "{}", run.message());
    let log = run.log();
    assert!(log.contains("body: invalid token ***"), "{log}");
    assert_eq!(
        log.matches(TOKEN).count(),
        1,
        "only in its add-mask line:\n{log}"
    );
    assert!(!run.summary.contains(TOKEN), "{}", run.summary);
    let report = run.report_text();
    assert!(!report.contains(TOKEN), "{report}");
    assert!(report.contains("invalid token ***"), "{report}");
}

#[tokio::test]
async fn url_passwords_and_secret_query_values_are_masked() {
    let server = Server::always(Reply::new(200, "ok")).await;
    let url = server.url.replace("http://", "http://deploy:hunter2-pass@")
        + "/health?api_key=k-98765&page=2";
    let run = smoke(args(&url)).await;
    assert!(run.result.is_ok(), "{}", run.message());
    assert!(
        server.requests()[0].contains("/health?api_key=k-98765&page=2"),
        "the real URL is requested"
    );
    for secret in ["hunter2-pass", "k-98765"] {
        assert_eq!(run.log().matches(secret).count(), 1, "{}", run.log());
        assert!(!run.summary.contains(secret), "{}", run.summary);
        assert!(!run.report_text().contains(secret), "{}", run.report_text());
    }
}

#[tokio::test]
async fn a_malformed_header_line_is_never_echoed() {
    let mut a = args("http://127.0.0.1:9/");
    a.headers = Some("Accept: application/json\nX-Api-Key k-55555-other".into());
    let run = smoke(a).await;
    let message = run.message();
    assert!(message.contains("input `headers`: item 2"), "{message}");
    assert!(!run.log().contains("k-55555-other"), "{}", run.log());
}
