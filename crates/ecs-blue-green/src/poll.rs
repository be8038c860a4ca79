//! The polling policy: how long to wait before the next `DescribeServiceDeployments`.
//!
//! Goal (DESIGN "Targets"): notice a terminal state within 2 s of ECS reporting it, while
//! averaging at most one describe call per 3 s. The policy is a pure function of what is known:
//!
//! - **Throttled**: exponential backoff, 2 s doubling to 30 s, whatever the stage.
//! - **A stage of known length** (bake time, a canary bake, a linear step interval): sleep until
//!   2 s before it is due to end (at most 60 s per sleep, so service events still print), then
//!   poll every second until 5 s past its expected end; after that, as a stage of unknown length.
//! - **A stage of unknown length** that is not the last (scale-up, traffic shift): every 4 s,
//!   then every 5 s after 10 s in it. Its end only changes what is printed, so a few seconds of
//!   latency there is fine; the terminal state is what must be fast.
//! - **Nearly done** (clean-up after production traffic moved, or a rollback settling): every
//!   1.5 s, since the terminal state is next.
//!
//! Every delay is multiplied by `scale` (1.0 in production; tests use a tiny value).

use std::time::Duration;

/// What the caller knows about the stage the deployment is in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Poll {
    /// How long the current stage lasts, when the inputs or the service say (bake time, ...).
    pub known_length: Option<Duration>,
    /// Time spent in the current stage so far, in the policy's unscaled time ([`unscale`]).
    pub in_stage: Duration,
    /// The next state is expected to be terminal (clean-up, rollback settling).
    pub terminal_next: bool,
    /// Consecutive throttled or 5xx responses (0 after a good one).
    pub throttled: u32,
}

pub const FAST: Duration = Duration::from_secs(1);
/// When the terminal state is next: often enough to notice it within 2 s.
pub const NEAR_END: Duration = Duration::from_millis(1500);
/// First delay in a stage of unknown length that is not the last one.
pub const UNKNOWN_START: Duration = Duration::from_secs(4);
pub const SLOW: Duration = Duration::from_secs(5);
pub const MAX_SLEEP: Duration = Duration::from_secs(60);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Wake this long before a known stage is due to end.
pub const LEAD: Duration = Duration::from_secs(2);

/// Time measured on the clock (scaled) as the policy's time (unscaled): a stage's known length
/// is ECS's, so the time spent in it must be too, or under a small scale every poll in a bake
/// would sleep nearly the whole bake again.
pub fn unscale(elapsed: Duration, scale: f64) -> Duration {
    Duration::try_from_secs_f64(elapsed.as_secs_f64() / scale).unwrap_or(Duration::MAX)
}

/// The next delay, scaled.
pub fn next_delay(poll: &Poll, scale: f64) -> Duration {
    let delay = unscaled(poll);
    Duration::try_from_secs_f64(delay.as_secs_f64() * scale).unwrap_or(delay)
}

fn unscaled(poll: &Poll) -> Duration {
    if poll.throttled > 0 {
        let exponent = poll.throttled.min(5);
        return (Duration::from_secs(1) * 2u32.pow(exponent)).min(MAX_BACKOFF);
    }
    if poll.terminal_next {
        return NEAR_END;
    }
    match poll.known_length {
        Some(length) if poll.in_stage < length => {
            let remaining = length - poll.in_stage;
            if remaining > LEAD + FAST {
                (remaining - LEAD).min(MAX_SLEEP)
            } else {
                FAST
            }
        }
        // Overdue: fast for a few seconds past the expected end, then as an unknown stage.
        Some(length) => {
            let overdue = poll.in_stage - length;
            if overdue < Duration::from_secs(5) {
                FAST
            } else {
                unknown(overdue)
            }
        }
        None => unknown(poll.in_stage),
    }
}

