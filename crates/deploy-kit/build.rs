//! Links the Linux executable at a fixed address instead of making it position-independent.
//! A position-independent deploy-kit applies about 82,000 relocations to 1 MB of pages at every
//! start: 0.5 ms, a tenth of an AWS step's own CPU time (README "Performance"). ecspresso and
//! other Go tools are built this way by default. The heap, the stack and shared libraries are
//! still randomized. Only the binaries get the flag: proc macros and build scripts are shared
//! objects and host tools. The release's static musl builds are made the same way by their build
//! step (.github/workflows/release.yml), which then checks the result is a static executable.
// A build script reads what cargo tells it through the environment.
#![allow(clippy::disallowed_methods)]

fn main() {
    let target = |key: &str| std::env::var(format!("CARGO_CFG_TARGET_{key}")).unwrap_or_default();
    if target("OS") == "linux" && target("ENV") == "gnu" {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
