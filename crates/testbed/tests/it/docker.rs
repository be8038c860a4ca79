//! The bed's docker engine and registry: the sample app builds `FROM scratch` (no pull), pushes
//! with the credentials ECR hands out, and runs on the host network.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use deploy_kit_testbed::Bed;
use deploy_kit_testbed::docker::Docker;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on 127.0.0.1:port, retried until the server answers (a fresh container takes a
/// moment); the status line and body.
fn get(port: u16, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            write!(stream, "GET {path} HTTP/1.0\r\nHost: app\r\n\r\n").unwrap();
            let mut response = String::new();
            if stream.read_to_string(&mut response).is_ok() && !response.is_empty() {
                return response;
            }
        }
        assert!(Instant::now() < deadline, "nothing answers on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn sample_app_builds_pushes_and_runs() {
    let bed = Bed::start(&[]).expect("bed");
    let docker = Docker::start(&bed).expect(
        "the bed's docker must run here: dockerd as root with its own socket, no bridge, no iptables",
    );
    let ecr = aws_sdk_ecr::Client::new(&bed.sdk_config().await);
    ecr.create_repository()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    super::ecr::login(&docker, &ecr).await;

    let image = format!("{}/app:1.2.3", docker.registry());
    docker.build_sample_app(&image, "1.2.3").unwrap();
    let digest = docker.push(&image).unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );

    // No bridge network here, so the container shares the host's: it listens on loopback.
    let port = free_port();
    let env = format!("PORT={port}");
    let id = docker
        .run(
            &["run", "-d", "--rm", "--network", "host", "-e", &env, &image],
            "",
            &std::env::temp_dir(),
        )
        .unwrap();
    let health = get(port, "/health");
    let index = get(port, "/");
    let _ = docker.run(&["stop", "-t", "1", id.trim()], "", &std::env::temp_dir());
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(index.contains("sample app 1.2.3"), "{index}");
}
