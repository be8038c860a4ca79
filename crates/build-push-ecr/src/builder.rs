//! Which builder runs the build. buildx's default builder on a runner uses the `docker` driver,
//! which exports no registry cache and builds no multi-platform image
//! (https://docs.docker.com/build/drivers/, the driver table;
//! https://docs.docker.com/build/cache/backends/registry: "not supported with the default docker
//! driver"). So the current builder is inspected first; when its driver cannot do what the build
//! asks, a `docker-container` builder is created for this build and removed after it, as
//! docker/setup-buildx-action would have set one up. When that fails too, the build runs on the
//! current builder without the cache, and says so once.

use deploy_kit_gha::{Cancelled, Runner, Signal};

use crate::Error;
use crate::docker::{Builder, Docker, Unchecked};
use crate::input::{Input, Network};

/// A builder as `docker buildx inspect` shows it: the builder's own `Name:` and `Driver:` lines,
/// before its `Nodes:` (docker/buildx docs/reference/buildx_inspect.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub name: String,
    pub driver: String,
}

pub fn parse_inspect(text: &str) -> Option<Current> {
    let mut name = None;
    let mut driver = None;
    for line in text.lines() {
        if line.trim_end() == "Nodes:" {
            break;
        }
        if let Some(value) = line.strip_prefix("Name:") {
            name.get_or_insert_with(|| value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("Driver:") {
            driver.get_or_insert_with(|| value.trim().to_owned());
        }
    }
    Some(Current {
        name: name.filter(|n| !n.is_empty())?,
        driver: driver.filter(|d| !d.is_empty())?,
    })
}

/// What the docker CLI offers, found while the registry is looked up and before anything is
/// created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tooling {
    /// buildx, and its current builder when `inspect` could say.
    Buildx(Option<Current>),
    /// No buildx plug-in: `docker build` and `docker push`.
    DockerBuild,
}

impl Tooling {
    /// buildx is a CLI plug-in. `docker buildx inspect` tells both that it is installed and what
    /// the current builder is: one docker start where buildx is (GitHub's hosted runners), and
    /// where it is not and docker says so in its own words. Any other failure leaves the
    /// question to `docker buildx version`, which succeeds only where buildx is installed.
    pub async fn detect(docker: &Docker) -> Self {
        match docker
            .checked(&["buildx".into(), "inspect".into()], None)
            .await
        {
            Ok(output) => Self::Buildx(parse_inspect(&output)),
            Err(Unchecked::NotStarted(_)) => Self::DockerBuild,
            Err(Unchecked::Failed(output)) if no_buildx(&output) => Self::DockerBuild,
            Err(Unchecked::Failed(_)) => match docker.try_run(&["buildx", "version"]).await {
                Some(_) => Self::Buildx(None),
                None => Self::DockerBuild,
            },
        }
    }
}

/// What the docker CLI prints for a command it does not have: "docker: unknown command: docker
/// buildx" (docker/cli cmd/docker/docker.go today) or "docker: 'buildx' is not a docker
/// command." (older releases). Other words are not taken as an answer.
fn no_buildx(output: &str) -> bool {
    let output = output.trim_start();
    output.starts_with("docker: unknown command: docker buildx")
        || output.starts_with("docker: 'buildx' is not a docker command")
}

/// The decision, before anything is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Build with this, as it is.
    Use(Builder),
    /// Create a `docker-container` builder; `fallback` is the current builder's name.
    Create { fallback: Option<String> },
}

/// The `docker` driver is the one that cannot export a registry cache nor build several
/// platforms; every other driver can (https://docs.docker.com/build/drivers/).
fn capable(driver: &str) -> bool {
    driver != "docker"
}

pub fn plan(tooling: &Tooling, input: &Input) -> Plan {
    let Tooling::Buildx(current) = tooling else {
        return Plan::Use(Builder::DockerBuild);
    };
    let name = current.as_ref().map(|c| c.name.clone());
    match current {
        Some(current) if capable(&current.driver) => Plan::Use(Builder::Buildx {
            name,
            cache: input.cache,
        }),
        _ if !input.cache && input.platforms.len() <= 1 => {
            Plan::Use(Builder::Buildx { name, cache: false })
        }
        _ => Plan::Create { fallback: name },
    }
}

/// The builder for this build; `created` names one to remove afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub builder: Builder,
    pub created: Option<String>,
}

/// `docker buildx create` for this build: booted now, so a builder that cannot start (its
/// BuildKit image cannot be pulled) fails here, where there is still a fallback.
pub fn create_args(name: &str, network: Network) -> Vec<String> {
    let mut args: Vec<String> = [
        "buildx",
        "create",
        "--name",
        name,
        "--driver",
        "docker-container",
        "--bootstrap",
    ]
    .map(str::to_owned)
    .to_vec();
    if network == Network::Host {
        // buildx asks for the network.host entitlement with `--network host` (build/opt.go);
        // a BuildKit container grants it only when started so (docker/buildx
        // docs/reference/buildx_build.md, `--allow`).
        args.push("--buildkitd-flags".to_owned());
        args.push("--allow-insecure-entitlement network.host".to_owned());
    }
    args
}

