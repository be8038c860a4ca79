//! render-taskdef (stub: being written).
use deploy_kit_gha::{Classify, Exit, Runner};

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path to the task definition JSON file.
    #[arg(long, env = "INPUT_TASK_DEFINITION")]
    pub task_definition: Option<String>,
}

/// The outputs `action.yml` declares.
pub const OUTPUTS: &[&str] = &["task-definition"];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] deploy_kit_gha::InputError),
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) => Exit::BadInput,
        }
    }
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let _ = (args, runner);
    Ok(())
}
