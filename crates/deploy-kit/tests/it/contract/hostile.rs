//! Hostile text through the binary, read the way a GitHub Actions runner reads a step's output
//! (deploy_kit_testbed::runner_commands, a model of actions/runner's command parser): an AWS error
//! message and an HTTP body made of attacks end up as data of deploy-kit's own `::error`, and
//! nothing else acts.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use deploy_kit_testbed::binary::Run;
use deploy_kit_testbed::runner_commands::{Event, HOSTILE, read};

/// A loopback server answering every request with `status` and `body` (JSON), until dropped
/// with the test process.
pub(crate) fn serve(status: &str, body: String) -> String {
    let status = status.to_owned();
    serve_by_target(move |_| (status.clone(), body.clone()))
}

/// A loopback server whose answer (status, JSON body) depends on the request's `X-Amz-Target`
/// (`Service.Operation`, lowercase; empty for other requests).
fn serve_by_target(answer: impl Fn(&str) -> (String, String) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buffer = [0u8; 65536];
            let read = stream.read(&mut buffer).unwrap_or(0);
            let head = String::from_utf8_lossy(&buffer[..read]).to_ascii_lowercase();
            let target = head
                .lines()
                .find_map(|line| line.strip_prefix("x-amz-target:"))
                .unwrap_or_default()
                .trim()
                .to_owned();
            let (status, body) = answer(&target);
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

fn deploy_kit(args: &[&str], env: &[(&str, &str)]) -> Run {
    deploy_kit_with(args, env, &[])
}

fn deploy_kit_with(args: &[&str], env: &[(&str, &str)], paths: &[(&str, &Path)]) -> Run {
    crate::deploy_kit()
        .args(args)
        .in_actions()
        .runner_files()
        .envs(env.iter().copied())
        .envs(paths.iter().copied())
        .run()
}

/// The one command that acted is our error, titled `action`; its data is returned.
fn only_our_error(run: &Run, action: &str) -> String {
    let log = run.log();
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
    output.assert_code(2);
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
    output.assert_code(1);
    let data = only_our_error(&output, "smoke-test");
    assert!(data.contains("##[error]fake failure"), "{data}");
}

#[test]
fn docker_build_output_made_of_attacks_acts_on_nothing_and_shows() {
    // ECR answers as for a new tag; docker is a script whose build prints every attack.
    let registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    let endpoint = serve_by_target(move |target| {
        let body = match target.rsplit('.').next().unwrap_or_default() {
            "describerepositories" => serde_json::json!({"repositories": [{
                "repositoryName": "team/api",
                "repositoryUri": format!("{registry}/team/api"),
                "registryId": "123456789012",
            }]}),
            "batchgetimage" => serde_json::json!({"images": [], "failures": []}),
            "getauthorizationtoken" => serde_json::json!({"authorizationData": [{
                // base64 of `AWS:ecr-password-1234`
                "authorizationToken": "QVdTOmVjci1wYXNzd29yZC0xMjM0",
                "proxyEndpoint": format!("https://{registry}"),
            }]}),
            _ => serde_json::json!({}),
        };
        ("200 OK".to_owned(), body.to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("context");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("build-output"), HOSTILE.join("\n")).unwrap();
    let docker = dir.path().join("docker");
    std::fs::write(
        &docker,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  buildx) exit 1 ;;\n  login) cat >/dev/null; exit 0 ;;\n  build) cat '{}' ;;\n  push) echo \"t1: digest: sha256:{} size: 528\" ;;\nesac\n",
            dir.path().join("build-output").display(),
            "ab".repeat(32)
        ),
    )
    .unwrap();
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();

    let output = deploy_kit_with(
        &["build-push-ecr"],
        &[
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret-example"),
            ("AWS_REGION", "us-east-1"),
            ("INPUT_REPOSITORY", "team/api"),
            ("INPUT_TAGS", "t1"),
        ],
        &[("DOCKER", &docker), ("INPUT_CONTEXT", &context)],
    );
    let log = output.stderr.clone();
    assert_eq!(output.code, Some(0), "{log}");
    let outcome = read(&log);
    assert!(!outcome.left_stopped, "{log}");
    for event in outcome.acted() {
        match event {
            Event::Command { name, data, .. } if name == "add-mask" => {
                assert_eq!(data, "ecr-password-1234", "only our mask: {log}");
            }
            Event::Command { name, .. } if name == "group" || name == "endgroup" => {}
            other => panic!("a command came out of the build output: {other:?}\n{log}"),
        }
    }
    // Every line of the build output is shown, in order.
    let expected: Vec<&str> = HOSTILE
        .iter()
        .flat_map(|text| read_lines_of(text))
        .collect();
    let start = outcome
        .shown
        .iter()
        .position(|line| line == expected[0])
        .unwrap_or_else(|| panic!("build output shown:\n{log}"));
    assert_eq!(
        &outcome.shown[start..start + expected.len()],
        expected.as_slice()
    );
}

fn read_lines_of(text: &str) -> Vec<&str> {
    deploy_kit_testbed::runner_commands::read_lines(text)
}
