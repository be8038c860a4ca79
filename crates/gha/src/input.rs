//! Parsing action inputs. Every action input arrives as a string (an `INPUT_*` env var or a CLI
//! flag); these helpers turn them into typed values, and every failure names the input.

use std::fmt;
use std::time::Duration;

/// A bad input: names the input (kebab-case, as in `action.yml`) and says what would be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `{input}`: {message}")]
pub struct InputError {
    pub input: String,
    pub message: String,
}

impl InputError {
    pub fn new(input: impl Into<String>, message: impl fmt::Display) -> Self {
        Self {
            input: input.into(),
            message: message.to_string(),
        }
    }
}

/// An empty or all-whitespace input is unset: the runner passes `""` for inputs nobody gave.
pub fn set(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

/// The value of a required input, or an error that says how to give it.
pub fn required<'a>(input: &str, value: Option<&'a str>) -> Result<&'a str, InputError> {
    set(value).ok_or_else(|| {
        InputError::new(
            input,
            format!("is required: set `{input}:` under `with:` (or pass --{input})"),
        )
    })
}

/// The items of a multi-line input: one per line, trimmed; blank lines and `#` comments skipped.
pub fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// `KEY<sep>value` lines (e.g. `NAME=value`, `Header: value`). Split at the first separator, so
/// values may contain it; the key must be non-empty. Values are trimmed.
pub fn key_values(input: &str, text: &str, sep: char) -> Result<Vec<(String, String)>, InputError> {
    lines(text)
        .into_iter()
        .enumerate()
        .map(|(index, line)| match line.split_once(sep) {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_owned(), value.trim().to_owned()))
            }
            _ => Err(InputError::new(
                input,
                format!(
                    "item {} `{}` is not of the form `NAME{sep}value`",
                    index + 1,
                    truncate(line, 80)
                ),
            )),
        })
        .collect()
}

/// `true`/`false` (and the YAML 1.1 spellings people type: yes/no, on/off, 1/0).
pub fn boolean(input: &str, text: &str) -> Result<bool, InputError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(InputError::new(
            input,
            format!(
                "`{}` is not a boolean: use `true` or `false`",
                truncate(text, 40)
            ),
        )),
    }
}

/// A boolean input with a default when unset.
pub fn flag(input: &str, value: Option<&str>, default: bool) -> Result<bool, InputError> {
    set(value).map_or(Ok(default), |text| boolean(input, text))
}

/// A duration such as `90s`, `5m`, `1h30m`, `800ms`; a bare number is seconds.
pub fn duration(input: &str, text: &str) -> Result<Duration, InputError> {
    let invalid = || {
        InputError::new(
            input,
            format!(
                "`{}` is not a duration: use a number with a unit, e.g. `800ms`, `30s`, `5m`, `1h30m`",
                truncate(text, 40)
            ),
        )
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    if let Ok(seconds) = text.parse::<u64>() {
        total = Duration::from_secs(seconds);
        rest = "";
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let number: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        let after = &rest[digits..];
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let unit_seconds = match &after[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        let part = Duration::try_from_secs_f64(number * unit_seconds).map_err(|_| invalid())?;
        // `+` would panic past u64::MAX seconds (`1e19s1e19s`): refuse it like any typo.
        total = total.checked_add(part).ok_or_else(invalid)?;
        rest = &after[unit_len..];
    }
    // Ten days is already absurd for a CI step; larger values are typos.
    if total > Duration::from_secs(10 * 24 * 3600) {
        return Err(InputError::new(input, "is longer than 10 days"));
    }
    Ok(total)
}

/// A percentage such as `1%`, `0.5%` or `25`; returns a fraction (0.01 for `1%`).
pub fn percent(input: &str, text: &str) -> Result<f64, InputError> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(value) if (0.0..=100.0).contains(&value) => Ok(value / 100.0),
        _ => Err(InputError::new(
            input,
            format!(
                "`{}` is not a percentage: use a number from 0 to 100, e.g. `1%` or `0.5%`",
                truncate(text, 40)
            ),
        )),
    }
}

/// A whole number within `range`.
pub fn number(
    input: &str,
    text: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, InputError> {
    match text.trim().parse::<u64>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(InputError::new(
            input,
            format!(
                "`{}` is not a whole number from {} to {}",
                truncate(text, 40),
                range.start(),
                range.end()
            ),
        )),
    }
}