fn unknown(in_stage: Duration) -> Duration {
    let extra = Duration::from_secs(in_stage.as_secs() / 10);
    (UNKNOWN_START + extra).min(SLOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(known: Option<u64>, in_stage: u64) -> Poll {
        Poll {
            known_length: known.map(Duration::from_secs),
            in_stage: Duration::from_secs(in_stage),
            terminal_next: false,
            throttled: 0,
        }
    }

    #[test]
    fn sleeps_through_a_known_bake_and_wakes_before_its_end() {
        assert_eq!(next_delay(&poll(Some(300), 0), 1.0), MAX_SLEEP);
        assert_eq!(
            next_delay(&poll(Some(300), 250), 1.0),
            Duration::from_secs(48)
        );
        assert_eq!(next_delay(&poll(Some(300), 298), 1.0), FAST);
        assert_eq!(next_delay(&poll(Some(300), 303), 1.0), FAST);
        // overdue: the stage's length was wrong, so poll as for an unknown one
        assert_eq!(next_delay(&poll(Some(300), 400), 1.0), SLOW);
    }

    #[test]
    fn polls_often_at_the_start_of_an_unknown_stage_then_slows() {
        assert_eq!(next_delay(&poll(None, 0), 1.0), UNKNOWN_START);
        assert_eq!(next_delay(&poll(None, 9), 1.0), UNKNOWN_START);
        assert_eq!(next_delay(&poll(None, 13), 1.0), SLOW);
        assert_eq!(next_delay(&poll(None, 600), 1.0), SLOW);
    }

    #[test]
    fn backs_off_on_throttling_whatever_the_stage() {
        let mut p = poll(None, 0);
        let delays: Vec<u64> = (1..=7)
            .map(|n| {
                p.throttled = n;
                next_delay(&p, 1.0).as_secs()
            })
            .collect();
        assert_eq!(delays, [2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn polls_every_second_when_the_terminal_state_is_next() {
        let mut p = poll(Some(300), 0);
        p.terminal_next = true;
        assert_eq!(next_delay(&p, 1.0), NEAR_END);
    }

    #[test]
    fn time_in_a_known_stage_is_counted_at_the_policys_scale() {
        // 5.8 ms on a clock 10,000 times fast is 58 s of a 60 s bake: poll every (scaled)
        // second now, not sleep through 58 s of bake again.
        let scale = 0.0001;
        let p = Poll {
            known_length: Some(Duration::from_secs(60)),
            in_stage: unscale(Duration::from_micros(5800), scale),
            terminal_next: false,
            throttled: 0,
        };
        assert_eq!(next_delay(&p, scale), Duration::from_micros(100));
        assert_eq!(unscale(Duration::from_secs(3), 1.0), Duration::from_secs(3));
    }

    #[test]
    fn scale_shrinks_every_delay() {
        assert_eq!(
            next_delay(&poll(Some(300), 0), 0.001),
            Duration::from_millis(60)
        );
    }

    /// A simulated deployment: (stage length, known to the poller, terminal next).
    fn simulate(stages: &[(u64, bool, bool)]) -> (u32, f64, Duration) {
        let total: u64 = stages.iter().map(|s| s.0).sum();
        let mut now = Duration::ZERO;
        let mut calls = 0;
        let mut start = Duration::ZERO;
        for &(length, known, terminal_next) in stages {
            let end = start + Duration::from_secs(length);
            while now < end {
                let p = Poll {
                    known_length: known.then_some(Duration::from_secs(length)),
                    in_stage: now - start,
                    terminal_next,
                    throttled: 0,
                };
                now += next_delay(&p, 1.0);
                calls += 1;
            }
            start = end;
        }
        // `now` is the first describe at or after the terminal state.
        let lag = now - Duration::from_secs(total);
        (calls, f64::from(calls) / total as f64, lag)
    }

    #[test]
    fn meets_the_targets_on_simulated_deployments() {
        // scale-up, test traffic shift, bake, production shift, clean-up (terminal next)
        for bake in [0, 60, 180, 300] {
            let (calls, per_second, lag) = simulate(&[
                (40, false, false),
                (10, false, false),
                (bake, true, false),
                (10, false, false),
                (16, false, true),
            ]);
            // the clean-up stage polls every 1.5 s, so the end is noticed within 2 s
            assert!(lag <= Duration::from_secs(2), "bake {bake}: lag {lag:?}");
            // the 3 s budget only holds once the bake dominates; short runs are allowed more
            if bake >= 60 {
                assert!(
                    per_second <= 1.0 / 3.0,
                    "bake {bake}: {calls} calls, {per_second}/s"
                );
            }
        }
    }
}
