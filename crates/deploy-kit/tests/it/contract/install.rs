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

#[test]
fn a_tool_cache_hit_goes_on_path_without_download_or_build() {
    let runner = Runner::new();
    // Seeded the way tests and act runs seed it: with the binary just built.
    let cached = runner.cache_dir().join("deploy-kit");
    std::fs::create_dir_all(runner.cache_dir()).unwrap();
    std::fs::copy(crate::BIN, &cached).unwrap();
    runner.record(&cached);
    // No release and no cargo: a cache miss would have failed.
    let checkout = Checkout::new("");
    let server = idle_server();

    let output = runner.run(&checkout, &server.url(), false);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        runner.github_path_lines(),
        [runner.cache_dir().display().to_string()]
    );
    assert!(
        server.requests().is_empty(),
        "downloaded: {:?}",
        server.requests()
    );
    assert!(!runner.cargo_marker().exists(), "cargo was called");
    let err = stderr(&output);
    assert!(
        err.contains(&format!(
            "deploy-kit {} from the tool cache",
            pinned_version()
        )),
        "{err}"
    );
    assert!(
        output.stdout.is_empty(),
        "stdout is only for runs outside Actions"
    );
}

#[test]
fn a_cache_entry_without_its_complete_marker_is_not_used() {
    let runner = Runner::new();
    // A copy that was interrupted: the binary is there, the marker is not.
    fake_binary(&runner.cache_dir().join("deploy-kit"), "0.0.0-half-written");
    let scratch = tempfile::tempdir().unwrap();
    let tarball = release_tarball(scratch.path());
    let sha = sha256_hex(&scratch.path().join(asset_name()));
    let checkout = Checkout::new(&format!("{sha}  {}\n", asset_name()));
    let server = Server::start(vec![(asset_name(), tarball)]);

    let output = runner.run(&checkout, &server.url(), false);

    // It was taken for a miss: the release was downloaded and replaced it, marker and all.
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(server.requests().len(), 1);
    assert!(runner.complete_marker().is_file());
    assert_eq!(
        cached_version(&runner),
        format!("deploy-kit {}", pinned_version())
    );
}

#[test]
fn a_release_asset_is_downloaded_verified_and_cached() {
    let runner = Runner::new();
    let scratch = tempfile::tempdir().unwrap();
    let tarball = release_tarball(scratch.path());
    let sha = sha256_hex(&scratch.path().join(asset_name()));
    let checkout = Checkout::new(&format!("# header\n{sha}  {}\n", asset_name()));
    let server = Server::start(vec![(asset_name(), tarball)]);

    let output = runner.run(&checkout, &server.url(), false);

    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert_eq!(server.requests(), [format!("/releases/{}", asset_name())]);
    assert!(err.contains("sha256 verified"), "{err}");
    assert!(!runner.cargo_marker().exists(), "cargo was called");
    // Cached in the actions/tool-cache layout, marker last, and that directory is what goes on PATH.
    let cached = runner.cache_dir().join("deploy-kit");
    assert!(runner.complete_marker().is_file());
    let mode = std::fs::metadata(&cached).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "executable");
    assert_eq!(
        cached_version(&runner),
        format!("deploy-kit {}", pinned_version())
    );
    assert_eq!(
        runner.github_path_lines(),
        [runner.cache_dir().display().to_string()]
    );
    // The scratch directory of the download is gone.
    assert_eq!(std::fs::read_dir(runner.tmp()).unwrap().count(), 0);

    // The next step of the job finds it in the cache and downloads nothing.
    let again = runner.run(&checkout, &server.url(), false);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("from the tool cache"),
        "{}",
        stderr(&again)
    );
    assert_eq!(server.requests().len(), 1, "{:?}", server.requests());
}

/// A release installed into the tool cache by a first run; returns the server and checkout.
fn cached_release(runner: &Runner, scratch: &Path) -> (Server, Checkout) {
    let tarball = release_tarball(scratch);
    let sha = sha256_hex(&scratch.join(asset_name()));
    let checkout = Checkout::new(&format!("{sha}  {}\n", asset_name()));
    let server = Server::start(vec![(asset_name(), tarball)]);
    let first = runner.run(&checkout, &server.url(), false);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(server.requests().len(), 1);
    (server, checkout)
}

