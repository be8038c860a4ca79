//! What a passing response looks like: status, body and JSON expectations.

use deploy_kit_gha::InputError;
use deploy_kit_gha::input::{self, truncate};
use regex::Regex;
use serde_json::Value;

/// `200`, `2xx`, `200,204`, `2xx,301`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(Vec<StatusRule>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusRule {
    Code(u16),
    Class(u16),
}

impl StatusSet {
    pub fn parse(input: &str, text: &str) -> Result<Self, InputError> {
        let rules = text
            .split(',')
            .map(|part| {
                let part = part.trim().to_ascii_lowercase();
                let bytes = part.as_bytes();
                match bytes {
                    [d @ b'1'..=b'5', b'x', b'x'] => Ok(StatusRule::Class(u16::from(d - b'0'))),
                    _ => match part.parse::<u16>() {
                        Ok(code) if (100..=599).contains(&code) => Ok(StatusRule::Code(code)),
                        _ => Err(InputError::new(
                            input,
                            format!(
                                "`{}` is not a status: use codes and classes like `200`, `2xx` or `200,204`",
                                truncate(part.as_str(), 20)
                            ),
                        )),
                    },
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(rules))
    }

    pub fn matches(&self, status: u16) -> bool {
        self.0.iter().any(|rule| match rule {
            StatusRule::Code(code) => *code == status,
            StatusRule::Class(class) => status / 100 == *class,
        })
    }

    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|rule| match rule {
                StatusRule::Code(code) => code.to_string(),
                StatusRule::Class(class) => format!("{class}xx"),
            })
            .collect();
        parts.join(",")
    }
}

/// `expect-body`: a substring, or `/regex/`.
#[derive(Debug, Clone)]
pub enum BodyRule {
    Contains(String),
    Matches(Regex),
}

impl BodyRule {
    pub fn parse(input: &str, text: &str) -> Result<Self, InputError> {
        match text
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
        {
            Some(pattern) if text.len() >= 2 => Regex::new(pattern)
                .map(BodyRule::Matches)
                .map_err(|error| InputError::new(input, format!("invalid regex: {error}"))),
            _ => Ok(BodyRule::Contains(text.to_owned())),
        }
    }

    fn check(&self, body: &str) -> Result<(), String> {
        match self {
            BodyRule::Contains(needle) if body.contains(needle.as_str()) => Ok(()),
            BodyRule::Contains(needle) => Err(format!("body does not contain `{needle}`")),
            BodyRule::Matches(regex) if regex.is_match(body) => Ok(()),
            BodyRule::Matches(regex) => Err(format!("body does not match /{}/", regex.as_str())),
        }
    }
}

/// `expect-json` line `/json/pointer=value`: the value is compared as JSON when it parses as
/// JSON (`true`, `3`, `"x"`, `{"a":1}`), else as a string (`ok` means `"ok"`).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonRule {
    pub pointer: String,
    pub expected: Value,
}

impl JsonRule {
    pub fn parse_lines(input: &str, text: &str) -> Result<Vec<Self>, InputError> {
        input::key_values(input, text, '=')?
            .into_iter()
            .map(|(pointer, value)| {
                if !pointer.starts_with('/') {
                    return Err(InputError::new(
                        input,
                        format!(
                            "`{}` is not a JSON pointer: it must start with `/`, e.g. `/status=ok`",
                            truncate(&pointer, 60)
                        ),
                    ));
                }
                let expected = serde_json::from_str(&value).unwrap_or(Value::String(value));
                Ok(JsonRule { pointer, expected })
            })
            .collect()
    }
}

/// All expectations for a response.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub status: StatusSet,
    pub body: Option<BodyRule>,
    pub json: Vec<JsonRule>,
}

