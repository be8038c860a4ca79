//! Integration tests of run-migrations, one binary. The whole action against the test bed is in
//! crates/deploy-kit/tests/it/run_migrations.rs; these cover the pieces with scripted answers.
#![allow(clippy::unwrap_used)] // a panic in a test is its failure

// Every input is checked before any AWS call; bad ones name the input.
mod input;
// RunTask: capacity failures retried within start-timeout, other failures named, the client
// token per request and its conflicts; the container verdict.
mod task;
// Logs after STOPPED: read until quiet, late lines shown, bounded by the grace period.
mod logs;