/// What the cached binary says it is.
fn cached_version(runner: &Runner) -> String {
    deploy_kit_testbed::binary::Invocation::new(runner.cache_dir().join("deploy-kit"))
        .arg("--version")
        .run()
        .stdout
        .trim()
        .to_owned()
}

#[test]
fn a_planted_binary_with_a_matching_record_is_not_trusted_and_is_reinstalled() {
    let runner = Runner::new();
    let scratch = tempfile::tempdir().unwrap();
    let (server, checkout) = cached_release(&runner, scratch.path());
    // On a persistent runner, someone replaces the binary with one that reports the right version
    // and rewrites the record to match: only the committed checksum can tell.
    let cached = runner.cache_dir().join("deploy-kit");
    write_executable(
        &cached,
        &format!(
            "#!/bin/sh\necho 'deploy-kit {}'\necho planted >&2\n",
            pinned_version()
        ),
    );
    runner.record(&cached);

    let output = runner.run(&checkout, &server.url(), false);

    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("::warning title=deploy-kit install::the tool cache entry"),
        "{err}"
    );
    assert!(
        err.contains("is not trusted: it is not the binary inside the verified release asset"),
        "{err}"
    );
    assert!(
        err.contains("downloaded"),
        "reinstalled from the release: {err}"
    );
    assert_eq!(server.requests().len(), 2, "{:?}", server.requests());
    assert!(
        !std::fs::read_to_string(&cached)
            .unwrap()
            .contains("planted")
    );
}

#[test]
fn a_cached_binary_that_differs_from_its_record_is_reinstalled_and_said_so() {
    let runner = Runner::new();
    let scratch = tempfile::tempdir().unwrap();
    let (server, checkout) = cached_release(&runner, scratch.path());
    let cached = runner.cache_dir().join("deploy-kit");
    let recorded = std::fs::read_to_string(runner.complete_marker()).unwrap();
    assert_eq!(
        recorded.trim(),
        sha256_hex(&cached),
        "the fill recorded the binary's sha256"
    );
    fake_binary(&cached, &pinned_version());
    std::fs::write(
        &cached,
        std::fs::read_to_string(&cached).unwrap() + "# swapped\n",
    )
    .unwrap();

    let output = runner.run(&checkout, &server.url(), false);

    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("is not the one recorded when the cache was filled"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        sha256_hex(&cached),
        recorded.trim(),
        "the released binary is back"
    );
    assert_eq!(
        cached_version(&runner),
        format!("deploy-kit {}", pinned_version())
    );
}

#[test]
fn an_unrecorded_cache_entry_is_not_run() {
    // Seeded the old way (an empty marker). This checkout has no release and no source, so the
    // reinstall that follows fails: what matters is that the entry never ran.
    let runner = Runner::new();
    fake_binary(&runner.cache_dir().join("deploy-kit"), &pinned_version());
    std::fs::write(runner.complete_marker(), "").unwrap();
    let checkout = Checkout::new("");

    let output = runner.run(&checkout, &idle_server().url(), false);

    let err = stderr(&output);
    assert!(
        err.contains("recorded when the cache was filled (none)"),
        "{err}"
    );
    assert!(
        err.contains("this ref is not a release"),
        "it went on to reinstall: {err}"
    );
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        runner.github_path_lines().is_empty(),
        "the untrusted entry is not on PATH"
    );
    assert!(
        !runner.cache_dir().exists(),
        "the untrusted entry was removed"
    );
}

