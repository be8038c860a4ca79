//! The 5xx-rate gate's inputs (`max-5xx-rate`, `max-5xx-rate-period`,
//! `max-5xx-rate-datapoints`), parsed and checked before any AWS call.

use std::time::Duration;

use deploy_kit_gha::input::{self, InputError};

use crate::Args;

/// CloudWatch: evaluation periods times the period may not exceed one day.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The gate the inputs ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The threshold in percent (1.0 for `1%`).
    pub max_percent: f64,
    pub period: Duration,
    /// `datapoints` of the last `evaluation_periods` periods above the threshold fire it.
    pub datapoints: u32,
    pub evaluation_periods: u32,
}

impl Gate {
    /// Defaults: one-minute periods (ALB metrics' own resolution), `2 of 3`: two bad minutes
    /// fire, so one noisy minute does not, and the alarm still fires within about three minutes
    /// of green's errors starting (two periods plus the metric delay), inside a five-minute
    /// recovery objective with time left for ECS to move traffic back.
    pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);
    pub const DEFAULT_DATAPOINTS: (u32, u32) = (2, 3);

    /// `None` when `max-5xx-rate` is unset; its companions without it are an error.
    pub fn from_args(args: &Args) -> Result<Option<Self>, InputError> {
        let period_text = input::set(args.max_5xx_rate_period.as_deref());
        let datapoints_text = input::set(args.max_5xx_rate_datapoints.as_deref());
        let Some(rate) = input::set(args.max_5xx_rate.as_deref()) else {
            let orphan = [
                ("max-5xx-rate-period", period_text),
                ("max-5xx-rate-datapoints", datapoints_text),
            ];
            if let Some((name, _)) = orphan.iter().find(|(_, v)| v.is_some()) {
                return Err(InputError::new(
                    *name,
                    "has no effect without `max-5xx-rate`: set `max-5xx-rate`, e.g. `1%`",
                ));
            }
            return Ok(None);
        };
        let fraction = input::percent("max-5xx-rate", rate)?;
        if fraction <= 0.0 || fraction >= 1.0 {
            return Err(InputError::new(
                "max-5xx-rate",
                "must be more than 0% and less than 100%, e.g. `1%`",
            ));
        }
        let period = match period_text {
            Some(text) => period("max-5xx-rate-period", text)?,
            None => Self::DEFAULT_PERIOD,
        };
        let (datapoints, evaluation_periods) = match datapoints_text {
            Some(text) => m_of_n("max-5xx-rate-datapoints", text)?,
            None => Self::DEFAULT_DATAPOINTS,
        };
        if period * evaluation_periods > MAX_WINDOW {
            return Err(InputError::new(
                "max-5xx-rate-datapoints",
                format!(
                    "{evaluation_periods} periods of {} exceed one day, CloudWatch's limit: use fewer periods or a shorter `max-5xx-rate-period`",
                    deploy_kit_gha::format_duration(period)
                ),
            ));
        }
        Ok(Some(Self {
            max_percent: fraction * 100.0,
            period,
            datapoints,
            evaluation_periods,
        }))
    }
}

/// ALB metrics come once a minute: the period is whole minutes.
fn period(name: &str, text: &str) -> Result<Duration, InputError> {
    let duration = input::duration(name, text)?;
    let secs = duration.as_secs();
    if duration.subsec_nanos() != 0 || secs == 0 || secs % 60 != 0 || duration > MAX_WINDOW {
        return Err(InputError::new(
            name,
            "load balancer metrics come once a minute: use whole minutes from `1m` to `1440m`, e.g. `1m`",
        ));
    }
    Ok(duration)
}

/// `M of N`: M breaching datapoints among the last N periods.
fn m_of_n(name: &str, text: &str) -> Result<(u32, u32), InputError> {
    let invalid = || {
        InputError::new(
            name,
            format!(
                "`{}` is not `M of N` (M bad periods among the last N, 1 <= M <= N), e.g. `2 of 3`",
                input::truncate(text, 40)
            ),
        )
    };
    let lower = text.trim().to_ascii_lowercase();
    let (m, n) = lower.split_once(" of ").ok_or_else(invalid)?;
    let m: u32 = m.trim().parse().map_err(|_| invalid())?;
    let n: u32 = n.trim().parse().map_err(|_| invalid())?;
    if m == 0 || m > n || n > 1440 {
        return Err(invalid());
    }
    Ok((m, n))
}
