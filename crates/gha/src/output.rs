//! Step outputs and exported variables, in the runner's file formats.

use std::io::{self, Write};
use std::path::Path;

/// Where outputs go when there is no `$GITHUB_OUTPUT` (local runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// `name=value` lines on stdout.
    #[default]
    Lines,
    /// One JSON object on stdout when the command ends (`--json`).
    Json,
}

/// `name<<DELIM\nvalue\nDELIM\n`: safe for multi-line values. The delimiter is random and never
/// occurs in the value, so a value cannot smuggle in a second output.
pub(crate) fn delimited(name: &str, value: &str) -> String {
    let delimiter = loop {
        let candidate = format!("ghadelimiter_{:032x}", fastrand::u128(..));
        if !value.contains(&candidate) && !name.contains(&candidate) {
            break candidate;
        }
    };
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Appends to a runner file (`$GITHUB_OUTPUT`, `$GITHUB_ENV`, `$GITHUB_STEP_SUMMARY`).
pub(crate) fn append(path: &Path, text: &str) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// Parses the delimiter form back (tests, and the drift checks of other crates).
pub fn parse_delimited(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for line in lines.by_ref() {
                if line == delimiter {
                    break;
                }
                value.push(line);
            }
            pairs.push((name.to_owned(), value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            pairs.push((name.to_owned(), value.to_owned()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_values_round_trip() {
        let text = delimited("report", "line one\nline two\nx=y");
        assert!(text.starts_with("report<<ghadelimiter_"));
        assert_eq!(
            parse_delimited(&text),
            vec![("report".to_owned(), "line one\nline two\nx=y".to_owned())]
        );
    }

    #[test]
    fn delimiters_differ_between_calls() {
        assert_ne!(delimited("a", "1"), delimited("a", "1"));
    }

    #[test]
    fn a_value_cannot_inject_another_output() {
        let text = format!(
            "{}{}",
            delimited("a", "x\nEOF\nb<<EOF\ninjected"),
            delimited("c", "3")
        );
        let names: Vec<_> = parse_delimited(&text).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "c"]);
    }
}