/// The most any one input may hold. A step's environment string is capped near 128 KiB anyway;
/// nothing an action takes (an ECS request is at most 64 KiB) needs more.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// The limits every input shares, whatever its type: at most [`MAX_INPUT_BYTES`], and no control
/// characters but tab and line breaks (they would rewrite the log: escapes, bells, backspaces).
pub fn raw(input: &str, text: &str) -> Result<(), InputError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(InputError::new(
            input,
            format!(
                "is {} bytes long: inputs are limited to {} KiB",
                text.len(),
                MAX_INPUT_BYTES / 1024
            ),
        ));
    }
    match text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        Some(c) => Err(InputError::new(
            input,
            format!(
                "contains the control character U+{:04X}: remove it",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

/// An ECS cluster or service: a name (up to 255 letters, digits, `-`, `_`) or an ARN.
pub fn resource_name(input: &str, text: &str) -> Result<(), InputError> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let arn_char = |c: char| name_char(c) || ":/.".contains(c);
    let valid = if text.starts_with("arn:") {
        text.len() <= 2048 && text.chars().all(arn_char)
    } else {
        (1..=255).contains(&text.len()) && text.chars().all(name_char)
    };
    if valid {
        Ok(())
    } else {
        Err(InputError::new(
            input,
            format!(
                "`{}` is not a name (up to 255 letters, digits, `-` and `_`) or an ARN",
                truncate(text, 60)
            ),
        ))
    }
}

/// Cuts user text quoted back in an error to `max` characters, so a 1 MB input is not echoed.
pub fn truncate(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_whitespace_are_unset() {
        assert_eq!(set(Some("")), None);
        assert_eq!(set(Some("  \n")), None);
        assert_eq!(set(None), None);
        assert_eq!(set(Some(" x ")), Some("x"));
    }

    #[test]
    fn required_names_the_input() {
        let err = required("task-definition", Some("")).unwrap_err();
        assert_eq!(err.input, "task-definition");
        assert!(
            err.to_string()
                .starts_with("input `task-definition`: is required")
        );
        assert_eq!(required("service", Some("api")), Ok("api"));
    }

    #[test]
    fn lines_skip_blanks_and_comments() {
        let text = "\n  web=nginx:1 \n# a comment\n   # indented comment\n\nworker=app:2\n";
        assert_eq!(lines(text), vec!["web=nginx:1", "worker=app:2"]);
    }

    #[test]
    fn key_values_split_at_first_separator() {
        let parsed = key_values("environment-variables", "A=1\nURL=x=y\nB = two ", '=').unwrap();
        let expected =
            [("A", "1"), ("URL", "x=y"), ("B", "two")].map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(parsed, expected);
    }

    #[test]
    fn key_values_reject_missing_separator_or_key() {
        let err = key_values("secrets", "A=1\njust-a-word", '=').unwrap_err();
        assert_eq!(err.input, "secrets");
        assert!(err.message.contains("item 2 `just-a-word`"), "{err}");
        assert!(key_values("secrets", "=value", '=').is_err());
    }

    #[test]
    fn booleans() {
        assert_eq!(boolean("wait", "TRUE"), Ok(true));
        assert_eq!(boolean("wait", "no"), Ok(false));
        assert!(
            boolean("wait", "maybe")
                .unwrap_err()
                .message
                .contains("`maybe`")
        );
        assert_eq!(flag("wait", Some(""), true), Ok(true));
        assert_eq!(flag("wait", Some("false"), true), Ok(false));
    }

    #[test]
    fn durations() {
        assert_eq!(duration("t", "90"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("t", "800ms"), Ok(Duration::from_millis(800)));
        assert_eq!(duration("t", "5m"), Ok(Duration::from_secs(300)));
        assert_eq!(duration("t", "1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("t", "1.5s"), Ok(Duration::from_millis(1500)));
        for bad in ["", "m", "5 minutes", "5x", "-1s", "1e9h", "ms5", "5m3"] {
            assert!(duration("t", bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn percents() {
        assert_eq!(percent("max-error-rate", "1%"), Ok(0.01));
        assert_eq!(percent("max-error-rate", "50"), Ok(0.5));
        assert!(percent("max-error-rate", "101%").is_err());
        assert!(percent("max-error-rate", "NaN").is_err());
        assert!(percent("max-error-rate", "abc").is_err());
    }

    #[test]
    fn numbers_in_range() {
        assert_eq!(number("requests", "20", 1..=10_000), Ok(20));
        assert!(number("requests", "0", 1..=10_000).is_err());
        assert!(number("requests", "-3", 1..=10_000).is_err());
    }

    #[test]
    fn raw_limits_size_and_control_characters() {
        assert_eq!(raw("command", "a\tb\r\nc ünï 🚀"), Ok(()));
        let big = "a".repeat(MAX_INPUT_BYTES + 1);
        assert!(raw("alarms", &big).unwrap_err().message.contains("64 KiB"));
        let err = raw("image", "red\u{1b}[31m").unwrap_err();
        assert_eq!(err.input, "image");
        assert!(err.message.contains("U+001B"), "{err}");
    }

    #[test]
    fn resource_names_and_arns() {
        assert_eq!(resource_name("cluster", "prod_eu-1"), Ok(()));
        assert_eq!(
            resource_name(
                "service",
                "arn:aws:ecs:us-east-1:123456789012:service/prod/api"
            ),
            Ok(())
        );
        for bad in ["", "two words", "semi;colon", "ünï", "$(id)"] {
            assert!(resource_name("cluster", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn truncate_long_text() {
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("héllo", 10), "héllo");
    }
}
