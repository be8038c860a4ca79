//! Tests of the local AWS test bed through real clients over HTTP.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is a failed test

// A workflow through act in host mode against the bed.
mod act;
// `tests/bed/up` and `down` themselves: the printed environment, reuse, cleanup.
mod bed;
// The bed's CloudWatch: the rpc-v2-cbor bridge, alarms, metrics.
mod cloudwatch;
// Service deployments: each strategy's stages, PAUSE hooks, stop, describe, validation.
mod deployments;
// The bed's docker engine and registry.
mod docker;
// ECR answered from the bed's registry.
mod ecr;
// Where the bed follows ECS's documented rules for service deployments.
mod lifecycle_rules;
// The fake GitHub OIDC endpoint.
mod oidc;
// Scenario knobs: each failure ends the deployment the way ECS would.
mod scenarios;
// STS AssumeRoleWithWebIdentity with the bed's GitHub OIDC tokens, and its failure knobs.
mod sts;
// Shared helpers for the ECS tests.
mod support;
// RunTask/DescribeTasks/StopTask: lifecycle, exit codes, logs, client tokens.
mod tasks;
