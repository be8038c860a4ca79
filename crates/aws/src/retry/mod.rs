//! The retry policy every deploy-kit client shares. AWS throttles per account and operation, so
//! twenty jobs deploying at once get `ThrottlingException: Rate exceeded` until the bucket
//! refills: a throttled call is tried again, with the SDK's jittered exponential backoff (full
//! jitter, 1 s doubling up to 20 s), for as long as [`Retry::budget`] allows, not just three
//! times. ECS's `ClientException: Too many concurrent attempts to create a new revision of the
//! specified family` (two registrations of one family at once) is throttling too. Other
//! retryable errors (5xx, a lost connection, a timed-out attempt) keep the SDK's three attempts.
//!
//! The SDK lets no caller replace its retry strategy, so an interceptor steers the standard one:
//! after each failed attempt it sets the attempt limit to one more while the call is allowed to
//! go on, and after the call it reports, once, what was retried and why (the SDK says it only
//! per attempt, in debug logs). A library never prints: the report goes to [`Report`], which
//! the runner boundary (crates/gha) writes to the step's log.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_smithy_runtime::client::retries::classifiers::run_classifiers_on_ctx;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::retries::classifiers::{RetryAction, RetryReason};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::retry::{ErrorKind, RetryConfig};

use aws_sdk_ecs::operation::update_service::UpdateServiceInput;

mod classify;
mod report;

use classify::cause;
pub use classify::{CONCURRENT_REVISION, ConcurrentRevision, error_code};
pub use report::Retried;

/// How long one call may go on being throttled, when the action sets no shorter timeout: long
/// enough for a burst of deployments to drain ECS's slowest bucket (RegisterTaskDefinition
/// refills one token a second), short enough that an account throttled for good fails the step
/// while someone still watches it.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(5 * 60);

/// Attempts for errors that are not throttling (5xx, a lost connection): the SDK's default.
pub const OTHER_ATTEMPTS: u32 = 3;

/// Where a call's retry report goes: one line per call that was retried.
pub type Report = Arc<dyn Fn(&str) + Send + Sync>;

/// The policy: a time budget per call for throttling, bounded by the action's own timeout.
#[derive(Clone)]
pub struct Retry {
    budget: Duration,
    deadline: Option<Instant>,
    initial_backoff: Duration,
    report: Report,
}

impl fmt::Debug for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("budget", &self.budget)
            .field("deadline", &self.deadline)
            .field("initial_backoff", &self.initial_backoff)
            .finish_non_exhaustive()
    }
}

impl Retry {
    /// [`DEFAULT_BUDGET`] per call, reporting to `report`.
    pub fn new(report: Report) -> Self {
        Self {
            budget: DEFAULT_BUDGET,
            deadline: None,
            initial_backoff: Duration::from_secs(1),
            report,
        }
    }

    /// A policy that reports nowhere (tests, and calls whose retries nobody needs to read).
    pub fn silent() -> Self {
        Self::new(Arc::new(|_| {}))
    }

    /// The action's own timeout, from now: no call goes on being throttled past it (it still
    /// gets the SDK's three attempts, so a rollback after the timeout is not left to one).
    pub fn within(mut self, timeout: Duration) -> Self {
        self.deadline = Some(Instant::now() + timeout);
        self
    }

    /// Another budget per call (the default is [`DEFAULT_BUDGET`]).
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// [`Retry::budget`] when set (a benchmark's `DEPLOY_KIT_RETRY_BUDGET`); zero leaves a
    /// throttled call the SDK's own three attempts.
    pub fn budget_override(self, budget: Option<Duration>) -> Self {
        match budget {
            Some(budget) => self.budget(budget),
            None => self,
        }
    }

    /// The first backoff (the SDK's 1 s); tests shorten it.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The SDK retry settings this policy starts each call from.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(OTHER_ATTEMPTS)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(MAX_BACKOFF)
    }

    /// The interceptor that applies the budget and reports; every client gets it.
    pub fn interceptor(&self) -> Budget {
        Budget {
            policy: self.clone(),
        }
    }

    /// An ECS client configuration with this policy (what [`crate::Aws::ecs`] builds on; tests
    /// apply it to mocked clients).
    pub fn ecs_config(
        &self,
        builder: aws_sdk_ecs::config::Builder,
    ) -> aws_sdk_ecs::config::Builder {
        builder
            .retry_config(self.retry_config())
            .interceptor(self.interceptor())
            .retry_classifier(ConcurrentRevision)
    }

    /// How long a call that started at `started` may still be throttled.
    fn remaining(&self, started: Instant, now: Instant) -> Duration {
        let budget = (started + self.budget).saturating_duration_since(now);
        match self.deadline {
            Some(deadline) => budget.min(deadline.saturating_duration_since(now)),
            None => budget,
        }
    }
}

