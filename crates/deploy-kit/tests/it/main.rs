//! Integration tests of the deploy-kit binary and the action metadata around it.
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

// Every `*/action.yml` declares exactly what the binary reads and writes.
mod action_yml;
// Every action.yml `default:` is the default the binary applies (clap's, or the parser's).
mod contract_defaults;
// Each action README's Inputs and Outputs tables match its action.yml.
mod readme_tables;
// docs/migrating.md has a verdict for every aws-actions input, and its `same` rows are real.
mod migrating;
// Exit codes and error reporting of the binary itself.
mod cli;
// The actions through act, as a workflow runs them.
mod act;
// build-push-ecr against the bed's docker engine and registry behind ECR.
mod build_push_ecr;
// The demo path: examples/workflows/deploy.yml through act against the bed.
mod demo;
// ecs-blue-green against the test bed: strategies, rollbacks, pre-flight, dry run.
mod ecs_blue_green;
// deploy-static against the bed's S3 and CloudFront: only what changed, order, deletions,
// invalidation, bad input.
mod deploy_static;
// max-5xx-rate: the alarm over real target groups, the bed's metrics and alarm evaluation, ECS's
// own rollback.
mod five_xx;
// One service through a life of deployments by ecs-blue-green and by other means: nothing left
// behind, only its own hook answered.
mod service_life;
// Least privilege: what each action called is in its docs/iam policy.
mod iam;
// oidc-login against the bed's GitHub OIDC endpoint and STS: exports, masks, retries, errors.
mod oidc_login;
// run-migrations against the test bed: logs, verdicts, network, timeouts, cancel, bad input.
mod run_migrations;
// run-migrations where ECS is uneven: late log lines, capacity failures, a token per request.
mod run_migrations_ecs;
// dist/install.sh: tool cache, verified release download, source build, checksum refusal.
mod install;
// The composite steps under the runner's `bash` flags and GITHUB_ACTION_PATH of `org/deploy-kit/<action>@v1`.
mod runner_shell;
// Self-hosted runners behind a proxy: HTTP_PROXY with credentials, NO_PROXY honoured.
mod proxy;
// The other example workflows (pull request dry run, rollback) through act against the bed.
mod workflows;
// Faults between the binary and AWS (throttling, 5xx, resets, truncation, slowness) survived.
mod faults;
// Every input of every action, attacked: exit 2 naming the input, no mutating AWS call.
mod bad_input;
// Known secret values never reach stdout, stderr, the summary or output files.
mod secrets;
// Hostile AWS messages and HTTP bodies through the binary, read as the runner reads the log.
mod hostile;
// SIGTERM at random points of ecs-blue-green and run-migrations leaves nothing in flight; the
// runner's SIGINT, SIGTERM, kill sequence leaves the rollback asked for and the outputs written.
mod cancel;