#[test]
fn a_download_whose_sha256_does_not_match_is_refused_and_nothing_is_installed() {
    let runner = Runner::new();
    let scratch = tempfile::tempdir().unwrap();
    let tarball = release_tarball(scratch.path());
    let actual = sha256_hex(&scratch.path().join(asset_name()));
    let expected = "ab".repeat(32);
    let checkout = Checkout::new(&format!("{expected}  {}\n", asset_name()));
    let server = Server::start(vec![(asset_name(), tarball)]);

    let output = runner.run(&checkout, &server.url(), false);

    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("::error title=deploy-kit install::sha256 mismatch for "),
        "{err}"
    );
    for needed in [
        asset_name().as_str(),
        &expected,
        &actual,
        "nothing was installed",
    ] {
        assert!(err.contains(needed), "the message names `{needed}`: {err}");
    }
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one annotation, its newlines escaped: {err}"
    );
    assert!(runner.github_path_lines().is_empty(), "nothing on PATH");
    assert!(
        !runner.tool_cache().join("deploy-kit").exists(),
        "nothing in the tool cache"
    );
    assert_eq!(
        std::fs::read_dir(runner.tmp()).unwrap().count(),
        0,
        "download deleted"
    );
    assert!(
        !runner.cargo_marker().exists(),
        "a refused download is not a reason to build"
    );
}

/// A minimal Cargo workspace laid out like this repository, whose `deploy-kit` answers
/// `--version`: the source build runs a real `cargo build --locked --release` in seconds.
fn fake_source_checkout() -> Checkout {
    let checkout = Checkout::new("# no release on this ref\n");
    let root = checkout.root();
    let version = pinned_version();
    let files = [
        (
            "Cargo.toml",
            "[workspace]\nresolver = \"3\"\nmembers = [\"crates/deploy-kit\"]\n".to_owned(),
        ),
        (
            "Cargo.lock",
            format!("version = 4\n\n[[package]]\nname = \"deploy-kit\"\nversion = \"{version}\"\n"),
        ),
        (
            "crates/deploy-kit/Cargo.toml",
            format!(
                "[package]\nname = \"deploy-kit\"\nversion = \"{version}\"\nedition = \"2024\"\n"
            ),
        ),
        (
            "crates/deploy-kit/src/main.rs",
            "fn main() {\n    println!(\"deploy-kit {}\", env!(\"CARGO_PKG_VERSION\"));\n}\n"
                .to_owned(),
        ),
    ];
    for (path, text) in files {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), text).unwrap();
    }
    // The real checkout pins its toolchain; so does this one, to the same (installed) toolchain.
    std::fs::copy(
        repo_root().join("rust-toolchain.toml"),
        root.join("rust-toolchain.toml"),
    )
    .unwrap();
    checkout
}

#[test]
fn without_a_cache_entry_or_a_release_it_builds_from_source_with_cargo() {
    let runner = Runner::new();
    let checkout = fake_source_checkout();
    let server = idle_server();

    let output = runner.run(&checkout, &server.url(), true);

    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("has no entry for"),
        "says why it builds: {err}"
    );
    assert!(
        err.contains("::group::cargo build"),
        "cargo's output is folded: {err}"
    );
    // Cargo.lock is honoured (--locked) and it is a release build.
    assert!(err.contains("Finished `release` profile"), "{err}");
    assert!(
        err.contains(&format!(
            "deploy-kit {} built from source",
            pinned_version()
        )),
        "{err}"
    );
    let release_dir = checkout.root().join("target/release");
    assert!(release_dir.join("deploy-kit").is_file());
    assert_eq!(
        runner.github_path_lines(),
        [release_dir.display().to_string()]
    );
    assert!(server.requests().is_empty());
    // A source build is kept out of the version-keyed tool cache (see install.sh, from_source).
    assert!(!runner.tool_cache().join("deploy-kit").exists());
}

#[test]
fn a_stale_cargo_lock_fails_the_source_build() {
    let runner = Runner::new();
    let checkout = fake_source_checkout();
    // The lock no longer matches the manifest: --locked must refuse rather than rewrite it.
    std::fs::write(checkout.root().join("Cargo.lock"), "version = 4\n").unwrap();

    let output = runner.run(&checkout, &idle_server().url(), true);

    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cargo build --locked --release -p deploy-kit failed"),
        "{err}"
    );
    assert!(runner.github_path_lines().is_empty());
}

