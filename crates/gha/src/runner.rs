//! [`Runner`]: the one object through which a command talks to the runner or the terminal.

use crate::env::RunnerEnv;
use std::fmt::Display;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::command;
use crate::exit::Exit;
use crate::output::{self, OutputFormat};
use crate::progress::Progress;
use crate::signal::Cancellation;
use crate::summary;
use crate::untrusted;

/// How long a failed step lingers under act so its last lines reach the log.
const ACT_DRAIN: Duration = Duration::from_millis(300);

/// Annotation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Error,
}

type Sink = Mutex<Box<dyn Write + Send>>;

pub struct Runner {
    action: &'static str,
    env: RunnerEnv,
    format: OutputFormat,
    stdout: Sink,
    stderr: Arc<Sink>,
    masks: Arc<Mutex<Vec<String>>>,
    budget: Mutex<command::Budget>,
    /// The step summary was cut at the runner's limit: nothing more is appended.
    summary_cut: Mutex<bool>,
    json: Mutex<serde_json::Map<String, serde_json::Value>>,
    cancellation: Cancellation,
    started: Instant,
}

fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not silence the runner.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn redact(masks: &Mutex<Vec<String>>, text: &str) -> String {
    let masks = lock(masks);
    let mut text = text.to_owned();
    for mask in masks.iter() {
        if text.contains(mask.as_str()) {
            text = text.replace(mask.as_str(), "***");
        }
    }
    text
}

fn write_line(sink: &Sink, line: &str) {
    let mut sink = lock(sink);
    let _ = writeln!(sink, "{line}");
    let _ = sink.flush();
}

impl Runner {
    pub fn new(
        action: &'static str,
        env: RunnerEnv,
        format: OutputFormat,
        cancellation: Cancellation,
    ) -> Self {
        Self::with_sinks(
            action,
            env,
            format,
            cancellation,
            Box::new(io::stdout()),
            Box::new(io::stderr()),
        )
    }

    fn with_sinks(
        action: &'static str,
        env: RunnerEnv,
        format: OutputFormat,
        cancellation: Cancellation,
        stdout: Box<dyn Write + Send>,
        stderr: Box<dyn Write + Send>,
    ) -> Self {
        Self {
            action,
            env,
            format,
            stdout: Mutex::new(stdout),
            stderr: Arc::new(Mutex::new(stderr)),
            masks: Arc::new(Mutex::new(Vec::new())),
            budget: Mutex::new(command::Budget::default()),
            summary_cut: Mutex::new(false),
            json: Mutex::new(serde_json::Map::new()),
            cancellation,
            started: Instant::now(),
        }
    }

    /// A runner whose stdout and stderr are captured, for tests.
    pub fn capture(action: &'static str, env: RunnerEnv, format: OutputFormat) -> (Self, Captured) {
        let captured = Captured::default();
        let runner = Self::with_sinks(
            action,
            env,
            format,
            Cancellation::never(),
            Box::new(SharedBuffer(Arc::clone(&captured.stdout))),
            Box::new(SharedBuffer(Arc::clone(&captured.stderr))),
        );
        (runner, captured)
    }