/// The SDK's cap on one backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// What one call went through, kept in its config bag between attempts.
#[derive(Debug, Clone)]
struct CallRecord {
    started: Instant,
    throttled: u32,
    other_failures: u32,
    /// Failed attempts by cause, in first-seen order.
    causes: Vec<(String, u32)>,
    /// An attempt that may have taken effect though its answer never arrived.
    answer_lost: bool,
    /// The budget, not the error, ended the call.
    out_of_budget: bool,
    /// A request that must not be sent twice: an UpdateService that forces a new deployment
    /// would start a second one. Its lost answers are not retried.
    once_only: bool,
}

impl Storable for CallRecord {
    type Storer = StoreReplace<Self>;
}

/// The interceptor; see the module documentation.
#[derive(Debug)]
pub struct Budget {
    policy: Retry,
}

impl Intercept for Budget {
    fn name(&self) -> &'static str {
        "deploy-kit retry budget"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let once_only = context
            .input()
            .downcast_ref::<UpdateServiceInput>()
            .is_some_and(|update| update.force_new_deployment() == Some(true));
        cfg.interceptor_state().store_put(CallRecord {
            once_only,
            started: Instant::now(),
            throttled: 0,
            other_failures: 0,
            causes: Vec::new(),
            answer_lost: false,
            out_of_budget: false,
        });
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let ctx = context.inner();
        if !ctx.is_failed() {
            return Ok(());
        }
        let Some(mut record) = cfg.load::<CallRecord>().cloned() else {
            return Ok(());
        };
        let attempts = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        let action = run_classifiers_on_ctx(runtime_components.retry_classifiers(), ctx);
        let RetryAction::RetryIndicated(RetryReason::RetryableError { kind, .. }) = action else {
            return Ok(()); // not retryable: the SDK stops, and nothing was retried for it
        };
        let (cause, lost) = cause(ctx);
        record.answer_lost |= lost;
        match record.causes.iter_mut().find(|(known, _)| *known == cause) {
            Some((_, count)) => *count += 1,
            None => record.causes.push((cause, 1)),
        }
        let go_on = if lost && record.once_only {
            // It may have started a deployment: a second request would start another.
            record.other_failures += 1;
            false
        } else if kind == ErrorKind::ThrottlingError {
            record.throttled += 1;
            let remaining = self.policy.remaining(record.started, Instant::now());
            // The SDK's three attempts always; past them, while the budget lasts.
            let go_on = attempts < OTHER_ATTEMPTS || !remaining.is_zero();
            record.out_of_budget = !go_on;
            go_on
        } else {
            record.other_failures += 1;
            record.out_of_budget = false;
            record.other_failures < OTHER_ATTEMPTS
        };
        // The standard strategy retries while attempts < max_attempts.
        let limit = if go_on { attempts + 1 } else { attempts };
        let mut config = cfg
            .load::<RetryConfig>()
            .cloned()
            .unwrap_or_else(|| self.policy.retry_config())
            .with_max_attempts(limit);
        if kind == ErrorKind::ThrottlingError {
            // The next backoff ends within the budget (the SDK draws it up to this cap).
            let remaining = self.policy.remaining(record.started, Instant::now());
            config = config
                .with_max_backoff(remaining.max(self.policy.initial_backoff).min(MAX_BACKOFF));
        }
        cfg.interceptor_state().store_put(config);
        cfg.interceptor_state().store_put(record);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(record) = cfg.load::<CallRecord>() else {
            return Ok(());
        };
        let attempts = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        if attempts <= 1 {
            return Ok(());
        }
        let operation = cfg
            .load::<Metadata>()
            .map(|m| format!("{} {}", m.service(), m.name()))
            .unwrap_or_else(|| "an AWS call".to_owned());
        let retried = Retried {
            operation,
            retries: attempts - 1,
            elapsed: record.started.elapsed(),
            causes: record.causes.clone(),
            succeeded: !context.inner().is_failed(),
            out_of_budget: record.out_of_budget,
            answer_lost: record.answer_lost,
        };
        (self.policy.report)(&retried.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_ends_at_the_action_timeout_when_that_is_sooner() {
        let now = Instant::now();
        let retry = Retry::silent().budget(Duration::from_secs(300));
        assert_eq!(retry.remaining(now, now), Duration::from_secs(300));
        let retry = retry.within(Duration::from_secs(10));
        // `within` starts its clock a moment after `now`.
        let remaining = retry.remaining(now, now);
        assert!(remaining > Duration::from_secs(9) && remaining < Duration::from_secs(11));
        assert_eq!(
            retry.remaining(now, now + Duration::from_secs(11)),
            Duration::ZERO
        );
    }
}
