//! Each action's composite steps run as GitHub's runner runs them, not as act does: the `run:`
//! text in a script file under `bash --noprofile --norc -e -o pipefail {0}` (actions/runner
//! src/Runner.Worker/Handlers/ScriptHandlerHelpers.cs, the `bash` template), from the
//! directory layout of `uses: org/deploy-kit/<action>@v1` (`_actions/org/deploy-kit/v1/<action>`,
//! which is GITHUB_ACTION_PATH), with the PATH additions of one step (GITHUB_PATH) given to the
//! next. The install step finds the tool cache's binary; the second step execs it, so the
//! runner's cancel signals reach deploy-kit itself and not a bash waiting on it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

const ACTIONS: [&str; 8] = [
    "oidc-login",
    "build-push-ecr",
    "render-taskdef",
    "run-migrations",
    "ecs-blue-green",
    "smoke-test",
    "deploy-static",
    "ecr-login",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn pinned_version() -> String {
    let script = std::fs::read_to_string(repo().join("dist/install.sh")).unwrap();
    script
        .lines()
        .find_map(|l| l.strip_prefix("DEPLOY_KIT_VERSION="))
        .unwrap()
        .to_owned()
}

/// A runner's machine: the actions checked out at `_actions/org/deploy-kit/v1`, a tool cache
/// holding a stand-in deploy-kit that records its pid and arguments.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Machine {
        let machine = Machine {
            dir: tempfile::tempdir().unwrap(),
        };
        let checkout = machine.checkout();
        copy_dir(&repo().join("dist"), &checkout.join("dist"));
        std::fs::copy(repo().join("action.yml"), checkout.join("action.yml")).unwrap();
        for action in ACTIONS {
            copy_dir(&repo().join(action), &checkout.join(action));
        }
        let tool = machine
            .dir
            .path()
            .join("tool-cache/deploy-kit")
            .join(pinned_version());
        write_executable(
            &tool.join("x64/deploy-kit"),
            &format!(
                "#!/bin/sh\n[ \"$1\" = --version ] && exec echo 'deploy-kit {}'\necho \"$$ $*\" >> '{}'\n",
                pinned_version(),
                machine.record().display()
            ),
        );
        // The marker records the binary's sha256, as a filled cache does (install.sh checks it).
        let digest = crate::contract::install::sha256_hex(&tool.join("x64/deploy-kit"));
        std::fs::write(tool.join("x64.complete"), format!("{digest}\n")).unwrap();
        machine
    }

    fn checkout(&self) -> PathBuf {
        self.dir.path().join("_actions/org/deploy-kit/v1")
    }

    fn record(&self) -> PathBuf {
        self.dir.path().join("calls")
    }

    /// Runs one step's `run:` text as the runner does; the shell's pid and its output.
    fn step(&self, action_path: &Path, run: &str, n: usize) -> (u32, std::process::Output) {
        let script = self.dir.path().join(format!("step{n}.sh"));
        std::fs::write(&script, run).unwrap();
        let github_path = self.dir.path().join("github_path");
        // The runner puts earlier steps' GITHUB_PATH lines first on PATH.
        let added = std::fs::read_to_string(&github_path).unwrap_or_default();
        let mut paths: Vec<PathBuf> = added.lines().rev().map(PathBuf::from).collect();
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let child = Command::new("bash")
            .args(["--noprofile", "--norc", "-e", "-o", "pipefail"])
            .arg(&script)
            .env_clear()
            .env("PATH", std::env::join_paths(paths).unwrap())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTION_PATH", action_path)
            .env("GITHUB_PATH", &github_path)
            .env("RUNNER_TOOL_CACHE", self.dir.path().join("tool-cache"))
            .env("RUNNER_TEMP", self.dir.path())
            .env("RUNNER_ARCH", "X64")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        (pid, child.wait_with_output().unwrap())
    }
}

#[test]
fn every_action_installs_and_execs_deploy_kit_under_the_runners_bash_and_action_path() {
    let machine = Machine::new();
    let mut n = 0;
    let mut actions: Vec<(&str, PathBuf)> = ACTIONS
        .iter()
        .map(|a| (*a, machine.checkout().join(a)))
        .collect();
    actions.push(("(root)", machine.checkout()));
    for (action, path) in actions {
        let text = std::fs::read_to_string(path.join("action.yml")).unwrap();
        let yaml: Value = serde_yaml_ng::from_str(&text).unwrap();
        for step in yaml["runs"]["steps"].as_sequence().unwrap() {
            n += 1;
            assert_eq!(step["shell"].as_str(), Some("bash"), "{action}");
            let run = step["run"].as_str().unwrap();
            let _ = std::fs::remove_file(machine.record());
            let (pid, out) = machine.step(&path, run, n);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{action}: `{run}`: {stderr}");
            if let Some(command) = run.strip_prefix("exec deploy-kit ") {
                let record = std::fs::read_to_string(machine.record()).unwrap();
                assert_eq!(
                    record,
                    format!("{pid} {command}\n"),
                    "{action}: deploy-kit replaced the step's bash (same pid)"
                );
            } else {
                assert!(
                    run.contains("install.sh"),
                    "{action}: a step is install.sh or `exec deploy-kit`: {run}"
                );
            }
        }
    }
    let path = std::fs::read_to_string(machine.dir.path().join("github_path")).unwrap();
    assert!(
        !path.is_empty() && path.lines().all(|l| l.contains("tool-cache/deploy-kit/")),
        "the tool cache went on PATH: {path}"
    );
}