    pub fn action(&self) -> &'static str {
        self.action
    }

    pub fn env(&self) -> &RunnerEnv {
        &self.env
    }

    pub fn cancellation(&self) -> &Cancellation {
        &self.cancellation
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// Registers a secret: the runner hides it from every log line from now on, and so do we.
    /// Call before the value can appear anywhere.
    pub fn mask(&self, secret: &str) {
        // Mask each line too: the runner matches masks line by line. Lines split as the runner
        // splits them (actions/runner src/Runner.Worker/ActionCommandManager.cs,
        // AddMaskCommandExtension: on CR and LF, trimmed); older runners and act do not split
        // at all, so every line gets its own `::add-mask::` here.
        let mut parts: Vec<&str> = vec![secret];
        if secret.contains(['\r', '\n']) {
            parts.extend(secret.split(['\r', '\n']));
        }
        let mut masks = lock(&self.masks);
        for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
            if masks.iter().any(|known| known == part) {
                continue;
            }
            masks.push(part.to_owned());
            // Longest first, so a secret containing another is hidden whole.
            masks.sort_by_key(|known| std::cmp::Reverse(known.len()));
            if self.env.in_actions {
                self.write_stderr(&command::render("add-mask", &[], part));
            }
        }
    }

    /// Replaces every registered secret with `***`.
    pub fn redact(&self, text: &str) -> String {
        redact(&self.masks, text)
    }

    fn write_stderr(&self, line: &str) {
        write_line(&self.stderr, line);
    }

    /// A log line writer that outlives this borrow: for what a library reports from inside an
    /// SDK client (deploy_kit_aws's retry reports), which keeps it as long as the client.
    /// Lines are masked like [`Runner::info`]'s.
    pub fn line_writer(&self) -> Arc<dyn Fn(&str) + Send + Sync> {
        let (stderr, masks) = (Arc::clone(&self.stderr), Arc::clone(&self.masks));
        Arc::new(move |line: &str| write_line(&stderr, &redact(&masks, line)))
    }

    /// A log line (or several). Messages quote names, errors and bodies from elsewhere, so they
    /// go through the same guard as [`Runner::untrusted`]: a line that could act is fenced.
    pub fn info(&self, message: impl Display) {
        self.untrusted_lines("", [message.to_string()]);
    }

    /// Prints text we do not control (container logs, docker output, HTTP bodies, AWS messages),
    /// each line after `prefix`: every line is shown, in order, and none acts as a workflow
    /// command (see [`untrusted`](crate::untrusted)). Secrets are redacted first.
    pub fn untrusted(&self, prefix: &str, text: &str) {
        self.untrusted_lines(prefix, [text]);
    }

    /// [`Runner::untrusted`] for several texts (log events, output lines) printed as one block.
    pub fn untrusted_lines<I, S>(&self, prefix: &str, texts: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut lines = Vec::new();
        for text in texts {
            let text = self.redact(text.as_ref());
            lines.extend(
                untrusted::split_lines(&text)
                    .into_iter()
                    .map(|line| self.redact(&format!("{prefix}{line}"))),
            );
        }
        // One lock for the whole block: no line of ours may land inside the fence.
        let mut stderr = lock(&self.stderr);
        for line in untrusted::fence(lines, self.env.in_actions) {
            let _ = writeln!(stderr, "{line}");
        }
        let _ = stderr.flush();
    }

    /// Detail for debugging: shown by the runner only with step debug logging on.
    pub fn debug(&self, message: impl Display) {
        if self.env.in_actions {
            let message = self.redact(&message.to_string());
            self.write_stderr(&command::render("debug", &[], &message));
        } else if self.env.debug {
            self.info(format_args!("debug: {message}"));
        }
    }

    pub fn notice(&self, message: impl Display) {
        self.annotate(Level::Notice, None, message);
    }

    pub fn warning(&self, message: impl Display) {
        self.annotate(Level::Warning, None, message);
    }

    pub fn error(&self, message: impl Display) {
        self.annotate(Level::Error, None, message);
    }

    /// An annotation; the title defaults to the action's name. Past the runner's per-step limit
    /// it is a plain log line, counted in one last annotation at [`Runner::finish`].
    pub fn annotate(&self, level: Level, title: Option<&str>, message: impl Display) {
        self.annotation(level, title, &message.to_string(), false);
    }

    /// The error that fails the step: always an annotation, in the slot kept for it.
    pub fn failure(&self, message: impl Display) {
        self.annotation(Level::Error, None, &message.to_string(), true);
    }

    fn annotation(&self, level: Level, title: Option<&str>, message: &str, failure: bool) {
        let message = self.redact(message);
        let (name, kind) = match level {
            Level::Error => ("error", 0),
            Level::Warning => ("warning", 1),
            Level::Notice => ("notice", 2),
        };
        if !self.env.in_actions {
            self.write_stderr(&format!("{name}: {message}"));
        } else if lock(&self.budget).take(kind, failure) {
            let title = self.redact(title.unwrap_or(self.action));
            let message = command::fit_message(&message);
            self.write_stderr(&command::render(name, &[("title", &title)], &message));
        } else {
            // One log line per message line: the text stays readable and none of it is a command.
            for line in message.lines() {
                self.write_stderr(&format!("{name}: {}", command::escape_data(line)));
            }
        }
    }

    /// "N more warnings in the log", once per kind, in the slot the budget kept for it.
    fn report_held(&self) {
        for (level, kind, plural) in [
            (Level::Error, 0, "errors"),
            (Level::Warning, 1, "warnings"),
            (Level::Notice, 2, "notices"),
        ] {
            let held = lock(&self.budget).take_held(kind);
            if held > 0 {
                self.annotation(
                    level,
                    None,
                    &format!(
                        "{held} more {plural} in this step's log (the runner shows {} per step)",
                        command::ANNOTATIONS_PER_KIND
                    ),
                    true,
                );
            }
        }
    }

    /// Starts a collapsible group; it ends when the guard drops.
    pub fn group(&self, title: impl Display) -> Group<'_> {
        let title = self.redact(&title.to_string());
        if self.env.in_actions {
            self.write_stderr(&command::render("group", &[], &title));
        } else {
            self.write_stderr(&format!("── {title}"));
        }
        Group { runner: self }
    }

    /// Sets a step output (`$GITHUB_OUTPUT`; locally `name=value` on stdout or `--json`).
    pub fn set_output(&self, name: &str, value: &str) -> io::Result<()> {
        if let Some(path) = &self.env.output_file {
            output::append(path, &output::delimited(name, value))?;
        }
        match self.format {
            OutputFormat::Json => {
                lock(&self.json).insert(name.to_owned(), value.into());
            }
            OutputFormat::Lines if self.env.output_file.is_none() => {
                let line = if value.contains('\n') {
                    output::delimited(name, value)
                } else {
                    format!("{name}={value}\n")
                };
                let mut stdout = lock(&self.stdout);
                stdout.write_all(line.as_bytes())?;
                stdout.flush()?;
            }
            OutputFormat::Lines => {}
        }
        Ok(())
    }

    /// Exports an environment variable to later steps (`$GITHUB_ENV`). Returns false when there is
    /// no runner to export to (local runs).
    pub fn export_variable(&self, name: &str, value: &str) -> io::Result<bool> {
        match &self.env.env_file {
            Some(path) => output::append(path, &output::delimited(name, value)).map(|()| true),
            None => Ok(false),
        }
    }

    /// Prepends a directory to `PATH` for later steps (`$GITHUB_PATH`).
    pub fn add_path(&self, dir: &str) -> io::Result<bool> {
        match &self.env.path_file {
            Some(path) => output::append(path, &format!("{dir}\n")).map(|()| true),
            None => Ok(false),
        }
    }

    /// Appends Markdown to the step summary (nothing locally). Secrets are redacted. The file
    /// stays within the runner's per-step limit: a report that would pass it is cut at a line,
    /// with a note, and later appends are dropped.
    pub fn summary(&self, markdown: &str) -> io::Result<()> {
        let Some(path) = &self.env.summary_file else {
            return Ok(());
        };
        let mut cut = lock(&self.summary_cut);
        if *cut {
            return Ok(());
        }
        let existing = std::fs::metadata(path).map_or(0, |m| m.len());
        let (text, was_cut) = summary::fit(
            existing,
            &self.redact(markdown),
            summary::STEP_SUMMARY_LIMIT,
        );
        *cut = was_cut;
        if text.is_empty() {
            return Ok(());
        }
        output::append(path, &text)
    }

    /// A progress display for one long operation.
    pub fn progress(&self, label: impl Into<String>) -> Progress<'_> {
        Progress::new(self, label.into())
    }

    /// Holds a failed step's exit briefly under act. In host mode act returns from a step that
    /// exited non-zero without waiting for its copy of the step's pseudo-terminal, so the last
    /// lines it printed (our error) can vanish from the log (nektos/act,
    /// pkg/container/host_environment.go). The pause lets that copy drain; nothing else waits.
    pub fn settle(&self, exit: Exit) {
        if self.env.act_pty && exit != Exit::Success {
            std::thread::sleep(ACT_DRAIN);
        }
    }

    /// Counts the annotations held back past the runner's limit, and writes the `--json`
    /// object, if that format was asked for. Call once, at the end.
    pub fn finish(&self) -> io::Result<()> {
        self.report_held();
        if self.format == OutputFormat::Json {
            let object = serde_json::Value::Object(lock(&self.json).clone());
            let mut stdout = lock(&self.stdout);
            writeln!(stdout, "{object}")?;
            stdout.flush()?;
        }
        Ok(())
    }
}

/// Ends a `::group::` when dropped.
pub struct Group<'a> {
    runner: &'a Runner,
}

impl Drop for Group<'_> {
    fn drop(&mut self) {
        if self.runner.env.in_actions {
            self.runner.write_stderr("::endgroup::");
        }
    }
}

/// What a captured [`Runner`] printed.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&lock(&self.stdout)).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&lock(&self.stderr)).into_owned()
    }
}

struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
