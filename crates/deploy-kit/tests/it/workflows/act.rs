//! The actions end to end, as a user's workflow runs them: tests/workflows/actions.yml through
//! `act` in host mode, each action installing deploy-kit through dist/install.sh from a tool
//! cache seeded with the binary under test.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// act from the test bed's virtualenv (tests/setup installs it), or `$ACT`.
fn act() -> PathBuf {
    let path = std::env::var_os("ACT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("tests/bed/.venv/bin/act"));
    assert!(
        path.is_file(),
        "act not found at {}: run tests/setup",
        path.display()
    );
    path
}

/// An HTTP server on 127.0.0.1:0 answering every request with `status`; it stops with the test
/// process, and after `lifetime` at the latest.
fn serve(status: u16, body: &'static str, lifetime: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/health", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + lifetime;
        while Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

/// act's tool cache lives under `$XDG_CACHE_HOME/act/tool_cache` (it ignores RUNNER_TOOL_CACHE).
fn seed_tool_cache(cache_home: &Path) {
    let dir = cache_home.join(format!(
        "act/tool_cache/deploy-kit/{}/x64",
        env!("CARGO_PKG_VERSION")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(crate::BIN, dir.join("deploy-kit")).unwrap();
    // The marker records the binary's sha256: dist/install.sh trusts the entry only if it matches.
    let sha = crate::contract::install::sha256_hex(&dir.join("deploy-kit"));
    std::fs::write(dir.with_file_name("x64.complete"), format!("{sha}\n")).unwrap();
}

#[test]
fn render_taskdef_and_smoke_test_run_through_act() {
    let cache_home = tempfile::tempdir().unwrap();
    seed_tool_cache(cache_home.path());
    let app = serve(200, r#"{"status":"ok"}"#, Duration::from_secs(300));
    let broken = serve(500, r#"{"status":"down"}"#, Duration::from_secs(300));

    let mut child = Command::new(act())
        .current_dir(repo_root())
        .args([
            "push",
            "-W",
            "tests/workflows/actions.yml",
            "-P",
            "ubuntu-latest=-self-hosted",
        ])
        .args([
            "--env",
            &format!("APP_URL={app}"),
            "--env",
            &format!("BROKEN_URL={broken}"),
        ])
        .env("XDG_CACHE_HOME", cache_home.path())
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("act did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "act failed:\n{log}");
    assert!(log.contains("e2e: all checks held"), "{log}");
    assert!(
        log.contains("from the tool cache"),
        "installed from the seeded cache:\n{log}"
    );
    assert!(
        !log.contains("e2e-secret-header-value"),
        "a header value leaked into the log:\n{log}"
    );
    // The failing steps failed for the right reasons, reported as annotations.
    assert!(log.contains("expected status 2xx, got 500"), "{log}");
    assert!(log.contains("container `no-such-container`"), "{log}");
}
