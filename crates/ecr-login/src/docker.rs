//! The docker CLI on the runner's own config (`DOCKER_CONFIG`, else `~/.docker`): the login is
//! for the job's later steps, so it goes where their `docker` looks.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use deploy_kit_gha::RunnerEnv;

/// The docker CLI (`DOCKER`, else `docker` on PATH) and the config directory it writes.
#[derive(Debug, Clone)]
pub struct Docker {
    pub program: String,
    /// `None`: neither `DOCKER_CONFIG` nor `HOME` is set, and docker picks its own default.
    pub config_dir: Option<PathBuf>,
}

/// What a docker command printed, and whether it succeeded.
#[derive(Debug, Clone)]
pub struct Ran {
    pub success: bool,
    pub output: String,
}

impl Docker {
    pub fn from_env(env: &RunnerEnv) -> Self {
        let config_dir = env.var("DOCKER_CONFIG").map(PathBuf::from).or_else(|| {
            env.var("HOME")
                .map(|home| PathBuf::from(home).join(".docker"))
        });
        Self {
            program: env.var("DOCKER").unwrap_or("docker").to_owned(),
            config_dir,
        }
    }

    /// Runs `docker args`, feeding `stdin` (the password) through a pipe.
    pub fn run(&self, args: &[String], stdin: Option<&str>) -> std::io::Result<Ran> {
        let mut command = Command::new(&self.program);
        command.args(args);
        if let Some(dir) = &self.config_dir {
            command.env("DOCKER_CONFIG", dir);
        }
        let mut child = command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        Ok(Ran {
            success: out.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }
}
