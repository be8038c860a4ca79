//! Integration tests of ecs-blue-green, one binary.
#![allow(clippy::unwrap_used)] // a panic in a test is its failure

// max-5xx-rate: the gate's inputs, the alarm it writes (mocked CloudWatch and ELBv2), refusals.
mod alarm;
// The dry run's task definition diff.
mod dry_run;
// Every input is checked before any AWS call; bad ones name the input.
mod input;
// Pre-flight refusals against the real ECS client with scripted responses (aws-smithy-mocks).
mod preflight;
// The step summary, as GitHub renders it (insta snapshot).
mod summary;
// The deployment configuration sent with UpdateService, per strategy.
mod update;
// Following a deployment: terminal states, throttling, 5xx, disappearance, unknown enums, timeout.
mod watch;
