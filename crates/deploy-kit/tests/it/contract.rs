//! The binary's contract, whatever the action: its metadata and docs agree with it, it exits
//! and reports as the runner expects, and no input, fault, secret or cancel breaks that.

// Every `*/action.yml` declares exactly what the binary reads and writes.
pub mod action_yml;
// Every action.yml `default:` is the default the binary applies (clap's, or the parser's).
mod defaults;
// Each action README's Inputs and Outputs tables match its action.yml.
mod readme_tables;
// docs/migrating.md has a verdict for every aws-actions input, and its `same` rows are real.
mod migrating;
// Exit codes and error reporting of the binary itself.
mod cli;
// dist/install.sh: tool cache, verified release download, source build, checksum refusal.
pub mod install;
// The composite steps under the runner's `bash` flags and GITHUB_ACTION_PATH of `org/deploy-kit/<action>@v1`.
mod runner_shell;
// Least privilege: what each action called is in its docs/iam policy.
pub mod iam;
// Every input of every action, attacked: exit 2 naming the input, no mutating AWS call.
pub mod bad_input;
// Known secret values never reach stdout, stderr, the summary or output files.
mod secrets;
// Hostile AWS messages and HTTP bodies through the binary, read as the runner reads the log.
pub(crate) mod hostile;
// Self-hosted runners behind a proxy: HTTP_PROXY with credentials, NO_PROXY honoured.
mod proxy;
// Faults between the binary and AWS (throttling, 5xx, resets, truncation, slowness) survived.
mod faults;
// SIGTERM at random points of ecs-blue-green and run-migrations leaves nothing in flight; the
// runner's SIGINT, SIGTERM, kill sequence leaves the rollback asked for and the outputs written.
mod cancel;
