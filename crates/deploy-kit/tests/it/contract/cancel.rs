//! SIGTERM, as a cancelled workflow sends it, at points spread over whole runs of
//! `ecs-blue-green` and `run-migrations` (one module each): every interrupted run exits 143
//! and leaves nothing in flight, no service deployment pending or in progress (rolled back, or
//! completed if it got there first), no task running.
//!
//! The points, per action: one right after spawn (before the binary's handler exists: the
//! default action kills it, and it must not have called AWS); one as soon as the handler is
//! installed (nothing may be written); one after the first of each AWS call an uninterrupted run
//! makes and two after a random one (the bed's call log, one run on the bed at a time); then,
//! four lanes in parallel, some once the run's own log shows a given line (a stage, the PAUSE
//! hook, the smoke checks) and seeded random delays, one in each equal slice of the measured
//! length of an uninterrupted run. A run that ended successfully before the signal landed does
//! not count. `DEPLOY_KIT_CANCEL_SEED` replays a seed (the same fractions of the run).
//!
//! `runner_sequence` replays the runner's own cancel (SIGINT, SIGTERM, kill) at a few points
//! of each action instead of one SIGTERM.
#![allow(clippy::print_stderr)] // the seed and every point's outcome are this test's report

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use deploy_kit_testbed::Bed;
use deploy_kit_testbed::binary::{Invocation, Running};

mod blue_green;
mod migrations;
mod runner_sequence;

/// Points that must interrupt a run (exit 143), per action.
const REQUIRED: usize = 20;
/// Random-delay points per action, on top of the call-triggered ones.
const RANDOM: usize = 20;
const LANES: usize = 4;
const CLUSTER: &str = "prod";
/// Longer than any run here takes: a process still alive then has hung.
const HANG: Duration = Duration::from_secs(60);

/// Where the SIGTERM lands.
#[derive(Debug, Clone)]
enum Trigger {
    Spawned,
    Ready,
    /// Once the bed's call log holds this many calls of this name.
    AfterCall(String, usize),
    /// Once the run's own log shows this text.
    Logged(&'static str),
    /// This long after spawn (and after the handler is installed).
    After(Duration),
}

impl Trigger {
    fn label(&self) -> String {
        match self {
            Trigger::Spawned => "at spawn".to_owned(),
            Trigger::Ready => "handler installed".to_owned(),
            Trigger::AfterCall(call, n) => format!("after {call} #{n}"),
            Trigger::Logged(text) => format!("logged {text:?}"),
            Trigger::After(delay) => format!("after {:.3}s", delay.as_secs_f64()),
        }
    }
}

/// How a point's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Exit 143, "cancelled by SIGTERM".
    Cancelled,
    /// Exit 0: it finished before the signal landed (does not count).
    FinishedFirst,
    /// Killed by the signal's default action before the handler was installed.
    KilledAtStart,
}

struct End {
    label: String,
    kind: Kind,
    /// When the signal was sent, since spawn.
    at: Duration,
    /// What the run's log last said it was doing.
    phase: String,
    /// What it left behind.
    state: String,
}

/// splitmix64: reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn from_env(action: &str) -> Self {
        let seed = std::env::var("DEPLOY_KIT_CANCEL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("{action}: seed {seed} (DEPLOY_KIT_CANCEL_SEED={seed} replays the points)");
        Self(seed)
    }

    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// `n` delays over `span`, one at random in each of `n` equal slices.
    fn spread(&mut self, span: Duration, n: usize) -> Vec<Duration> {
        (0..n)
            .map(|i| span.mul_f64((i as f64 + self.unit()) / n as f64))
            .collect()
    }
}

/// The bed's call log.
fn calls(bed: &Bed) -> Vec<String> {
    bed.calls().unwrap()
}

