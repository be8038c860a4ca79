//! The judged container's CloudWatch Logs, streamed while the task runs and read on after it
//! stops until the stream is quiet, so no line is lost. The last lines are kept for the summary.

use std::collections::VecDeque;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use deploy_kit_gha::Runner;

/// How many of the last lines the summary shows.
pub const TAIL: usize = 30;

/// After STOPPED, reading ends once no new line has come for this long. Lines reach CloudWatch
/// Logs after the container wrote them (the awslogs driver sends in batches), so the last ones,
/// usually the migration's error, can arrive after the task is STOPPED.
pub const QUIET: Duration = Duration::from_secs(5);
/// ... and in any case this long after STOPPED: the rest is behind `log-url`.
pub const GRACE: Duration = Duration::from_secs(30);

/// How reading after STOPPED ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// No new line for [`QUIET`].
    Quiet,
    /// Lines were still coming at [`GRACE`].
    StillArriving,
}

pub struct LogStream {
    client: Client,
    pub group: String,
    pub stream: String,
    token: Option<String>,
    pub lines: usize,
    pub tail: VecDeque<String>,
    warned: bool,
}

impl LogStream {
    pub fn new(client: Client, group: String, stream: String) -> Self {
        Self {
            client,
            group,
            stream,
            token: None,
            lines: 0,
            tail: VecDeque::new(),
            warned: false,
        }
    }

    /// Prints the lines written since the last call; returns how many, and whether the read
    /// position moved (CloudWatch returns the same token when there is nothing more).
    /// A stream that does not exist yet (the container has not started) is not an error.
    pub async fn poll(&mut self, runner: &Runner) -> (usize, bool) {
        let sent = self
            .client
            .get_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .start_from_head(true)
            .set_next_token(self.token.clone())
            .send()
            .await;
        let out = match sent {
            Ok(out) => out,
            Err(error) => {
                let not_yet = error
                    .as_service_error()
                    .is_some_and(|e| e.code() == Some("ResourceNotFoundException"));
                if !not_yet && !self.warned {
                    self.warned = true;
                    runner.warning(format!(
                        "cannot read logs of {}/{}: {} (carrying on)",
                        self.group,
                        self.stream,
                        deploy_kit_aws::describe_error(&error)
                    ));
                }
                return (0, false);
            }
        };
        let mut shown = Vec::new();
        for event in out.events() {
            let line = event.message().unwrap_or_default().trim_end().to_owned();
            shown.push(line.clone());
            self.lines += 1;
            if self.tail.len() == TAIL {
                self.tail.pop_front();
            }
            self.tail.push_back(line);
        }
        // The container's lines are not ours: none may act as a workflow command.
        runner.untrusted_lines("│ ", &shown);
        let next = out.next_forward_token().map(str::to_owned);
        let moved = next.is_some() && next != self.token;
        if next.is_some() {
            self.token = next;
        }
        (out.events().len(), moved)
    }

    /// Reads to the current end of the stream (a bounded number of pages); how many lines.
    async fn drain(&mut self, runner: &Runner) -> usize {
        let mut read = 0;
        for _ in 0..20 {
            let (lines, moved) = self.poll(runner).await;
            read += lines;
            if !moved {
                break;
            }
        }
        read
    }

    /// After STOPPED: reads every `every` until no new line has come for `quiet`, or `grace`
    /// has passed.
    pub async fn flush(
        &mut self,
        runner: &Runner,
        every: Duration,
        quiet: Duration,
        grace: Duration,
    ) -> Drained {
        let started = tokio::time::Instant::now();
        let mut last_line = started;
        loop {
            if self.drain(runner).await > 0 {
                last_line = tokio::time::Instant::now();
            }
            if last_line.elapsed() >= quiet {
                return Drained::Quiet;
            }
            if started.elapsed() >= grace {
                return Drained::StillArriving;
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// The CloudWatch console page of one stream (the console double-encodes: `/` is `$252F`).
pub fn console_url(region: &str, group: &str, stream: &str) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("$25{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}/log-events/{}",
        encode(group),
        encode(stream)
    )
}
