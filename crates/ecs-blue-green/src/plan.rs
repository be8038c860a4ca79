//! The plan: decided once, after pre-flight and before any write, from the inputs and what
//! pre-flight learned. The deployment acts on it; nothing changes it, nor the inputs, later.

use std::time::Duration;

use deploy_kit_ecs::Target;

use crate::Input;
use crate::preflight::Service;
use crate::rate_gate::Armed;

/// What this run will do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The task definition UpdateService sends: a file to register first, or an existing ARN
    /// (a revision named by `previous` or its number is already looked up).
    pub target: Target,
    /// The bake's length, when known (the input's, or the service's own): the watcher sleeps
    /// through it.
    pub bake: Option<Duration>,
    /// How long the deployment is followed (`timeout`).
    pub timeout: Duration,
    /// Multiplies every poll delay: 1.0 in production; the test bed runs ECS faster.
    pub poll_scale: f64,
    /// The alarms sent with the deployment: the inputs', and the 5xx-rate alarm with `max-5xx-rate`.
    pub alarms: Vec<String>,
}

impl Plan {
    pub fn new(
        input: &Input,
        service: &Service,
        target: Target,
        gate: Option<&Armed>,
        poll_scale: f64,
    ) -> Self {
        let bake = input.bake_time.or_else(|| {
            service
                .config
                .as_ref()
                .and_then(|c| c.bake_time_in_minutes())
                .and_then(|minutes| u64::try_from(minutes).ok())
                .map(|minutes| Duration::from_secs(minutes * 60))
        });
        let mut alarms = input.alarms.clone();
        if let Some(gate) = gate {
            crate::alarm::attach(&mut alarms, service, &gate.plan.name);
        }
        Self {
            target,
            bake,
            timeout: input.timeout,
            poll_scale,
            alarms,
        }
    }
}
