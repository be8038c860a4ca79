use deploy_kit_gha::{OutputFormat, Runner, RunnerEnv};

fn actions_env() -> RunnerEnv {
    RunnerEnv {
        in_actions: true,
        ..RunnerEnv::default()
    }
}

#[test]
fn add_mask_comes_before_any_use_and_values_are_redacted() {
    let (runner, captured) = Runner::capture("smoke-test", actions_env(), OutputFormat::Lines);
    runner.mask("s3cr3t-token");
    runner.info("sending Authorization: Bearer s3cr3t-token");
    runner.error("header value s3cr3t-token rejected");
    let stderr = captured.stderr();
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(first, "::add-mask::s3cr3t-token");
    assert_eq!(stderr.matches("s3cr3t-token").count(), 1, "{stderr}");
    assert!(stderr.contains("Bearer ***"));
}

#[test]
fn multi_line_secrets_are_masked_line_by_line() {
    let (runner, captured) = Runner::capture("x", actions_env(), OutputFormat::Lines);
    runner.mask("-----BEGIN KEY-----\nabc123def\n-----END KEY-----");
    runner.info("abc123def");
    let stderr = captured.stderr();
    assert!(stderr.contains("::add-mask::abc123def"));
    assert!(stderr.ends_with("***\n"), "{stderr}");
}

#[test]
fn annotations_escape_per_runner_rules() {
    let (runner, captured) = Runner::capture("render-taskdef", actions_env(), OutputFormat::Lines);
    runner.error("100% wrong\nsecond line");
    runner.annotate(
        deploy_kit_gha::Level::Warning,
        Some("image: latest, again"),
        "x",
    );
    insta::assert_snapshot!(captured.stderr(), @r"
    ::error title=render-taskdef::100%25 wrong%0Asecond line
    ::warning title=image%3A latest%2C again::x
    ");
}

#[test]
fn local_runs_print_plain_messages() {
    let (runner, captured) =
        Runner::capture("render-taskdef", RunnerEnv::default(), OutputFormat::Lines);
    runner.mask("hunter2");
    runner.warning("image `web` uses tag latest");
    {
        let _group = runner.group("details");
        runner.info("password hunter2");
    }
    insta::assert_snapshot!(captured.stderr(), @r"
    warning: image `web` uses tag latest
    ── details
    password ***
    ");
}

#[test]
fn groups_close_when_dropped() {
    let (runner, captured) = Runner::capture("x", actions_env(), OutputFormat::Lines);
    {
        let _group = runner.group("service events");
        runner.info("event");
    }
    assert_eq!(
        captured.stderr(),
        "::group::service events\nevent\n::endgroup::\n"
    );
}

#[test]
fn progress_prints_one_line_per_state_change_in_logs() {
    let (runner, captured) = Runner::capture("x", actions_env(), OutputFormat::Lines);
    let progress = runner.progress("deployment");
    progress.state("IN_PROGRESS");
    progress.state("IN_PROGRESS");
    progress.state("BAKE_TIME");
    progress.finish("SUCCESSFUL");
    let stderr = captured.stderr();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].ends_with("deployment: IN_PROGRESS"), "{stderr}");
    assert!(lines[1].ends_with("deployment: BAKE_TIME"));
    assert!(lines[2].ends_with("deployment: SUCCESSFUL"));
    assert!(lines[0].starts_with('['), "elapsed time first: {stderr}");
}

/// The runner shows 10 annotations of each kind per step (actions/runner ExecutionContext.cs,
/// `_maxCountPerIssueType`): the first nine warnings show, the rest are log lines counted in
/// the tenth; and the step's failure shows even after many errors.
#[test]
fn annotations_past_the_runners_limit_are_grouped_and_the_failure_always_shows() {
    let (runner, captured) = Runner::capture("x", actions_env(), OutputFormat::Lines);
    for n in 1..=15 {
        runner.warning(format!("image {n} uses tag latest"));
    }
    for n in 1..=12 {
        runner.error(format!("check {n} failed"));
    }
    runner.failure("the deployment rolled back: alarm `5xx` fired");
    runner.finish().unwrap();
    let stderr = captured.stderr();
    let annotations = |kind: &str| {
        stderr
            .lines()
            .filter(|l| l.starts_with(&format!("::{kind} ")))
            .count()
    };
    assert_eq!(annotations("warning"), 10, "{stderr}");
    assert_eq!(annotations("error"), 10, "{stderr}");
    assert!(stderr.contains("::warning title=x::6 more warnings in this step's log"));
    assert!(stderr.contains("::error title=x::the deployment rolled back: alarm `5xx` fired"));
    assert!(stderr.contains("::error title=x::4 more errors in this step's log"));
    assert!(
        stderr.contains("\nwarning: image 15 uses tag latest\n"),
        "held back, still in the log: {stderr}"
    );
}

/// The runner cuts a message at 4096 characters (`_maxIssueMessageLength`), the log line too:
/// a long one keeps its head and its tail, where the cause is.
#[test]
fn a_long_annotation_keeps_the_cause_at_its_end() {
    let (runner, captured) = Runner::capture("x", actions_env(), OutputFormat::Lines);
    let output: String = (0..500).map(|n| format!("#{n} layer done\n")).collect();
    runner.failure(format!(
        "`docker build` failed:\n{output}ERROR: no space left on device"
    ));
    let stderr = captured.stderr();
    let line = stderr.lines().find(|l| l.starts_with("::error")).unwrap();
    let message = line.split_once("::").unwrap().1.split_once("::").unwrap().1;
    let unescaped = message.replace("%0A", "\n").replace("%25", "%");
    assert!(
        unescaped.encode_utf16().count() <= 4096,
        "{}",
        unescaped.len()
    );
    assert!(unescaped.starts_with("`docker build` failed:"));
    assert!(unescaped.ends_with("ERROR: no space left on device"));
}

/// Every line of a multi-line secret is its own mask, split as the runner splits (CR or LF,
/// trimmed: actions/runner ActionCommandManager.cs, AddMaskCommandExtension), so a line that
/// a tool prints alone is hidden too, on any runner.
#[test]
fn every_line_of_a_multi_line_secret_is_masked() {
    let (runner, captured) = Runner::capture("x", actions_env(), OutputFormat::Lines);
    runner.mask("-----BEGIN KEY-----\r\nMIIEabc\rline-two  \n\n-----END KEY-----\n");
    for line in ["MIIEabc", "line-two", "-----END KEY-----"] {
        runner.info(format!("got {line} back"));
    }
    let stderr = captured.stderr();
    for line in [
        "MIIEabc",
        "line-two",
        "-----BEGIN KEY-----",
        "-----END KEY-----",
    ] {
        assert!(
            stderr.contains(&format!("::add-mask::{line}\n")),
            "{line}: {stderr}"
        );
    }
    assert_eq!(stderr.matches("got *** back").count(), 3, "{stderr}");
}

/// The writer a library keeps (deploy_kit_aws's retry reports) writes to the same log, masked
/// with every secret registered, also those registered after it was handed out.
#[test]
fn the_line_writer_masks_like_info() {
    let (runner, captured) = Runner::capture("ecs-blue-green", actions_env(), OutputFormat::Lines);
    let write = runner.line_writer();
    runner.mask("s3cr3t-token");
    write("ECS DescribeServices retried 1 time over 0.4 s (s3cr3t-token): succeeded");
    let stderr = captured.stderr();
    assert!(
        stderr.ends_with("ECS DescribeServices retried 1 time over 0.4 s (***): succeeded\n"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("s3cr3t-token").count(),
        1,
        "only in its mask: {stderr}"
    );
}
