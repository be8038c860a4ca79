//! The runner boundary: everything deploy-kit says to a GitHub Actions runner (or to a terminal,
//! when run locally) goes through this crate. Action crates take a [`Runner`] and never print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod command;
mod env;
mod exit;
pub mod input;
mod output;
mod progress;
mod runner;
mod signal;
pub mod summary;
mod untrusted;

pub use env::{IdTokenRequest, RunIdentity, RunnerEnv};
pub use exit::{Cancelled, Classify, Exit, Failure, TimedOut, format_duration};
pub use input::InputError;
pub use output::{OutputFormat, parse_delimited as output_pairs};
pub use progress::Progress;
pub use runner::{Captured, Level, Runner};
pub use signal::{Cancellation, Signal};
pub use untrusted::shown_url;
