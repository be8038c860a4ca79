//! The action's errors: each names the service and cluster it concerns, and says how the step
//! exits ([`Classify`]).

use deploy_kit_gha::{Cancelled, Classify, Exit, InputError};
use deploy_kit_render_taskdef::register::RegisterError;

use crate::input::Input;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("no AWS region: set `aws-region` on oidc-login, or AWS_REGION in the environment")]
    NoRegion,
    #[error(
        "service `{service}` not found in cluster `{cluster}` ({reason}): check `cluster` and `service`"
    )]
    NotFound {
        cluster: String,
        service: String,
        reason: String,
    },
    #[error("{call} for service `{service}` in cluster `{cluster}` failed: {message}")]
    Aws {
        call: &'static str,
        cluster: String,
        service: String,
        message: String,
    },
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error("RunTask for service `{service}` in cluster `{cluster}` started no task: {reasons}")]
    RunTask {
        cluster: String,
        service: String,
        reasons: String,
    },
    /// ECS's ConflictException: the token is bound to another request. Tokens carry a hash of
    /// the request, so someone else sent this one.
    #[error(
        "RunTask for service `{service}` in cluster `{cluster}` refused client token `{token}`: it already started {tasks} with other parameters, and deploy-kit's tokens differ per request, so another client used it; re-run the workflow (a new attempt has new tokens)"
    )]
    TokenConflict {
        cluster: String,
        service: String,
        token: String,
        tasks: String,
    },
    /// The container exited non-zero, or never ran.
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
            Error::Input(_) | Error::NoRegion | Error::NotFound { .. } => Exit::BadInput,
            Error::TimedOut(_) => Exit::TimedOut,
            Error::Cancelled(cancelled) => cancelled.exit(),
            Error::Aws { .. }
            | Error::Register(_)
            | Error::RunTask { .. }
            | Error::TokenConflict { .. }
            | Error::Failed(_) => Exit::Failed,
        }
    }
}

/// An AWS call about the service failed (after the SDK's retries).
pub(crate) fn aws_error<E>(
    input: &Input,
    call: &'static str,
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Error
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    Error::Aws {
        call,
        cluster: input.cluster.clone(),
        service: input.service.clone(),
        message: deploy_kit_aws::describe_error(error),
    }
}
