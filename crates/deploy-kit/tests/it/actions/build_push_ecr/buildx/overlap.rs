//! The probe and the login, against the docker stand-in: one docker start tells what docker
//! offers, and the login runs while a builder created for the build boots.

use std::time::{Duration, Instant};

use super::{Machine, assert_no_private_config_left, fixture, path};

/// `docker buildx inspect` alone tells whether buildx is there and what the current builder is:
/// one docker start for the probe, on a runner with buildx and on one without.
#[tokio::test]
async fn one_docker_command_tells_whether_buildx_is_there() {
    let f = fixture().await;
    let ctx = path(&f.context("app"));
    let inputs = |tag| {
        [
            ("repository", "probed"),
            ("create-repository", "true"),
            ("tags", tag),
            ("context", ctx.as_str()),
            ("cache", "false"),
        ]
    };
    let with = Machine::new(&f, "with-buildx");
    let run = with.run(&f, &inputs("t1"), &[]);
    assert_eq!(run.code, Some(0), "{}", run.log());
    let verbs: Vec<String> = with
        .buildx_calls()
        .into_iter()
        .map(|(argv, _, _)| argv[1].clone())
        .collect();
    assert_eq!(verbs, ["inspect", "build"], "{}", run.log());

    let without = Machine::new(&f, "without-buildx");
    let run = without.run(&f, &inputs("t2"), &[("STANDIN_NO_BUILDX", "1")]);
    assert_eq!(run.code, Some(0), "{}", run.log());
    let probes: Vec<Vec<String>> = without
        .buildx_calls()
        .into_iter()
        .map(|(argv, _, _)| argv)
        .collect();
    assert_eq!(probes, [["buildx", "inspect"]], "{}", run.log());
    assert!(
        run.log().contains("DOCKER_BUILDKIT=1 docker build"),
        "{}",
        run.log()
    );
}

/// The login does not wait for a builder created for the build, whose BuildKit takes seconds to
/// pull and boot on a runner: `docker login` starts while `buildx create` is still at work.
#[tokio::test]
async fn the_login_runs_while_the_builder_boots() {
    let f = fixture().await;
    let ctx = path(&f.context("app"));
    let machine = Machine::new(&f, "booting");
    let inputs = [
        ("repository", "booted"),
        ("create-repository", "true"),
        ("tags", "t1"),
        ("context", ctx.as_str()),
    ];
    let run = machine.run(&f, &inputs, &[("STANDIN_CREATE_SECONDS", "2")]);
    assert_eq!(run.code, Some(0), "{}", run.log());
    let create = machine
        .logged_at(&["buildx", "create"])
        .expect("a builder is created");
    let created = machine
        .logged_at(&["#ended", "buildx", "create"])
        .expect("the builder's creation ended");
    let login = machine.logged_at(&["login"]).expect("docker logs in");
    let logged_in = machine
        .logged_at(&["#ended", "login"])
        .expect("the login ended");
    assert!(
        login < created && create < logged_in,
        "docker login ran from {login:.2} to {logged_in:.2}, buildx create from {create:.2} to {created:.2}"
    );
    assert!(
        machine.call("rm").is_some(),
        "the builder is removed afterwards"
    );

    // A login that fails: the builder booted beside it is removed all the same.
    let refused = Machine::new(&f, "refused");
    let failing = [
        ("STANDIN_CREATE_SECONDS", "1"),
        (
            "STANDIN_LOGIN_FAILS",
            "login attempt failed with status: 401 Unauthorized",
        ),
    ];
    let mut again = inputs;
    again[2] = ("tags", "t2");
    let run = refused.run(&f, &again, &failing);
    assert_eq!(run.code, Some(1), "{}", run.log());
    assert!(run.log().contains("401 Unauthorized"), "{}", run.log());
    assert!(refused.call("rm").is_some(), "{}", run.log());
    refused.assert_no_builder_left();
}

/// A cancel while docker logs in stops the login: exit 130 at once, the builder created beside
/// it removed, the private config gone.
#[tokio::test]
async fn a_cancel_during_the_login_stops_it() {
    let f = fixture().await;
    let ctx = path(&f.context("app"));
    let machine = Machine::new(&f, "login-cancelled");
    let inputs = [
        ("repository", "halted"),
        ("create-repository", "true"),
        ("tags", "t1"),
        ("context", ctx.as_str()),
    ];
    let env = machine.env(&f, &[("STANDIN_LOGIN_SECONDS", "60")]);
    let running = f.invocation(&inputs).envs(env).spawn();
    machine.wait_for_call(&["login"]).await;
    let signalled = Instant::now();
    running.signal("INT");
    let run = running.wait();
    assert_eq!(run.code, Some(130), "{}", run.log());
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{}",
        run.log()
    );
    assert!(
        run.log()
            .contains("cancelled by SIGINT; the login was stopped"),
        "{}",
        run.log()
    );
    assert_eq!(machine.call("build"), None, "nothing was built");
    machine.assert_no_builder_left();
    assert_no_private_config_left(&run);
}