pub async fn choose(
    docker: &Docker,
    input: &Input,
    tooling: &Tooling,
    runner: &Runner,
) -> Result<Chosen, Error> {
    let fallback = match plan(tooling, input) {
        Plan::Use(builder) => {
            return Ok(Chosen {
                builder,
                created: None,
            });
        }
        Plan::Create { fallback } => fallback,
    };
    let current = fallback.as_deref().unwrap_or("default");
    let name = format!("deploy-kit-{}", std::process::id());
    let cancellation = runner.cancellation();
    let created = docker
        .stream(&create_args(&name, input.network), None, |_| {}, async {
            cancellation.cancelled().await;
        })
        .await;
    let why = match created {
        Ok(None) => {
            // Cancelled while BuildKit booted: whatever was made of the builder goes.
            let _ = docker.try_run(&["buildx", "rm", &name]).await;
            return Err(Error::Cancelled(Cancelled {
                signal: cancellation.signal().unwrap_or(Signal::Terminate),
                cleanup: Some(format!("builder `{name}` was not created")),
            }));
        }
        Ok(Some(ran)) if ran.success => {
            runner.info(format!(
                "builder `{current}` uses the docker driver, which exports no registry cache and builds one platform: building on a docker-container builder, `{name}`, removed afterwards"
            ));
            return Ok(Chosen {
                builder: Builder::Buildx {
                    name: Some(name.clone()),
                    cache: input.cache,
                },
                created: Some(name),
            });
        }
        Ok(Some(ran)) => ran.output.trim().lines().last().unwrap_or("").to_owned(),
        Err(error) => error.to_string(),
    };
    if input.platforms.len() > 1 {
        return Err(Error::NoBuilder {
            current: current.to_owned(),
            why,
        });
    }
    runner.warning(format!(
        "registry cache off for this build: builder `{current}` uses the docker driver, which cannot export it, and no docker-container builder could be created ({why}). Add docker/setup-buildx-action before this step, or set `cache: false`"
    ));
    Ok(Chosen {
        builder: Builder::Buildx {
            name: fallback,
            cache: false,
        },
        created: None,
    })
}

/// Removes the builder made for this build (its BuildKit container goes with it).
pub async fn remove(docker: &Docker, chosen: &Chosen, runner: &Runner) {
    if let Some(name) = &chosen.created
        && docker.try_run(&["buildx", "rm", name]).await.is_none()
    {
        runner.warning(format!(
            "could not remove builder `{name}`: remove it with `docker buildx rm {name}`"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Args;

    /// The example of docker/buildx docs/reference/buildx_inspect.md, shortened.
    const INSPECT: &str = "Name:          elated_tesla
Driver:        docker-container
Last Activity: 2022-11-30 12:42:47 +0100 CET

Nodes:
Name:           elated_tesla0
Endpoint:       unix:///var/run/docker.sock
Status:         running
";

    fn input(cache: &str, platforms: &str) -> Input {
        Input::from_args(
            &Args {
                repository: Some("team/api".into()),
                tags: Some("t1".into()),
                cache: Some(cache.into()),
                platforms: Some(platforms.into()),
                ..Args::default()
            },
            None,
        )
        .unwrap()
    }

    fn buildx(driver: &str) -> Tooling {
        Tooling::Buildx(Some(Current {
            name: "b1".into(),
            driver: driver.into(),
        }))
    }

    #[test]
    fn inspect_gives_the_builders_own_name_and_driver_not_its_nodes() {
        assert_eq!(
            parse_inspect(INSPECT),
            Some(Current {
                name: "elated_tesla".into(),
                driver: "docker-container".into()
            })
        );
        assert_eq!(parse_inspect("error: no builder"), None);
    }

    #[test]
    fn only_dockers_own_words_say_buildx_is_missing() {
        let missing = [
            "docker: unknown command: docker buildx\n\nRun 'docker --help' for more information",
            "docker: 'buildx' is not a docker command.\nSee 'docker --help'",
        ];
        for output in missing {
            assert!(no_buildx(output), "{output}");
        }
        let other = [
            "ERROR: no builder \"gone\" found",
            "Error: unknown command \"inspect\" for \"docker buildx\"",
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock",
            "ERROR: no builder \"docker: unknown command: docker buildx\" found",
        ];
        for output in other {
            assert!(!no_buildx(output), "{output}");
        }
    }

    #[test]
    fn a_capable_builder_is_used_by_name_with_the_cache() {
        for driver in ["docker-container", "kubernetes", "remote"] {
            assert_eq!(
                plan(&buildx(driver), &input("true", "linux/amd64,linux/arm64")),
                Plan::Use(Builder::Buildx {
                    name: Some("b1".into()),
                    cache: true
                }),
                "{driver}"
            );
        }
    }

    #[test]
    fn the_docker_driver_gets_a_container_builder_only_when_the_build_needs_one() {
        let create = Plan::Create {
            fallback: Some("b1".into()),
        };
        assert_eq!(plan(&buildx("docker"), &input("true", "")), create);
        assert_eq!(
            plan(
                &buildx("docker"),
                &input("false", "linux/amd64,linux/arm64")
            ),
            create
        );
        assert_eq!(
            plan(&buildx("docker"), &input("false", "linux/arm64")),
            Plan::Use(Builder::Buildx {
                name: Some("b1".into()),
                cache: false
            })
        );
        assert_eq!(
            plan(&Tooling::Buildx(None), &input("true", "")),
            Plan::Create { fallback: None },
            "a builder inspect could not describe is not trusted with the cache"
        );
        assert_eq!(
            plan(&Tooling::DockerBuild, &input("true", "")),
            Plan::Use(Builder::DockerBuild)
        );
    }

    #[test]
    fn host_networking_is_allowed_on_the_created_builder_only_when_asked() {
        assert!(!create_args("n", Network::Default).contains(&"--buildkitd-flags".to_owned()));
        let host = create_args("n", Network::Host);
        assert_eq!(
            host[host.len() - 2..],
            [
                "--buildkitd-flags",
                "--allow-insecure-entitlement network.host"
            ]
        );
    }
}
