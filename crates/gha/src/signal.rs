//! SIGINT/SIGTERM: the first signal asks the running action to leave AWS safe and stop; a second
//! one exits at once. Actions with nothing to clean up are simply raced against the signal.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

use crate::exit::Cancelled;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// A handle to "has the workflow been cancelled?", cheap to clone into tasks.
#[derive(Debug, Clone)]
pub struct Cancellation {
    receiver: watch::Receiver<Option<Signal>>,
    // Keeps the channel open for handles made by `Cancellation::never` and `manual`.
    _sender: Option<Arc<watch::Sender<Option<Signal>>>>,
}

impl Cancellation {
    /// Listens for SIGINT and SIGTERM. Must be called inside a tokio runtime.
    pub fn from_signals() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let (sender, receiver) = watch::channel(None);
        tokio::spawn(async move {
            let mut seen = false;
            loop {
                let received = tokio::select! {
                    _ = interrupt.recv() => Signal::Interrupt,
                    _ = terminate.recv() => Signal::Terminate,
                };
                if seen {
                    // A second signal means "stop now", even mid-cleanup.
                    std::process::exit(i32::from(received.exit_code()));
                }
                seen = true;
                let _ = sender.send(Some(received));
            }
        });
        Ok(Self {
            receiver,
            _sender: None,
        })
    }

    /// A handle that is never cancelled (tests, library use).
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(None);
        Self {
            receiver,
            _sender: Some(Arc::new(sender)),
        }
    }

    /// A handle cancelled by calling the returned function (tests).
    pub fn manual() -> (Self, impl Fn(Signal)) {
        let (sender, receiver) = watch::channel(None);
        let sender = Arc::new(sender);
        let trigger = {
            let sender = Arc::clone(&sender);
            move |signal| {
                let _ = sender.send(Some(signal));
            }
        };
        (
            Self {
                receiver,
                _sender: Some(sender),
            },
            trigger,
        )
    }

    /// The signal received so far, if any.
    pub fn signal(&self) -> Option<Signal> {
        *self.receiver.borrow()
    }

    /// Before a write: `Err` when a signal has come, with `nothing_done` saying what was not.
    pub fn check(&self, nothing_done: &str) -> Result<(), Cancelled> {
        match self.signal() {
            Some(signal) => Err(Cancelled {
                signal,
                cleanup: Some(nothing_done.to_owned()),
            }),
            None => Ok(()),
        }
    }

    /// Resolves when a signal arrives (at once if one already has).
    pub async fn cancelled(&self) -> Signal {
        let mut receiver = self.receiver.clone();
        loop {
            if let Some(signal) = *receiver.borrow_and_update() {
                return signal;
            }
            if receiver.changed().await.is_err() {
                // The listener is gone: no signal can come any more.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Runs `work` unless a signal arrives first, for work that leaves nothing to clean up.
    pub async fn run<T, E>(&self, work: impl Future<Output = Result<T, E>>) -> Result<T, E>
    where
        E: From<Cancelled>,
    {
        tokio::select! {
            result = work => result,
            signal = self.cancelled() => Err(E::from(Cancelled { signal, cleanup: None })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn manual_cancellation_interrupts_work() {
        let (cancellation, trigger) = Cancellation::manual();
        assert_eq!(cancellation.signal(), None);
        let work = async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, Cancelled>(())
        };
        let run = cancellation.run(work);
        trigger(Signal::Terminate);
        let error = run.await.unwrap_err();
        assert_eq!(error.signal, Signal::Terminate);
        assert_eq!(cancellation.signal(), Some(Signal::Terminate));
    }

    #[tokio::test]
    async fn never_lets_work_finish() {
        let cancellation = Cancellation::never();
        let result = cancellation.run(async { Ok::<_, Cancelled>(7) }).await;
        assert_eq!(result.unwrap(), 7);
    }
}
