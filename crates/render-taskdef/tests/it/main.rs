//! render-taskdef through its public entry points.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a panic is a failed test

// Rendering files: edits, determinism, templating, the summary.
mod render;
// Bad input: each error names the input and what would be valid.
mod errors;
// The live path: DescribeTaskDefinition through the real SDK client, mocked and against the
// local test bed (moto).
mod live;
// Every field of the SDK's model, generated from the model, survives both paths.
mod model;
// The task definition file format's one reader, which ecs-blue-green and run-migrations
// register from: a file checked before any call.
mod task_file;
// Inputs the fuzzer found (fuzz/): refused as bad input naming it.
mod fuzz_regressions;
