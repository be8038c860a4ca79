//! render-taskdef: a task definition from a file (templated, validated; no AWS call) or from the
//! live family/ARN, with images, environment, secrets, command, log options, labels and roles set.

mod edit;
mod input;
mod live;
mod shape;
mod summary;
mod template;

use std::path::{Path, PathBuf};

use deploy_kit_gha::{Classify, Exit, InputError, Runner};
use serde_json::{Map, Value};

pub use input::looks_secret;
pub use shape::Shape;

/// Inputs, one per `action.yml` input, each readable from `INPUT_*` or a flag.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Path to the task definition JSON file (`${VAR}` is replaced from the environment).
    #[arg(long, env = "INPUT_TASK_DEFINITION")]
    pub task_definition: Option<String>,
    /// Start from the live task definition of this family (its latest ACTIVE revision), or `family:revision`.
    #[arg(long, env = "INPUT_TASK_DEFINITION_FAMILY")]
    pub task_definition_family: Option<String>,
    /// Start from the live task definition with this ARN.
    #[arg(long, env = "INPUT_TASK_DEFINITION_ARN")]
    pub task_definition_arn: Option<String>,
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
    /// Docker labels to set, one `key=value` per line.
    #[arg(long, env = "INPUT_DOCKER_LABELS")]
    pub docker_labels: Option<String>,
    /// Task CPU units, e.g. `256` or `1 vCPU`.
    #[arg(long, env = "INPUT_CPU")]
    pub cpu: Option<String>,
    /// Task memory, e.g. `512` or `1 GB`.
    #[arg(long, env = "INPUT_MEMORY")]
    pub memory: Option<String>,
    /// The task role ARN.
    #[arg(long, env = "INPUT_TASK_ROLE_ARN")]
    pub task_role_arn: Option<String>,
    /// The task execution role ARN.
    #[arg(long, env = "INPUT_EXECUTION_ROLE_ARN")]
    pub execution_role_arn: Option<String>,
    /// The family to register under.
    #[arg(long, env = "INPUT_FAMILY")]
    pub family: Option<String>,
    /// Allow plaintext environment variables whose names look secret (default false).
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
    #[error("cannot read task definition `{reference}`: {message}")]
    Describe { reference: String, message: String },
    #[error("cannot write {what}: {source}")]
    Write {
        what: String,
        source: std::io::Error,
    },
}

impl Classify for Error {
    fn exit(&self) -> Exit {
        match self {
            Error::Input(_) | Error::Region(_) => Exit::BadInput,
            Error::Describe { .. } | Error::Write { .. } => Exit::Failed,
        }
    }
}

fn bad(input: &str, message: impl std::fmt::Display) -> Error {
    Error::Input(InputError::new(input, message))
}

/// Reads, templates and validates the file.
fn read_file(path: &str) -> Result<Map<String, Value>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("task-definition", format!("cannot read `{path}`: {e}")))?;
    let text = template::render(&text, |name| std::env::var(name).ok())
        .map_err(|message| bad("task-definition", format!("`{path}`: {message}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        bad(
            "task-definition",
            format!("`{path}` is not valid JSON: {e}"),
        )
    })?;
    shape::validate(&value, Shape::Task, &format!("`{path}`"))
        .map_err(|message| bad("task-definition", message))?;
    match value {
        Value::Object(task) => Ok(task),
        _ => Err(bad(
            "task-definition",
            format!("`{path}` must hold a JSON object"),
        )),
    }
}

/// The live task definition `reference` (family, `family:revision` or ARN), reduced to what
/// RegisterTaskDefinition accepts.
pub async fn from_live(
    client: &aws_sdk_ecs::Client,
    reference: &str,
) -> Result<Map<String, Value>, Error> {
    let task = live::fetch(client, reference)
        .await
        .map_err(|message| Error::Describe {
            reference: reference.to_owned(),
            message,
        })?;
    Ok(shape::registrable(task))
}

/// Renders the task definition and returns (before, after, a description of the source).
async fn render(
    input: &input::Input,
) -> Result<(Map<String, Value>, Map<String, Value>, String), Error> {
    let (before, source) = match &input.source {
        input::Source::File(path) => (read_file(path)?, format!("`{path}`")),
        input::Source::Live(reference) => {
            let config = deploy_kit_aws::load_config().await?;
            let client = aws_sdk_ecs::Client::new(&config);
            (
                from_live(&client, reference).await?,
                format!("task definition `{reference}`"),
            )
        }
    };
    let mut after = before.clone();
    let to_input = |e: edit::EditError| bad(e.input, e.message);
    edit::check_containers(&after, &source).map_err(to_input)?;
    edit::apply(&mut after, input, &source).map_err(to_input)?;
    Ok((before, after, source))
}

pub async fn run(args: Args, runner: &Runner) -> Result<(), Error> {
    let input = input::Input::parse(&args)?;
    let (before, after, source) = render(&input).await?;

    let secrets = edit::plaintext_secrets(&after);
    if !secrets.is_empty() && !input.allow_plaintext_secrets {
        let listed: Vec<String> = secrets
            .iter()
            .map(|(c, n)| format!("`{n}` (container `{c}`)"))
            .collect();
        return Err(bad(
            "environment-variables",
            format!(
                "{} look like secrets but are plaintext environment variables: store them in Secrets Manager and pass them with `secrets: NAME=arn:aws:secretsmanager:...`, or set `allow-plaintext-secrets: true`",
                listed.join(", ")
            ),
        ));
    }
    for (container, image) in edit::floating_images(&after) {
        runner.warning(format_args!(
            "container `{container}` uses image `{image}`, which is `latest` or untagged: pin a tag or a digest so the deployment is reproducible"
        ));
    }

    let path = output_path(&runner.env().temp_dir, &after);
    let mut text = serde_json::to_string_pretty(&Value::Object(after.clone())).unwrap_or_default();
    text.push('\n');
    std::fs::write(&path, text).map_err(|source| Error::Write {
        what: path.display().to_string(),
        source,
    })?;
    let shown = path.display().to_string();
    runner.info(format_args!("rendered {source} to {shown}"));
    runner
        .set_output("task-definition", &shown)
        .map_err(|source| Error::Write {
            what: "output `task-definition`".into(),
            source,
        })?;
    runner
        .summary(&summary::changes(&before, &after, &shown))
        .map_err(|source| Error::Write {
            what: "the step summary".into(),
            source,
        })?;
    Ok(())
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
