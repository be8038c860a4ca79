//! Integration tests of deploy-kit-ecs, one binary.
#![allow(clippy::unwrap_used)] // a panic in a test is its failure

// Registering a file read by render-taskdef's reader: every field of the model is sent.
mod register;
// `cluster`, `service` and `task-definition` parsed; a revision resolved against mocked ECS.
mod target;
