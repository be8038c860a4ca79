//! render-taskdef: a task definition from a file (templated, validated; no AWS call) or from the
//! live family/ARN, with images, environment, secrets, command, log options, labels and roles set.

mod command;
mod edit;
mod input;
mod lint;
mod live;
mod model;
mod reader;
mod rules;
mod shape;
mod source;
mod summary;
pub mod task_file;
mod template;

use std::path::{Path, PathBuf};

use deploy_kit_gha::{Classify, Exit, InputError, Runner};
use serde_json::{Map, Value};

pub use command::parse as parse_command;
pub use rules::looks_secret;
pub use shape::{Registrable, describe_only, drop_describe_only, task_keys};
pub use source::from_live;

/// A rendered task definition (the file's JSON) as the SDK's typed RegisterTaskDefinition input,
/// checked against the model as render-taskdef checks its input: for the step that registers it.
/// The error names the path at fault.
pub fn register_input(
    task: &Value,
) -> Result<aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput, String> {
    model::to_input(task)
}

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Path to the task definition JSON file (`${VAR}` is replaced from the environment).
    /// Give exactly one of this, `--task-definition-family` and `--task-definition-arn`.
    #[arg(long, env = "INPUT_TASK_DEFINITION")]
    pub task_definition: Option<String>,
    /// Start from the live task definition of this family (its latest ACTIVE revision), or `family:revision`.
    #[arg(long, env = "INPUT_TASK_DEFINITION_FAMILY")]
    pub task_definition_family: Option<String>,
    /// Start from the live task definition with this ARN.
    #[arg(long, env = "INPUT_TASK_DEFINITION_ARN")]
    pub task_definition_arn: Option<String>,
    /// With `--task-definition-family`: that family's revision (aws-actions' name).
    #[arg(long, env = "INPUT_TASK_DEFINITION_REVISION")]
    pub task_definition_revision: Option<String>,
    /// The container to edit: it gets `image`, the environment, secrets, command, log options and labels.
    #[arg(long, env = "INPUT_CONTAINER_NAME")]
    pub container_name: Option<String>,
    /// The image for `container-name`.
    #[arg(long, env = "INPUT_IMAGE")]
    pub image: Option<String>,
    /// Images for several containers, one `container=image` per line.
    #[arg(long, env = "INPUT_IMAGES")]
    pub images: Option<String>,
    /// Environment variables to set, one `NAME=value` per line.
    #[arg(long, env = "INPUT_ENVIRONMENT_VARIABLES")]
    pub environment_variables: Option<String>,
    /// Environment variables to remove, one name per line.
    #[arg(long, env = "INPUT_REMOVE_ENVIRONMENT_VARIABLES")]
    pub remove_environment_variables: Option<String>,
    /// Secrets to set, one `NAME=valueFrom` per line (a Secrets Manager or SSM ARN or name).
    #[arg(long, env = "INPUT_SECRETS")]
    pub secrets: Option<String>,
    /// The command: a JSON array, or shell words (quotes honoured).
    #[arg(long, env = "INPUT_COMMAND")]
    pub command: Option<String>,
    /// Log driver options to set, one `key=value` per line.
    #[arg(long, env = "INPUT_LOG_CONFIGURATION_OPTIONS")]
    pub log_configuration_options: Option<String>,
    /// The log driver to set (creates `logConfiguration` when there is none).
    #[arg(long, env = "INPUT_LOG_CONFIGURATION_LOG_DRIVER")]
    pub log_configuration_log_driver: Option<String>,
    /// Docker labels to set, one `key=value` per line (values may contain `=`).
    #[arg(long, env = "INPUT_DOCKER_LABELS")]
    pub docker_labels: Option<String>,
    /// S3 object ARNs of environment files, one per line (replaces `environmentFiles`).
    #[arg(long, env = "INPUT_ENV_FILES")]
    pub env_files: Option<String>,
    /// Task CPU: units (`256`, `1024`) or vCPUs (`1 vCPU`).
    #[arg(long, env = "INPUT_CPU")]
    pub cpu: Option<String>,
    /// Task memory: MiB (`512`, `2048`) or GB (`2 GB`).
    #[arg(long, env = "INPUT_MEMORY")]
    pub memory: Option<String>,
    /// The task role: an IAM role ARN or role name.
    #[arg(long, env = "INPUT_TASK_ROLE_ARN")]
    pub task_role_arn: Option<String>,
    /// The task execution role: an IAM role ARN or role name.
    #[arg(long, env = "INPUT_EXECUTION_ROLE_ARN")]
    pub execution_role_arn: Option<String>,
    /// The family to register under.
    #[arg(long, env = "INPUT_FAMILY")]
    pub family: Option<String>,
    /// Allow plaintext environment variables whose names look secret (`true` or `false`, default false).
    #[arg(long, env = "INPUT_ALLOW_PLAINTEXT_SECRETS")]
    pub allow_plaintext_secrets: Option<String>,
}

