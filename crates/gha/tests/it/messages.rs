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