impl Expectations {
    /// `Ok` when the response passes; otherwise the first check that failed, said plainly.
    pub fn check(&self, status: u16, body: &str) -> Result<(), String> {
        if !self.status.matches(status) {
            return Err(format!(
                "expected status {}, got {status}",
                self.status.describe()
            ));
        }
        if let Some(rule) = &self.body {
            rule.check(body)?;
        }
        if self.json.is_empty() {
            return Ok(());
        }
        let document: Value =
            serde_json::from_str(body).map_err(|error| format!("body is not JSON: {error}"))?;
        for rule in &self.json {
            match document.pointer(&rule.pointer) {
                Some(actual) if json_equal(actual, &rule.expected) => {}
                Some(actual) => {
                    return Err(format!(
                        "JSON {} is {actual}, expected {}",
                        rule.pointer, rule.expected
                    ));
                }
                None => return Err(format!("JSON {} is missing", rule.pointer)),
            }
        }
        Ok(())
    }
}

/// JSON equality, except that numbers compare by value: `3` equals `3.0`.
fn json_equal(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => a == b,
        },
        _ => actual == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_classes_and_lists() {
        let set = StatusSet::parse("expect-status", "2xx, 301").unwrap();
        assert!(set.matches(200) && set.matches(299) && set.matches(301));
        assert!(!set.matches(302) && !set.matches(500));
        assert_eq!(set.describe(), "2xx,301");
        assert!(
            StatusSet::parse("expect-status", "200,204")
                .unwrap()
                .matches(204)
        );
    }

    #[test]
    fn bad_statuses_name_the_input() {
        for bad in ["abc", "600", "2x", "", "99", "6xx"] {
            let error = StatusSet::parse("test-expect-status", bad).unwrap_err();
            assert_eq!(error.input, "test-expect-status", "{bad}");
        }
    }

    #[test]
    fn body_substring_and_regex() {
        let contains = BodyRule::parse("expect-body", "ok").unwrap();
        assert!(contains.check("all ok").is_ok());
        assert!(contains.check("down").is_err());
        let regex = BodyRule::parse("expect-body", r"/version \d+\.\d+/").unwrap();
        assert!(regex.check("version 1.27 running").is_ok());
        assert_eq!(
            regex.check("version x").unwrap_err(),
            r"body does not match /version \d+\.\d+/"
        );
        assert!(BodyRule::parse("expect-body", "/(/").is_err());
        // A lone slash is a substring, not an empty regex.
        assert!(matches!(
            BodyRule::parse("expect-body", "/").unwrap(),
            BodyRule::Contains(_)
        ));
    }

    #[test]
    fn json_values_compare_as_json_or_string() {
        let rules =
            JsonRule::parse_lines("expect-json", "/status=ok\n/ready=true\n/db/latency=3").unwrap();
        assert_eq!(rules[0].expected, Value::String("ok".into()));
        assert_eq!(rules[1].expected, Value::Bool(true));
        let expectations = Expectations {
            status: StatusSet::parse("s", "200").unwrap(),
            body: None,
            json: rules,
        };
        assert!(
            expectations
                .check(200, r#"{"status":"ok","ready":true,"db":{"latency":3}}"#)
                .is_ok()
        );
        let error = expectations
            .check(200, r#"{"status":"ok","ready":false,"db":{"latency":3}}"#)
            .unwrap_err();
        assert_eq!(error, "JSON /ready is false, expected true");
        let error = expectations.check(200, r#"{"status":"ok"}"#).unwrap_err();
        assert_eq!(error, "JSON /ready is missing");
        assert!(
            expectations
                .check(200, "<html>")
                .unwrap_err()
                .starts_with("body is not JSON")
        );
        assert_eq!(
            expectations.check(503, "").unwrap_err(),
            "expected status 200, got 503"
        );
    }

    #[test]
    fn json_numbers_compare_by_value_and_strings_stay_strings() {
        let rules = JsonRule::parse_lines("expect-json", "/n=3.0\n/s=\"3\"").unwrap();
        let expectations = Expectations {
            status: StatusSet::parse("s", "2xx").unwrap(),
            body: None,
            json: rules,
        };
        assert!(expectations.check(200, r#"{"n":3,"s":"3"}"#).is_ok());
        assert_eq!(
            expectations.check(200, r#"{"n":3,"s":3}"#).unwrap_err(),
            r#"JSON /s is 3, expected "3""#
        );
    }

    #[test]
    fn json_pointer_must_start_with_slash() {
        assert!(JsonRule::parse_lines("expect-json", "status=ok").is_err());
    }
}
