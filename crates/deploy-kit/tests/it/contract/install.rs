//! `dist/install.sh`, the first step of every action: each way it can put deploy-kit on PATH (the
//! tool cache, a verified release download, a source build) and its refusal of a download whose
//! sha256 does not match. Each test runs a copy of the script inside a temporary "checkout" (the
//! script reads `checksums.sha256` beside it and builds from `..`), with a cleared environment so
//! a test never sees the GITHUB_* variables of the CI job running it. Downloads come from a small
//! HTTP server on 127.0.0.1 that the test starts and stops; nothing leaves the machine.
#![cfg(unix)]
// clippy.toml lets #[test] functions unwrap; the helpers below are test code just the same.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_yaml_ng::Value;
use tempfile::TempDir;

// The tool cache and release downloads: hits, misses, planted or changed binaries, checksums.
mod cache;
// The source build, and the script and its pinned version and checksums themselves.
mod source;

const TARGETS: [&str; 4] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn script_text() -> String {
    std::fs::read_to_string(repo_root().join("dist/install.sh")).unwrap()
}

/// The version pinned at the top of install.sh.
fn pinned_version() -> String {
    script_text()
        .lines()
        .find_map(|line| line.strip_prefix("DEPLOY_KIT_VERSION="))
        .expect("a DEPLOY_KIT_VERSION= line")
        .trim()
        .to_owned()
}

/// The release target install.sh picks on this OS when the runner says the job is on x64 (the tests
/// set RUNNER_ARCH=X64, so the answer does not depend on the machine's CPU).
fn x64_target() -> &'static str {
    if cfg!(target_os = "macos") {
        "x86_64-apple-darwin"
    } else {
        "x86_64-unknown-linux-musl"
    }
}

fn asset_name() -> String {
    format!("deploy-kit-{}-{}.tar.gz", pinned_version(), x64_target())
}

fn write_executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A stand-in for a released binary: answers `--version` like clap does.
fn fake_binary(path: &Path, version: &str) {
    write_executable(path, &format!("#!/bin/sh\necho 'deploy-kit {version}'\n"));
}

pub(crate) fn sha256_hex(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .or_else(|_| {
            Command::new("shasum")
                .args(["-a", "256"])
                .arg(path)
                .output()
        })
        .expect("sha256sum or shasum");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()[..64].to_owned()
}

/// A release asset as the release workflow packs it: `deploy-kit` at the root of a .tar.gz.
fn release_tarball(dir: &Path) -> Vec<u8> {
    let staging = dir.join("staging");
    fake_binary(&staging.join("deploy-kit"), &pinned_version());
    let tarball = dir.join(asset_name());
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&staging)
        .arg("deploy-kit")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(tarball).unwrap()
}

/// A temporary checkout holding a copy of the real script and the given checksums file.
struct Checkout {
    dir: TempDir,
}

impl Checkout {
    fn new(checksums: &str) -> Checkout {
        let dir = tempfile::tempdir().unwrap();
        write_executable(&dir.path().join("dist/install.sh"), &script_text());
        std::fs::write(dir.path().join("dist/checksums.sha256"), checksums).unwrap();
        Checkout { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn script(&self) -> PathBuf {
        self.root().join("dist/install.sh")
    }
}

/// Everything around one run of the script: a tool cache, a GITHUB_PATH file, a TMPDIR, and a
/// `cargo` that records being called and fails, to prove a path did not build (it is first on
/// PATH; the source-build tests leave it out).
struct Runner {
    dir: TempDir,
}

impl Runner {
    fn new() -> Runner {
        let runner = Runner {
            dir: tempfile::tempdir().unwrap(),
        };
        for sub in ["tool-cache", "tmp"] {
            std::fs::create_dir_all(runner.dir.path().join(sub)).unwrap();
        }
        let marker = runner.cargo_marker();
        write_executable(
            &runner.dir.path().join("no-cargo/cargo"),
            &format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
        );
        runner
    }

    fn tool_cache(&self) -> PathBuf {
        self.dir.path().join("tool-cache")
    }

    /// Where the tool cache keeps the pinned version for x64 (the actions/tool-cache layout).
    fn cache_dir(&self) -> PathBuf {
        self.tool_cache()
            .join("deploy-kit")
            .join(pinned_version())
            .join("x64")
    }

    /// Marks the cache entry complete, recording `binary`'s sha256 as a filled cache does.
    fn record(&self, binary: &Path) {
        std::fs::write(self.complete_marker(), format!("{}\n", sha256_hex(binary))).unwrap();
    }

    fn complete_marker(&self) -> PathBuf {
        self.tool_cache()
            .join("deploy-kit")
            .join(pinned_version())
            .join("x64.complete")
    }

    fn github_path(&self) -> PathBuf {
        self.dir.path().join("github_path")
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn cargo_marker(&self) -> PathBuf {
        self.dir.path().join("cargo-was-called")
    }

    fn github_path_lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.github_path())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Runs the checkout's script as a runner would, in Actions (GITHUB_PATH set) on x64.
    fn run(&self, checkout: &Checkout, download_url: &str, with_cargo: bool) -> Output {
        let mut path = std::env::var_os("PATH").unwrap_or_default();
        if !with_cargo {
            let mut paths = vec![self.dir.path().join("no-cargo")];
            paths.extend(std::env::split_paths(&path));
            path = std::env::join_paths(paths).unwrap();
        }
        let mut command = Command::new(checkout.script());
        command
            .env_clear()
            .env("PATH", path)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_PATH", self.github_path())
            .env("RUNNER_TOOL_CACHE", self.tool_cache())
            .env("RUNNER_TEMP", self.tmp())
            .env("RUNNER_ARCH", "X64")
            .env("DEPLOY_KIT_DOWNLOAD_URL", download_url);
        // What cargo and rustup need to find their toolchains in the source-build test.
        for name in ["HOME", "CARGO_HOME", "RUSTUP_HOME"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command.output().expect("install.sh runs")
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A one-file HTTP server on 127.0.0.1 for the release download: serves `files` by path, records
/// every request, and stops when dropped (or after a minute, whichever is first).
struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(files: Vec<(String, Vec<u8>)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => serve(stream, &files, &requests),
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Server {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/releases", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut stream: TcpStream, files: &[(String, Vec<u8>)], requests: &Mutex<Vec<String>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    requests.lock().unwrap().push(path.clone());
    let file = files
        .iter()
        .find(|(name, _)| path == format!("/releases/{name}"));
    let (status, body): (&str, &[u8]) = match file {
        Some((_, body)) => ("200 OK", body),
        None => ("404 Not Found", b"not found"),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes());
    let _ = stream.write_all(body);
}

/// A server that must not be asked for anything.
fn idle_server() -> Server {
    Server::start(Vec::new())
}
