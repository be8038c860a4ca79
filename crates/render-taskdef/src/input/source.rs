//! The task definition's source: a file, or a live family / ARN (with `task-definition-revision`).

use deploy_kit_gha::InputError;
use deploy_kit_gha::input::truncate;

use super::owned;
use crate::{Args, rules};

/// Where the task definition comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(String),
    /// A family (latest ACTIVE revision), `family:revision`, or an ARN, and the input it came
    /// from (`task-definition-family` or `task-definition-arn`).
    Live {
        input: &'static str,
        reference: String,
    },
}

impl Source {
    /// The input that gave the task definition, for errors about its content.
    pub fn input(&self) -> &'static str {
        match self {
            Source::File(_) => "task-definition",
            Source::Live { input, .. } => input,
        }
    }
}

/// `family[:revision]`, or for `task-definition-arn` an ECS task definition ARN: checked here, so
/// a malformed one is refused by name before any call.
fn live_reference(input: &str, reference: String) -> Result<String, InputError> {
    let valid = if input == "task-definition-arn" {
        reference.starts_with("arn:")
            && reference.contains(":task-definition/")
            && reference
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:/.".contains(c))
    } else {
        let (family, revision) = reference.split_once(':').unwrap_or((&reference, "1"));
        rules::valid_family(family)
            && !revision.is_empty()
            && revision.chars().all(|c| c.is_ascii_digit())
    };
    if valid {
        return Ok(reference);
    }
    let wanted = if input == "task-definition-arn" {
        "a task definition ARN (`arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION`)"
    } else {
        "a family (letters, digits, `-`, `_`) or `family:revision`"
    };
    Err(InputError::new(
        input,
        format!("`{}` is not {wanted}", truncate(&reference, 100)),
    ))
}

/// `task-definition-revision` (aws-actions' name) joins `task-definition-family` as
/// `family:revision`; with anything else it would be silently meaningless, so it is refused.
fn with_revision(args: &Args, family: Option<String>) -> Result<Option<String>, InputError> {
    let Some(revision) = owned(args.task_definition_revision.as_ref()) else {
        return Ok(family);
    };
    let bad = |message: String| InputError::new("task-definition-revision", message);
    if revision.is_empty()
        || revision.len() > 10
        || !revision.chars().all(|c| c.is_ascii_digit())
        || revision.trim_start_matches('0').is_empty()
    {
        return Err(bad(format!(
            "`{}` is not a revision number (1, 2, ...)",
            truncate(&revision, 40)
        )));
    }
    match family {
        Some(family) if !family.contains(':') => Ok(Some(format!("{family}:{revision}"))),
        Some(family) => Err(bad(format!(
            "`task-definition-family` `{}` already names a revision: give it in one place",
            truncate(&family, 100)
        ))),
        None => Err(bad(
            "only goes with `task-definition-family` (it picks that family's revision)".to_owned(),
        )),
    }
}

pub(super) fn source(args: &Args) -> Result<Source, InputError> {
    let file = owned(args.task_definition.as_ref());
    let family = with_revision(args, owned(args.task_definition_family.as_ref()))?;
    let arn = owned(args.task_definition_arn.as_ref());
    match (file, family, arn) {
        (Some(path), None, None) => Ok(Source::File(path)),
        (None, Some(reference), None) => Ok(Source::Live {
            input: "task-definition-family",
            reference: live_reference("task-definition-family", reference)?,
        }),
        (None, None, Some(reference)) => Ok(Source::Live {
            input: "task-definition-arn",
            reference: live_reference("task-definition-arn", reference)?,
        }),
        (None, None, None) => Err(InputError::new(
            "task-definition",
            "is required: give a JSON file, or `task-definition-family` / `task-definition-arn` to start from the live one",
        )),
        _ => Err(InputError::new(
            "task-definition",
            "give only one of `task-definition` (a file), `task-definition-family` and `task-definition-arn`",
        )),
    }
}