#[test]
fn without_cargo_the_source_build_says_how_to_fix_it() {
    let runner = Runner::new();
    let checkout = fake_source_checkout();

    // The `cargo` stand-in first on PATH is not what is tested here; a PATH without any cargo is.
    let path: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter(|dir| !dir.join("cargo").exists())
        .collect();
    if !path.iter().any(|dir| dir.join("bash").exists()) {
        eprintln!("skipped: cargo and bash share a directory on PATH here");
        return;
    }
    let output = Command::new(checkout.script())
        .env_clear()
        .env("PATH", std::env::join_paths(path).unwrap())
        .env("RUNNER_ARCH", "X64")
        .env("TMPDIR", runner.tmp())
        .output()
        .unwrap();

    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("deploy-kit install: error: "),
        "plain text outside Actions: {err}"
    );
    for needed in [
        "cargo is not installed",
        "pin a release tag",
        "Rust toolchain step",
    ] {
        assert!(err.contains(needed), "`{needed}` in: {err}");
    }
    assert!(output.stdout.is_empty());
}

#[test]
fn outside_actions_the_directory_is_printed_on_stdout() {
    let runner = Runner::new();
    fake_binary(&runner.cache_dir().join("deploy-kit"), &pinned_version());
    runner.record(&runner.cache_dir().join("deploy-kit"));
    let checkout = Checkout::new("");

    let output = Command::new(checkout.script())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUNNER_TOOL_CACHE", runner.tool_cache())
        .env("RUNNER_ARCH", "X64")
        .output()
        .unwrap();

    assert!(output.status.success(), "{}", stderr(&output));
    // So that `export PATH="$(dist/install.sh):$PATH"` works.
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{}\n", runner.cache_dir().display())
    );
}

#[test]
fn the_pinned_version_is_the_workspace_version() {
    assert_eq!(
        pinned_version(),
        env!("CARGO_PKG_VERSION"),
        "DEPLOY_KIT_VERSION in dist/install.sh"
    );
}

/// Every checksum line names an asset of the pinned version for a target the script knows, so a
/// version bump cannot leave the script pointing at checksums of another release.
#[test]
fn the_checksums_file_lists_only_assets_of_the_pinned_version() {
    let text = std::fs::read_to_string(repo_root().join("dist/checksums.sha256")).unwrap();
    let version = pinned_version();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (sha, name) = line
            .split_once("  ")
            .unwrap_or_else(|| panic!("`<sha256>  <name>`: {line}"));
        assert!(
            sha.len() == 64
                && sha
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "lowercase sha256: {line}"
        );
        let known = TARGETS
            .iter()
            .any(|t| name == format!("deploy-kit-{version}-{t}.tar.gz"));
        assert!(
            known,
            "an asset of deploy-kit {version} for one of {TARGETS:?}: {line}"
        );
    }
}

#[test]
fn the_root_action_runs_install_sh_and_nothing_else() {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let yaml: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(yaml["runs"]["using"].as_str(), Some("composite"));
    assert!(
        yaml.get("inputs").is_none(),
        "the version is pinned in install.sh, not an input"
    );
    let steps = yaml["runs"]["steps"].as_sequence().expect("steps");
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["shell"].as_str(), Some("bash"));
    assert_eq!(
        steps[0]["run"].as_str(),
        Some("\"$GITHUB_ACTION_PATH/dist/install.sh\"")
    );
}

#[test]
fn install_sh_is_executable_and_has_no_expressions() {
    let path = repo_root().join("dist/install.sh");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "the actions run it directly");
    assert!(
        !script_text().contains("${{"),
        "reads the environment, never `${{{{ }}}}`"
    );
}

/// shellcheck is installed by tests/setup (the test command runs it first), so a missing
/// shellcheck is a failure, never a silent pass.
#[test]
fn install_sh_passes_shellcheck() {
    let output = Command::new("shellcheck")
        .arg(repo_root().join("dist/install.sh"))
        .output()
        .unwrap_or_else(|error| panic!("shellcheck not runnable ({error}): run tests/setup"));
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
