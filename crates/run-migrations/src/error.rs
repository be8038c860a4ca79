//! run-migrations' errors: the ones every ECS action shares ([`deploy_kit_ecs::Error`]) and its
//! own, each naming the service and cluster it concerns, with its exit code ([`Classify`]).

use deploy_kit_ecs::ServiceRef;
use deploy_kit_gha::{Classify, Exit};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, no region, an AWS call, the task definition, failed, timed out, cancelled.
    #[error(transparent)]
    Ecs(#[from] deploy_kit_ecs::Error),
    #[error(
        "service `{service}` not found in cluster `{cluster}` ({reason}): check `cluster` and `service`"
    )]
    NotFound {
        cluster: String,
        service: String,
        reason: String,
    },
    #[error("RunTask for {service} started no task: {reasons}")]
    RunTask {
        service: ServiceRef,
        reasons: String,
    },
    /// ECS's ConflictException: the token is bound to another request. Tokens carry a hash of
    /// the request, so someone else sent this one.
    #[error(
        "RunTask for {service} refused client token `{token}`: it already started {tasks} with other parameters, and deploy-kit's tokens differ per request, so another client used it; re-run the workflow (a new attempt has new tokens)"
    )]
    TokenConflict {
        service: ServiceRef,
        token: String,
        tasks: String,
    },
}

deploy_kit_ecs::action_error!(Error);

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Ecs(error) => error.exit(),
            Error::NotFound { .. } => Exit::BadInput,
            Error::RunTask { .. } | Error::TokenConflict { .. } => Exit::Failed,
        }
    }
}
