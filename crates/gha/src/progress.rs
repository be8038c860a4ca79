//! Progress of a long operation: a spinner on a terminal; in CI logs one line per state change
//! with the elapsed time (a spinner there would only flood the log).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::exit::format_duration;
use crate::runner::Runner;

pub struct Progress<'a> {
    runner: &'a Runner,
    label: String,
    started: Instant,
    last: Mutex<String>,
    spinner: Option<ProgressBar>,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(runner: &'a Runner, label: String) -> Self {
        let spinner = runner.env().terminal.then(|| {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {prefix} [{elapsed}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.set_prefix(label.clone());
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        });
        Self {
            runner,
            label,
            started: Instant::now(),
            last: Mutex::new(String::new()),
            spinner,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Reports the current state; repeated identical states print nothing.
    pub fn state(&self, state: impl Into<String>) {
        let state = self.runner.redact(&state.into());
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *last == state {
            return;
        }
        last.clone_from(&state);
        match &self.spinner {
            Some(spinner) => spinner.set_message(state),
            None => self.runner.info(self.line(&state)),
        }
    }

    /// A line that must stay in the log (an event), printed above the spinner.
    pub fn println(&self, line: impl Into<String>) {
        let line = self.runner.redact(&line.into());
        match &self.spinner {
            Some(spinner) => spinner.println(line),
            None => self.runner.info(line),
        }
    }

    /// Ends the display with a final line.
    pub fn finish(self, outcome: impl Into<String>) {
        let line = self.line(&self.runner.redact(&outcome.into()));
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
        self.runner.info(line);
    }

    fn line(&self, state: &str) -> String {
        format!(
            "[{:>6}] {}: {state}",
            format_duration(self.elapsed()),
            self.label
        )
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}
