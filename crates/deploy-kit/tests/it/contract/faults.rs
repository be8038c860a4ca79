//! Faults between the binary and the bed: each action's main path runs through
//! `tests/bed/bed/tools/faults.py` (throttling, 429, 500, 503, connection resets, truncated bodies,
//! slow answers) and must end as it does without faults, or fail clearly (exit 1 or 3 with an
//! `::error::`) — never hang, never panic, never leave a deployment in flight or a task running.
//!
//! CI runs each action once at 30% with a fixed seed. `bench/faults` runs the matrix
//! (`DEPLOY_KIT_FAULT_RATES`, `DEPLOY_KIT_FAULT_RUNS`) and collects the figures each run appends
//! to `DEPLOY_KIT_FAULT_REPORT` as JSON lines.
#![allow(clippy::print_stderr)] // each run's figures, shown with --nocapture

mod actions;
mod deploy_static;
mod ecs;

use std::collections::HashMap;
use std::time::Duration;

use deploy_kit_testbed::Bed;
pub use deploy_kit_testbed::binary::Run;
use deploy_kit_testbed::faults::{FaultConfig, FaultProxy};

/// How a run ended, when it ended acceptably.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Exit 0 and the fault-free outputs.
    Correct,
    /// A non-zero exit that says what failed.
    ClearFailure,
}

