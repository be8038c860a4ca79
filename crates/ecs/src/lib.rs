//! The ECS actions' shared core (ecs-blue-green, run-migrations): what both parse, decide and
//! send the same way.
//!
//! - [`ServiceRef`]: the `cluster` and `service` inputs, parsed and checked once; it names the
//!   service in every AWS error ([`ServiceRef::aws_error`]).
//! - [`TaskDefinition`]: the `task-definition` input, parsed once (a file is read and checked
//!   then, before any AWS call); [`TaskDefinition::target`] resolves it after pre-flight into
//!   the [`Target`] sent to ECS, which [`Target::arn`] registers when it is a file.
//! - [`Error`]: the failures every ECS action shares, with their exit codes; each action's own
//!   error wraps it.
//!
//! The task definition file format has one reader, render-taskdef's
//! [`deploy_kit_render_taskdef::task_file`] (it owns the ECS model the file is checked against);
//! this crate registers what it read.

mod error;
mod register;
mod revision;
mod service;
mod target;

#[doc(hidden)]
pub use deploy_kit_gha as __gha;
pub use deploy_kit_render_taskdef::task_file::{TaskFile, images};
pub use error::Error;
pub use register::{RegisterError, register};
pub use revision::{RevisionRef, RevisionRefusal};
pub use service::{DEFAULT_CLUSTER, Described, ServiceRef};
pub use target::{Target, TaskDefinition};
