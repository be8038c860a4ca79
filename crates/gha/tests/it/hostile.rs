//! Hostile text through the runner boundary, read back the way a GitHub Actions runner reads it
//! (deploy_kit_testbed::runner_commands, a model of actions/runner's command parser): no command
//! comes out of text we do not control, every line of it is still shown, in order, and our own
//! commands after it still act.

use deploy_kit_gha::{OutputFormat, Runner, RunnerEnv};
use deploy_kit_testbed::runner_commands::{Event, HOSTILE, Outcome, read, read_lines};

fn actions() -> RunnerEnv {
    RunnerEnv {
        in_actions: true,
        ..RunnerEnv::default()
    }
}

/// The lines the runner shows for `texts`, each after `prefix`.
fn expected_lines(prefix: &str, texts: &[&str]) -> Vec<String> {
    texts
        .iter()
        .flat_map(|text| {
            let lines = read_lines(text);
            if lines.is_empty() {
                vec![String::new()]
            } else {
                lines.into_iter().map(str::to_owned).collect()
            }
        })
        .map(|line| format!("{prefix}{line}"))
        .collect()
}

/// Asserts the block acted on nothing and showed exactly `shown`, then our own error still acts.
fn assert_inert(outcome: &Outcome, shown: &[String]) {
    let acted: Vec<&Event> = outcome.acted().into_iter().collect();
    assert_eq!(acted.len(), 1, "only our own final error acts: {acted:#?}");
    assert!(
        matches!(acted[0], Event::Command { name, data, .. } if name == "error" && data == "ours"),
        "{acted:#?}"
    );
    assert!(!outcome.left_stopped, "commands resumed");
    assert_eq!(outcome.shown, shown, "every line shown, in order");
}

#[test]
fn each_hostile_text_alone_acts_on_nothing_and_shows_every_line() {
    for text in HOSTILE {
        let (runner, captured) = Runner::capture("run-migrations", actions(), OutputFormat::Lines);
        runner.untrusted("│ ", text);
        runner.error("ours");
        assert_inert(&read(&captured.stderr()), &expected_lines("│ ", &[text]));
    }
}

#[test]
fn all_of_them_in_one_block_act_on_nothing() {
    let (runner, captured) = Runner::capture("build-push-ecr", actions(), OutputFormat::Lines);
    runner.untrusted_lines("", HOSTILE);
    runner.error("ours");
    assert_inert(&read(&captured.stderr()), &expected_lines("", HOSTILE));
}

#[test]
fn messages_that_quote_hostile_text_act_on_nothing() {
    // info() and progress lines quote names, reasons and bodies: the same guard applies.
    let (runner, captured) = Runner::capture("smoke-test", actions(), OutputFormat::Lines);
    for text in HOSTILE {
        runner.info(format!("last: {text}"));
    }
    let progress = runner.progress("https://h/");
    progress.state(HOSTILE[0]);
    progress.finish(HOSTILE[4]);
    runner.error("ours");
    let outcome = read(&captured.stderr());
    assert_eq!(outcome.acted().len(), 1, "{:#?}", outcome.acted());
    assert!(!outcome.left_stopped);
    for text in HOSTILE {
        for line in read_lines(text) {
            assert!(
                outcome.shown.iter().any(|shown| shown.contains(line)),
                "`{line}` shown"
            );
        }
    }
}

#[test]
fn annotations_carry_hostile_text_as_data_of_one_command() {
    // The error chain the binary prints: an AWS message is data of our `::error`, never a command.
    let (runner, captured) = Runner::capture("ecs-blue-green", actions(), OutputFormat::Lines);
    let message = HOSTILE.join("\n");
    runner.error(format!("ClientException: {message}"));
    runner.warning(&message);
    let _group = runner.group(&message);
    let outcome = read(&captured.stderr());
    let names: Vec<&str> = outcome
        .commands
        .iter()
        .map(|event| match event {
            Event::Command { name, .. } => name.as_str(),
            _ => "fence",
        })
        .collect();
    assert_eq!(
        names,
        ["error", "warning", "group"],
        "{:#?}",
        outcome.commands
    );
    let Event::Command { data, .. } = &outcome.commands[0] else {
        unreachable!()
    };
    assert_eq!(data, &format!("ClientException: {message}"), "shown whole");
}

#[test]
fn masked_values_are_redacted_inside_hostile_text() {
    let (runner, captured) = Runner::capture("smoke-test", actions(), OutputFormat::Lines);
    runner.mask("s3cr3t-value");
    runner.untrusted("", "##[add-mask]x s3cr3t-value\r::error::s3cr3t-value");
    let stderr = captured.stderr();
    assert_eq!(stderr.matches("s3cr3t-value").count(), 1, "{stderr}");
    let outcome = read(&stderr);
    assert_eq!(outcome.shown, ["##[add-mask]x ***", "::error::***"]);
}

#[test]
fn plain_text_needs_no_fence_and_locally_nothing_is_fenced() {
    let (runner, captured) = Runner::capture("build-push-ecr", actions(), OutputFormat::Lines);
    runner.untrusted("", "#5 [2/3] RUN make\n#5 DONE 0.4s");
    assert_eq!(captured.stderr(), "#5 [2/3] RUN make\n#5 DONE 0.4s\n");
    let (runner, captured) =
        Runner::capture("build-push-ecr", RunnerEnv::default(), OutputFormat::Lines);
    runner.untrusted("", "::error::x\rsecond");
    assert_eq!(captured.stderr(), "::error::x\nsecond\n");
}

/// Generated attacks: lines of junk, separators, both command syntaxes, names in any case, with
/// and without properties. None may act once printed; all must show.
#[test]
fn generated_hostile_lines_never_act() {
    const JUNK: &[&str] = &[
        "", "x", "  ", "\t", "\u{a0}", "50% ", "]", "::", "##", "%0A",
    ];
    const SEPARATORS: &[&str] = &["", "\r", "\n", "\r\n"];
    const NAMES: &[&str] = &[
        "error",
        "Add-Mask",
        "stop-commands",
        "set-output name=x",
        "ENDGROUP",
        "warning file=a",
        "echo",
        "nope",
    ];
    let mut rng = fastrand::Rng::with_seed(17);
    let mut would_act = 0;
    for _ in 0..2000 {
        let mut text = String::new();
        for _ in 0..rng.usize(1..5) {
            text.push_str(JUNK[rng.usize(..JUNK.len())]);
            text.push_str(SEPARATORS[rng.usize(..SEPARATORS.len())]);
            let name = NAMES[rng.usize(..NAMES.len())];
            if rng.bool() {
                text.push_str(&format!("::{name}::data"));
            } else {
                text.push_str(&format!("##[{name}]data"));
            }
            text.push_str(JUNK[rng.usize(..JUNK.len())]);
        }
        // Printed raw, would it have acted? (The generator must be able to attack.)
        would_act += usize::from(!read(&text).commands.is_empty());
        let (runner, captured) = Runner::capture("x", actions(), OutputFormat::Lines);
        runner.untrusted("", &text);
        runner.error("ours");
        assert_inert(&read(&captured.stderr()), &expected_lines("", &[&text]));
    }
    assert!(
        would_act > 1000,
        "only {would_act} of 2000 would have acted raw"
    );
    eprintln!("generated: {would_act} of 2000 would have acted printed raw");
}
