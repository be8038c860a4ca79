//! Tests of the local AWS test bed through real clients over HTTP.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is a failed test

mod act;
mod bed;
mod cloudwatch;
mod deployments;
mod docker;
mod ecr;
mod lifecycle_rules;
mod oidc;
mod scenarios;
mod sts;
mod support;
mod tasks;