/// The call-triggered points: the first of each call an uninterrupted run made, and two at random.
fn call_points(seen: &[String], rng: &mut Rng) -> Vec<Trigger> {
    let mut points = vec![Trigger::Spawned, Trigger::Ready];
    for call in seen {
        let trigger = Trigger::AfterCall(call.clone(), 1);
        if !points.iter().any(|p| p.label() == trigger.label()) {
            points.push(trigger);
        }
    }
    for _ in 0..2 {
        let at = rng.below(seen.len());
        let nth = seen[..=at].iter().filter(|c| **c == seen[at]).count();
        points.push(Trigger::AfterCall(seen[at].clone(), nth));
    }
    points
}

/// A deploy-kit process under way (stdout and stderr go to files: a pipe could fill and block it).
struct Proc {
    running: Running,
}

impl Proc {
    fn spawn(invocation: &Invocation) -> Self {
        Self {
            running: invocation.spawn(),
        }
    }

    fn log(&self) -> String {
        self.running.log()
    }

    fn exited(&mut self) -> bool {
        self.running.exited()
    }

    /// Whether SIGTERM is caught yet (bit 15 of SigCgt).
    fn handler_installed(&self) -> bool {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.running.pid()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << 14) != 0)
    }

    async fn ready(&mut self) {
        while !self.handler_installed() && !self.exited() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// Waits for `trigger`, then sends SIGTERM unless the run has already ended; when it was sent.
    async fn signal(&mut self, trigger: &Trigger, bed: &Bed) -> Duration {
        let at = self.reach(trigger, bed).await;
        if !self.exited() {
            // An exited but unreaped child is a zombie: the signal cannot reach another process.
            self.running.signal("TERM");
        }
        at
    }

    /// Waits for `trigger` (or the run's end); when it came, since spawn.
    async fn reach(&mut self, trigger: &Trigger, bed: &Bed) -> Duration {
        match trigger {
            Trigger::Spawned => {}
            Trigger::Ready => self.ready().await,
            Trigger::AfterCall(call, n) => {
                while calls(bed).iter().filter(|c| *c == call).count() < *n && !self.exited() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            Trigger::Logged(text) => {
                while !self.log().contains(text) && !self.exited() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            Trigger::After(delay) => {
                tokio::time::sleep_until((self.running.started + *delay).into()).await;
                self.ready().await;
            }
        }
        self.running.started.elapsed()
    }

    /// Waits for the end; the kind of end, checked, and the log.
    async fn end(mut self, label: &str, trigger: &Trigger) -> (Kind, String) {
        let deadline = Instant::now() + HANG;
        let status = loop {
            if let Some(status) = self.running.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.running.child.kill();
                let log = self.log();
                panic!("{label}: still running {HANG:?} after SIGTERM: {log}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let log = self.log();
        assert!(!log.contains("panicked"), "{label}: {log}");
        let kind = match (status.code(), status.signal()) {
            (Some(143), _) => {
                assert!(log.contains("cancelled by SIGTERM"), "{label}: {log}");
                Kind::Cancelled
            }
            (Some(0), _) => Kind::FinishedFirst,
            (None, Some(15)) if matches!(trigger, Trigger::Spawned) => Kind::KilledAtStart,
            _ => panic!("{label}: ended {status}, not 143: {log}"),
        };
        (kind, log)
    }
}

/// What the log last said before the cancel: the latest of `markers` (needle, name) seen, or
/// `stage X` for a deployment's stage line.
fn phase(log: &str, markers: &[(&str, &str)]) -> String {
    let mut phase = "before any output".to_owned();
    for line in log.lines() {
        if line.contains("cancelled by SIGTERM") || line.contains("rolling back") {
            break;
        }
        if let Some(stage) = line.split(": stage ").nth(1) {
            phase = stage.split(',').next().unwrap_or(stage).to_owned();
        }
        if let Some((_, name)) = markers.iter().find(|(needle, _)| line.contains(needle)) {
            phase = (*name).to_owned();
        }
    }
    phase
}

/// Runs `points` in [`LANES`] parallel lanes, each point of lane `k` after the one before.
async fn in_lanes(
    points: &[(usize, Trigger)],
    run: &impl AsyncFn(usize, usize, &Trigger) -> End,
) -> Vec<End> {
    let lane = async |k: usize| {
        let mut ends = Vec::new();
        for (n, trigger) in points.iter().skip(k).step_by(LANES) {
            ends.push(run(k, *n, trigger).await);
        }
        ends
    };
    let (a, b, c, d) = tokio::join!(lane(0), lane(1), lane(2), lane(3));
    [a, b, c, d].into_iter().flatten().collect()
}

/// The call-triggered points one at a time (lane 0), then the log-triggered ones and the random
/// delays in lanes.
async fn all_points(
    length: Duration,
    seen: &[String],
    logged: &[&'static str],
    rng: &mut Rng,
    point: &impl AsyncFn(usize, usize, &Trigger) -> End,
) -> Vec<End> {
    let mut ends = Vec::new();
    for (n, trigger) in call_points(seen, rng).iter().enumerate() {
        ends.push(point(0, n + 1, trigger).await);
    }
    let parallel: Vec<(usize, Trigger)> = logged
        .iter()
        .map(|text| Trigger::Logged(text))
        .chain(
            rng.spread(length.mul_f64(0.95), RANDOM)
                .into_iter()
                .map(Trigger::After),
        )
        .enumerate()
        .map(|(i, trigger)| (ends.len() + 1 + i, trigger))
        .collect();
    ends.extend(in_lanes(&parallel, point).await);
    ends
}

/// Prints every point and checks that enough of them interrupted a run.
fn report(action: &str, run: Duration, ends: &[End]) {
    for end in ends {
        eprintln!(
            "{action} {:<40} sent {:>6.3}s  {:<13} {:<26} {}",
            end.label,
            end.at.as_secs_f64(),
            format!("{:?}", end.kind),
            end.phase,
            end.state
        );
    }
    let cancelled = ends.iter().filter(|e| e.kind == Kind::Cancelled).count();
    eprintln!(
        "{action}: {cancelled} of {} points interrupted a run (uninterrupted: {:.2}s)",
        ends.len(),
        run.as_secs_f64()
    );
    assert!(
        cancelled >= REQUIRED,
        "{action}: only {cancelled} points interrupted a run"
    );
}

/// Calls that write: none may follow a signal that came before any AWS call.
const WRITES: [&str; 6] = [
    "ecs:RegisterTaskDefinition",
    "ecs:UpdateService",
    "ecs:ContinueServiceDeployment",
    "ecs:StopServiceDeployment",
    "ecs:RunTask",
    "ecs:StopTask",
];

/// One uninterrupted run: how long it took and the calls it made.
async fn measure(bed: &Bed, invocation: &Invocation) -> (Duration, Vec<String>) {
    crate::contract::iam::reset(bed);
    let proc = Proc::spawn(invocation);
    let spawned = proc.running.started;
    let (kind, log) = proc.end("uninterrupted run", &Trigger::Ready).await;
    assert_eq!(kind, Kind::FinishedFirst, "{log}");
    (spawned.elapsed(), calls(bed))
}

/// Spawns `command` and sends SIGTERM at `trigger`; the end, when the signal was sent, the log.
/// Call-log triggers run one at a time on the bed, so their call log is the run's own: a signal
/// before any AWS call must leave nothing written.
async fn cancel_at(
    bed: &Bed,
    invocation: &Invocation,
    label: &str,
    trigger: &Trigger,
) -> (Kind, Duration, String) {
    let alone = !matches!(trigger, Trigger::After(_) | Trigger::Logged(_));
    if alone {
        crate::contract::iam::reset(bed);
    }
    let mut proc = Proc::spawn(invocation);
    let at = proc.signal(trigger, bed).await;
    let (kind, log) = proc.end(label, trigger).await;
    if alone {
        let made = calls(bed);
        match trigger {
            Trigger::Spawned if kind == Kind::KilledAtStart => {
                assert!(
                    made.is_empty(),
                    "{label}: killed at start, yet called {made:?}"
                );
            }
            Trigger::Spawned | Trigger::Ready => assert!(
                !made.iter().any(|c| WRITES.contains(&c.as_str())),
                "{label}: cancelled before any AWS call, yet it wrote: {made:?}\n{log}"
            ),
            _ => {}
        }
    }
    (kind, at, log)
}
