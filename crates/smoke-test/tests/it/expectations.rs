use deploy_kit_gha::Exit;

use crate::harness::{args, smoke};
use crate::server::{Reply, Server};

/// One try, no waiting: the first response decides.
fn once(url: &str) -> deploy_kit_smoke_test::Args {
    let mut a = args(url);
    a.wait_for = Some("0s".into());
    a.requests = Some("2".into());
    a
}

#[tokio::test]
async fn status_codes_classes_and_lists() {
    let server = Server::start(|_, path| match path {
        "/created" => Reply::new(204, ""),
        "/moved" => Reply::redirect("/elsewhere"),
        _ => Reply::new(200, "ok"),
    })
    .await;
    let mut a = once(&format!("{}/created", server.url));
    a.expect_status = Some("200,204".into());
    assert!(smoke(a).await.result.is_ok());

    let mut a = once(&format!("{}/moved", server.url));
    a.expect_status = Some("2xx,302".into());
    assert!(smoke(a).await.result.is_ok());

    let mut a = once(&format!("{}/ok", server.url));
    a.expect_status = Some("204".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::Failed);
    assert!(
        run.message().contains("expected status 204, got 200"),
        "{}",
        run.message()
    );
}

#[tokio::test]
async fn body_substring_regex_and_json_pointers() {
    let server = Server::always(Reply::new(
        200,
        r#"{"status":"degraded","version":"1.4.2","db":{"up":true}}"#,
    ))
    .await;
    let mut a = once(&server.url);
    a.expect_body = Some(r"/version.:.1\.4\.\d+/".into());
    a.expect_json = Some("/version=1.4.2\n/db/up=true".into());
    let run = smoke(a).await;
    assert!(run.result.is_ok(), "{}", run.message());

    let mut a = once(&server.url);
    a.expect_json = Some("/status=ok".into());
    let message = smoke(a).await.message();
    assert!(
        message.contains(r#"JSON /status is "degraded", expected "ok""#),
        "{message}"
    );

    let mut a = once(&server.url);
    a.expect_json = Some("/db/up=false\n/missing=1".into());
    let message = smoke(a).await.message();
    assert!(
        message.contains("JSON /db/up is true, expected false"),
        "{message}"
    );

    let mut a = once(&server.url);
    a.expect_body = Some("healthy".into());
    let message = smoke(a).await.message();
    assert!(
        message.contains("body does not contain `healthy`"),
        "{message}"
    );
}

#[tokio::test]
async fn a_json_expectation_on_a_non_json_body() {
    let server = Server::always(Reply::new(200, "<html>maintenance</html>")).await;
    let mut a = once(&server.url);
    a.expect_json = Some("/status=ok".into());
    let message = smoke(a).await.message();
    assert!(message.contains("body is not JSON"), "{message}");
    assert!(
        message.contains("body: <html>maintenance</html>"),
        "{message}"
    );
}

#[tokio::test]
async fn redirects_are_judged_unless_followed() {
    let server = Server::start(|_, path| {
        if path == "/old" {
            Reply::redirect("/new")
        } else {
            Reply::new(200, "new")
        }
    })
    .await;
    let message = smoke(once(&format!("{}/old", server.url))).await.message();
    assert!(
        message.contains("expected status 2xx, got 302"),
        "{message}"
    );

    let mut a = once(&format!("{}/old", server.url));
    a.follow_redirects = Some("true".into());
    a.expect_body = Some("new".into());
    let run = smoke(a).await;
    assert!(run.result.is_ok(), "{}", run.message());
}

#[tokio::test]
async fn a_redirect_loop_fails_when_following() {
    let server = Server::always(Reply::redirect("/loop")).await;
    let mut a = once(&format!("{}/loop", server.url));
    a.follow_redirects = Some("true".into());
    let message = smoke(a).await.message();
    assert!(message.contains("more than 10 redirects"), "{message}");
}

#[tokio::test]
async fn user_headers_never_follow_a_redirect_to_another_origin() {
    let elsewhere = Server::always(Reply::new(200, "ok")).await;
    let target = format!("{}/steal", elsewhere.url);
    let server = Server::always(Reply::redirect(&format!("{target}?t=tok-123"))).await;
    let mut a = once(&format!("{}/old?key=k-1", server.url));
    a.follow_redirects = Some("true".into());
    a.headers = Some("X-Api-Key: k-secret-999".into());
    let message = smoke(a).await.message();
    assert!(message.contains("redirect to another origin"), "{message}");
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
    assert!(!message.contains("tok-123"), "{message}");
}

#[tokio::test]
async fn without_user_headers_a_cross_origin_redirect_is_followed_without_a_referer() {
    let elsewhere = Server::always(Reply::new(200, "ok")).await;
    let server = Server::always(Reply::redirect(&format!("{}/new", elsewhere.url))).await;
    let mut a = once(&format!("{}/old?token=t-77", server.url));
    a.follow_redirects = Some("true".into());
    let run = smoke(a).await;
    assert!(run.result.is_ok(), "{}", run.message());
    let hop = &elsewhere.requests()[0];
    assert!(!hop.to_ascii_lowercase().contains("referer"), "{hop}");
}

#[tokio::test]
async fn same_origin_redirects_keep_the_user_headers() {
    let server = Server::start(|_, path| {
        if path == "/old" {
            Reply::redirect("/new")
        } else {
            Reply::new(200, "new")
        }
    })
    .await;
    let mut a = once(&format!("{}/old", server.url));
    a.follow_redirects = Some("true".into());
    a.headers = Some("X-Api-Key: k-secret-999".into());
    let run = smoke(a).await;
    assert!(run.result.is_ok(), "{}", run.message());
    let hop = &server.requests()[1];
    assert!(hop.contains("x-api-key: k-secret-999"), "{hop}");
}

#[tokio::test]
async fn the_method_and_user_agent_are_sent() {
    let server = Server::always(Reply::new(200, "ok")).await;
    let mut a = once(&format!("{}/hook", server.url));
    a.method = Some("post".into());
    assert!(smoke(a).await.result.is_ok());
    let first = &server.requests()[0];
    assert!(first.starts_with("POST /hook HTTP/1.1\r\n"), "{first}");
    let agent = format!(
        "user-agent: deploy-kit/{} smoke-test\r\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(first.to_ascii_lowercase().contains(&agent), "{first}");
}

#[tokio::test]
async fn a_host_header_is_sent_as_given_and_only_once() {
    // Testing a virtual host through a load balancer's own DNS name.
    let server = Server::always(Reply::new(200, "ok")).await;
    let mut a = once(&server.url);
    a.headers = Some("Host: api.example.com".into());
    assert!(smoke(a).await.result.is_ok());
    let head = server.requests()[0].to_ascii_lowercase();
    assert_eq!(head.matches("\r\nhost: ").count(), 1, "{head}");
    assert!(head.contains("\r\nhost: api.example.com\r\n"), "{head}");
}
