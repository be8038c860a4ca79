//! The step summary: what was deployed, how it ended and why, the timeline of stages as a table
//! and as a Mermaid gantt chart (GitHub renders it), the AWS calls made, and console links.

use std::time::Duration;

use deploy_kit_gha::summary::{Table, code, escape_cell};
use deploy_kit_gha::{Runner, format_duration};

use crate::watch::Outcome;

/// Everything the summary shows, filled in as the deployment goes.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub cluster: String,
    pub service: String,
    pub strategy: String,
    pub previous_task_definition: Option<String>,
    pub task_definition: String,
    /// `container=image` of the new task definition, when known.
    pub images: Vec<String>,
    pub service_deployment_arn: Option<String>,
    pub console_url: Option<String>,
    /// The final ECS status (or IN_PROGRESS when it was left running).
    pub status: String,
    /// The error, when the step failed.
    pub failure: Option<String>,
    pub stages: Vec<(String, Duration)>,
    /// When following ended, since it started.
    pub followed_for: Duration,
    pub duration: Duration,
    pub describe_calls: u32,
    pub event_calls: u32,
    pub smoke_summary: Option<String>,
    pub smoke_failure: Option<String>,
    /// The status a rollback (timeout, cancel) settled in.
    pub rollback_status: Option<String>,
    /// Hooks the action does not own that the deployment waited on.
    pub waited_on: Vec<String>,
    /// The 5xx-rate alarm through the deployment (`max-5xx-rate`).
    pub rate_alarm: Option<crate::alarm::History>,
}

impl Report {
    /// What is known before the deployment starts.
    pub fn new(
        input: &crate::Input,
        service: &crate::Service,
        plan: &crate::Plan,
        console_url: String,
    ) -> Self {
        let images = match &plan.target {
            deploy_kit_ecs::Target::Register(file) => deploy_kit_ecs::images(&file.json),
            deploy_kit_ecs::Target::Existing(_) => Vec::new(),
        };
        Self {
            cluster: input.service.cluster.clone(),
            service: input.service.name.clone(),
            strategy: service.strategy_label().to_owned(),
            previous_task_definition: service.task_definition.clone(),
            images,
            console_url: Some(console_url),
            ..Self::default()
        }
    }

    /// Takes the stages and call counts of a follow.
    pub fn record(&mut self, outcome: &Outcome) {
        self.stages.clone_from(&outcome.stages);
        self.describe_calls += outcome.describe_calls;
        self.event_calls += outcome.event_calls;
        self.waited_on.clone_from(&outcome.waited_on);
        if !outcome.status.is_empty() {
            self.status.clone_from(&outcome.status);
        }
    }

    /// What the deployment came to, once it ended.
    pub fn take(&mut self, record: crate::deploy::Record) {
        self.task_definition = record.task_definition;
        self.service_deployment_arn = record.service_deployment_arn;
        if let Some(followed) = &record.followed {
            self.record(followed);
        }
        if let Some(settled) = &record.rollback {
            self.record_rollback(settled);
        }
        self.status = record.status;
        self.followed_for = record.followed_for;
        self.smoke_summary = record.smoke_summary;
        self.smoke_failure = record.smoke_failure;
    }

    pub fn record_rollback(&mut self, settled: &Outcome) {
        self.describe_calls += settled.describe_calls;
        self.event_calls += settled.event_calls;
        self.status.clone_from(&settled.status);
        self.rollback_status = Some(settled.status.clone());
    }

    /// The outputs and the step summary, whatever the end.
    pub fn write(&self, runner: &Runner) {
        write_outputs(self, runner);
        write_summary(runner, &self.markdown());
    }

    /// The Markdown for `$GITHUB_STEP_SUMMARY`.
    pub fn markdown(&self) -> String {
        let icon = match (self.status.as_str(), &self.failure) {
            ("SUCCESSFUL", None) => "✅",
            (_, None) => "⏳",
            _ => "❌",
        };
        let mut out = format!(
            "### {icon} ecs-blue-green: service `{}` in cluster `{}`: {}\n\n",
            escape_cell(&self.service),
            escape_cell(&self.cluster),
            if self.status.is_empty() {
                "not started"
            } else {
                &self.status
            }
        );
        out.push_str(&self.facts().render());
        if let Some(failure) = &self.failure {
            out.push_str(&format!("\n**Why:** {}\n", escape_cell(failure)));
        }
        for line in &self.waited_on {
            out.push_str(&format!("\n**Waited on:** {}\n", escape_cell(line)));
        }
        if !self.stages.is_empty() {
            out.push_str("\n#### Timeline\n\n");
            out.push_str(&self.timeline().render());
            out.push('\n');
            out.push_str(&self.gantt());
        }
        if let Some(alarm) = &self.rate_alarm {
            out.push_str(&alarm.markdown());
        }
        if let Some(smoke) = &self.smoke_summary {
            out.push('\n');
            out.push_str(smoke);
        }
        out
    }