/// (rate, seed) of each faulted run: one at 30% with seed `base` unless the environment asks
/// for more (`DEPLOY_KIT_FAULT_RATES=0.1,0.3`, `DEPLOY_KIT_FAULT_RUNS=10`: seeds base, base+1...).
/// Each test's base seed is one that injects faults into its few requests.
pub fn matrix(base: u64) -> Vec<(f64, u64)> {
    let rates: Vec<f64> = std::env::var("DEPLOY_KIT_FAULT_RATES")
        .ok()
        .map(|v| v.split(',').filter_map(|r| r.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![0.3]);
    let runs = std::env::var("DEPLOY_KIT_FAULT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1u64);
    rates
        .iter()
        .flat_map(|rate| (0..runs).map(move |i| (*rate, base + i)))
        .collect()
}

/// One action under faults: the bed, the proxy in front of it, and a scratch directory.
pub struct Harness {
    pub action: &'static str,
    pub proxy: FaultProxy,
    /// The binary's environment besides the runner's (the bed's, through the proxy).
    pub env: Vec<(String, String)>,
    pub dir: tempfile::TempDir,
    /// Kill a run that takes longer, and fail the test: a hang.
    pub limit: Duration,
    runs: u32,
    faulted: u64,
    verdicts: Vec<Option<Verdict>>,
    bad: Vec<String>,
}

impl Harness {
    /// A proxy in front of `upstream` (another server than the bed), faults off.
    pub fn new(action: &'static str, upstream: &str, limit: Duration) -> Self {
        let proxy = FaultProxy::start(upstream, &FaultConfig::new(0.0, 1)).unwrap();
        Self {
            action,
            proxy,
            env: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
            limit,
            runs: 0,
            faulted: 0,
            verdicts: Vec::new(),
            bad: Vec::new(),
        }
    }

    /// A proxy in front of the bed's AWS endpoint (and its GitHub OIDC token URL with `oidc`).
    pub fn on_bed(action: &'static str, bed: &Bed, oidc: bool, limit: Duration) -> Self {
        let mut harness = Self::new(action, bed.endpoint_url(), limit);
        harness.env = harness.proxy.env_for(bed, oidc);
        harness
    }

    /// Adds `KEY=value` to the binary's environment.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs the action with `inputs` through the proxy as a GitHub job would (a run id of its
    /// own), killed at the limit.
    pub fn run(&mut self, inputs: &[(&str, &str)]) -> Run {
        self.runs += 1;
        crate::deploy_kit()
            .action(self.action)
            .in_actions()
            .runner_files()
            .env(
                "GITHUB_RUN_ID",
                format!("{}{}", std::process::id(), self.runs),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .inputs(inputs)
            .limit(self.limit)
            .run()
    }

    /// Faults from now on at `rate` with `seed`, counters zeroed.
    pub fn faults(&self, rate: f64, seed: u64) {
        self.proxy
            .configure(&format!(r#"{{"rate": {rate}, "seed": {seed}}}"#))
            .unwrap();
        self.proxy.reset().unwrap();
    }

    /// Judges a faulted run against the fault-free `expected` (outputs after `normalize`),
    /// given what the run `left` behind (deployments in flight, tasks running): correct, a clear
    /// failure, or bad. Records it; [`Self::finish`] fails the test if any run was bad.
    pub fn judge(
        &mut self,
        run: &Run,
        expected: &HashMap<String, String>,
        normalize: impl Fn(&Run) -> HashMap<String, String>,
        left: &[String],
        (rate, seed): (f64, u64),
    ) -> Option<Verdict> {
        let stats = self.proxy.stats().unwrap();
        self.faulted += stats["faulted"].as_u64().unwrap_or(0);
        let got = normalize(run);
        let log = run.log();
        let error = log.lines().find(|l| l.starts_with("::error"));
        let verdict = if run.hung {
            Err(format!("hung: killed after {:?}", self.limit))
        } else if log.contains("panicked") {
            Err("panicked".to_owned())
        } else if !left.is_empty() {
            Err(format!("left behind: {left:?}"))
        } else {
            match run.code {
                Some(0) if &got == expected => Ok(Verdict::Correct),
                Some(0) => Err(format!("exit 0 with {got:?}, not {expected:?}")),
                // A clear error names what failed and why, and is not an internal one.
                Some(1 | 3) if error.is_some_and(clear) => Ok(Verdict::ClearFailure),
                code => Err(format!("exit {code:?} without a clear error")),
            }
        };
        record(self.action, rate, seed, &verdict, &stats, run);
        if let Err(why) = &verdict {
            self.bad.push(format!(
                "{} at {rate} (seed {seed}): {why}\nfaults: {}\n{}",
                self.action, stats["byOperation"], log
            ));
        }
        self.verdicts.push(verdict.clone().ok());
        verdict.ok()
    }

    /// After every run: none was bad, and faults were injected (else nothing was tested).
    pub fn finish(&self) {
        let count = |v: Option<Verdict>| self.verdicts.iter().filter(|x| **x == v).count();
        eprintln!(
            "{}: {} runs, {} faults, {} correct, {} failed clearly, {} bad",
            self.action,
            self.verdicts.len(),
            self.faulted,
            count(Some(Verdict::Correct)),
            count(Some(Verdict::ClearFailure)),
            count(None)
        );
        assert!(self.bad.is_empty(), "{}", self.bad.join("\n\n"));
        assert!(self.faulted > 0, "{}: no fault was injected", self.action);
    }

    /// The fault-free run that faulted runs must match: exit 0, or the test fails.
    pub fn baseline(&mut self, inputs: &[(&str, &str)]) -> Run {
        self.faults(0.0, 0);
        let run = self.run(inputs);
        assert_eq!(
            run.code,
            Some(0),
            "{} without faults\n{}",
            self.action,
            run.log()
        );
        run
    }
}

/// `::error title=x::DescribeTasks ... failed: ThrottlingException: Rate exceeded`, not
/// `GetCallerIdentity failed: Error` nor an internal error.
fn clear(line: &str) -> bool {
    let message = line.rsplit("::").next().unwrap_or_default();
    let vague = [
        "Error",
        "service error",
        "unhandled error",
        "dispatch failure",
    ];
    message.len() > 30
        && !message.contains("internal")
        && !vague.iter().any(|v| message.ends_with(&format!(": {v}")))
}

/// Appends the run to `DEPLOY_KIT_FAULT_REPORT` (JSON lines) when set, and says it on stderr.
fn record(
    action: &str,
    rate: f64,
    seed: u64,
    verdict: &Result<Verdict, String>,
    stats: &serde_json::Value,
    run: &Run,
) {
    let (verdict, why) = match verdict {
        Ok(verdict) => (format!("{verdict:?}"), String::new()),
        Err(why) => ("Bad".to_owned(), why.chars().take(300).collect()),
    };
    let log = run.log();
    let error = log
        .lines()
        .find(|l| l.starts_with("::error"))
        .unwrap_or_default();
    let line = serde_json::json!({
        "action": action, "rate": rate, "seed": seed, "verdict": verdict, "bad": why,
        "code": run.code, "seconds": run.took.as_secs_f64(), "requests": stats["requests"],
        "faulted": stats["faulted"], "byKind": stats["byKind"], "error": error,
    });
    eprintln!("fault run: {line}");
    if let Ok(path) = std::env::var("DEPLOY_KIT_FAULT_REPORT") {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(file, "{line}").unwrap();
    }
}

/// Outputs without the keys that differ on every run.
pub fn without(outputs: &HashMap<String, String>, volatile: &[&str]) -> HashMap<String, String> {
    outputs
        .iter()
        .filter(|(k, _)| !volatile.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
