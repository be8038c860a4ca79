//! The failures every ECS action shares, and their exit codes.

use deploy_kit_gha::{Cancelled, Classify, Exit, InputError};

use crate::{RegisterError, RevisionRefusal};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    NoRegion(#[from] deploy_kit_aws::NoRegion),
    /// An AWS call about the service failed (after the SDK's retries): see
    /// [`crate::ServiceRef::aws_error`].
    #[error("{call} for service `{service}` in cluster `{cluster}` failed: {message}")]
    Aws {
        call: &'static str,
        cluster: String,
        service: String,
        message: String,
    },
    /// `task-definition` names a revision that cannot be used: nothing was written.
    #[error(transparent)]
    Revision(#[from] RevisionRefusal),
    /// Registering the task definition failed.
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// The work ended badly (a failed deployment, a container's exit code, ...).
    #[error("{0}")]
    Failed(String),
    #[error("{0}")]
    TimedOut(String),
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::NoRegion(_) | Error::Revision(_) => Exit::BadInput,
            Error::TimedOut(_) => Exit::TimedOut,
            Error::Cancelled(cancelled) => cancelled.exit(),
            Error::Aws { .. } | Error::Register(_) | Error::Failed(_) => Exit::Failed,
        }
    }
}

/// For an action's error enum with an `Ecs(deploy_kit_ecs::Error)` variant: the constructors
/// and conversions every ECS action needs, written once.
#[macro_export]
macro_rules! action_error {
    ($error:ident) => {
        impl $error {
            /// The work ended badly: a failed deployment, a container's exit code, ...
            pub fn failed(message: impl Into<String>) -> Self {
                $error::Ecs($crate::Error::Failed(message.into()))
            }

            pub fn timed_out(message: impl Into<String>) -> Self {
                $error::Ecs($crate::Error::TimedOut(message.into()))
            }
        }

        impl From<$crate::__gha::InputError> for $error {
            fn from(error: $crate::__gha::InputError) -> Self {
                $error::Ecs(error.into())
            }
        }

        impl From<$crate::__gha::Cancelled> for $error {
            fn from(cancelled: $crate::__gha::Cancelled) -> Self {
                $error::Ecs(cancelled.into())
            }
        }
    };
}
