//! Container log lines made of attacks, through the log printer, read back the way a GitHub
//! Actions runner reads a step's output (deploy_kit_testbed::runner_commands): none acts, every
//! line shows, in order, and our own error after them still acts. A unit test because the log
//! stream is private to the crate.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::OutputLogEvent;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use deploy_kit_gha::{OutputFormat, Runner, RunnerEnv};
use deploy_kit_testbed::runner_commands::{Event, HOSTILE, read, read_lines};

use crate::logs::LogStream;

#[tokio::test]
async fn hostile_container_log_lines_act_on_nothing_and_show_in_order() {
    let events: Vec<OutputLogEvent> = HOSTILE
        .iter()
        .map(|message| OutputLogEvent::builder().message(*message).build())
        .collect();
    let rule = mock!(Client::get_log_events).then_output(move || {
        GetLogEventsOutput::builder()
            .set_events(Some(events.clone()))
            .next_forward_token("f/1")
            .build()
    });
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&rule]);
    let env = RunnerEnv {
        in_actions: true,
        ..RunnerEnv::default()
    };
    let (runner, captured) = Runner::capture("run-migrations", env, OutputFormat::Lines);
    let mut stream = LogStream::new(client, "/ecs/migrate".into(), "ecs/app/1".into());
    stream.poll(&runner).await;
    runner.error("ours");

    let outcome = read(&captured.stderr());
    let acted = outcome.acted();
    assert_eq!(acted.len(), 1, "{acted:#?}");
    assert!(
        matches!(acted[0], Event::Command { name, data, .. } if name == "error" && data == "ours"),
        "{acted:#?}"
    );
    assert!(!outcome.left_stopped);
    let expected: Vec<String> = HOSTILE
        .iter()
        .flat_map(|text| read_lines(text))
        .map(|line| format!("│ {line}"))
        .collect();
    assert_eq!(outcome.shown, expected);
}
