//! Session policies and session tags, the configure-aws-credentials inputs of the same names.
//!
//! The policies (`inline-session-policy`, `managed-session-policies`) narrow the session whose
//! credentials are exported: the `role-chain` role when there is one, else `role-to-assume`.
//! The tags go only on AssumeRole (the `role-chain`, or `role-to-assume` outside Actions):
//! AssumeRoleWithWebIdentity does not take tags, its session is tagged from the token's claims.

use deploy_kit_aws::web_identity::SessionOptions;
use deploy_kit_gha::RunnerEnv;
use deploy_kit_gha::input::{self, InputError};

use crate::Args;

/// STS limits: `Policy` 2048 characters, 10 `PolicyArns`, 50 tags, keys 128, values 256.
const MAX_POLICY: usize = 2048;
const MAX_POLICY_ARNS: usize = 10;
const MAX_TAGS: usize = 50;
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 256;

/// The tags every AssumeRole carries unless `role-skip-session-tagging`: where the session came
/// from, as configure-aws-credentials tags it, so CloudTrail and ABAC conditions see the same.
const RUN_TAGS: [(&str, &str); 12] = [
    ("Repository", "GITHUB_REPOSITORY"),
    ("Workflow", "GITHUB_WORKFLOW"),
    ("Action", "GITHUB_ACTION"),
    ("Actor", "GITHUB_ACTOR"),
    ("Commit", "GITHUB_SHA"),
    ("Branch", "GITHUB_REF"),
    ("EventName", "GITHUB_EVENT_NAME"),
    ("BaseRef", "GITHUB_BASE_REF"),
    ("HeadRef", "GITHUB_HEAD_REF"),
    ("RunId", "GITHUB_RUN_ID"),
    ("Job", "GITHUB_JOB"),
    ("TriggeringActor", "GITHUB_TRIGGERING_ACTOR"),
];
const FIXED_TAG: (&str, &str) = ("GitHub", "Actions");

/// The options from the inputs, checked against STS's rules.
pub fn options(args: &Args, env: &RunnerEnv) -> Result<SessionOptions, InputError> {
    let policy = input::set(args.inline_session_policy.as_deref())
        .map(inline_policy)
        .transpose()?;
    let policy_arns = input::set(args.managed_session_policies.as_deref())
        .map(policy_arns)
        .transpose()?
        .unwrap_or_default();
    let skip = input::flag(
        "role-skip-session-tagging",
        args.role_skip_session_tagging.as_deref(),
        false,
    )?;
    // Outside Actions there is no run to describe (and no "GitHub: Actions" to claim).
    let run_tags = if env.in_actions {
        run_tags(env)
    } else {
        Vec::new()
    };
    let custom = input::set(args.custom_tags.as_deref())
        .map(|text| custom_tags(text, run_tags.len()))
        .transpose()?
        .unwrap_or_default();
    let transitive: Vec<String> = input::set(args.transitive_tag_keys.as_deref())
        .map(input::lines)
        .unwrap_or_default()
        .into_iter()
        .map(|key| tag_key("transitive-tag-keys", key))
        .collect::<Result<_, _>>()?;
    if skip {
        return Ok(SessionOptions {
            policy,
            policy_arns,
            ..SessionOptions::default()
        });
    }
    let tags: Vec<(String, String)> = run_tags.into_iter().chain(custom).collect();
    // As configure-aws-credentials does: a key names a transitive tag only if the session has it
    // (`BaseRef` is absent on a push, and that is no error).
    let transitive_tag_keys = transitive
        .into_iter()
        .filter(|key| tags.iter().any(|(k, _)| k == key))
        .collect();
    Ok(SessionOptions {
        policy,
        policy_arns,
        tags,
        transitive_tag_keys,
    })
}

