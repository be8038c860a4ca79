//! A small, faithful model of how a GitHub Actions runner reads a step's output for workflow
//! commands, so tests can check that text we do not control never becomes one.
//!
//! Modelled on actions/runner:
//! - `src/Runner.Sdk/ProcessInvoker.cs`: stdout and stderr are read with `StreamReader.ReadLine`,
//!   so `\r\n`, `\r` and `\n` each end a line ([`read_lines`]);
//! - `src/Runner.Common/ActionCommand.cs`: `TryParseV2` (`::name props::data` after
//!   `TrimStart()`, properties split at `,` and `=`) is tried first, then `TryParse`
//!   (`##[name props]data` anywhere in the line, properties split at `;`); a name counts only when
//!   registered, compared case-insensitively;
//! - `src/Runner.Worker/ActionCommandManager.cs` `TryProcessCommand`: `stop-commands` pauses
//!   processing until a command named by its data arrives (an empty token never resumes); while
//!   paused every other command line is shown as text.
//!
//! The runner compares with .NET's culture-sensitive `StartsWith`/`IndexOf`; the model compares
//! ordinally. deploy-kit does not rely on that difference: it fences every untrusted block, and a
//! fence ends only on a command whose name equals its token (ordinal, ignoring case).

/// Text a container, a Dockerfile's RUN step, an HTTP server or an AWS error message may print,
/// each trying a different way in.
pub const HOSTILE: &[&str] = &[
    "##[error]fake failure",
    "::error::fake failure",
    "   ::add-mask::passed",
    "x ##[add-mask]passed y",
    "progress 50%\r::stop-commands::pwn",
    "::stop-commands::",
    "##[stop-commands]pwn",
    "::set-env name=NODE_OPTIONS::--require /tmp/x.js",
    "::ERROR title=t::upper case",
    "\u{200b}::error::zero width",
    "::group::fake\n::endgroup::",
    "%0A::error::escaped newline",
    "a\r\n::warning::b\rc",
    "::echo::on",
    "::0123456789abcdef0123456789abcdef::",
    "##[add-matcher]/tmp/matcher.json",
    "::save-state name=x::y",
    "\t::debug::tab",
];

/// Commands with an extension in `ActionCommandManager.cs` (and `notice`, added since).
const EXTENSIONS: &[&str] = &[
    "set-env",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "add-matcher",
    "remove-matcher",
    "debug",
    "notice",
    "warning",
    "error",
    "group",
    "endgroup",
    "echo",
];

const STOP: &str = "stop-commands";

/// One line as the runner treats it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Shown in the log as it is.
    Text(String),
    /// A command the runner acts on: its name (lowercase), properties and data.
    Command {
        name: String,
        properties: Vec<(String, String)>,
        data: String,
    },
    /// `stop-commands` with its token: commands are ignored from here on.
    Stop(String),
    /// The token's command: processing resumes.
    Resume(String),
}

/// The lines a runner reads from `output`.
pub fn read_lines(output: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = output;
    while !rest.is_empty() {
        match rest.find(['\r', '\n']) {
            None => {
                lines.push(rest);
                break;
            }
            Some(at) => {
                lines.push(&rest[..at]);
                let width = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[at + width..];
            }
        }
    }
    lines
}

/// The runner's command state over one job's output.
#[derive(Debug, Default)]
pub struct Runner {
    /// `Some(token)` while paused by `stop-commands`.
    stopped: Option<String>,
}

impl Runner {
    /// Feeds output (any number of lines) and returns what the runner makes of each line.
    pub fn feed(&mut self, output: &str) -> Vec<Event> {
        read_lines(output)
            .into_iter()
            .map(|line| self.line(line))
            .collect()
    }

    /// Whether commands are paused (a fence was opened and never closed).
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_some()
    }

    fn registered(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        name == STOP
            || EXTENSIONS.contains(&name.as_str())
            || self
                .stopped
                .as_ref()
                .is_some_and(|token| token.to_lowercase() == name)
    }

    fn line(&mut self, line: &str) -> Event {
        let Some((name, properties, data)) = self.parse_v2(line).or_else(|| self.parse_v1(line))
        else {
            return Event::Text(line.to_owned());
        };
        let lower = name.to_lowercase();
        if let Some(token) = &self.stopped {
            if !token.is_empty() && token.to_lowercase() == lower {
                let token = token.clone();
                self.stopped = None;
                return Event::Resume(token);
            }
            return Event::Text(line.to_owned());
        }
        if lower == STOP {
            self.stopped = Some(data.clone());
            return Event::Stop(data);
        }
        Event::Command {
            name: lower,
            properties,
            data,
        }
    }

    /// `::name k=v,k=v::data` after leading white space.
    fn parse_v2(&self, line: &str) -> Option<Parsed> {
        let message = line.trim_start();
        let rest = message.strip_prefix("::")?;
        let end = rest.find("::")?;
        let info = &rest[..end];
        let (name, props) = info.split_once(' ').unwrap_or((info, ""));
        if !self.registered(name) {
            return None;
        }
        let properties = props
            .trim()
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(key, value)| !key.is_empty() && !value.is_empty())
            .map(|(key, value)| (key.to_owned(), unescape(value, PROPERTY)))
            .collect();
        Some((
            name.to_owned(),
            properties,
            unescape(&rest[end + 2..], DATA),
        ))
    }

    /// `##[name k=v;k=v]data` anywhere in the line.
    fn parse_v1(&self, line: &str) -> Option<Parsed> {
        let start = line.find("##[")?;
        let close = start + line[start..].find(']')?;
        let info = &line[start + 3..close];
        let (name, props) = info.split_once(' ').unwrap_or((info, ""));
        if !self.registered(name) {
            return None;
        }
        let properties = props
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(key, value)| !key.is_empty() && !value.is_empty())
            .map(|(key, value)| (key.to_owned(), unescape(value, LEGACY)))
            .collect();
        Some((
            name.to_owned(),
            properties,
            unescape(&line[close + 1..], LEGACY),
        ))
    }
}

