//! Runs the action the way the binary does, with a captured runner that behaves as in Actions
//! (`::add-mask::`, `::error::`), and reads back its outputs, summary and report.

use std::time::{Duration, Instant};

use deploy_kit_gha::{Captured, Classify, Exit, OutputFormat, Runner, RunnerEnv, output_pairs};
use deploy_kit_smoke_test::{Args, Error, run};

pub struct Run {
    pub result: Result<(), Error>,
    pub captured: Captured,
    pub outputs: Vec<(String, String)>,
    pub summary: String,
    pub took: Duration,
    _dir: tempfile::TempDir,
}

impl Run {
    pub fn output(&self, name: &str) -> &str {
        self.outputs
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The error message as the binary renders it (unredacted: the runner redacts on print).
    pub fn message(&self) -> String {
        self.result
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    pub fn exit(&self) -> Exit {
        self.result
            .as_ref()
            .err()
            .map_or(Exit::Success, Classify::exit)
    }

    /// Everything written to the log, the final `::error::` included.
    pub fn log(&self) -> String {
        self.captured.stderr()
    }

    pub fn report_text(&self) -> String {
        std::fs::read_to_string(self.output("report")).unwrap()
    }

    pub fn report(&self) -> serde_json::Value {
        serde_json::from_str(&self.report_text()).unwrap()
    }
}

/// Fast defaults for loopback: short timeouts, 10 requests, 3 at a time.
pub fn args(url: &str) -> Args {
    Args {
        url: Some(url.to_owned()),
        timeout: Some("2s".into()),
        wait_for: Some("3s".into()),
        requests: Some("10".into()),
        concurrency: Some("3".into()),
        ..Args::default()
    }
}

pub async fn smoke(args: Args) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let env = RunnerEnv {
        in_actions: true,
        output_file: Some(dir.path().join("output")),
        summary_file: Some(dir.path().join("summary")),
        temp_dir: dir.path().to_path_buf(),
        ..RunnerEnv::default()
    };
    let (runner, captured) = Runner::capture("smoke-test", env, OutputFormat::Lines);
    let started = Instant::now();
    let result = run(args, &runner).await;
    let took = started.elapsed();
    if let Err(error) = &result {
        // As the binary does: the one place the error is printed.
        runner.error(error);
    }
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    Run {
        result,
        captured,
        outputs: output_pairs(&read("output")),
        summary: read("summary"),
        took,
        _dir: dir,
    }
}
