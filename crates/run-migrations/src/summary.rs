//! The step summary and the outputs: task, revision, command, duration, exit code or reason, a
//! link to the logs, and the last lines of output.

use std::time::Duration;

use aws_sdk_ecs::types::Task;
use deploy_kit_gha::summary::{Table, code};
use deploy_kit_gha::{Runner, format_duration};

/// The outputs `action.yml` declares.
pub const OUTPUTS: &[&str] = &[
    "task-arn",
    "task-definition-arn",
    "exit-code",
    "stop-code",
    "stopped-reason",
    "log-url",
    "duration-seconds",
];

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub task_arn: String,
    pub task_definition: String,
    pub container: String,
    pub command: Option<Vec<String>>,
    pub exit_code: Option<i32>,
    pub stop_code: String,
    pub stopped_reason: String,
    pub container_reason: Option<String>,
    pub log_url: Option<String>,
    pub duration: Duration,
    pub error: Option<String>,
    pub tail: Vec<String>,
}

impl Report {
    /// What the task as last seen says about its end: the container's exit code and reason,
    /// the task's stop code and reason; the rest is the caller's to fill.
    pub fn stopped(task: &Task, container: &str) -> Self {
        let found = task
            .containers()
            .iter()
            .find(|c| c.name() == Some(container));
        Self {
            exit_code: found.and_then(|c| c.exit_code()),
            container_reason: found.and_then(|c| c.reason()).map(str::to_owned),
            stop_code: task
                .stop_code()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            stopped_reason: task.stopped_reason().unwrap_or_default().to_owned(),
            ..Self::default()
        }
    }

    /// Sets the outputs and appends the summary; failures to write are warnings.
    pub fn write(&self, runner: &Runner) {
        let outputs = [
            ("task-arn", self.task_arn.clone()),
            ("task-definition-arn", self.task_definition.clone()),
            (
                "exit-code",
                self.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            ),
            ("stop-code", self.stop_code.clone()),
            ("stopped-reason", self.stopped_reason.clone()),
            ("log-url", self.log_url.clone().unwrap_or_default()),
            ("duration-seconds", self.duration.as_secs().to_string()),
        ];
        for (name, value) in outputs {
            if let Err(error) = runner.set_output(name, &value) {
                runner.warning(format!("cannot set output `{name}`: {error}"));
            }
        }
        if let Err(error) = runner.summary(&self.markdown()) {
            runner.warning(format!("cannot write the step summary: {error}"));
        }
    }

    pub fn markdown(&self) -> String {
        let (icon, verdict) = match (&self.error, self.exit_code) {
            (None, _) => ("✅", "exit code 0".to_owned()),
            (Some(_), Some(code)) => ("❌", format!("exit code {code}")),
            (Some(_), None) => ("❌", "no exit code".to_owned()),
        };
        let mut out = format!("### {icon} run-migrations: {verdict}\n\n");
        let mut table = Table::new(["", ""]);
        table.row(["task", &code(&self.task_arn)]);
        table.row(["task definition", &code(&self.task_definition)]);
        table.row(["container", &code(&self.container)]);
        if let Some(command) = &self.command {
            table.row(["command".to_owned(), code(&command.join(" "))]);
        }
        table.row(["duration".to_owned(), format_duration(self.duration)]);
        if !self.stop_code.is_empty() {
            table.row([
                "stopped".to_owned(),
                format!("{}: {}", code(&self.stop_code), self.stopped_reason),
            ]);
        }
        if let Some(reason) = &self.container_reason {
            table.row(["container reason", reason.as_str()]);
        }
        if let Some(url) = &self.log_url {
            table.row(["logs".to_owned(), format!("[CloudWatch Logs]({url})")]);
        }
        out.push_str(&table.render());
        if let Some(error) = &self.error {
            out.push_str(&format!("\n**Why:** {error}\n"));
        }
        if !self.tail.is_empty() {
            out.push_str(&format!("\nLast {} lines:\n\n```text\n", self.tail.len()));
            for line in &self.tail {
                out.push_str(line.replace("```", "'''").as_str());
                out.push('\n');
            }
            out.push_str("```\n");
        }
        out
    }
}
