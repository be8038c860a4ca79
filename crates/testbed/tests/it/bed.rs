//! `tests/bed/up` and `down` themselves: the printed environment, reuse of a running bed, the
//! components, several beds at once, and stopping.

use std::path::Path;
use std::process::Command;

use deploy_kit_testbed::{Bed, Component, repo_root};

fn up(state: &Path, args: &[&str]) -> String {
    let out = Command::new(repo_root().join("tests/bed/up"))
        .args(["--parent-pid", &std::process::id().to_string()])
        .args(args)
        .env("BED_STATE_DIR", state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn keys(env: &str) -> Vec<&str> {
    env.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn up_prints_the_environment_reuses_a_running_bed_and_down_stops_it() {
    let state = std::env::temp_dir().join(format!("deploy-kit-bed-up-{}", std::process::id()));
    let first = up(&state, &["aws"]);
    assert_eq!(
        keys(&first),
        [
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_EC2_METADATA_DISABLED",
            "BED_URL",
            "BED_STATE_DIR",
            "BED_COMPONENTS",
        ]
    );
    assert!(first.contains("AWS_REGION=us-east-1\n"), "{first}");
    let pid = std::fs::read_to_string(state.join("pid")).unwrap();

    // Again, now with oidc: the same server (pid and URL), plus the OIDC variables.
    let second = up(&state, &["aws", "oidc"]);
    assert_eq!(std::fs::read_to_string(state.join("pid")).unwrap(), pid);
    assert_eq!(first.lines().next(), second.lines().next());
    assert!(
        keys(&second).contains(&"ACTIONS_ID_TOKEN_REQUEST_URL"),
        "{second}"
    );
    assert!(
        keys(&second).contains(&"ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        "{second}"
    );
    assert_eq!(std::fs::read_to_string(state.join("env")).unwrap(), second);

    let status = Command::new(repo_root().join("tests/bed/down"))
        .env("BED_STATE_DIR", &state)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "server still running"
    );
    let _ = std::fs::remove_dir_all(&state);
}

#[test]
fn beds_run_side_by_side_and_answer_control_routes() {
    let a = Bed::start(&[Component::Aws]).unwrap();
    let b = Bed::start(&[]).unwrap();
    assert_ne!(a.endpoint_url(), b.endpoint_url());
    assert_eq!(a.var("ACTIONS_ID_TOKEN_REQUEST_URL"), None);
    assert!(
        b.var("ACTIONS_ID_TOKEN_REQUEST_URL").is_some(),
        "default is aws oidc"
    );
    assert_eq!(a.get("/_bed/health").unwrap(), (200, "ok".to_owned()));
    a.time_scale(0.25).unwrap();
    assert_eq!(
        a.get("/_bed/time-scale").unwrap().1,
        r#"{"timeScale": 0.25}"#
    );
    let (status, body) = a.get("/_bed/nope").unwrap();
    assert_eq!(status, 404);
    assert!(
        body.contains("scenario") && body.contains("deployments"),
        "{body}"
    );
    let state = a.state_dir().to_owned();
    drop(a);
    assert!(!state.exists(), "the state dir is removed with the bed");
}
