//! install.sh without a release: the source build and how it fails; the script itself, its
//! pinned version and its checksums file.

use super::*;

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
