//! run-migrations: a one-off ECS task (database migrations) run from the service's own
//! configuration: its network, launch type or capacity providers, platform version and (unless
//! `task-definition` says otherwise) task definition. The task's logs stream live; the named
//! container's exit code is the verdict; timeouts and cancel stop the task.
//!
//! Parse, then validate, then act: every input, the task definition file and the container
//! choice are checked before anything is written (exit 2 names the input). The modules, in the
//! order a run meets them: `input` (the edge), `plan` (decided once, reads only), `flow` (the
//! run in call order), `task` and `logs` (the task's life), `summary` (the outputs).

mod error;
mod flow;
#[cfg(test)]
mod hostile_logs;
mod input;
pub mod logs;
pub mod plan;
mod summary;
pub mod task;

use deploy_kit_gha::Runner;

pub use error::Error;
pub use flow::judge;
pub use input::{Args, Input, NetworkOverrides};
pub use logs::console_url as log_console_url;
pub use summary::OUTPUTS;

/// The action: parse and check every input, then run.
pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let input = Input::from_args(&args, &runner.env().run)?;
    flow::run(&input, runner).await
}