/// A JSON object, sent compact (STS counts the characters, spaces included).
fn inline_policy(text: &str) -> Result<String, InputError> {
    let bad = |why: String| InputError::new("inline-session-policy", why);
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| bad(format!("is not JSON ({e}): give an IAM policy document")))?;
    if !value.is_object() {
        return Err(bad(
            "must be a JSON object, an IAM policy document with `Version` and `Statement`"
                .to_owned(),
        ));
    }
    let compact = value.to_string();
    if compact.chars().count() > MAX_POLICY {
        return Err(bad(format!(
            "is {} characters without spaces; STS takes at most {MAX_POLICY}: use `managed-session-policies` for more",
            compact.chars().count()
        )));
    }
    Ok(compact)
}

/// IAM policy ARNs, one a line (commas also separate): `arn:aws:iam::123456789012:policy/NAME`
/// or an AWS managed policy, `arn:aws:iam::aws:policy/NAME`.
fn policy_arns(text: &str) -> Result<Vec<String>, InputError> {
    let arns: Vec<String> = input::lines(text)
        .into_iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|arn| !arn.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = arns.iter().find(|arn| !is_policy_arn(arn)) {
        return Err(InputError::new(
            "managed-session-policies",
            format!(
                "`{}` is not an IAM policy ARN: use arn:aws:iam::123456789012:policy/NAME or arn:aws:iam::aws:policy/NAME, one a line",
                input::truncate(&printable(bad), 120)
            ),
        ));
    }
    if arns.len() > MAX_POLICY_ARNS {
        return Err(InputError::new(
            "managed-session-policies",
            format!(
                "lists {} policies; STS takes at most {MAX_POLICY_ARNS}",
                arns.len()
            ),
        ));
    }
    Ok(arns)
}

fn is_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && (parts[4] == "aws"
            || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
        && parts[5].strip_prefix("policy/").is_some_and(|rest| {
            !rest.is_empty()
                && !rest.ends_with('/')
                && rest.bytes().all(|b| (b'!'..=b'~').contains(&b))
        })
}

/// The run's tags, those whose variable is set, values made valid tag values.
fn run_tags(env: &RunnerEnv) -> Vec<(String, String)> {
    let fixed = (FIXED_TAG.0.to_owned(), FIXED_TAG.1.to_owned());
    let from_run = RUN_TAGS.iter().filter_map(|(key, var)| {
        env.var(var)
            .map(|value| ((*key).to_owned(), tag_value_from(value)))
    });
    std::iter::once(fixed).chain(from_run).collect()
}

/// Characters a tag value may not hold become `_`; at most 256.
fn tag_value_from(text: &str) -> String {
    text.chars()
        .map(|c| if is_tag_char(c) { c } else { '_' })
        .take(MAX_VALUE)
        .collect()
}

/// Letters, digits and spaces of any script, and `_.:/=+-@` (IAM's rule for tags).
fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

fn tag_key(input_name: &str, key: &str) -> Result<String, InputError> {
    if (1..=MAX_KEY).contains(&key.chars().count()) && key.chars().all(is_tag_char) {
        return Ok(key.to_owned());
    }
    Err(InputError::new(
        input_name,
        format!(
            "`{}` is not a tag key: 1 to {MAX_KEY} letters, digits, spaces and `_.:/=+-@`",
            input::truncate(&printable(key), 60)
        ),
    ))
}

