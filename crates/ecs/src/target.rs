//! The `task-definition` input, parsed once into [`TaskDefinition`] (a file is read and checked
//! then), and resolved once after pre-flight into the [`Target`] sent to ECS.

use std::path::Path;

use aws_sdk_ecs::Client;
use deploy_kit_gha::Runner;
use deploy_kit_gha::input::{self, InputError};

use crate::revision::{self, RevisionRef, RevisionRefusal};
use crate::{Error, ServiceRef, TaskFile, register};

const INPUT: &str = "task-definition";

/// What `task-definition` names.
#[derive(Debug, Clone)]
pub enum TaskDefinition {
    /// The service's current task definition (run-migrations, `task-definition` empty).
    Service,
    /// A rendered JSON file, read and checked: registered before use.
    File(Box<TaskFile>),
    /// A task definition ARN (or, for run-migrations, `family[:revision]`), used as is.
    Reference(String),
    /// A revision of the family the service runs (a rollback); resolved after pre-flight.
    Revision(RevisionRef),
}

/// The task definition to send: registered from a file first, or one that exists.
#[derive(Debug, Clone)]
pub enum Target {
    Register(Box<TaskFile>),
    Existing(String),
}

impl TaskDefinition {
    /// ecs-blue-green's `task-definition` (required): a task definition ARN, `previous`, a
    /// revision number, or else the path of a rendered file.
    pub fn for_deploy(text: Option<&str>) -> Result<Self, InputError> {
        let text = input::required(INPUT, text)?;
        if text.starts_with("arn:") {
            return arn(text).map(Self::Reference);
        }
        if text == "previous" {
            return Ok(Self::Revision(RevisionRef::Previous));
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return revision_number(text).map(|n| Self::Revision(RevisionRef::Number(n)));
        }
        file(text)
    }

    /// run-migrations' `task-definition` (default: the service's): an ARN or `family[:revision]`,
    /// or else the path of a rendered file.
    pub fn for_run(text: Option<&str>) -> Result<Self, InputError> {
        match input::set(text) {
            None => Ok(Self::Service),
            Some(text) if is_reference(text) => Ok(Self::Reference(text.to_owned())),
            Some(text) => file(text),
        }
    }

    /// The file read, when `task-definition` names one.
    pub fn file(&self) -> Option<&TaskFile> {
        match self {
            Self::File(file) => Some(file),
            _ => None,
        }
    }

    /// What to send, for `service`, which runs `running` now: a revision is looked up (and
    /// checked ACTIVE) in the running one's family. Reads only.
    pub async fn target(
        &self,
        client: &Client,
        service: &ServiceRef,
        running: Option<&str>,
    ) -> Result<Target, Error> {
        match self {
            Self::File(file) => Ok(Target::Register(file.clone())),
            Self::Reference(reference) => Ok(Target::Existing(reference.clone())),
            Self::Service => running
                .map(|arn| Target::Existing(arn.to_owned()))
                .ok_or_else(|| {
                    Error::Revision(RevisionRefusal::NoTaskDefinition {
                        cluster: service.cluster.clone(),
                        service: service.name.clone(),
                    })
                }),
            Self::Revision(asked) => revision::resolve(client, service, running, *asked)
                .await
                .map(Target::Existing),
        }
    }
}

impl Target {
    /// The ARN to send: the file registered (said on the log), or the existing one.
    pub async fn arn(&self, client: &Client, runner: &Runner) -> Result<String, Error> {
        match self {
            Target::Register(file) => {
                let arn = register(client, file).await?;
                runner.info(format!("registered {arn}"));
                Ok(arn)
            }
            Target::Existing(arn) => Ok(arn.clone()),
        }
    }
}

fn file(text: &str) -> Result<TaskDefinition, InputError> {
    deploy_kit_render_taskdef::task_file::read(Path::new(text))
        .map(|file| TaskDefinition::File(Box::new(file)))
}

fn arn(text: &str) -> Result<String, InputError> {
    let valid = text.contains(":task-definition/") && text.rsplit_once(':').is_some();
    if valid {
        return Ok(text.to_owned());
    }
    Err(InputError::new(
        INPUT,
        format!(
            "`{}` is not a task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)",
            input::truncate(text, 120)
        ),
    ))
}

fn revision_number(text: &str) -> Result<u32, InputError> {
    match text.parse::<u32>() {
        Ok(number) if number > 0 && !text.starts_with('0') => Ok(number),
        _ => Err(InputError::new(
            INPUT,
            format!(
                "`{}` is not a revision number (1, 2, ... without leading zeros)",
                input::truncate(text, 40)
            ),
        )),
    }
}

/// An ARN, `family` or `family:revision`, as opposed to a file path.
fn is_reference(text: &str) -> bool {
    if text.starts_with("arn:") {
        return true;
    }
    let (family, revision) = text.split_once(':').unwrap_or((text, "1"));
    !family.is_empty()
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !revision.is_empty()
        && revision.chars().all(|c| c.is_ascii_digit())
}
