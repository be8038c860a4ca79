//! Hostile text through the binary, read the way a GitHub Actions runner reads a step's output
//! (deploy_kit_testbed::runner_commands, a model of actions/runner's command parser): an AWS error
//! message and an HTTP body made of attacks end up as data of deploy-kit's own `::error`, and
//! nothing else acts.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

use deploy_kit_testbed::runner_commands::{Event, HOSTILE, read};

/// A loopback server answering every request with `status` and `body` (JSON), until dropped
/// with the test process.
fn serve(status: &str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let status = status.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buffer = [0u8; 65536];
            let _ = stream.read(&mut buffer);
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

fn deploy_kit(args: &[&str], env: &[(&str, &str)]) -> Output {
    let temp = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_deploy-kit"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GITHUB_ACTIONS", "true")
        .env("RUNNER_TEMP", temp.path())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The one command that acted is our error, titled `action`; its data is returned.
fn only_our_error(output: &Output, action: &str) -> String {
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let outcome = read(&log);
    assert!(!outcome.left_stopped, "{log}");
    let acted = outcome.acted();
    assert_eq!(acted.len(), 1, "only our error acts: {acted:#?}\n{log}");
    let Event::Command {
        name,
        properties,
        data,
    } = acted[0]
    else {
        panic!("{acted:#?}");
    };
    assert_eq!(name, "error");
    assert_eq!(properties, &[("title".to_owned(), action.to_owned())]);
    data.clone()
}

#[test]
fn an_aws_error_message_made_of_attacks_is_data_of_our_error() {
    let message = HOSTILE.join("\n");
    let body = serde_json::json!({"__type": "ClientException", "message": message}).to_string();
    let endpoint = serve("400 Bad Request", body);
    let output = deploy_kit(
        &["render-taskdef"],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret-example"),
            ("AWS_REGION", "us-east-1"),
            ("INPUT_TASK_DEFINITION_FAMILY", "api"),
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let data = only_our_error(&output, "render-taskdef");
    assert!(data.contains("ClientException"), "{data}");
    // Shown whole, every line of it, inside the annotation.
    for text in HOSTILE {
        assert!(data.contains(text), "`{text}` in: {data}");
    }
}

#[test]
fn an_http_body_made_of_attacks_is_data_of_our_error() {
    let url = serve("503 Service Unavailable", HOSTILE.join("\r\n"));
    let output = deploy_kit(
        &["smoke-test"],
        &[("INPUT_URL", &url), ("INPUT_WAIT_FOR", "0s")],
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let data = only_our_error(&output, "smoke-test");
    assert!(data.contains("##[error]fake failure"), "{data}");
}
