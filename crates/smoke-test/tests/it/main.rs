//! smoke-test against real HTTP servers on loopback.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is a failed test

// A scriptable HTTP/1.1 server that each test starts and stops.
mod server;
// The action's behaviour: waiting, gates, expectations, outputs, masking.
mod checks;
