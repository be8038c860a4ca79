//! Running many `deploy-kit` processes at once, each with a deadline: a hang is a finding, not a
//! stuck test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one run left behind.
#[derive(Debug)]
pub struct Ran {
    /// `None` when killed at the deadline (or by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
    pub timed_out: bool,
}

/// One invocation: the subcommand and its whole environment (the process env is cleared).
pub struct Job {
    pub action: String,
    pub env: Vec<(String, String)>,
}

/// Runs `job` with stdout/stderr in files under `dir` (no pipe can fill up), killed at `deadline`.
pub fn run(job: &Job, dir: &Path, tag: &str, deadline: Duration) -> Ran {
    let out_path = dir.join(format!("{tag}.stdout"));
    let err_path = dir.join(format!("{tag}.stderr"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_deploy-kit"));
    command
        .arg(&job.action)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (name, value) in &job.env {
        command.env(name, value);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{tag}: cannot start deploy-kit: {e}"));
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(3));
    };
    let read = |path: &PathBuf| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    Ran {
        code: status.code(),
        stdout: read(&out_path),
        stderr: read(&err_path),
        took: started.elapsed(),
        timed_out,
    }
}

/// Runs every job on `workers` threads; results in the jobs' order.
pub fn run_all(jobs: &[Job], dir: &Path, deadline: Duration, workers: usize) -> Vec<Ran> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Ran>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { break };
                    let ran = run(job, dir, &format!("case{index}"), deadline);
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
