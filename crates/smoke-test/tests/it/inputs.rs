use deploy_kit_gha::Exit;
use deploy_kit_smoke_test::Args;

use crate::harness::{args, smoke};
use crate::server::{Reply, Server};

#[tokio::test]
async fn bad_inputs_exit_2_naming_the_input_and_send_nothing() {
    let server = Server::always(Reply::new(200, "ok")).await;
    type Change = fn(&mut Args);
    let cases: [(Change, &str); 14] = [
        (|a| a.url = Some(String::new()), "url"),
        (|a| a.url = Some("ftp://example.com/".into()), "url"),
        (|a| a.url = Some("not a url".into()), "url"),
        (|a| a.method = Some("TRACE".into()), "method"),
        (|a| a.headers = Some("no colon here".into()), "headers"),
        (
            |a| a.expect_status = Some("2xx,abc".into()),
            "expect-status",
        ),
        (
            |a| a.expect_body = Some("/[unclosed/".into()),
            "expect-body",
        ),
        (|a| a.expect_json = Some("status=ok".into()), "expect-json"),
        (|a| a.timeout = Some("soon".into()), "timeout"),
        (|a| a.wait_for = Some("-1s".into()), "wait-for"),
        (|a| a.requests = Some("-5".into()), "requests"),
        (|a| a.concurrency = Some("0".into()), "concurrency"),
        (|a| a.max_error_rate = Some("150%".into()), "max-error-rate"),
        (
            |a| a.follow_redirects = Some("maybe".into()),
            "follow-redirects",
        ),
    ];
    for (change, input) in cases {
        let mut a = args(&server.url);
        change(&mut a);
        let run = smoke(a).await;
        assert_eq!(run.exit(), Exit::BadInput, "{input}: {}", run.message());
        assert!(
            run.message().starts_with(&format!("input `{input}`: ")),
            "{input}: {}",
            run.message()
        );
        assert!(run.outputs.is_empty(), "{input}: no outputs on bad input");
    }
    assert!(server.requests().is_empty(), "bad input sends nothing");
}

#[tokio::test]
async fn max_p95_and_head_conflicts_are_bad_input() {
    let mut a = args("http://127.0.0.1:9/");
    a.max_p95 = Some("fast".into());
    assert_eq!(smoke(a).await.exit(), Exit::BadInput);

    let mut a = args("http://127.0.0.1:9/");
    a.method = Some("HEAD".into());
    a.expect_body = Some("ok".into());
    let run = smoke(a).await;
    assert_eq!(run.exit(), Exit::BadInput);
    assert!(
        run.message().starts_with("input `expect-body`: "),
        "{}",
        run.message()
    );
}
