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
//!   - `build_push_ecr`: build and push, skips, scan gate; `buildx` (the runner's own builder)
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

// What the binary promises whatever the action: metadata, docs, exit codes, hostile input.
mod contract;
// One module per action, against the test bed.
mod actions;
// The actions through act, as a workflow runs them.
mod workflows;
