//! docker as a child process, against a shell script standing in for it: its output arrives
//! line by line while it runs, and a stop kills it at once (a cancelled workflow must not wait
//! for a build).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use deploy_kit_build_push_ecr::docker::Docker;

/// A `docker` that runs `script` (sh), in `dir`.
fn fake_docker(dir: &Path, script: &str) -> Docker {
    let program = dir.join("docker");
    std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    Docker {
        program: program.display().to_string(),
        config_dir: dir.join("config"),
        buildx_config: None,
    }
}

#[tokio::test]
async fn output_streams_line_by_line_from_both_pipes_with_its_arguments_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let docker = fake_docker(
        dir.path(),
        r#"echo "out $1"; sleep 0.2; echo "err $DOCKER_CONFIG" >&2; read line; printf 'in %s\r\nlast' "$line""#,
    );
    let start = Instant::now();
    let mut seen = Vec::new();
    let ran = docker
        .stream(
            &["build".to_owned()],
            Some("password\n"),
            |line| seen.push((line.to_owned(), start.elapsed())),
            std::future::pending(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(ran.success);
    let lines: Vec<&str> = seen.iter().map(|(line, _)| line.as_str()).collect();
    let config = dir.path().join("config");
    // Each pipe's lines in order; how the two pipes interleave is up to the scheduler.
    let stdout: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|line| !line.starts_with("err "))
        .collect();
    assert_eq!(stdout, ["out build", "in password", "last"], "{lines:?}");
    let stderr = format!("err {}", config.display());
    assert_eq!(
        lines.iter().filter(|line| **line == stderr).count(),
        1,
        "{lines:?}"
    );
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        seen[0].1 < Duration::from_millis(150),
        "the first line came before the command ended: {seen:?}"
    );
    assert_eq!(ran.output, lines.join("\n") + "\n");
}

#[tokio::test]
async fn a_stop_kills_a_long_command_at_once_and_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let docker = fake_docker(
        dir.path(),
        &format!(
            "echo $$ > {}; echo building; exec sleep 60",
            pid_file.display()
        ),
    );
    let (trigger, stop) = tokio::sync::oneshot::channel::<()>();
    let mut lines = Vec::new();
    let run = docker.stream(&[], None, |line| lines.push(line.to_owned()), async {
        let _ = stop.await;
    });
    let started = Instant::now();
    let stopper = async {
        while !pid_file.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.send(()).unwrap();
    };
    let (ran, ()) = tokio::join!(run, stopper);
    assert!(ran.unwrap().is_none(), "a stopped command has no result");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped, not waited for: {:?}",
        started.elapsed()
    );
    assert_eq!(lines, ["building"]);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the child {} was killed and reaped",
        pid.trim()
    );
}