type Parsed = (String, Vec<(String, String)>, String);

// The runner's escape tables, applied in its order.
const DATA: &[(&str, &str)] = &[("%0D", "\r"), ("%0A", "\n"), ("%25", "%")];
const PROPERTY: &[(&str, &str)] = &[
    ("%0D", "\r"),
    ("%0A", "\n"),
    ("%3A", ":"),
    ("%2C", ","),
    ("%25", "%"),
];
const LEGACY: &[(&str, &str)] = &[
    ("%3B", ";"),
    ("%0D", "\r"),
    ("%0A", "\n"),
    ("%5D", "]"),
    ("%25", "%"),
];

fn unescape(text: &str, table: &[(&str, &str)]) -> String {
    table
        .iter()
        .fold(text.to_owned(), |text, (from, to)| text.replace(from, to))
}

/// What a block of output did: the commands the runner acted on and the lines it showed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub commands: Vec<Event>,
    pub shown: Vec<String>,
    /// Still paused at the end: everything after (our own error, the next steps' output) would be
    /// ignored.
    pub left_stopped: bool,
}

/// Runs `output` through a fresh runner.
pub fn read(output: &str) -> Outcome {
    let mut runner = Runner::default();
    let mut outcome = Outcome::default();
    for event in runner.feed(output) {
        match event {
            Event::Text(line) => outcome.shown.push(line),
            other => outcome.commands.push(other),
        }
    }
    outcome.left_stopped = runner.is_stopped();
    outcome
}

impl Outcome {
    /// The commands other than fences opened and closed.
    pub fn acted(&self) -> Vec<&Event> {
        self.commands
            .iter()
            .filter(|event| !matches!(event, Event::Stop(_) | Event::Resume(_)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_syntaxes_and_a_lone_carriage_return_act() {
        let outcome = read("progress\r::add-mask::abc\nlog ##[error]boom\n  ::Warning file=a::w");
        let names: Vec<_> = outcome
            .acted()
            .iter()
            .map(|event| match event {
                Event::Command { name, data, .. } => format!("{name}:{data}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["add-mask:abc", "error:boom", "warning:w"]);
        assert_eq!(outcome.shown, ["progress"]);
    }

    #[test]
    fn unknown_names_are_text() {
        let outcome = read("::nope::x\n##[nope]x\nC++ a::b::c");
        assert!(outcome.commands.is_empty());
        assert_eq!(outcome.shown.len(), 3);
    }

    #[test]
    fn stop_commands_pauses_until_its_token_in_any_case() {
        let outcome = read("::stop-commands::Tok\n::error::x\n##[add-mask]y\n##[TOK]\n::error::z");
        assert_eq!(outcome.shown, ["::error::x", "##[add-mask]y"]);
        assert_eq!(outcome.commands.len(), 3);
        assert!(!outcome.left_stopped);
    }

    #[test]
    fn an_empty_token_never_resumes() {
        let outcome = read("::stop-commands::\n::error::x\n::::");
        assert!(outcome.left_stopped);
        assert_eq!(outcome.acted().len(), 0);
    }

    #[test]
    fn properties_and_data_unescape_per_syntax() {
        let outcome = read("::error title=a%3Ab%2Cc::1%0A2\n##[warning k=x%5D%3By]3%5D");
        let Event::Command {
            properties, data, ..
        } = &outcome.commands[0]
        else {
            panic!("{outcome:?}");
        };
        assert_eq!(properties, &[("title".to_owned(), "a:b,c".to_owned())]);
        assert_eq!(data, "1\n2");
        let Event::Command {
            properties, data, ..
        } = &outcome.commands[1]
        else {
            panic!("{outcome:?}");
        };
        assert_eq!(properties, &[("k".to_owned(), "x];y".to_owned())]);
        assert_eq!(data, "3]");
    }
}
