//! Where the task definition comes from: a file (templated and validated; no AWS call, so it
//! works offline and under act) or the live family/ARN through DescribeTaskDefinition.

use deploy_kit_gha::RunnerEnv;
use serde_json::{Map, Value};

use crate::input::Source;
use crate::{Error, bad, live, shape, task_file, template};

/// A task definition ready for the edits.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub task: Map<String, Value>,
    /// How messages name it: "`deploy/td.json`", "task definition family `api`".
    pub described: String,
    /// Worth a warning, but not an error.
    pub notes: Vec<String>,
}

/// `report` gets a line for each AWS call that had to be retried.
pub async fn load(
    source: &Source,
    env: &RunnerEnv,
    report: deploy_kit_aws::retry::Report,
) -> Result<Loaded, Error> {
    match source {
        Source::File(path) => read_file(path, env),
        Source::Live { input, reference } => {
            let retry = deploy_kit_aws::Retry::new(report).budget_override(env.retry_budget()?);
            let config = deploy_kit_aws::load_config("render-taskdef", retry).await?;
            let client = config.ecs();
            let live = from_live(&client, reference).await?;
            let described = if *input == "task-definition-family" {
                format!("task definition family `{reference}`")
            } else {
                format!("task definition `{reference}`")
            };
            let notes = newer_fields_note(&live.unknown, &described);
            Ok(Loaded {
                task: live.task,
                described,
                notes,
            })
        }
    }
}

fn newer_fields_note(unknown: &[String], described: &str) -> Vec<String> {
    if unknown.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "{described} has fields this deploy-kit's AWS model does not know, so they were left out (a newer deploy-kit keeps them): {}",
        unknown.join(", ")
    )]
}

/// Reads, templates and validates the file at `path` (the format: [`task_file::parse`]).
pub fn read_file(path: &str, env: &RunnerEnv) -> Result<Loaded, Error> {
    let invalid = |message: String| bad("task-definition", message);
    let text =
        std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read `{path}`: {e}")))?;
    let text = template::render(&text, |name| env.raw_var(name).map(str::to_owned))
        .map_err(|message| invalid(format!("`{path}`: {message}")))?;
    let file = task_file::parse(&format!("`{path}`"), &text).map_err(invalid)?;
    let mut notes = Vec::new();
    if !file.dropped.is_empty() {
        notes.push(format!(
            "`{path}` has fields that only DescribeTaskDefinition returns; they were left out: {} (delete them from the file to silence this)",
            file.dropped.join(", ")
        ));
    }
    Ok(Loaded {
        task: file.json,
        described: format!("`{path}`"),
        notes,
    })
}

/// The live task definition `reference` (family, `family:revision` or ARN), reduced to what
/// RegisterTaskDefinition accepts at every depth.
pub async fn from_live(
    client: &aws_sdk_ecs::Client,
    reference: &str,
) -> Result<shape::Registrable, Error> {
    let task = live::fetch(client, reference).await.map_err(|error| {
        if !error.bad_input {
            return Error::DescribeFailed {
                reference: reference.to_owned(),
                message: error.message,
            };
        }
        Error::Describe {
            input: if reference.starts_with("arn:") {
                "task-definition-arn"
            } else {
                "task-definition-family"
            },
            reference: reference.to_owned(),
            message: error.message,
        }
    })?;
    Ok(shape::registrable(task))
}
