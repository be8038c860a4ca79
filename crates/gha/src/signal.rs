//! SIGINT/SIGTERM: the first signal asks the running action to leave AWS safe and stop; a second
//! one says "hurry": stop waiting, write what is known, exit (and the process exits by itself
//! [`HURRY_GRACE`] later); a third exits at once. Actions with nothing to clean up are simply
//! raced against the signal.
//!
//! A cancelled run on GitHub's runner gets SIGINT, then SIGTERM 7.5 s later if it still runs,
//! then a kill 2.5 s after that (actions/runner src/Runner.Sdk/ProcessInvoker.cs:
//! `_sigintTimeout`, `_sigtermTimeout`, `CancelAndKillProcessTree`). So the SIGTERM is the last
//! moment to write the outputs and the summary.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use tokio::sync::watch;

/// How long a run may take to finish after the second signal before it exits by itself: within
/// the runner's 2.5 s between SIGTERM and the kill.
pub const HURRY_GRACE: Duration = Duration::from_secs(2);

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
    /// A second signal came: stop waiting for anything.
    hurry: watch::Receiver<bool>,
    // Keeps the channels open for handles made by `Cancellation::never` and `manual`.
    _senders: Option<Arc<Senders>>,
}

#[derive(Debug)]
struct Senders {
    signal: watch::Sender<Option<Signal>>,
    hurry: watch::Sender<bool>,
}

impl Senders {
    /// The first signal cancels; any later one hurries.
    fn receive(&self, signal: Signal) -> bool {
        if self.signal.borrow().is_none() {
            let _ = self.signal.send(Some(signal));
            false
        } else {
            let _ = self.hurry.send(true);
            true
        }
    }
}

fn channels() -> (Senders, Cancellation) {
    let (signal, receiver) = watch::channel(None);
    let (hurry, hurry_receiver) = watch::channel(false);
    (
        Senders { signal, hurry },
        Cancellation {
            receiver,
            hurry: hurry_receiver,
            _senders: None,
        },
    )
}

impl Cancellation {
    /// Listens for SIGINT and SIGTERM. Must be called inside a tokio runtime.
    pub fn from_signals() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let (senders, cancellation) = channels();
        tokio::spawn(async move {
            let mut hurried = false;
            loop {
                let received = tokio::select! {
                    _ = interrupt.recv() => Signal::Interrupt,
                    _ = terminate.recv() => Signal::Terminate,
                };
                if hurried {
                    // A third signal means "stop now", even mid-write.
                    std::process::exit(i32::from(received.exit_code()));
                }
                hurried = senders.receive(received);
                if hurried {
                    let first = (*senders.signal.borrow()).unwrap_or(received);
                    tokio::spawn(async move {
                        tokio::time::sleep(HURRY_GRACE).await;
                        std::process::exit(i32::from(first.exit_code()));
                    });
                }
            }
        });
        Ok(cancellation)
    }

    /// A handle that is never cancelled (tests, library use).
    pub fn never() -> Self {
        let (senders, mut cancellation) = channels();
        cancellation._senders = Some(Arc::new(senders));
        cancellation
    }

    /// A handle cancelled by calling the returned function, for tests: the first call cancels,
    /// later ones hurry.
    pub fn manual() -> (Self, impl Fn(Signal)) {
        let (senders, mut cancellation) = channels();
        let senders = Arc::new(senders);
        cancellation._senders = Some(Arc::clone(&senders));
        (cancellation, move |signal| {
            senders.receive(signal);
        })
    }

    /// Resolves once a second signal has come: whatever is being waited for, stop waiting.
    pub async fn hurried(&self) {
        let mut hurry = self.hurry.clone();
        loop {
            if *hurry.borrow_and_update() {
                return;
            }
            if hurry.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
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
    async fn a_second_signal_hurries() {
        let (cancellation, trigger) = Cancellation::manual();
        trigger(Signal::Interrupt);
        let waiting = tokio::time::timeout(Duration::from_millis(20), cancellation.hurried());
        assert!(waiting.await.is_err(), "one signal does not hurry");
        trigger(Signal::Terminate);
        cancellation.hurried().await;
        assert_eq!(
            cancellation.signal(),
            Some(Signal::Interrupt),
            "the first signal is the one that cancelled"
        );
    }

    #[tokio::test]
    async fn never_lets_work_finish() {
        let cancellation = Cancellation::never();
        let result = cancellation.run(async { Ok::<_, Cancelled>(7) }).await;
        assert_eq!(result.unwrap(), 7);
    }
}
