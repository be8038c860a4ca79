use std::time::Duration;

use deploy_kit_gha::Exit;

use crate::harness::{args, smoke};
use crate::server::{Reply, Server, free_addr};

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
    a.wait_for = Some("30s".into());
    a.requests = Some("5".into());
    let run = smoke(a).await;
    assert!(run.result.is_ok(), "{}", run.message());
    assert_eq!(run.report()["urls"][0]["tries"], 4);
    let log = run.log();
    assert_eq!(
        log.matches("waiting: expected status 2xx, got 503").count(),
        1,
        "one line per change of outcome, not per try:\n{log}"
    );
    assert!(log.contains("first pass on try 4"), "{log}");
}

#[tokio::test]
async fn connection_refused_is_retried_until_the_service_listens() {
    let addr = free_addr().await;
    let starter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        Server::start_on(addr, |_, _| Reply::new(200, "ok")).await
    });
    let mut a = args(&format!("http://{addr}/health"));
    a.wait_for = Some("30s".into());
    a.requests = Some("2".into());
    let run = smoke(a).await;
    let _server = starter.await.unwrap();
    assert!(run.result.is_ok(), "{}", run.message());
    assert!(
        run.log().contains("waiting: connection failed"),
        "{}",
        run.log()
    );
    assert!(run.report()["urls"][0]["tries"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn a_service_that_never_passes_times_out_with_exit_3_at_the_deadline() {
    let server = Server::always(Reply::new(503, "still starting")).await;
    let mut a = args(&format!("{}/health", server.url));
    a.wait_for = Some("1s".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::TimedOut);
    let message = run.message();
    assert!(message.starts_with("smoke test timed out:\n"), "{message}");
    assert!(
        message.contains(&format!(
            "`{}/health`: no passing response within wait-for 1.0s",
            server.url
        )),
        "{message}"
    );
    assert!(
        message.contains("last: expected status 2xx, got 503 (after ")
            && message.contains("body: still starting"),
        "{message}"
    );
    assert!(server.requests().len() > 1, "it retried");
    // Deadline behaviour, with generous margins: it waited the deadline out, and not much longer.
    assert!(run.took >= Duration::from_secs(1), "{:?}", run.took);
    assert!(run.took < Duration::from_secs(10), "{:?}", run.took);
}

#[tokio::test]
async fn wait_for_zero_makes_one_try_and_a_failure_exits_1() {
    let server = Server::always(Reply::new(500, "boom")).await;
    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::Failed);
    assert_eq!(server.requests().len(), 1);
    assert!(
        run.message()
            .contains("(1 try); last: expected status 2xx, got 500"),
        "{}",
        run.message()
    );
}

#[tokio::test]
async fn one_deadline_covers_every_url_and_each_gets_a_try() {
    let first = Server::always(Reply::new(503, "down")).await;
    let second = Server::always(Reply::new(503, "down")).await;
    let mut a = args(&format!("{}\n{}", first.url, second.url));
    a.wait_for = Some("1s".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::TimedOut);
    let report = run.report();
    assert!(report["urls"][0]["tries"].as_u64().unwrap() > 1);
    // The first URL used up the deadline: the second gets its one try, not a second deadline.
    assert_eq!(report["urls"][1]["tries"], 1);
    assert_eq!(second.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_response_times_out_per_request() {
    let server = Server::always(Reply::slow(200, "ok", Duration::from_secs(30))).await;
    let mut a = args(&server.url);
    a.timeout = Some("200ms".into());
    a.wait_for = Some("300ms".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::TimedOut);
    assert!(
        run.message().contains("no response within 200ms"),
        "{}",
        run.message()
    );
    assert!(run.took < Duration::from_secs(10), "{:?}", run.took);
}

#[tokio::test]
async fn a_connection_that_breaks_off_is_a_failure_with_a_reason() {
    let server = Server::always(Reply {
        hang_up: true,
        ..Reply::new(200, "")
    })
    .await;
    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::Failed);
    assert!(
        run.message().contains("last: request failed: "),
        "{}",
        run.message()
    );
}
