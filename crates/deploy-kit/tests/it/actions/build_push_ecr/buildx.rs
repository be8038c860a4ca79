//! build-push-ecr's choice of buildx builder, against the docker stand-in
//! (tests/bed/bed/tools/docker_standin.py): buildx's documented behaviour per driver, in front of the
//! bed's real engine and registry, which build and push. A runner's HOME is a temporary
//! directory, so its buildx state (`~/.docker/buildx`) is what the test put there.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Fixture, Run, fixture, path, write_script};

// The probe and the login: how many docker starts, and what runs at the same time.
mod overlap;

/// A runner machine: its HOME, and the docker stand-in's call log.
struct Machine {
    home: PathBuf,
    wrapper: PathBuf,
    log: PathBuf,
}

impl Machine {
    fn new(f: &Fixture, name: &str) -> Machine {
        let root = f.dir.path().join(name);
        std::fs::create_dir_all(root.join("home")).unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let wrapper = root.join("docker");
        write_script(
            &wrapper,
            &format!(
                "#!/bin/sh\nexec '{}' '{}' \"$@\"\n",
                repo.join("tests/bed/.venv/bin/python").display(),
                repo.join("tests/bed/bed/tools/docker_standin.py").display()
            ),
        );
        Machine {
            home: root.join("home"),
            wrapper,
            log: root.join("calls.jsonl"),
        }
    }

    fn buildx_dir(&self) -> PathBuf {
        self.home.join(".docker/buildx")
    }

