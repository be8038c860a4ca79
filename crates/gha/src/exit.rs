//! Exit codes and the classification of failures into them.

use std::time::Duration;

use crate::input::InputError;
use crate::signal::Signal;

/// The documented exit codes of every deploy-kit command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// The operation ran and failed: a check failed, a deployment rolled back, a task exited non-zero.
    Failed,
    /// Bad input or configuration; nothing was changed.
    BadInput,
    TimedOut,
    /// Cancelled by a signal (130 for SIGINT, 143 for SIGTERM).
    Cancelled(Signal),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::BadInput => 2,
            Exit::TimedOut => 3,
            Exit::Cancelled(signal) => signal.exit_code(),
        }
    }
}

/// Library error enums say which exit code they mean; the binary asks once, at the top.
pub trait Classify {
    fn exit(&self) -> Exit;
}

impl Classify for InputError {
    fn exit(&self) -> Exit {
        Exit::BadInput
    }
}

/// A wait ran past its deadline.
#[derive(Debug, Clone, thiserror::Error)]
#[error("timed out after {} waiting for {what}", format_duration(*.after))]
pub struct TimedOut {
    pub what: String,
    pub after: Duration,
}

impl Classify for TimedOut {
    fn exit(&self) -> Exit {
        Exit::TimedOut
    }
}

/// The workflow was cancelled; `cleanup` says what was done to leave things safe.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cancelled by {signal}{}", cleanup.as_deref().map(|c| format!("; {c}")).unwrap_or_default())]
pub struct Cancelled {
    pub signal: Signal,
    pub cleanup: Option<String>,
}

impl Classify for Cancelled {
    fn exit(&self) -> Exit {
        Exit::Cancelled(self.signal)
    }
}

/// An error on its way out of the binary, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        Self {
            exit,
            error: error.into(),
        }
    }

    /// Adds context to the message while keeping the exit code.
    pub fn context(self, context: impl std::fmt::Display + Send + Sync + 'static) -> Self {
        Self {
            exit: self.exit,
            error: self.error.context(context),
        }
    }
}

impl<E> From<E> for Failure
where
    E: Classify + std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        Self::new(error.exit(), error)
    }
}

/// `1m30s`, `45s`, `1.2s`, `350ms`: short, for messages.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1_000 {
        return format!("{millis}ms");
    }
    if millis < 10_000 {
        return format!("{:.1}s", duration.as_secs_f64());
    }
    let seconds = duration.as_secs();
    match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_codes() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::Failed.code(), 1);
        assert_eq!(Exit::BadInput.code(), 2);
        assert_eq!(Exit::TimedOut.code(), 3);
        assert_eq!(Exit::Cancelled(Signal::Interrupt).code(), 130);
        assert_eq!(Exit::Cancelled(Signal::Terminate).code(), 143);
    }

    #[test]
    fn failures_keep_their_class_through_context() {
        let failure = Failure::from(InputError::new("cluster", "is required")).context("deploying");
        assert_eq!(failure.exit, Exit::BadInput);
        assert_eq!(
            format!("{:#}", failure.error),
            "deploying: input `cluster`: is required"
        );
    }

    #[test]
    fn timed_out_message() {
        let error = TimedOut {
            what: "service `api` to become stable".into(),
            after: Duration::from_secs(1800),
        };
        assert_eq!(
            error.to_string(),
            "timed out after 30m waiting for service `api` to become stable"
        );
        assert_eq!(Failure::from(error).exit, Exit::TimedOut);
    }

    #[test]
    fn cancelled_message_says_what_was_cleaned_up() {
        let error = Cancelled {
            signal: Signal::Terminate,
            cleanup: Some("deployment rolled back".into()),
        };
        assert_eq!(
            error.to_string(),
            "cancelled by SIGTERM; deployment rolled back"
        );
        assert_eq!(Failure::from(error).exit.code(), 143);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_millis(350)), "350ms");
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.2s");
        assert_eq!(format_duration(Duration::from_secs(45)), "45s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }
}
