//! ecs-blue-green's errors: the ones every ECS action shares ([`deploy_kit_ecs::Error`]) and
//! its own refusals, each with its exit code.

use deploy_kit_gha::{Classify, Exit};

use crate::alarm::GateError;
use crate::preflight::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, no region, an AWS call, the task definition, failed, timed out, cancelled.
    #[error(transparent)]
    Ecs(#[from] deploy_kit_ecs::Error),
    /// Pre-flight refused: nothing was written.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// `max-5xx-rate`: the alarm cannot be set up (refusals write nothing).
    #[error(transparent)]
    Gate(#[from] GateError),
}

deploy_kit_ecs::action_error!(Error);

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Ecs(error) => error.exit(),
            Error::Refused(_) => Exit::BadInput,
            Error::Gate(gate) if gate.is_refusal() => Exit::BadInput,
            Error::Gate(_) => Exit::Failed,
        }
    }
}
