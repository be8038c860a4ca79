//! A workflow through act in host mode against the bed (tests/bed/run-workflow): the bed's env
//! and an OIDC token reach the job, the tool cache is seeded, `uses: org/deploy-kit@v1` is served
//! from this work tree, outputs, masks and failures behave as on GitHub.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use deploy_kit_testbed::Bed;
use deploy_kit_testbed::act::Workflow;

/// A stand-in deploy-kit that prints the version dist/install.sh expects: this crate does not
/// build the real binary, and these tests are about the plumbing.
fn stub_binary(bed: &Bed) -> PathBuf {
    let path = PathBuf::from(bed.var("BED_STATE_DIR").unwrap()).join("deploy-kit-stub");
    let script = format!(
        "#!/bin/sh\necho \"deploy-kit {}\"\n",
        env!("CARGO_PKG_VERSION")
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn smoke(bed: &Bed) -> Workflow {
    Workflow::new("tests/workflows/bed-smoke.yml")
        .as_action("org/deploy-kit@v1")
        .bin(stub_binary(bed))
        .secret("WORD", "swordfish")
}

#[test]
fn a_workflow_runs_against_the_bed() {
    let bed = Bed::start(&[]).expect("bed");
    let run = smoke(&bed).input("greeting", "bonjour").run(&bed).unwrap();
    let log = &run.log;
    assert!(run.success, "act failed:\n{log}");
    assert!(log.contains("bed-smoke: greeting=bonjour"), "{log}");
    let endpoint = format!("endpoint={} ", bed.endpoint_url());
    assert!(log.contains(&endpoint), "the bed's env: {log}");
    assert!(
        log.contains(r#""aud":"sts.amazonaws.com""#),
        "an OIDC token: {log}"
    );
    assert!(log.contains("bed-smoke: tool=deploy-kit "), "{log}");
    assert!(
        log.contains(&format!(
            "bed-smoke path=deploy-kit {}",
            env!("CARGO_PKG_VERSION")
        )),
        "org/deploy-kit@v1 put the seeded binary on PATH: {log}"
    );
    assert!(log.contains("bed-smoke output=bonjour"), "{log}");
    assert!(log.contains("bed-smoke: secret=***"), "{log}");
    assert!(!log.contains("swordfish"), "a secret leaked: {log}");
    assert!(log.contains("bed-smoke: masked=***"), "{log}");
    assert!(
        !log.contains("bonjour-not-for-logs"),
        "::add-mask:: on stderr was not applied: {log}"
    );
}

#[test]
fn a_failing_step_fails_the_run() {
    let bed = Bed::start(&[]).expect("bed");
    let run = smoke(&bed).input("fail", "true").run(&bed).unwrap();
    assert!(!run.success, "{}", run.log);
    // act's own verdict lines: the step's last output can be lost, since act does not wait for
    // a failed host-mode step's terminal to drain (deploy-kit itself pauses for it, Runner::settle).
    assert!(
        run.log.contains("Failure - Main Fails when asked"),
        "{}",
        run.log
    );
    assert!(run.log.contains("exit status 3"), "{}", run.log);
    assert!(run.log.contains("Job failed"), "{}", run.log);
}