    fn env<'a>(&'a self, f: &'a Fixture, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, String)> {
        let mut env = vec![
            ("HOME", self.home.display().to_string()),
            ("DOCKER", self.wrapper.display().to_string()),
            ("STANDIN_DOCKER", f.docker.var("DOCKER").to_owned()),
            ("STANDIN_LOG", self.log.display().to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        env
    }

    fn run(&self, f: &Fixture, inputs: &[(&str, &str)], extra: &[(&str, &str)]) -> Run {
        f.invocation(inputs).envs(self.env(f, extra)).run()
    }

    /// What docker/setup-buildx-action does: `docker buildx create --use`, in the runner's own
    /// docker config (it exports no variable).
    fn setup_buildx(&self, f: &Fixture, name: &str) {
        let out = std::process::Command::new(&self.wrapper)
            .args(["buildx", "create", "--use", "--name", name])
            .args(["--driver", "docker-container"])
            .env("HOME", &self.home)
            .env("STANDIN_DOCKER", f.docker.var("DOCKER"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }

    /// Every docker call the stand-in logged, in order: `argv`, `buildx_config`,
    /// `docker_config`, `at`.
    fn logged(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .collect()
    }

    /// The `buildx` calls the step made, as (argv, BUILDX_CONFIG, DOCKER_CONFIG).
    fn buildx_calls(&self) -> Vec<(Vec<String>, String, String)> {
        self.logged()
            .into_iter()
            .filter(|call| call["argv"][0] == "buildx")
            .map(|call| {
                let argv = call["argv"].as_array().unwrap().iter();
                (
                    argv.map(|a| a.as_str().unwrap().to_owned()).collect(),
                    call["buildx_config"].as_str().unwrap_or("").to_owned(),
                    call["docker_config"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }

    /// When the first logged line whose arguments start with `prefix` was written (the
    /// stand-in's clock, seconds since the epoch).
    fn logged_at(&self, prefix: &[&str]) -> Option<f64> {
        self.logged()
            .into_iter()
            .find(|call| {
                let argv = call["argv"].as_array().unwrap();
                let word = |i: usize| argv.get(i).and_then(Value::as_str);
                prefix.iter().enumerate().all(|(i, p)| word(i) == Some(*p))
            })
            .map(|call| call["at"].as_f64().unwrap())
    }

    /// Waits (30 s at most) until the stand-in logs a call starting with `prefix`.
    async fn wait_for_call(&self, prefix: &[&str]) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.logged_at(prefix).is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "docker {prefix:?} never started"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    fn assert_no_builder_left(&self) {
        let left: Vec<_> = std::fs::read_dir(self.buildx_dir().join("instances"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "no builder is left behind: {left:?}");
    }

    fn call(&self, verb: &str) -> Option<Vec<String>> {
        self.buildx_calls()
            .into_iter()
            .map(|(argv, _, _)| argv)
            .find(|argv| argv[1] == verb)
    }
}

fn flag<'a>(argv: &'a [String], name: &str) -> Option<&'a str> {
    let at = argv.iter().position(|a| a == name)?;
    argv.get(at + 1).map(String::as_str)
}

#[tokio::test]
async fn the_docker_driver_gets_a_container_builder_and_setup_buildxs_builder_is_used_by_name() {
    let f = fixture().await;
    let context = f.context("app");
    let inputs = |repository: &'static str| {
        vec![
            ("repository", repository),
            ("create-repository", "true"),
            ("tags", "t1"),
        ]
    };
    let ctx = path(&context);

    // A runner with buildx and nothing set up: the default builder, docker driver.
    let bare = Machine::new(&f, "bare");
    let mut first = inputs("plain");
    first.push(("context", &ctx));
    let run = bare.run(&f, &first, &[]);
    assert_eq!(run.code, Some(0), "{}", run.log());
    let create = bare.call("create").expect("a builder is created");
    let name = create[3].clone();
    assert!(name.starts_with("deploy-kit-"), "{create:?}");
    assert_eq!(flag(&create, "--driver"), Some("docker-container"));
    let build = bare.call("build").unwrap();
    assert_eq!(flag(&build, "--builder"), Some(name.as_str()), "{build:?}");
    assert!(
        flag(&build, "--cache-to").is_some(),
        "the cache is exported"
    );
    assert_eq!(bare.call("rm").unwrap()[2], name, "and removed afterwards");
    bare.assert_no_builder_left();
    for (argv, buildx_config, docker_config) in bare.buildx_calls() {
        assert_eq!(
            buildx_config,
            bare.buildx_dir().display().to_string(),
            "{argv:?}: buildx sees the runner's builders"
        );
        assert!(
            !docker_config.starts_with(&bare.home.display().to_string()),
            "{argv:?}: the login stays private"
        );
    }
    assert!(
        run.log().contains("building on a docker-container builder"),
        "{}",
        run.log()
    );
    assert_eq!(
        f.registry_digest("plain", "t1").await.as_deref(),
        Some(run.outputs["digest"].as_str()),
        "the digest is the pushed image's"
    );

    // A runner where docker/setup-buildx-action ran: its builder, by name, nothing created.
    let set_up = Machine::new(&f, "set-up");
    set_up.setup_buildx(&f, "builder-5f1c");
    let mut second = inputs("set-up");
    second.push(("context", &ctx));
    let run = set_up.run(&f, &second, &[]);
    assert_eq!(run.code, Some(0), "{}", run.log());
    let build = set_up.call("build").unwrap();
    assert_eq!(flag(&build, "--builder"), Some("builder-5f1c"), "{build:?}");
    assert!(flag(&build, "--cache-to").is_some());
    assert_eq!(set_up.call("create"), None);
    assert_eq!(set_up.call("rm"), None, "the runner's builder stays");

    // `network: host` on a created builder: its BuildKit daemon must grant the entitlement.
    let host = Machine::new(&f, "host-network");
    let mut third = inputs("host-net");
    third.push(("context", &ctx));
    third.push(("network", "host"));
    let run = host.run(&f, &third, &[]);
    assert_eq!(run.code, Some(0), "{}", run.log());
    let create = host.call("create").unwrap();
    assert_eq!(
        flag(&create, "--buildkitd-flags"),
        Some("--allow-insecure-entitlement network.host"),
        "{create:?}"
    );
}

#[tokio::test]
async fn without_a_builder_for_the_cache_the_build_goes_on_without_it_and_says_so_once() {
    let f = fixture().await;
    let context = f.context("app");
    let ctx = path(&context);
    let machine = Machine::new(&f, "offline");
    let no_pull = [(
        "STANDIN_CREATE_FAILS",
        "failed to pull moby/buildkit:buildx-stable-1: no network",
    )];
    let run = machine.run(
        &f,
        &[
            ("repository", "offline"),
            ("create-repository", "true"),
            ("tags", "t1"),
            ("context", &ctx),
        ],
        &no_pull,
    );
    assert_eq!(run.code, Some(0), "{}", run.log());
    let log = run.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("registry cache off"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.log());
    assert!(warnings[0].starts_with("::warning"), "{}", warnings[0]);
    assert!(
        warnings[0].contains("no network"),
        "says why: {}",
        warnings[0]
    );
    let build = machine.call("build").unwrap();
    assert!(flag(&build, "--cache-to").is_none(), "{build:?}");
    assert!(!run.outputs["digest"].is_empty());

    // Several platforms cannot fall back to the docker driver: a clear failure, not docker's.
    let run = machine.run(
        &f,
        &[
            ("repository", "offline"),
            ("tags", "t2"),
            ("context", &ctx),
            ("platforms", "linux/amd64,linux/arm64"),
        ],
        &no_pull,
    );
    assert_eq!(run.code, Some(1), "{}", run.log());
    assert!(
        run.log()
            .contains("several platforms need a builder other than `default`"),
        "{}",
        run.log()
    );
}

/// The runner's SIGINT mid-build: the build is stopped (its process gone), the builder made for
/// it removed, the private login directory gone, exit 130, well within the runner's 7.5 s before
/// SIGTERM.
#[tokio::test]
async fn a_cancel_mid_build_stops_it_and_removes_the_builder_and_the_login() {
    let f = fixture().await;
    let context = f.context("app");
    let ctx = path(&context);
    let machine = Machine::new(&f, "cancelled");
    let env = machine.env(&f, &[("STANDIN_BUILD_SECONDS", "60")]);
    let inputs = [
        ("repository", "cancelled"),
        ("create-repository", "true"),
        ("tags", "t1"),
        ("context", ctx.as_str()),
    ];
    let running = f.invocation(&inputs).envs(env).spawn();
    machine.wait_for_call(&["buildx", "build"]).await;
    let signalled = std::time::Instant::now();
    running.signal("INT");
    let run = running.wait();
    let took = signalled.elapsed();
    let log = run.log();
    assert_eq!(run.code, Some(130), "{log}");
    assert!(
        took < std::time::Duration::from_millis(7500),
        "{took:?}: before the runner's SIGTERM"
    );
    assert!(
        log.contains("cancelled by SIGINT; the build was stopped"),
        "{log}"
    );
    // The build (the stand-in, mid-way through its long build) was killed, not left running:
    // no process holds this run's private directory on its command line.
    let run_dir = f.dir.path().display().to_string();
    let alive: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.contains("docker_standin.py") && cmdline.contains(&run_dir))
        .collect();
    assert!(alive.is_empty(), "the build is stopped: {alive:?}");
    let name = machine.call("create").unwrap()[3].clone();
    assert_eq!(
        machine.call("rm").unwrap()[2],
        name,
        "the builder is removed"
    );
    assert_no_private_config_left(&run);
}

/// The step's private docker config (its login) is gone from the runner's temp directory.
fn assert_no_private_config_left(run: &Run) {
    let leftovers: Vec<_> = std::fs::read_dir(run.files.runner_temp())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("deploy-kit-docker-")
        })
        .collect();
    assert!(leftovers.is_empty(), "the login is removed: {leftovers:?}");
}
