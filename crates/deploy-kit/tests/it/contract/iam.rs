//! Least privilege, checked: every AWS operation an action performed against the bed (the bed's
//! call log) is allowed by that action's policy in docs/iam. Called from the action tests, on
//! their main paths.

use deploy_kit_testbed::{Bed, repo_root};

/// Operations every identity may call, and calls a trust policy (not this one) governs.
const NOT_IN_POLICIES: [&str; 2] = ["sts:GetCallerIdentity", "sts:AssumeRoleWithWebIdentity"];

/// Empties the bed's call log (before the action runs, after the test's own set-up calls).
pub fn reset(bed: &Bed) {
    bed.reset_calls().unwrap();
}

/// The actions `docs/iam/<policy>.json` allows.
fn allowed(policy: &str) -> Vec<String> {
    let path = repo_root().join(format!("docs/iam/{policy}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut actions = Vec::new();
    for statement in doc["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow", "{policy}: {statement}");
        match &statement["Action"] {
            serde_json::Value::String(one) => actions.push(one.clone()),
            serde_json::Value::Array(many) => {
                actions.extend(many.iter().map(|a| a.as_str().unwrap().to_owned()));
            }
            other => panic!("{policy}: Action {other}"),
        }
    }
    actions
}

/// Every operation since [`reset`] is in the policy; returns them for further checks.
pub fn assert_allowed(bed: &Bed, policy: &str) -> Vec<String> {
    let calls = bed.calls().unwrap();
    assert!(!calls.is_empty(), "{policy}: no AWS call recorded");
    let allowed = allowed(policy);
    let missing: Vec<&String> = calls
        .iter()
        .filter(|call| !NOT_IN_POLICIES.contains(&call.as_str()) && !allowed.contains(call))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/iam/{policy}.json does not allow {missing:?} (the action called {calls:?})"
    );
    calls
}