/// A JSON object of tags (string, number or boolean values), none of the keys the run's tags
/// use, and with them at most 50.
fn custom_tags(text: &str, run_tags: usize) -> Result<Vec<(String, String)>, InputError> {
    let bad = |why: String| InputError::new("custom-tags", why);
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "is not JSON ({e}): give an object, e.g. {{\"Team\": \"payments\"}}"
        ))
    })?;
    let Some(object) = value.as_object() else {
        return Err(bad(
            "must be a JSON object of tag keys and values, e.g. {\"Team\": \"payments\"}"
                .to_owned(),
        ));
    };
    let mut tags = Vec::with_capacity(object.len());
    for (key, value) in object {
        let key = tag_key("custom-tags", key)?;
        let shown = input::truncate(&printable(&key), 60);
        let value = match value {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => value.to_string(),
            _ => {
                return Err(bad(format!(
                    "the value of `{shown}` must be a string, number or boolean"
                )));
            }
        };
        if value.chars().count() > MAX_VALUE || !value.chars().all(is_tag_char) {
            return Err(bad(format!(
                "the value of `{shown}` must be at most {MAX_VALUE} letters, digits, spaces and `_.:/=+-@`"
            )));
        }
        if key == FIXED_TAG.0 || RUN_TAGS.iter().any(|(k, _)| *k == key) {
            let taken: Vec<&str> = std::iter::once(FIXED_TAG.0)
                .chain(RUN_TAGS.iter().map(|(k, _)| *k))
                .collect();
            return Err(bad(format!(
                "`{shown}` is one of the run's own tags ({}); choose another key",
                taken.join(", ")
            )));
        }
        tags.push((key, value));
    }
    if tags.len() + run_tags > MAX_TAGS {
        return Err(bad(format!(
            "{} tags with the run's {run_tags}: STS takes at most {MAX_TAGS}",
            tags.len()
        )));
    }
    Ok(tags)
}

/// Control characters are not repeated into the log.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inline_policy_is_sent_compact_and_must_be_an_object() {
        let policy =
            inline_policy("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}").unwrap();
        assert_eq!(policy, r#"{"Version":"2012-10-17","Statement":[]}"#);
        assert!(inline_policy("[1]").is_err());
        assert!(inline_policy("{").is_err());
        let long = format!(r#"{{"Sid":"{}"}}"#, "a".repeat(2100));
        assert!(
            inline_policy(&long)
                .unwrap_err()
                .to_string()
                .contains("2048")
        );
    }

    #[test]
    fn managed_policies_are_policy_arns_at_most_ten() {
        let arns = policy_arns(
            "arn:aws:iam::aws:policy/ReadOnlyAccess\narn:aws:iam::123456789012:policy/team/deploy",
        )
        .unwrap();
        assert_eq!(arns.len(), 2);
        assert!(policy_arns("arn:aws:iam::123456789012:role/deploy").is_err());
        assert!(policy_arns("ReadOnlyAccess").is_err());
        let eleven = ["arn:aws:iam::aws:policy/P"; 11].join("\n");
        assert!(
            policy_arns(&eleven)
                .unwrap_err()
                .to_string()
                .contains("at most 10")
        );
    }

    #[test]
    fn custom_tags_take_scalars_and_refuse_the_runs_own_keys() {
        let tags = custom_tags(r#"{"Team": "payments", "Tier": 1, "Public": false}"#, 7).unwrap();
        assert_eq!(
            tags,
            [
                ("Team".to_owned(), "payments".to_owned()),
                ("Tier".to_owned(), "1".to_owned()),
                ("Public".to_owned(), "false".to_owned())
            ]
        );
        assert!(custom_tags(r#"{"Repository": "x"}"#, 7).is_err());
        assert!(custom_tags(r#"{"Team": {"a": 1}}"#, 7).is_err());
        assert!(custom_tags(r#"{"Team": "a;b"}"#, 7).is_err());
        assert!(custom_tags(r#"["Team"]"#, 7).is_err());
        let many: serde_json::Map<String, serde_json::Value> =
            (0..45).map(|i| (format!("k{i}"), "v".into())).collect();
        let text = serde_json::Value::Object(many).to_string();
        assert!(
            custom_tags(&text, 7)
                .unwrap_err()
                .to_string()
                .contains("at most 50")
        );
    }

    #[test]
    fn run_tag_values_are_made_valid() {
        assert_eq!(tag_value_from("refs/heads/feat#1"), "refs/heads/feat_1");
        assert_eq!(tag_value_from(&"x".repeat(300)).len(), 256);
    }
}
