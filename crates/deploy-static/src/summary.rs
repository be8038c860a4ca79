//! The plan as printed, the outputs and the step summary.

use deploy_kit_gha::Runner;
use deploy_kit_gha::summary::{Table, code};

use crate::input::Input;
use crate::plan::Plan;

/// The figures the outputs carry.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub uploaded: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub bytes: u64,
    pub invalidation_id: Option<String>,
    pub url: String,
}

/// The site's address: the distribution's domain, else the bucket's S3 endpoint.
pub fn url(input: &Input, region: &str, domain: Option<&str>) -> String {
    match domain {
        Some(domain) if !domain.is_empty() => format!("https://{domain}/{}", input.prefix),
        _ => format!(
            "https://{}.s3.{region}.amazonaws.com/{}",
            input.bucket, input.prefix
        ),
    }
}

impl Outcome {
    pub fn planned(plan: &Plan, url: String) -> Self {
        Self {
            uploaded: plan.assets.len() + plan.html.len(),
            unchanged: plan.unchanged.len(),
            deleted: plan.delete.len(),
            bytes: plan.bytes(),
            invalidation_id: None,
            url,
        }
    }

    /// Sets the outputs and appends the summary; failures to write are warnings.
    pub fn write(&self, runner: &Runner, input: &Input, plan: &Plan, dry_run: bool) {
        let outputs = [
            ("uploaded", self.uploaded.to_string()),
            ("unchanged", self.unchanged.to_string()),
            ("deleted", self.deleted.to_string()),
            ("bytes", self.bytes.to_string()),
            (
                "invalidation-id",
                self.invalidation_id.clone().unwrap_or_default(),
            ),
            ("url", self.url.clone()),
        ];
        for (name, value) in outputs {
            if let Err(e) = runner.set_output(name, &value) {
                runner.warning(format!("cannot write output `{name}`: {e}"));
            }
        }
        if let Err(e) = runner.summary(&self.markdown(input, plan, dry_run)) {
            runner.warning(format!("cannot write the step summary: {e}"));
        }
    }

    fn markdown(&self, input: &Input, plan: &Plan, dry_run: bool) -> String {
        let verb = if dry_run { "would deploy" } else { "deployed" };
        let mut table = Table::new(["", "files", "bytes"]);
        table.row([
            "uploaded (assets)".to_owned(),
            plan.assets.len().to_string(),
            sum(&plan.assets),
        ]);
        table.row([
            "uploaded (HTML, last)".to_owned(),
            plan.html.len().to_string(),
            sum(&plan.html),
        ]);
        table.row([
            "unchanged".to_owned(),
            self.unchanged.to_string(),
            sum(&plan.unchanged),
        ]);
        table.row([
            "deleted".to_owned(),
            self.deleted.to_string(),
            String::new(),
        ]);
        table.row([
            "kept for earlier releases".to_owned(),
            plan.kept.to_string(),
            String::new(),
        ]);
        let invalidation = match (&self.invalidation_id, plan.invalidation.is_empty()) {
            (Some(id), _) => format!(
                "Invalidation {} of {}.\n",
                code(id),
                plan.invalidation
                    .iter()
                    .map(|p| code(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (None, false) if dry_run => format!(
                "Would invalidate {}.\n",
                plan.invalidation
                    .iter()
                    .map(|p| code(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "No invalidation.\n".to_owned(),
        };
        format!(
            "### deploy-static {verb} {} to {}\n\n{}\n{invalidation}",
            code(&input.source.display().to_string()),
            code(&format!("s3://{}/{}", input.bucket, input.prefix)),
            table.render(),
        )
    }
}

fn sum(files: &[crate::local::LocalFile]) -> String {
    files.iter().map(|f| f.size).sum::<u64>().to_string()
}

/// One line per decision, so the log says what will happen before it does.
pub fn print_plan(runner: &Runner, input: &Input, plan: &Plan) {
    runner.info(format!(
        "s3://{}/{}: {} to upload ({} assets, then {} HTML; {} bytes), {} unchanged, {} to delete, {} kept for earlier releases",
        input.bucket,
        input.prefix,
        plan.assets.len() + plan.html.len(),
        plan.assets.len(),
        plan.html.len(),
        plan.bytes(),
        plan.unchanged.len(),
        plan.delete.len(),
        plan.kept
    ));
    if !plan.invalidation.is_empty() {
        runner.info(format!("invalidate: {}", plan.invalidation.join(" ")));
    }
    let _group = runner.group("files");
    for file in plan.assets.iter().chain(&plan.html) {
        runner.info(format!(
            "upload {} ({}, {})",
            file.path, file.content_type, file.cache_control
        ));
    }
    for path in &plan.delete {
        runner.info(format!("delete {path}"));
    }
}
