//! Response bodies written to attack the job log, read back the way a GitHub Actions runner reads
//! it (deploy_kit_testbed::runner_commands): none of their text acts; it still shows.

use deploy_kit_testbed::runner_commands::{Event, HOSTILE, read};

use crate::harness::{args, smoke};
use crate::server::{Reply, Server};

/// Every command the runner acted on is one of ours: the final error (titled smoke-test) and the
/// failure group around the quoted bodies.
fn assert_only_ours(log: &str) -> Vec<String> {
    let outcome = read(log);
    assert!(!outcome.left_stopped, "commands resumed:\n{log}");
    for event in outcome.acted() {
        match event {
            Event::Command {
                name, properties, ..
            } if name == "error" => {
                assert_eq!(
                    properties,
                    &[("title".to_owned(), "smoke-test".to_owned())],
                    "{log}"
                );
            }
            Event::Command { name, .. } if name == "group" || name == "endgroup" => {}
            other => panic!("a command came out of a body: {other:?}\n{log}"),
        }
    }
    outcome.shown
}

#[tokio::test]
async fn hostile_bodies_of_failed_load_requests_act_on_nothing_and_show() {
    // The first request passes, the load requests fail with a body made of every attack.
    let body = HOSTILE.join("\n");
    let server = Server::start(move |n, _| {
        if n == 0 {
            Reply::new(200, "ok")
        } else {
            Reply::new(500, &body)
        }
    })
    .await;
    let run = smoke(args(&server.url)).await;
    assert!(run.message().contains("got 500"), "{}", run.message());
    let shown = assert_only_ours(&run.log());
    // Quoted on one line (whitespace collapsed), each attack is there for the reader.
    for attack in [
        "##[error]fake failure",
        "::stop-commands::pwn",
        "::set-env name=NODE_OPTIONS",
    ] {
        assert!(
            shown.iter().any(|line| line.contains(attack)),
            "`{attack}` shown:\n{}",
            run.log()
        );
    }
}

#[tokio::test]
async fn a_hostile_json_value_in_a_failed_assertion_acts_on_nothing() {
    let server = Server::always(Reply::new(
        200,
        r###"{"status": "##[add-mask]passed", "x": "\r::stop-commands::pwn"}"###,
    ))
    .await;
    let mut a = args(&server.url);
    a.wait_for = Some("0s".into());
    a.expect_json = Some("/status=ok".into());
    let run = smoke(a).await;
    assert!(
        run.message().contains("JSON /status is"),
        "{}",
        run.message()
    );
    let shown = assert_only_ours(&run.log());
    assert!(
        shown.iter().any(|line| line.contains("##[add-mask]passed")),
        "{}",
        run.log()
    );
}
