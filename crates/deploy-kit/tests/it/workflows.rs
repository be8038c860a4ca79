//! The actions through act, as a workflow runs them, against the bed.

// Each action installed through dist/install.sh and run by act in host mode.
mod act;
// The demo path: examples/workflows/deploy.yml through act against the bed.
pub mod demo;
// The other example workflows (pull request dry run, rollback) through act against the bed.
mod examples;
