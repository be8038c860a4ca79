//! Self-hosted runners behind a proxy: an AWS action (oidc-login's GetCallerIdentity) and
//! smoke-test send their requests through `HTTP_PROXY` (with its credentials), and go direct to
//! the hosts `NO_PROXY` names. The "proxy" is a recording HTTP server that answers every request
//! itself, so hosts that do not exist (`.invalid`) are reachable only through it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const IDENTITY: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/proxy</Arn><UserId>AIDAPROXY</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#;

/// A server on loopback that records each request line and its Proxy-Authorization header.
struct Recorder {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

fn recorder() -> Recorder {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let (mut length, mut auth) = (0usize, String::new());
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                let lower = header.to_lowercase();
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("proxy-authorization:") {
                    // Header names are case-insensitive (hyper sends them in lower case).
                    auth = format!("auth={}", header["proxy-authorization:".len()..].trim());
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            log.lock().unwrap().push(format!("{} {auth}", line.trim()));
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{IDENTITY}",
                IDENTITY.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    Recorder { port, seen }
}

impl Recorder {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

fn deploy_kit(args: &[&str], env: &[(&str, String)]) -> (Option<i32>, String) {
    let run = crate::deploy_kit()
        .args(args)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIAPROXYTEST")
        .env("AWS_SECRET_ACCESS_KEY", "proxy-test-secret-key")
        .input("aws-region", "us-east-1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .run();
    (run.code, run.log())
}

#[test]
fn aws_calls_and_checks_go_through_the_proxy_except_no_proxy_hosts() {
    let proxy = recorder();
    let proxy_url = format!("http://deploy:pr0xy-pa55@127.0.0.1:{}", proxy.port);
    // base64("deploy:pr0xy-pa55")
    let auth = "auth=Basic ZGVwbG95OnByMHh5LXBhNTU=";

    let (code, text) = deploy_kit(
        &["oidc-login"],
        &[
            ("AWS_ENDPOINT_URL", "http://sts.proxy-test.invalid".into()),
            ("HTTP_PROXY", proxy_url.clone()),
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("aws-account-id=123456789012"), "{text}");
    assert_eq!(
        proxy.take(),
        [format!(
            "POST http://sts.proxy-test.invalid/ HTTP/1.1 {auth}"
        )]
    );
    assert!(
        !text.contains("pr0xy-pa55"),
        "the proxy password was printed:\n{text}"
    );

    let (code, text) = deploy_kit(
        &[
            "smoke-test",
            "--requests",
            "1",
            "--url",
            "http://app.proxy-test.invalid/health",
        ],
        &[("HTTP_PROXY", proxy_url.clone())],
    );
    assert_eq!(code, Some(0), "{text}");
    // A probe before the counted request: every one through the proxy, with its credentials.
    let seen = proxy.take();
    let expected = format!("GET http://app.proxy-test.invalid/health HTTP/1.1 {auth}");
    assert!(
        !seen.is_empty() && seen.iter().all(|line| *line == expected),
        "{seen:?}"
    );

    // NO_PROXY: the same calls to a host it names go straight to that host.
    let direct = recorder();
    let endpoint = format!("http://127.0.0.1:{}", direct.port);
    let no_proxy = ("NO_PROXY", "localhost,127.0.0.1".to_owned());
    let (code, text) = deploy_kit(
        &["oidc-login"],
        &[
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("HTTP_PROXY", proxy_url.clone()),
            no_proxy.clone(),
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = deploy_kit(
        &[
            "smoke-test",
            "--requests",
            "1",
            "--url",
            &format!("{endpoint}/health"),
        ],
        &[("HTTP_PROXY", proxy_url.clone()), no_proxy],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        proxy.take().is_empty(),
        "NO_PROXY hosts went through the proxy"
    );
    let seen = direct.take();
    assert_eq!(
        seen[0], "POST / HTTP/1.1 ",
        "direct, without proxy credentials"
    );
    assert!(
        seen.len() > 1 && seen[1..].iter().all(|line| line == "GET /health HTTP/1.1 "),
        "{seen:?}"
    );
}
