//! install.sh and the tool cache: a verified hit goes on PATH, anything unrecorded, planted or
//! changed is reinstalled from a release whose sha256 matches, or refused.

use super::*;

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
