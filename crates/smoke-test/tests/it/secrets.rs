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
        2,
        "only in its add-mask lines (whole value and token):\n{log}"
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
        2,
        "only in its add-mask lines:\n{log}"
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

#[tokio::test]
async fn a_server_echoing_part_of_a_header_value_does_not_leak_it() {
    // The server quotes only the token, not `Bearer <token>`, and one cookie of two.
    let server = Server::always(Reply::new(
        403,
        &format!("rejected {TOKEN}; session c00kie-value-77 unknown"),
    ))
    .await;
    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    a.headers = Some(format!(
        "Authorization: Bearer {TOKEN}\nCookie: session=c00kie-value-77; theme=dark"
    ));
    let run = smoke(a).await;
    let log = run.log();
    assert!(log.contains("rejected ***; session *** unknown"), "{log}");
    let shown: Vec<&str> = log
        .lines()
        .filter(|line| !line.starts_with("::add-mask::"))
        .collect();
    for secret in [TOKEN, "c00kie-value-77"] {
        assert!(
            !shown.join("\n").contains(secret),
            "{secret} leaked:\n{log}"
        );
        assert!(!run.summary.contains(secret), "{}", run.summary);
        assert!(!run.report_text().contains(secret), "{}", run.report_text());
    }
}

#[tokio::test]
async fn every_query_value_and_the_userinfo_stay_out_of_messages() {
    // `id` is not a secret-looking name (so it is not masked), yet its value stays out of messages.
    let server = Server::always(Reply::new(503, "down")).await;
    let url = server.url.replace("http://", "http://deploy@") + "/h?id=a1b2c3d4e5&page=2";
    let mut a = args(&url);
    a.wait_for = Some("0s".into());
    let run = smoke(a).await;
    let everything = format!(
        "{}{}{}{}",
        run.log(),
        run.summary,
        run.report_text(),
        run.message()
    );
    assert!(!everything.contains("a1b2c3d4e5"), "{everything}");
    assert!(!everything.contains("deploy@"), "{everything}");
    assert!(everything.contains("/h?id=***&page=***"), "{everything}");
}
