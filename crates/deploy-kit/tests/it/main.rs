//! Integration tests of the deploy-kit binary and the action metadata around it.
//!
//! Contents (every run of the binary goes through `deploy_kit_testbed::binary`, via
//! [`deploy_kit`]):
//!
//! - `contract`: what the binary promises whatever the action
//!   - `action_yml`: every `*/action.yml` declares exactly what the binary reads and writes
//!   - `defaults`: every `action.yml` default is the one the binary applies
//!   - `readme_tables`: each README's Inputs and Outputs tables match its action.yml
//!   - `migrating`: docs/migrating.md has a verdict for every aws-actions input
//!   - `cli`: exit codes and error reporting of the binary itself
//!   - `install`: dist/install.sh: `cache` (tool cache, verified download, refusals), `source`
//!     (source build, the script itself)
//!   - `runner_shell`: the composite steps under the runner's bash flags and action path
//!   - `iam`: what each action called is in its docs/iam policy
//!   - `bad_input`: every input of every action, attacked: exit 2, no mutating AWS call
//!   - `secrets`: known secret values never reach logs, the summary or output files
//!   - `hostile`: hostile AWS messages and HTTP bodies, read as the runner reads the log
//!   - `proxy`: self-hosted runners behind a proxy, NO_PROXY honoured
//!   - `faults`: faults between the binary and AWS survived, or failed clearly
//!   - `cancel`: SIGTERM at random points, and the runner's cancel sequence
//! - `actions`: one module per action, against the test bed
//!   - `ecs_blue_green`: the fixture; `deploys` (strategies, rollbacks), `guards` (SIGTERM,
//!     pre-flight, dry run, bad input, act), `five_xx` (the 5xx alarm), `service_life` (one
//!     service through a life of deployments)
//!   - `run_migrations`: logs, verdicts, network, re-runs; `stops` (timeouts, SIGTERM, bad
//!     input), `ecs` (where ECS is uneven)
//!   - `deploy_static`: only what changed, order, deletions, headers; `guards` (dry run, bad
//!     input, cancels)
//!   - `build_push_ecr`: build and push, skips, scan gate; `buildx` (the runner's own builder),
//!     `credential_store` (the ECR password kept out of docker's credential stores)
//!   - `oidc_login`: exports, masks, retries, errors
//! - `workflows`: the actions through act, as a workflow runs them
//!   - `act`: each action installed and run by act
//!   - `demo`: examples/workflows/deploy.yml against the bed
//!   - `examples`: the other example workflows (pull request dry run, rollback)
#![allow(clippy::unwrap_used)]
// test helpers outside #[test] fns: a panic is a failed test
// The tests read their own environment (PATH, the bed's settings) to hand the binary; the
// binary itself reads it only through deploy_kit_gha::RunnerEnv.
#![allow(clippy::disallowed_methods)]

use deploy_kit_testbed::binary::Invocation;

/// The binary under test (act and install tests copy it into a tool cache).
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_deploy-kit");

/// The binary under test, run through the one harness (`deploy_kit_testbed::binary`): only
/// `PATH` from the test's environment; add the action, inputs, the bed, the runner's files.
pub(crate) fn deploy_kit() -> Invocation {
    Invocation::new(BIN)
}

/// The token the bed's ECR hands out (GetAuthorizationToken's base64 of `AWS:<password>`), and
/// the password in it.
pub(crate) async fn ecr_token(bed: &deploy_kit_testbed::Bed) -> (String, String) {
    let ecr = aws_sdk_ecr::Client::new(&bed.sdk_config().await);
    let auth = ecr.get_authorization_token().send().await.unwrap();
    let token = auth.authorization_data()[0].authorization_token().unwrap();
    let decoded = String::from_utf8(base64(token)).unwrap();
    let password = decoded.strip_prefix("AWS:").unwrap().to_owned();
    (token.to_owned(), password)
}

/// Standard base64, enough to read ECR's `AWS:<password>` token.
fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

// What the binary promises whatever the action: metadata, docs, exit codes, hostile input.
mod contract;
// One module per action, against the test bed.
mod actions;
// The actions through act, as a workflow runs them.
mod workflows;
