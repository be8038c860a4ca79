//! Tests of the local AWS test bed through real clients over HTTP.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is a failed test

mod docker;
mod oidc;