    fn facts(&self) -> Table {
        let mut table = Table::new(["", ""]);
        table.row(["strategy", &code(&self.strategy)]);
        let previous = self
            .previous_task_definition
            .as_deref()
            .map_or("(none)".to_owned(), code);
        table.row([
            "task definition".to_owned(),
            format!("{previous} → {}", code(&self.task_definition)),
        ]);
        if !self.images.is_empty() {
            let images: Vec<String> = self.images.iter().map(|i| code(i)).collect();
            table.row(["images".to_owned(), images.join("<br>")]);
        }
        if let Some(arn) = &self.service_deployment_arn {
            table.row(["service deployment", &code(arn)]);
        }
        if let Some(status) = &self.rollback_status {
            table.row(["rollback", &code(status)]);
        }
        table.row(["duration".to_owned(), format_duration(self.duration)]);
        let per_minute = if self.followed_for.as_secs_f64() >= 1.0 {
            f64::from(self.describe_calls) * 60.0 / self.followed_for.as_secs_f64()
        } else {
            f64::from(self.describe_calls)
        };
        table.row([
            "AWS calls while following".to_owned(),
            format!(
                "{} DescribeServiceDeployments ({per_minute:.1}/min), {} DescribeServices",
                self.describe_calls, self.event_calls
            ),
        ]);
        if let Some(url) = &self.console_url {
            table.row([
                "console".to_owned(),
                format!("[service deployments]({url})"),
            ]);
        }
        table
    }

    /// Each stage with when it was first seen and how long it lasted (until the next one, or the
    /// end of following).
    fn spans(&self) -> Vec<(&str, Duration, Duration)> {
        self.stages
            .iter()
            .enumerate()
            .map(|(index, (name, start))| {
                let end = self
                    .stages
                    .get(index + 1)
                    .map_or(self.followed_for, |(_, next)| *next);
                (name.as_str(), *start, end.saturating_sub(*start))
            })
            .collect()
    }

    fn timeline(&self) -> Table {
        let mut table = Table::new(["stage", "seen at", "lasted"]);
        for (name, start, lasted) in self.spans() {
            table.row([
                code(name),
                format!("+{}", format_duration(start)),
                format_duration(lasted),
            ]);
        }
        table
    }

    /// A Mermaid gantt chart of the stages, in seconds since following started.
    fn gantt(&self) -> String {
        let mut chart = String::from(
            "```mermaid\ngantt\n    title Service deployment stages\n    dateFormat X\n    axisFormat %M:%S\n    section deployment\n",
        );
        for (index, (name, start, lasted)) in self.spans().into_iter().enumerate() {
            let from = start.as_secs();
            // A stage seen for less than a second still gets a visible bar.
            let to = from + lasted.as_secs().max(1);
            chart.push_str(&format!("    {name} :s{index}, {from}, {to}\n"));
        }
        chart.push_str("```\n");
        chart
    }
}

/// The ECS console page of the service's deployments.
pub fn console_url(region: &str, cluster: &str, service: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{service}/deployments?region={region}"
    )
}

/// The step summary is a report, not the result: a write failure is a warning.
pub(crate) fn write_summary(runner: &Runner, markdown: &str) {
    if let Err(error) = runner.summary(markdown) {
        runner.warning(format!("cannot write the step summary: {error}"));
    }
}

fn write_outputs(report: &Report, runner: &Runner) {
    let outputs = [
        ("task-definition-arn", report.task_definition.clone()),
        (
            "previous-task-definition-arn",
            report.previous_task_definition.clone().unwrap_or_default(),
        ),
        (
            "service-deployment-arn",
            report.service_deployment_arn.clone().unwrap_or_default(),
        ),
        ("status", report.status.clone()),
        (
            "console-url",
            report.console_url.clone().unwrap_or_default(),
        ),
        ("duration-seconds", report.duration.as_secs().to_string()),
    ];
    for (name, value) in outputs {
        if let Err(error) = runner.set_output(name, &value) {
            runner.warning(format!("cannot set output `{name}`: {error}"));
        }
    }
}
