//! `task-definition: previous` or a revision number: a rollback names a revision of the family
//! the service runs, not a file. Resolved after pre-flight, before any write, into the ARN to
//! deploy; a revision that cannot be deployed is refused (exit 2) with what to give instead.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{SortOrder, TaskDefinitionStatus};

use crate::{Error, ServiceRef};

/// `previous`, or a revision number of the family the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionRef {
    /// The newest ACTIVE revision below the running one.
    Previous,
    Number(u32),
}

impl std::fmt::Display for RevisionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevisionRef::Previous => f.write_str("previous"),
            RevisionRef::Number(number) => write!(f, "{number}"),
        }
    }
}

/// Why the task definition asked for cannot be used. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevisionRefusal {
    #[error(
        "service `{service}` in cluster `{cluster}` runs no task definition, so `task-definition: {asked}` has no family to pick from: give a task definition ARN or file"
    )]
    NoFamily {
        cluster: String,
        service: String,
        asked: String,
    },
    #[error(
        "task definition family `{family}` has no ACTIVE revision below {running}, the one service `{service}` in cluster `{cluster}` runs: give a revision number or ARN"
    )]
    NoEarlier {
        cluster: String,
        service: String,
        family: String,
        running: u32,
    },
    #[error("task definition `{arn}` cannot be deployed: {why}")]
    NotDeployable { arn: String, why: String },
    #[error(
        "service `{service}` in cluster `{cluster}` runs no task definition: set `task-definition` (a file or an ARN)"
    )]
    NoTaskDefinition { cluster: String, service: String },
}

/// The family ARN (`arn:...:task-definition/api`) and revision of a task definition ARN.
fn split(arn: &str) -> Option<(&str, u32)> {
    let (family, revision) = arn.rsplit_once(':')?;
    family
        .contains(":task-definition/")
        .then_some(())
        .and(revision.parse().ok().map(|r| (family, r)))
}

/// The ARN `asked` names in the family of `running`, checked to be ACTIVE.
pub(crate) async fn resolve(
    client: &Client,
    service: &ServiceRef,
    running: Option<&str>,
    asked: RevisionRef,
) -> Result<String, Error> {
    let Some((family_arn, running)) = running.and_then(split) else {
        return Err(Error::Revision(RevisionRefusal::NoFamily {
            cluster: service.cluster.clone(),
            service: service.name.clone(),
            asked: asked.to_string(),
        }));
    };
    let arn = match asked {
        RevisionRef::Number(number) => format!("{family_arn}:{number}"),
        RevisionRef::Previous => previous(client, service, family_arn, running).await?,
    };
    check_active(client, &arn).await?;
    Ok(arn)
}

/// The newest ACTIVE revision of the family below `running`.
async fn previous(
    client: &Client,
    service: &ServiceRef,
    family_arn: &str,
    running: u32,
) -> Result<String, Error> {
    let family = family_arn.rsplit('/').next().unwrap_or(family_arn);
    // familyPrefix matches by prefix (`api` also lists `api-worker`): keep the exact family.
    let mut pages = client
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .into_paginator()
        .send();
    // The highest revision below the running one, whatever order the pages come in.
    let mut best: Option<(u32, String)> = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| service.aws_error("ListTaskDefinitions", &e))?;
        for arn in page.task_definition_arns() {
            if let Some((family, revision)) = split(arn) {
                let better = best.as_ref().is_none_or(|(b, _)| revision > *b);
                if family == family_arn && revision < running && better {
                    best = Some((revision, arn.clone()));
                }
            }
        }
    }
    if let Some((_, arn)) = best {
        return Ok(arn);
    }
    Err(Error::Revision(RevisionRefusal::NoEarlier {
        cluster: service.cluster.clone(),
        service: service.name.clone(),
        family: family.to_owned(),
        running,
    }))
}

async fn check_active(client: &Client, arn: &str) -> Result<(), Error> {
    let described = client
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await;
    let why = match described {
        Ok(out) => match out.task_definition().and_then(|t| t.status()) {
            Some(TaskDefinitionStatus::Active) => return Ok(()),
            status => format!(
                "it is {}; ECS deploys only ACTIVE revisions",
                status.map_or("of unknown status", |s| s.as_str())
            ),
        },
        // ClientException is ECS's answer for a revision that does not exist.
        Err(error) if error.as_service_error().is_some() => deploy_kit_aws::describe_error(&error),
        Err(error) => {
            return Err(Error::Failed(format!(
                "DescribeTaskDefinition `{arn}` failed: {}",
                deploy_kit_aws::describe_error(&error)
            )));
        }
    };
    Err(Error::Revision(RevisionRefusal::NotDeployable {
        arn: arn.to_owned(),
        why,
    }))
}
