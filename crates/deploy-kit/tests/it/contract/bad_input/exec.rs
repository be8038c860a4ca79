//! Running many `deploy-kit` processes at once, each with a deadline: a hang is a finding, not a
//! stuck test.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deploy_kit_testbed::binary::Invocation;
pub use deploy_kit_testbed::binary::Run;

/// One invocation: the subcommand and its whole environment (the process env is cleared).
pub struct Job {
    pub action: String,
    pub env: Vec<(String, String)>,
}

impl Job {
    pub fn invocation(&self) -> Invocation {
        crate::deploy_kit()
            .action(&self.action)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
    }
}

/// Runs `job` (stdout and stderr in files: no pipe can fill up), killed at `deadline`.
pub fn run(job: &Job, deadline: Duration) -> Run {
    job.invocation().limit(deadline).run()
}

/// Runs every job on `workers` threads; results in the jobs' order.
pub fn run_all(jobs: &[Job], deadline: Duration, workers: usize) -> Vec<Run> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Run>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { break };
                    let ran = run(job, deadline);
                    results.lock().unwrap()[index] = Some(ran);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}
