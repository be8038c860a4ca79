//! The token's non-secret claims, and the trust-policy condition that would let this job in: what
//! a user needs to fix a rejected exchange, which AWS's own message never says.

use serde_json::{Map, Value};

/// The claims a trust policy conditions on, in the order people read them.
pub const SHOWN: [&str; 6] = [
    "sub",
    "aud",
    "repository",
    "ref",
    "environment",
    "job_workflow_ref",
];

/// The JWT's payload (its middle part). The signature is AWS's business, not ours.
pub fn decode(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let mut standard: String = payload
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    let bytes = aws_smithy_types::base64::decode(standard).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// The explanation appended to a denied exchange.
pub fn explain(claims: &Map<String, Value>) -> String {
    let mut out = String::from("The token GitHub issued for this job has:\n");
    for name in SHOWN {
        if let Some(value) = claims.get(name) {
            out.push_str(&format!("  {name}: {}\n", text(value)));
        }
    }
    let aud = claims.get("aud").map(text).unwrap_or_default();
    let sub = claims.get("sub").map(text).unwrap_or_default();
    out.push_str(&format!(
        "The role's trust policy lets this job in with a condition such as:\n  \"Condition\": {{\n    \"StringEquals\": {{\n      \"token.actions.githubusercontent.com:aud\": \"{aud}\",\n      \"token.actions.githubusercontent.com:sub\": \"{sub}\"\n    }}\n  }}\n"
    ));
    if sub.contains(":environment:") {
        out.push_str("(a job with `environment:` has an environment `sub`, not a branch one: `repo:OWNER/REPO:ref:refs/heads/...` does not match it; restrict that environment's deployment branches to `main`, or any branch can claim it: docs/iam/README.md#the-trust-policy)\n");
    }
    out
}