/// The outputs `action.yml` declares.
pub const OUTPUTS: &[&str] = &["task-definition"];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Region(#[from] deploy_kit_aws::NoRegion),
    /// No such family/revision, a malformed ARN, no permission: the input is at fault.
    #[error("input `{input}`: cannot read task definition `{reference}`: {message}")]
    Describe {
        input: &'static str,
        reference: String,
        message: String,
    },
    /// Throttling, a 5xx, the network: not the input's fault.
    #[error("DescribeTaskDefinition `{reference}` failed: {message}")]
    DescribeFailed { reference: String, message: String },
    #[error("cannot write {what}: {source}")]
    Write {
        what: String,
        source: std::io::Error,
    },
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::Region(_) | Error::Describe { .. } => Exit::BadInput,
            Error::DescribeFailed { .. } | Error::Write { .. } => Exit::Failed,
        }
    }
}

fn bad(input: &str, message: impl std::fmt::Display) -> Error {
    Error::Input(InputError::new(input, message))
}

/// Applies the edits to the loaded task definition and checks the result against the model
/// again, so whatever this action writes, it would also accept as input.
fn render(
    input: &input::Input,
    loaded: &source::Loaded,
    runner: &Runner,
) -> Result<Map<String, Value>, Error> {
    let from = input.source.input();
    let to_input = |e: edit::EditError| bad(e.input, e.message);
    edit::check_containers(&loaded.task, from, &loaded.described).map_err(to_input)?;
    let mut after = loaded.task.clone();
    for note in edit::apply(&mut after, input, &loaded.described).map_err(to_input)? {
        runner.warning(note);
    }
    let value = Value::Object(after);
    model::check(&value).map_err(|message| {
        bad(
            from,
            format!("the rendered task definition does not match the ECS model: {message}"),
        )
    })?;
    match value {
        Value::Object(after) => Ok(after),
        _ => Err(bad(from, "must hold a JSON object")),
    }
}

/// Plaintext variables named like secrets: an error naming them, unless explicitly allowed
/// (then their values are masked in the log, should anything ever print them).
fn plaintext_secrets(
    input: &input::Input,
    after: &Map<String, Value>,
    runner: &Runner,
) -> Result<(), Error> {
    let found = lint::plaintext_secrets(after);
    if found.is_empty() {
        return Ok(());
    }
    if input.allow_plaintext_secrets {
        // Very short values are not masked: hiding every `1` or `on` would garble the whole log,
        // and a value that short protects nothing.
        for (_, _, value) in found.iter().filter(|(_, _, v)| v.len() >= 4) {
            runner.mask(value);
        }
        let names: Vec<&str> = found.iter().map(|(_, name, _)| name.as_str()).collect();
        runner.info(format_args!(
            "plaintext variables named like secrets, allowed by `allow-plaintext-secrets`: {}",
            names.join(", ")
        ));
        return Ok(());
    }
    let listed: Vec<String> = found
        .iter()
        .map(|(c, n, _)| format!("`{n}` (container `{c}`)"))
        .collect();
    // Name the input the variables came from: ours, or the task definition's own.
    let from_input = found
        .iter()
        .any(|(_, n, _)| input.edits.environment.iter().any(|(e, _)| e == n));
    let at = if from_input {
        "environment-variables"
    } else {
        input.source.input()
    };
    let (look, them) = if listed.len() == 1 {
        (
            "looks like a secret but is a plaintext environment variable",
            "it",
        )
    } else {
        (
            "look like secrets but are plaintext environment variables",
            "them",
        )
    };
    Err(bad(
        at,
        format!(
            "{} {look}: store {them} in Secrets Manager and pass {them} with `secrets: NAME=arn:aws:secretsmanager:...`, or set `allow-plaintext-secrets: true`",
            listed.join(", ")
        ),
    ))
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let input = input::Input::parse(&args)?;
    let loaded = source::load(&input.source, runner.env(), runner.line_writer()).await?;
    for note in &loaded.notes {
        runner.warning(note);
    }
    let after = render(&input, &loaded, runner)?;
    plaintext_secrets(&input, &after, runner)?;
    for (container, image) in lint::floating_images(&after) {
        runner.warning(format_args!(
            "container `{container}` uses image `{image}`, which is `latest` or untagged: pin a tag or a digest so the deployment is reproducible"
        ));
    }

    let path = output_path(&runner.env().temp_dir, &after);
    let shown = path.display().to_string();
    let write_error = |what: &str| {
        let what = what.to_owned();
        move |source| Error::Write { what, source }
    };
    std::fs::write(&path, to_json(&after)).map_err(write_error(&shown))?;
    runner.info(format_args!("rendered {} to {shown}", loaded.described));
    runner
        .set_output("task-definition", &shown)
        .map_err(write_error("output `task-definition`"))?;
    runner
        .summary(&summary::changes(&loaded.task, &after, &shown))
        .map_err(write_error("the step summary"))?;
    Ok(())
}

/// 2-space pretty JSON, keys in their original order, with a trailing newline.
fn to_json(task: &Map<String, Value>) -> String {
    // Serializing a Map of Values cannot fail (keys are strings); an empty file would be caught
    // by the next step's parse either way.
    let mut text = serde_json::to_string_pretty(task).unwrap_or_default();
    text.push('\n');
    text
}

/// `task-definition-<family>-<pid>-<nanos>.json`: unique per run, named after the family.
fn output_path(dir: &Path, task: &Map<String, Value>) -> PathBuf {
    let family: String = task
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("task")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    dir.join(format!(
        "task-definition-{family}-{}-{nanos}.json",
        std::process::id()
    ))
}
