//! The docker CLI on the runner's own config (`DOCKER_CONFIG`, else `~/.docker`): the login is
//! for the job's later steps, so it goes where their `docker` looks. The process itself is run
//! as build-push-ecr runs it (an async child a cancel stops).

use std::path::PathBuf;

use deploy_kit_gha::RunnerEnv;

pub use deploy_kit_build_push_ecr::docker::{Docker, Ran};

/// The docker CLI (`DOCKER`, else `docker` on PATH) on the runner's config directory; `None`
/// when neither `DOCKER_CONFIG` nor `HOME` says where that is.
pub fn runners_docker(env: &RunnerEnv) -> Option<Docker> {
    let config_dir = env.var("DOCKER_CONFIG").map(PathBuf::from).or_else(|| {
        env.var("HOME")
            .map(|home| PathBuf::from(home).join(".docker"))
    })?;
    Some(Docker {
        program: env.var("DOCKER").unwrap_or("docker").to_owned(),
        config_dir,
        buildx_config: None,
    })
}
