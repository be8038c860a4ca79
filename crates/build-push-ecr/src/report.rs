//! What the step tells the runner at the end: the outputs, the summary, and the scan gate's
//! verdict.

use std::time::Duration;

use deploy_kit_gha::Runner;

use crate::docker::Builder;
use crate::{Error, Input, SEVERITIES, ecr};

/// What the step produced.
#[derive(Debug, Default)]
pub(crate) struct Built {
    pub(crate) uri: String,
    pub(crate) registry: String,
    pub(crate) digest: Option<String>,
    pub(crate) skipped: bool,
    pub(crate) builder: Option<Builder>,
    pub(crate) build_time: Option<Duration>,
    pub(crate) tags_added: Vec<String>,
    pub(crate) findings: Option<Vec<ecr::Finding>>,
}

pub(crate) fn report(input: &Input, built: &Built, runner: &Runner) {
    let first = format!("{}:{}", built.uri, input.tags[0]);
    let digest = built.digest.clone().unwrap_or_default();
    let digest_uri = built
        .digest
        .as_ref()
        .map(|d| format!("{}@{d}", built.uri))
        .unwrap_or_default();
    let outputs = [
        ("image", first.clone()),
        ("image-digest-uri", digest_uri.clone()),
        ("digest", digest.clone()),
        ("tags", input.tags.join("\n")),
        ("registry", built.registry.clone()),
        ("skipped", built.skipped.to_string()),
    ];
    for (name, value) in outputs {
        if let Err(error) = runner.set_output(name, &value) {
            runner.warning(format!("cannot set output `{name}`: {error}"));
        }
    }
    let how = match (built.skipped, &built.builder, built.build_time) {
        (true, _, _) => "skipped: the image already existed".to_owned(),
        (false, Some(Builder::Buildx { cache, .. }), Some(took)) => format!(
            "built with buildx in {} (registry cache {})",
            deploy_kit_gha::format_duration(took),
            match (cache, input.cache) {
                (true, _) => "on",
                (false, true) => "off: no builder could export it",
                (false, false) => "off",
            }
        ),
        (false, _, Some(took)) => format!(
            "built with docker build in {} (no registry cache without buildx)",
            deploy_kit_gha::format_duration(took)
        ),
        _ => "not built".to_owned(),
    };
    let mut md = format!(
        "### build-push-ecr\n\n| | |\n| --- | --- |\n| image | `{first}` |\n| digest | `{digest}` |\n| tags | {} |\n| build | {how} |\n",
        input
            .tags
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if !built.tags_added.is_empty() {
        md.push_str(&format!(
            "| tags added | {} |\n",
            built.tags_added.join(", ")
        ));
    }
    if let Some(findings) = &built.findings {
        md.push_str("\n#### Scan findings\n\n| severity | findings |\n| --- | --- |\n");
        for severity in SEVERITIES {
            let count = findings.iter().filter(|f| f.severity == severity).count();
            if count > 0 {
                md.push_str(&format!("| {severity} | {count} |\n"));
            }
        }
        if findings.is_empty() {
            md.push_str("| (none) | 0 |\n");
        }
    }
    if let Err(error) = runner.summary(&md) {
        runner.warning(format!("cannot write the step summary: {error}"));
    }
    runner.info(format!("{first} is {digest_uri}"));
}

pub(crate) fn gate(input: &Input, built: &Built) -> Result<(), Error> {
    let Some(findings) = &built.findings else {
        return Ok(());
    };
    let blocking = ecr::blocking(input, findings);
    if blocking.is_empty() {
        return Ok(());
    }
    Err(Error::Findings {
        count: blocking.len(),
        threshold: input
            .fail_on_severity
            .and_then(|i| SEVERITIES.get(i).copied())
            .unwrap_or("?"),
        list: blocking
            .iter()
            .map(|f| format!("{} ({})", f.id, f.severity))
            .collect::<Vec<_>>()
            .join(", "),
    })
}
